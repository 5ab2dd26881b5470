"""`pimdse-report`: the Pareto explorer of one or more studies as one self-contained HTML file, and
each of its figures as PNG and SVG.

    pimdse-report sqlite:///outputs/studies/pimdse-ba9a6669.db
    pimdse-report outputs/sweeps/2026-12-02/14-16-44            # a pimdse -m sweep directory
    pimdse-report sqlite:///a.db sqlite:///b.db --out compare.html   # two studies, one colour each
    pimdse-report postgresql://postgres@127.0.0.1/test --study big --no-images
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dse.results.explorer.page import study_summary
from dse.results.explorer.sources import StudySource, resolve_inputs
from dse.results.explorer.studies import Report, load_report
from dse.results.explorer.write import ReportFiles, write_explorer
from dse.results.study_report import report_dir
from dse.search.storage import StudyError

PROG = "pimdse-report"
MULTI_STUDY_FILE = "pimdse-report.html"
"""The default output name for several studies (in the current directory)."""


def default_output(sources: Sequence[StudySource]) -> Path:
    """`<study>.html` next to a single SQLite study (where `pimdse -m` writes it), else
    `pimdse-report.html` in the current directory."""
    if len(sources) == 1:
        return report_dir(sources[0].storage, Path.cwd()) / f"{sources[0].study_name}.html"
    return Path.cwd() / MULTI_STUDY_FILE


def print_files(files: ReportFiles) -> None:
    print(f"report:  {files.html} ({files.size_bytes / 2**20:.1f} MiB)")
    if files.images is None:
        return
    if files.images.skipped:
        print(f"figures: skipped ({files.images.skipped}); the HTML report is complete")
    else:
        folder = files.images.files[0].parent
        counts = ", ".join(
            f"{sum(p.suffix == '.' + f for p in files.images.files)} {f.upper()}" for f in ("png", "svg")
        )
        print(f"figures: {folder} ({counts})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Pareto explorer of one or more studies: one self-contained HTML file "
        "(works offline), and each figure as PNG and SVG.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="a storage URL (sqlite:///path.db, postgresql://...), a pimdse -m sweep directory, "
        "an SQLite .db file or a directory of them",
    )
    parser.add_argument("--study", action="append", default=[], help="only this study (repeatable)")
    parser.add_argument("--out", type=Path, help="the HTML file (default: next to a single SQLite study)")
    parser.add_argument("--title", help="the page's title")
    parser.add_argument(
        "--no-images", action="store_true", help="skip the PNG/SVG files (no Chromium needed)"
    )
    args = parser.parse_args(argv)
    try:
        sources = resolve_inputs(args.inputs, args.study)
        report = load_report(sources, args.title)
    except StudyError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    for summary in study_lines(report):
        print(summary)
    print_files(write_explorer(report, args.out or default_output(sources), images=not args.no_images))
    return 0


def study_lines(report: Report) -> list[str]:
    """One line per study: name, storage, counts."""
    lines = []
    for i in range(len(report.studies)):
        summary = study_summary(report, i)
        lines.append(f"study '{summary['name']}' ({summary['storage']}): {summary['counts']}")
        lines += [f"  {note}" for note in summary["notes"]]
    return lines


if __name__ == "__main__":
    sys.exit(main())
