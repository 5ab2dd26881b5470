"""Sweep progress: a tqdm bar on a terminal, a summary log line every so often otherwise.

On a terminal (stdout and stderr both TTYs) the bar sits on stderr under the per-trial log lines
(which tqdm writes above it): trials done of the study's `n_trials`, this run's failures, the
hypervolume of the feasible front so far, rate and ETA. Elsewhere (CI, a log file, `| tee`) nothing
is drawn: the per-trial log lines stay as they are and a summary line is logged every
`summary_every_s` seconds.

The hypervolume is the one the sweep's report prints at the end (dse.results.frames.study_hypervolume:
every feasible complete trial, reference point just worse than the worst of them,
dse.search.pareto.reference_point); it is recomputed at most every `volume_every_s` seconds from the
front kept so far, so a 1,000-trial sweep pays for a few dozen small moocore calls, not a thousand.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from dse.search.pareto import hypervolume, nondominated_mask, reference_point, to_minimization

log = logging.getLogger(__name__)

SUMMARY_EVERY_S = 10.0
"""Seconds between two summary lines when no bar is drawn."""

VOLUME_EVERY_S = 1.0
"""Seconds between two hypervolume updates (the front is merged and moocore called then only)."""


def is_terminal(*streams: TextIO) -> bool:
    """True when every stream is an interactive terminal (a bar would be seen, not logged)."""
    return all(getattr(s, "isatty", lambda: False)() for s in streams)


class FrontVolume:
    """Hypervolume of the feasible points added so far, in the report's convention.

    Only the non-dominated points are kept (dominated ones add no volume); the reference point needs
    the worst and best value of every objective over all points, which are kept as running extremes.
    New points wait in a buffer until `volume()` merges them.
    """

    def __init__(self, directions: Sequence[str]) -> None:
        self.directions = tuple(directions)
        n = len(self.directions)
        self._front = np.empty((0, n))
        self._worst = np.full(n, -np.inf)
        self._best = np.full(n, np.inf)
        self._pending: list[Sequence[float]] = []
        self._volume = 0.0
        self._stale = False  # the front or the reference changed since the volume was computed

    def add(self, values: Sequence[float]) -> None:
        """One feasible point, objective values in the objectives' own directions."""
        self._pending.append(values)

    def volume(self) -> float:
        """The hypervolume of every point added (0.0 before the first)."""
        self._merge()
        if self._stale:
            self._volume = hypervolume(self._front, self.reference())
            self._stale = False
        return self._volume

    def reference(self) -> np.ndarray:
        """dse.search.pareto.reference_point of every point added, from the running extremes."""
        self._merge()
        return reference_point(np.vstack([self._worst, self._best]))

    def _merge(self) -> None:
        """Fold the points added since the last merge into the extremes and the front."""
        if not self._pending:
            return
        new = to_minimization(np.asarray(self._pending, dtype=float), self.directions)
        self._pending.clear()
        self._worst = np.maximum(self._worst, new.max(axis=0))
        self._best = np.minimum(self._best, new.min(axis=0))
        merged = np.vstack([self._front, new])
        self._front = np.unique(merged[nondominated_mask(merged)], axis=0)  # repeated configs: once
        self._stale = True


class SweepProgress:
    """What a sweep shows while it runs (see the module doc).

    `done` counts the study's finished trials (earlier runs and other workers included) against
    `total` (n_trials); `failed` counts this run's failed trials. `feasible_points` is called when
    the hypervolume is due and returns the feasible objective values finished since its last call.
    """

    def __init__(
        self,
        total: int,
        done: int,
        directions: Sequence[str],
        feasible_points: Callable[[], Iterable[Sequence[float]]],
        stream: TextIO | None = None,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        summary_every_s: float = SUMMARY_EVERY_S,
        volume_every_s: float = VOLUME_EVERY_S,
    ) -> None:
        self.total = total
        self.done = done
        self.failed = 0
        self._points = feasible_points
        self._front = FrontVolume(directions)
        self._clock = clock
        self._start = clock()
        self._summary_every_s = summary_every_s
        self._volume_every_s = volume_every_s
        self._mark = (self._start, done)  # (time, trials done) at the last summary
        self._last_volume = -np.inf
        stream = sys.stderr if stream is None else stream
        interactive = is_terminal(stream) if interactive is None else interactive
        self._bar = (
            tqdm(total=total, initial=done, desc="sweep", unit="trial", file=stream, dynamic_ncols=True)
            if interactive
            else None
        )
        self._redirect = logging_redirect_tqdm()
        self._refresh_volume(force=True)

    @property
    def hypervolume(self) -> float:
        """Hypervolume of the feasible trials seen at the last update."""
        return self._front.volume()

    def __enter__(self) -> SweepProgress:
        """With a bar, console log lines are written above it (tqdm's logging redirect) until exit."""
        if self._bar is not None:
            self._redirect.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh_volume(force=True)
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.close()
            self._redirect.__exit__(*exc)

    def update(self, done: int, failed: int) -> None:
        """The study now holds `done` finished trials, `failed` of this run's trials failed."""
        if self._bar is not None:
            self._bar.update(done - self.done)
            self.done, self.failed = done, failed
            if self._refresh_volume():
                self._bar.set_postfix_str(self._postfix(), refresh=False)
            return
        self.done, self.failed = done, failed
        if self._clock() - self._mark[0] >= self._summary_every_s:
            self._refresh_volume(force=True)
            log.info("%s", self.summary())

    def summary(self) -> str:
        """`progress: 12/40 trials, 1 failed, hypervolume 1.2e+06, 8.1 s, ETA 19 s` (one line).

        The ETA goes at the rate since the previous summary, so a one-time start (the proxy's first
        capture) does not stretch it for the rest of the sweep."""
        now = self._clock()
        since, done_then = self._mark
        self._mark = (now, self.done)
        ran, left = self.done - done_then, max(self.total - self.done, 0)
        eta = f"ETA {(now - since) / ran * left:.0f} s" if ran > 0 else "ETA unknown"
        elapsed = now - self._start
        return f"progress: {self.done}/{self.total} trials, {self._postfix()}, {elapsed:.1f} s, {eta}"

    def _postfix(self) -> str:
        return f"{self.failed} failed, hypervolume {self._front.volume():.4g}"

    def _refresh_volume(self, force: bool = False) -> bool:
        """Take the new feasible points and recompute the volume if due; True when it was."""
        now = self._clock()
        if not force and now - self._last_volume < self._volume_every_s:
            return False
        self._last_volume = now
        for values in self._points():
            self._front.add(values)
        self._front.volume()
        return True
