"""Progress of a long one-time model run (an activation capture, the long-range reference): a tqdm bar
on a terminal (stdout and stderr both TTYs; the bar on stderr), a start and an end log line otherwise.

Either way the end is logged with its seconds, so a log says what the one-time cost was.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

log = logging.getLogger(__name__)

Advance = Callable[[int], None]
"""`advance(n)`: n more units of the run's work are done."""


def is_terminal(*streams: TextIO) -> bool:
    """True when every stream is an interactive terminal (a bar would be seen, not logged)."""
    return all(getattr(s, "isatty", lambda: False)() for s in streams)


@contextmanager
def long_run(what: str, total: int, unit: str, stream: TextIO | None = None) -> Iterator[Advance]:
    """Yield `advance(n)`, to be called as `n` of the `total` units of work are done.

    `what` names the run in the bar and the log lines (`capture of eval activations (1 x 4,096
    tokens x 30 layers)`). A bar when `stream` is a terminal, or without a `stream`, when stdout
    and stderr both are (the bar then goes to stderr).
    """
    interactive = is_terminal(sys.stdout, sys.stderr) if stream is None else is_terminal(stream)
    stream = sys.stderr if stream is None else stream
    start = time.perf_counter()
    if interactive:
        # A redraw per unit (a layer or chunk takes ~0.1-1 s): no time-based throttling needed.
        with tqdm(total=total, desc=what, unit=unit, file=stream, leave=False, dynamic_ncols=True,
                  mininterval=0) as bar:
            yield bar.update
    else:
        log.info("%s: %d %s to run (once: the result is cached)", what, total, unit + "s" * (total != 1))
        yield lambda n: None
    log.info("%s: done in %.1f s", what, time.perf_counter() - start)
