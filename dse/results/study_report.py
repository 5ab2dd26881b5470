"""A study's report: Pareto table and hypervolume on stdout, the Pareto explorer (HTML) and trial
tables on disk.

The sweeper writes it at the end of `pimdse -m`; for a study filled by several workers (or to
refresh it), run it on its own:

    python -m dse.study_report sqlite:///outputs/studies/pimdse-ba9a6669.db
    python -m dse.study_report postgresql://postgres@127.0.0.1/test --study big --out outputs/big
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from dse.results.explorer.studies import build_report, study_trials
from dse.results.explorer.write import write_explorer
from dse.results.frames import export, study_hypervolume, trials_frame
from dse.results.labels import objective_legend, with_record_units
from dse.results.report import pareto_table
from dse.search.storage import StudyError, describe_storage, make_storage, stored_objectives
from dse.units import format_quantity, score_text

SWEEP_POINTS = 12
"""Points a study with per-point figures in the report written here (the end of every sweep): each
costs about a second to draw, so fewer than `pimdse-report`'s 40."""


@dataclass(frozen=True)
class ReportFiles:
    """Where the report went: the Pareto explorer's HTML page and the trial tables."""

    html: Path
    parquet: Path
    csv: Path


def report_dir(storage_url: str, fallback: Path) -> Path:
    """Next to an SQLite study file; `fallback` (e.g. the sweep's directory) for a database server."""
    url = make_url(storage_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).parent
    return fallback


def write_report(study: optuna.Study, storage_url: str, out_dir: Path) -> ReportFiles:
    """Print the Pareto table and hypervolume; write `<study>.html` (the Pareto explorer, without
    static images and with per-point figures for SWEEP_POINTS points: `pimdse-report` writes
    those and more) and `<study>.trials.*` to out_dir."""
    name = study.study_name
    df = trials_frame(study)
    objectives = with_record_units(df, stored_objectives(study))
    n_front = int(df["pareto"].sum()) if len(df) else 0
    print(f"\nPareto set of study '{name}' ({n_front} of {len(df)} trials):")
    for line in objective_legend(df, objectives):
        print(line)
    print(pareto_table(df, objectives))
    if len(df):
        volume, ref = study_hypervolume(df, objectives)
        if len(ref):
            ref_text = ", ".join(
                f"{o.name}={format_quantity(-r if o.direction == 'maximize' else r, o.unit)}"
                for o, r in zip(objectives, ref, strict=True)
            )
            print(f"hypervolume {score_text(volume)} (reference point {ref_text})")
    report = build_report([study_trials(study, storage_url, df)], f"pimdse study {name}")
    html = write_explorer(report, out_dir / f"{name}.html", images=False, points_per_study=SWEEP_POINTS).html
    parquet, csv = export(df, out_dir / f"{name}.trials")
    where = describe_storage(storage_url)
    print(f"study:   {where}  (optuna-dashboard {where})")
    print(f"report:  {html}")
    print(f"trials:  {parquet}\n         {csv}")
    return ReportFiles(html, parquet, csv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dse.study_report", description=__doc__.splitlines()[0])
    parser.add_argument("storage", help="the study's storage URL (sqlite:///path.db, postgresql://...)")
    parser.add_argument("--study", help="study name (default: the storage's only study)")
    parser.add_argument("--out", type=Path, help="output directory (default: next to an SQLite file, else .)")
    args = parser.parse_args(argv)
    try:
        storage = make_storage(args.storage)
        names = [s.study_name for s in storage.get_all_studies()]
        name = args.study or (names[0] if len(names) == 1 else None)
        if name not in names:
            where = describe_storage(args.storage)
            if args.study:
                raise StudyError(f"no study '{args.study}' in {where} (has: {', '.join(names) or 'none'})")
            raise StudyError(f"{where} holds {len(names)} studies: choose one with --study")
        study = optuna.load_study(study_name=name, storage=storage)
    except StudyError as err:
        print(f"pimdse: error: {err}", file=sys.stderr)
        return 2
    write_report(study, args.storage, args.out or report_dir(args.storage, Path.cwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
