"""Durable studies: storage URLs, opening or creating a study, checking it matches the sweep.

Storage is an SQLite file by default (one per study, under outputs/studies/) or any SQLAlchemy URL
Optuna's RDBStorage takes, e.g. PostgreSQL for many machines. SQLite files are switched to WAL
journaling so several worker processes can write one study while readers (optuna-dashboard) read;
commits stay fully synchronous, so a finished trial survives a crash of the process or machine.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from dse.search.bulk_storage import BulkRDBStorage
from dse.search.claims import StudyClaims
from dse.search.objectives import Objective

SQLITE_BUSY_TIMEOUT_S = 120.0
"""How long a writer waits for another process's SQLite lock before failing (s)."""

CREATE_ATTEMPTS = 5
"""Tries to open a storage whose tables other workers are creating at the same moment."""

STUDY_ATTR_OBJECTIVES = "pimdse.objectives"
"""Study user attribute: the objectives as [{name, key, direction, unit}], read by dse.results.frames."""


class StudyError(ValueError):
    """Storage or study that cannot be used: one line naming the URL or study."""


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file (absolute, so it does not depend on the cwd)."""
    return f"sqlite:///{path.resolve()}"


def make_storage(url: str) -> BulkRDBStorage:
    """An RDBStorage for `url`; raises StudyError (one line) for a malformed or unreachable URL."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError as err:
        raise StudyError(f"invalid storage URL '{url}': {err}") from err
    engine_kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StudyError(f"invalid storage URL '{url}': an SQLite study needs a file path")
        path = Path(parsed.database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StudyError(f"cannot open storage '{url}': {err.strerror}: {path.parent}") from err
        if path.is_dir() or not os.access(path.parent, os.W_OK | os.X_OK):
            what = "is a directory" if path.is_dir() else "no permission to write"
            raise StudyError(f"cannot open storage '{url}': {what}: {path if path.is_dir() else path.parent}")
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql" and not find_spec("psycopg") and find_spec("psycopg2"):
            # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; use the installed psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg2")
            url = parsed.render_as_string(hide_password=False)
        # Fail fast when no server answers rather than hanging on the OS TCP timeout.
        engine_kwargs["connect_args"] = {"connect_timeout": 5}
        engine_kwargs["pool_pre_ping"] = True
    for attempt in range(CREATE_ATTEMPTS):
        try:
            storage = BulkRDBStorage(url, engine_kwargs=engine_kwargs)
            break
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
            if _creation_race(err) and attempt + 1 < CREATE_ATTEMPTS:
                # Workers started together on a new database all create Optuna's tables; the
                # losers fail on a table or type that now exists. The schema is there: retry.
                time.sleep(0.2 * (attempt + 1))
                continue
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            where = parsed.render_as_string(hide_password=True)
            raise StudyError(f"cannot open storage '{where}': {first}") from err
    if parsed.get_backend_name() == "sqlite":
        # After Optuna created its tables: an empty file has no header to keep the journal mode in.
        _enable_wal(Path(parsed.database))
    return storage


def _creation_race(err: Exception) -> bool:
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in str(err)


def _enable_wal(path: Path) -> None:
    """Put the SQLite file in WAL mode (persistent in the file): concurrent readers never block writers."""
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def open_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    objectives: Sequence[Objective],
    sampler: optuna.samplers.BaseSampler | None = None,
) -> optuna.Study:
    """Load `study_name` or create it; raise StudyError if it exists with other objectives."""
    directions = [o.direction for o in objectives]
    try:
        existing = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    except KeyError:
        existing = None
    if existing is not None:
        have = [d.name.lower() for d in existing.directions]
        if have != directions:
            raise StudyError(
                f"study '{study_name}' exists with directions {have}, this sweep needs {directions}: "
                "choose another study_name"
            )
        stored = existing.user_attrs.get(STUDY_ATTR_OBJECTIVES)
        mine = objectives_attr(objectives)
        if stored is not None and [o["key"] for o in stored] != [o["key"] for o in mine]:
            raise StudyError(
                f"study '{study_name}' exists with objectives {[o['key'] for o in stored]}, "
                f"this sweep needs {[o['key'] for o in mine]}: choose another study_name"
            )
        return existing
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            directions=directions,
            sampler=sampler,
            load_if_exists=True,
        )
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise StudyError(f"cannot create study '{study_name}': {str(err).splitlines()[0]}") from err
    study.set_user_attr(STUDY_ATTR_OBJECTIVES, objectives_attr(objectives))
    return study


def objectives_attr(objectives: Sequence[Objective]) -> list[dict[str, str]]:
    """The JSON form of the objectives kept with the study so readers can label its values."""
    return [{"name": o.name, "key": o.key, "direction": o.direction, "unit": o.unit} for o in objectives]


def stored_objectives(study: optuna.Study) -> list[Objective]:
    """The objectives a study was created with (names `value_i` for studies made elsewhere)."""
    stored = study.user_attrs.get(STUDY_ATTR_OBJECTIVES)
    if stored:
        return [Objective(o["name"], o["key"], o["direction"], o.get("unit", "")) for o in stored]
    return [
        Objective(f"value_{i}", f"value_{i}", d.name.lower())  # type: ignore[arg-type]
        for i, d in enumerate(study.directions)
    ]


def study_claims(storage: optuna.storages.RDBStorage, study_name: str) -> StudyClaims:
    """The worker and claim tables of `study_name`, in the storage's database."""
    try:
        return StudyClaims(storage.url, study_name, storage.engine_kwargs)
    except sqlalchemy.exc.SQLAlchemyError as err:
        where, first = describe_storage(storage.url), str(err).strip().splitlines()[0]
        raise StudyError(f"cannot create pimdse's claim tables in '{where}': {first}") from err


def describe_storage(url: str) -> str:
    """The URL with any password hidden, for logs."""
    return make_url(url).render_as_string(hide_password=True)
