"""The house rules of the layout: hw/ and models/ stay independent rooms; dse/search is the engine only."""

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

# Walls inside a room, by dotted module prefix: the search engine scores points only through the
# task and the hardware-grid scorer it is handed, and reads no results.
FORBIDDEN_MODULES = {
    "dse/search": {"hw", "models", "dse.app", "dse.results"},
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


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports, dotted; `from a import b` counts as `a` and `a.b`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def _walled_off(module: str, prefixes: set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


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


@pytest.mark.parametrize("part", sorted(FORBIDDEN_MODULES))
def test_subpackage_imports_stay_inside_their_walls(part):
    files = sorted((ROOT / part).rglob("*.py"))
    assert files, f"{part}/ has no modules"
    offenders = {
        str(f.relative_to(ROOT)): hits
        for f in files
        if (hits := sorted(m for m in imported_modules(f) if _walled_off(m, FORBIDDEN_MODULES[part])))
    }
    assert offenders == {}


def test_imported_modules_sees_submodules_in_every_form(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import dse.results.frames\nfrom dse import app\nfrom dse.search.space import Space\n")
    found = imported_modules(module)
    assert found == {"dse.results.frames", "dse", "dse.app", "dse.search.space", "dse.search.space.Space"}
    prefixes = FORBIDDEN_MODULES["dse/search"]
    assert {m for m in found if _walled_off(m, prefixes)} == {"dse.results.frames", "dse.app"}
    assert not _walled_off("dse.application", prefixes) and not _walled_off("hwx", prefixes)
