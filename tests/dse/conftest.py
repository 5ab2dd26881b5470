"""Helpers to run the toy Hydra app (tests/dse/toy_app.py) through the pimdse sweeper.

`run_toy` runs a sweep in this process through Hydra's own multirun entry; `toy_cli` runs it as
a separate `python toy_app.py -m ...` process (for several workers, SIGKILL, exit codes).
Every study lives in the test's tmp_path.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import toy_app
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra

from dse.search.storage import make_storage

TOY_APP = Path(toy_app.__file__)
REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("PIMDSE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def sweep_args(tmp_path: Path, study: str = "toy", extra: list[str] | None = None) -> list[str]:
    return [
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"hydra.sweeper.studies_dir={tmp_path / 'studies'}",
        f"hydra.sweeper.study_name={study}",
        *(extra or []),
    ]


@pytest.fixture
def run_toy(tmp_path: Path) -> Callable[..., object]:
    """Run the toy sweep in-process; returns the sweeper's SweepStats."""

    def run(*overrides: str, study: str = "toy") -> object:
        hydra = Hydra.create_main_hydra_file_or_module(
            calling_file=str(TOY_APP), calling_module=None, config_path="toy_conf", job_name="toy_app"
        )
        try:
            return hydra.multirun(
                config_name="config",
                task_function=inspect.unwrap(toy_app.main),
                overrides=sweep_args(tmp_path, study, list(overrides)),
                with_log_configuration=False,
            )
        finally:
            GlobalHydra.instance().clear()

    return run


def toy_cli(tmp_path: Path, *overrides: str, study: str = "toy", **popen: object) -> subprocess.Popen:
    """Start `python toy_app.py -m` as its own process (stdout/stderr piped)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, str(TOY_APP), "-m", *sweep_args(tmp_path, study, list(overrides))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )


def study_db(tmp_path: Path, study: str = "toy") -> str:
    return f"sqlite:///{tmp_path / 'studies' / f'{study}.db'}"


def load(tmp_path: Path, study: str = "toy", url: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=study, storage=make_storage(url or study_db(tmp_path, study)))


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test PostgreSQL server's URL, or skip when none answers."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
    except Exception as err:  # noqa: BLE001 - any connection failure means: no server to test against
        pytest.skip(f"no PostgreSQL server answers at {PG_URL}: {str(err).splitlines()[0]}")
    return PG_URL
