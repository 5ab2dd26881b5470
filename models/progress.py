"""Progress of a long one-time model run (an activation capture, the long-range reference): a tqdm bar
on a terminal (stdout and stderr both TTYs; the bar on stderr), a start and an end log line otherwise.

Either way the end is logged with its seconds, so a log says what the one-time cost was.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

log = logging.getLogger(__name__)


def is_terminal(*streams: TextIO) -> bool:
    """True when every stream is an interactive terminal (a bar would be seen, not logged)."""
    return all(getattr(s, "isatty", lambda: False)() for s in streams)


class LongRun:
    """One run's progress: `expect(total)` once its units of work are known (a capture learns its
    layer count when the model is loaded), then `advance(n)` as n more of them are done."""

    def __init__(self, bar: tqdm | None) -> None:
        self._bar = bar

    def expect(self, total: int) -> None:
        if self._bar is not None:
            self._bar.reset(total=total)  # the ETA counts from here: loading is not a unit of work

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)


@contextmanager
def long_run(what: str, unit: str, stream: TextIO | None = None) -> Iterator[LongRun]:
    """The progress of the run named `what` (`capture of eval activations (1 x 4,096 tokens)`),
    counted in `unit`s. A bar when `stream` is a terminal, or without a `stream`, when stdout and
    stderr both are (the bar then goes to stderr)."""
    interactive = is_terminal(sys.stdout, sys.stderr) if stream is None else is_terminal(stream)
    stream = sys.stderr if stream is None else stream
    start = time.perf_counter()
    if interactive:
        # A redraw per unit (a layer or chunk takes ~0.1-1 s): no time-based throttling needed.
        with tqdm(desc=what, unit=unit, file=stream, leave=False, dynamic_ncols=True, mininterval=0) as bar:
            yield LongRun(bar)
    else:
        log.info("%s: started (once: the result is cached)", what)
        yield LongRun(None)
    log.info("%s: done in %.1f s", what, time.perf_counter() - start)
