"""Several workers on one study: a number per worker (its sampler's seed stream) and claimed configs.

Two small tables live next to Optuna's in the study's database (SQLite or PostgreSQL):
- `pimdse_workers`: one row per worker start, numbered by the database (autoincrement), so the
  workers of a study get indices 0, 1, 2, ... in start order, atomically;
- `pimdse_claims`: (study, config hash) is the primary key; a worker inserts the row before it
  evaluates a config, and the database's unique constraint lets exactly one worker win a config.
A claim is not durable-critical (a lost one only risks one repeated evaluation), so on SQLite these
tables are written without waiting for an fsync (WAL with synchronous=NORMAL on their own connection).
"""

from __future__ import annotations

import hashlib
import time

import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, String, Table

SCHEMA = MetaData()
WORKERS = Table(
    "pimdse_workers",
    SCHEMA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_name", String(512), nullable=False, index=True),
    Column("worker", String(64), nullable=False),
)
CLAIMS = Table(
    "pimdse_claims",
    SCHEMA,
    Column("study_name", String(512), primary_key=True),
    Column("config_hash", String(64), primary_key=True),
    Column("worker", String(64), nullable=False),
)

CREATE_ATTEMPTS = 5
"""Tries to create the tables while other workers create them at the same moment."""


def worker_seed(seed: int, index: int) -> int:
    """The sampler seed of the worker started `index`-th on a study with seed `seed`.

    Worker 0 keeps `seed` itself, so a single worker draws what it always drew; the others get
    independent 32-bit seeds derived from (seed, index): reproducible for the same start order.
    """
    if index == 0:
        return seed
    return int(hashlib.sha256(f"pimdse-worker:{seed}:{index}".encode()).hexdigest()[:8], 16)


class StudyClaims:
    """Worker registration and config claims of one study in a SQLAlchemy database."""

    def __init__(self, url: str, study_name: str, engine_kwargs: dict | None = None) -> None:
        self.study_name = study_name
        self._engine = sqlalchemy.create_engine(url, **(engine_kwargs or {}))
        if self._engine.dialect.name == "sqlite":
            sqlalchemy.event.listen(self._engine, "connect", _relaxed_sqlite_sync)
        for attempt in range(CREATE_ATTEMPTS):
            try:
                SCHEMA.create_all(self._engine)
                break
            except (
                sqlalchemy.exc.IntegrityError,
                sqlalchemy.exc.ProgrammingError,
                sqlalchemy.exc.OperationalError,
            ) as err:
                if "already exists" not in str(err) and not isinstance(err, sqlalchemy.exc.IntegrityError):
                    raise
                if attempt + 1 == CREATE_ATTEMPTS:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def register(self, worker: str) -> int:
        """Register `worker`; return its index among the study's workers, in start order (0 first)."""
        with self._engine.begin() as conn:
            row_id = conn.execute(WORKERS.insert().values(study_name=self.study_name, worker=worker))
            mine = row_id.inserted_primary_key[0]
        with self._engine.connect() as conn:
            earlier = conn.execute(
                sqlalchemy.select(sqlalchemy.func.count())
                .select_from(WORKERS)
                .where(WORKERS.c.study_name == self.study_name, WORKERS.c.id < mine)
            ).scalar_one()
        return int(earlier)

    def claim(self, config_hash: str, worker: str) -> bool:
        """True when `worker` is the first to claim `config_hash` in this study (it evaluates it)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    CLAIMS.insert().values(study_name=self.study_name, config_hash=config_hash, worker=worker)
                )
        except sqlalchemy.exc.IntegrityError:
            return False
        return True

    def close(self) -> None:
        self._engine.dispose()


def _relaxed_sqlite_sync(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
