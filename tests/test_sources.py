"""Citations stay inside the repository: each citation of docs/sources.md (the file name followed by a
bracketed key) names an entry that file defines, and no tracked file points at the notes file the
citations used to name (it was never part of the project)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "docs" / "sources.md"

# Spelled in parts so that this file does not match its own checks.
ABSENT_NOTES = "DOM" + "AIN.md"
SOURCES_MD = "docs/sources" + ".md"

ANCHOR = re.compile(r"^### \[([a-z0-9][a-z0-9-]*)\] ", re.MULTILINE)
# The file name, then one bracketed key or a run of them joined by commas, semicolons or 'and'.
CITATION = re.compile(r"docs/sources\.md\s*((?:\[[^\]\s]+\](?:\s*(?:,|;|and)?\s*(?=\[))?)+)")
KEY = re.compile(r"\[([^\]\s]+)\]")


def anchors(text: str) -> list[str]:
    """Keys defined in sources.md: one `### [key] Title` heading each."""
    return ANCHOR.findall(text)


def cited_keys(text: str) -> set[str]:
    """Keys a text cites: the bracketed keys right after a mention of docs/sources.md (one, or a run)."""
    return {key for run in CITATION.findall(text) for key in KEY.findall(run)}


def tracked_texts() -> dict[str, str]:
    """Path -> content of every tracked file that decodes as UTF-8 (binary files are skipped)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout: {e}")
    texts = {}
    for name in filter(None, listing.split("\0")):
        path = ROOT / name
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        try:
            texts[name] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def test_the_citation_parser_reads_single_keys_and_runs_of_keys() -> None:
    text = (
        f"# H100 ({SOURCES_MD} [h100])\n"
        f"x ({SOURCES_MD} [pcie], [attacc-sim] InterfaceType.PCIE5) [not-a-citation]\n"
        f"see {SOURCES_MD} [a] and [b]; {SOURCES_MD}\n[c]"
    )
    assert cited_keys(text) == {"h100", "pcie", "attacc-sim", "a", "b", "c"}
    assert anchors("### [kivi] KIVI\n## [x] not an entry\n### [h100] NVIDIA\n") == ["kivi", "h100"]


def test_sources_md_defines_each_key_once() -> None:
    keys = anchors(SOURCES.read_text())
    assert len(keys) >= 20, "docs/sources.md lost its entries"
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_every_citation_names_a_key_sources_md_defines() -> None:
    defined = set(anchors(SOURCES.read_text()))
    cited = {name: cited_keys(text) for name, text in tracked_texts().items()}
    # The presets cite at least these; an empty scan would mean the parser broke, not that all is well.
    assert {"h100", "attacc-sim", "aqpim"} <= set().union(*cited.values())
    unknown = {name: sorted(keys - defined) for name, keys in cited.items() if keys - defined}
    assert unknown == {}


def test_no_tracked_file_points_at_the_absent_notes_file() -> None:
    offenders = sorted(name for name, text in tracked_texts().items() if ABSENT_NOTES in text)
    assert offenders == []
