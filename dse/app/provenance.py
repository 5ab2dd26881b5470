"""Which code produced a trial: the git commit of the checkout (with `-dirty` for local edits),
or the installed package version when the code is not in a git checkout."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def code_version() -> str:
    """`git:<sha12>[-dirty]` in a checkout, else `pimdse==<version>`, else `unknown`."""
    # Installed from a wheel, REPO_ROOT is site-packages' parent: never ask a repository around it.
    if (REPO_ROOT / ".git").exists():
        try:
            sha = _git("rev-parse", "--short=12", "HEAD")
            dirty = _git("status", "--porcelain", "--untracked-files=no")
            return f"git:{sha}{'-dirty' if dirty else ''}"
        except (OSError, subprocess.CalledProcessError):
            pass
    try:
        return f"pimdse=={metadata.version('pimdse')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()
