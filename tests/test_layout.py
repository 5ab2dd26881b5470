"""The house rules of the layout: hw/ and models/ stay independent rooms."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "hw": {"models", "dse", "torch", "hydra", "omegaconf"},
    "models": {"hw", "dse", "hydra", "omegaconf"},
    # The spec both rooms read: numpy only.
    "spec": {"hw", "models", "dse", "torch", "hydra", "omegaconf"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_stay_inside_their_walls(room):
    files = sorted((ROOT / room).rglob("*.py"))
    assert files, f"{room}/ has no modules"
    offenders = {
        str(f.relative_to(ROOT)): sorted(imported_roots(f) & FORBIDDEN[room])
        for f in files
        if imported_roots(f) & FORBIDDEN[room]
    }
    assert offenders == {}


def test_imported_roots_sees_both_import_forms(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import torch.nn as nn\nfrom hw.spec import X\nfrom . import local\n")
    assert imported_roots(module) == {"torch", "hw"}
