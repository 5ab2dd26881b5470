"""Which studies a report shows: storage URLs and sweep directories to (storage URL, study name).

An input is a storage URL (`sqlite:///path.db`, `postgresql://...`), a `pimdse -m` sweep directory
(the sweeper records its study there in `pimdse-study.yaml`; older sweep directories are read
through their `multirun.yaml` when it names the study), or a directory of SQLite study files
(e.g. `outputs/studies`). A storage holding several studies gives all of them unless `--study`
picks some. Every failure is a one-line StudyError naming the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from dse.search.storage import StudyError, describe_storage, make_storage, sqlite_url

STUDY_RECORD = "pimdse-study.yaml"
"""The file a sweep directory names its study in: {storage: URL, study_name: NAME}."""

URL_SCHEMES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
"""SQLAlchemy backends an input may name; anything else is read as a path."""


@dataclass(frozen=True)
class StudySource:
    """One study to show: where it is stored and its name."""

    storage: str
    study_name: str


def record_study(sweep_dir: Path, storage: str, study_name: str) -> Path:
    """Write the sweep directory's study record (read back by `resolve_inputs`)."""
    path = sweep_dir / STUDY_RECORD
    path.write_text(yaml.safe_dump({"storage": storage, "study_name": study_name}, sort_keys=False))
    return path


def resolve_inputs(inputs: Sequence[str], study_names: Sequence[str] = ()) -> list[StudySource]:
    """The studies named by `inputs` (URLs or directories), in order, each once.

    `study_names` restricts every storage to those studies (each must exist in at least one).
    """
    if not inputs:
        raise StudyError("no input: give a storage URL, a sweep directory or a directory of .db files")
    found: list[StudySource] = []
    for item in inputs:
        for url, name in _studies_of(item):
            found.extend(_expand(url, name))
    if study_names:
        missing = [n for n in study_names if n not in {s.study_name for s in found}]
        if missing:
            have = ", ".join(sorted({s.study_name for s in found})) or "none"
            raise StudyError(f"no study '{missing[0]}' in {', '.join(inputs)} (has: {have})")
        found = [s for s in found if s.study_name in study_names]
    unique = list(dict.fromkeys(found))
    if not unique:
        raise StudyError(f"no study in {', '.join(inputs)}")
    return unique


def _studies_of(item: str) -> list[tuple[str, str | None]]:
    """(storage URL, study name or None for every study) pairs an input names."""
    if item.split(":", 1)[0].split("+", 1)[0] in URL_SCHEMES:
        return [(item, None)]
    path = Path(item)
    if not path.exists():
        raise StudyError(f"{item}: no such file or directory (give a storage URL or a sweep directory)")
    if path.is_file():
        if path.suffix == ".db":
            return [(sqlite_url(path), None)]
        raise StudyError(f"{item}: not a study (give an SQLite .db file, a storage URL or a sweep directory)")
    record = path / STUDY_RECORD
    if record.is_file():
        return [_read_record(record)]
    multirun = path / "multirun.yaml"
    if multirun.is_file():
        return [_read_multirun(multirun)]
    databases = sorted(path.glob("*.db"))
    if databases:
        return [(sqlite_url(db), None) for db in databases]
    raise StudyError(
        f"{item}: holds no study (no {STUDY_RECORD}, multirun.yaml or .db file): "
        "give a storage URL or a pimdse -m sweep directory"
    )


def _read_record(path: Path) -> tuple[str, str]:
    record = yaml.safe_load(path.read_text()) or {}
    if not isinstance(record, dict) or not record.get("storage") or not record.get("study_name"):
        raise StudyError(f"{path}: expected 'storage' and 'study_name', got {record!r}")
    return str(record["storage"]), str(record["study_name"])


def _read_multirun(path: Path) -> tuple[str, str]:
    """A sweep directory from before the study record: its multirun.yaml's sweeper settings."""
    config = yaml.safe_load(path.read_text()) or {}
    hydra = config.get("hydra", {}) if isinstance(config, dict) else {}
    sweeper = hydra.get("sweeper", {}) or {}
    name = sweeper.get("study_name")
    if not name:
        raise StudyError(
            f"{path}: the sweep does not record its study name (a default pimdse-<hash> name): "
            "give the study's storage URL, e.g. sqlite:///outputs/studies/<study>.db"
        )
    storage = sweeper.get("storage")
    if not storage:
        cwd = Path((hydra.get("runtime") or {}).get("cwd") or path.parent)
        storage = sqlite_url(cwd / sweeper.get("studies_dir", "outputs/studies") / f"{name}.db")
    return str(storage), str(name)


def _expand(url: str, name: str | None) -> list[StudySource]:
    """The named study of the storage at `url`, or all of its studies."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        raise StudyError(f"no study file {parsed.database} (from {describe_storage(url)})")
    names = [s.study_name for s in make_storage(url).get_all_studies()]
    if name is None:
        if not names:
            raise StudyError(f"{describe_storage(url)} holds no study")
        return [StudySource(url, n) for n in names]
    if name not in names:
        raise StudyError(f"no study '{name}' in {describe_storage(url)} (has: {', '.join(names) or 'none'})")
    return [StudySource(url, name)]
