"""Every `pimdse ...` command printed in docs/search.md runs as printed.

Each command runs in this process through Hydra's multirun entry with pimdse's own conf/ and task,
plus `hydra.sweeper.validate_only=true` (every check of the sweep, no trial, no storage opened), so
the whole page takes seconds; a `$ pimdse ...` line followed by output must print that output.
"""

from __future__ import annotations

import inspect
import re
import shlex
from importlib.util import find_spec
from pathlib import Path

import pytest
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra

from dse.app import pimdse

DOC = Path(__file__).resolve().parents[2] / "docs" / "search.md"
LAUNCHER_PLUGINS = {
    "submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "ray": "hydra_plugins.hydra_ray_launcher",
}


def doc_commands(text: str) -> list[tuple[str, str | None]]:
    """(command, expected output or None) for each `pimdse` command of an indented code block;
    `\\` continues a line, `# ...` ends it; a `$ ` prompt is followed by the expected output line."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        prompt = line.startswith("$ pimdse ")
        if lines[i].startswith("    ") and (line.startswith("pimdse ") or line == "pimdse" or prompt):
            command = line.removeprefix("$ ")
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            command = re.sub(r"\s+#.*$", "", command)
            expected = lines[i + 1].strip() if prompt else None
            out.append((command, expected))
        i += 1
    return out


COMMANDS = doc_commands(DOC.read_text())


def test_the_page_has_its_commands() -> None:
    assert len(COMMANDS) >= 8
    assert ("pimdse -m", None) in COMMANDS


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_docs_command_runs_as_printed(command: str, expected: str | None, tmp_path: Path, capsys) -> None:
    args = shlex.split(command)
    assert args[:2] == ["pimdse", "-m"], command
    for name, module in LAUNCHER_PLUGINS.items():
        if f"hydra/launcher={name}" in args and not find_spec(module):
            pytest.skip(f"{module} is not installed (optional launcher plugin)")
    hydra = Hydra.create_main_hydra_file_or_module(
        calling_file=pimdse.__file__, calling_module=None, config_path=str(pimdse.CONF_DIR), job_name="pimdse"
    )
    overrides = [
        *args[2:],
        "hydra.sweeper.validate_only=true",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"hydra.sweeper.studies_dir={tmp_path / 'studies'}",
    ]
    try:
        if expected is None:
            hydra.multirun(
                config_name="config",
                task_function=inspect.unwrap(pimdse.main),
                overrides=overrides,
                with_log_configuration=False,
            )
        else:
            with pytest.raises(SystemExit) as exit_info:
                hydra.multirun(
                    config_name="config",
                    task_function=inspect.unwrap(pimdse.main),
                    overrides=overrides,
                    with_log_configuration=False,
                )
            assert exit_info.value.code == 2
            assert capsys.readouterr().err.strip() == expected
    finally:
        GlobalHydra.instance().clear()
    assert not (tmp_path / "studies").exists()
