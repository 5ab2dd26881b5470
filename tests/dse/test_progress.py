"""Sweep progress: a bar with done/total, failures and hypervolume on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from fcntl import ioctl
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TOY_APP, sweep_args, toy_cli

from dse.search.pareto import hypervolume, reference_point, to_minimization
from dse.search.progress import FrontVolume, SweepProgress, is_terminal

MIN3 = ["minimize", "minimize", "minimize"]

# The toy's 4-point grid: bits=3 raises and banks=56 gives a NaN latency, so 3 of 4 trials fail; the
# one that completes, banks=16 bits=4, is feasible (2.5 MiB of KV in 4 MiB).
FAILING_GRID = (
    "space=flat",
    "algo=uniform",
    "hw.banks=choice(16,56)",
    "algo.bits=choice(3,4)",
    "hydra.sweeper.sampler=grid",
    "hydra.sweeper.n_trials=4",
)
TOY_KV_BYTES = 4096 * 1024 * (4 + 32 / 32) / 8
# One feasible point p: the reference is p + 10 % of |p| (of 1 below 1) in each objective, so the
# volume is 0.1 (loss 1/16 < 1) x 0.1 (latency < 1 s) x 0.1 |kv bytes|.
TOY_VOLUME = 0.1 * 0.1 * 0.1 * TOY_KV_BYTES


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(points: list[list[float]]):
    """A `feasible_points` callable handing out what was appended to `points` since its last call."""
    taken = 0

    def new() -> list[list[float]]:
        nonlocal taken
        out, taken = points[taken:], len(points)
        return out

    return new


def test_front_volume_of_two_points_by_hand() -> None:
    front = FrontVolume(["minimize", "minimize"])
    front.add([1.0, 2.0])
    front.add([2.0, 1.0])
    # Worst (2, 2), best (1, 1): reference (2.1, 2.1); two 1.1 x 0.1 strips sharing a 0.1 x 0.1 corner.
    assert np.allclose(front.reference(), [2.1, 2.1])
    assert front.volume() == pytest.approx(0.21)
    front.add([3.0, 3.0])  # dominated, but it moves the reference to (3.2, 3.2)
    assert front.volume() == pytest.approx(2.2 * 1.2 + 1.2 * 2.2 - 1.2 * 1.2)


def test_front_volume_added_in_pieces_equals_the_reports_volume_of_all_points() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0.1, 5.0, size=(300, 3))
    directions = ["minimize", "maximize", "minimize"]
    front = FrontVolume(directions)
    for chunk in np.array_split(values, 7):
        for row in chunk:
            front.add(list(row))
        front.volume()
    front.add(list(values[0]))  # a repeated config adds nothing
    points = to_minimization(values, directions)
    assert front.volume() == pytest.approx(hypervolume(points, reference_point(points)), rel=1e-12)


def test_is_terminal_needs_every_stream_to_be_one() -> None:
    assert is_terminal(Terminal(), Terminal())
    assert not is_terminal(Terminal(), io.StringIO())
    assert not is_terminal(object())


def test_a_terminal_gets_a_bar_with_done_total_failures_and_hypervolume() -> None:
    out, clock, points = Terminal(), Clock(), []
    with SweepProgress(20, 5, MIN3, feed(points), stream=out, clock=clock) as progress:
        points.append([1.0, 2.0, 3.0])
        clock.now = 2.0
        progress.update(7, 1)
        assert progress.hypervolume == pytest.approx(0.1 * 0.2 * 0.3)  # reference (1.1, 2.2, 3.3)
        clock.now = 2.5  # within a second of the last volume: the new point waits
        points.append([0.5, 2.0, 3.0])
        progress.update(8, 2)
        assert progress.hypervolume == pytest.approx(0.1 * 0.2 * 0.3)  # reference (1.1, 2.2, 3.3)
        clock.now = 4.0
        progress.update(9, 2)
    # Worst (1, 2, 3), best (0.5, 2, 3): reference (1.05, 2.2, 3.3); the front is the point (0.5, 2, 3).
    assert progress.hypervolume == pytest.approx(0.55 * 0.2 * 0.3)
    last = out.getvalue().split("\r")[-1]
    assert "9/20" in last and "2 failed" in last and "hypervolume 0.033" in last
    assert "sweep" in last and "trial" in last


def test_no_terminal_gets_no_bar_and_a_summary_line_every_interval(caplog) -> None:
    out, clock, points = io.StringIO(), Clock(), []
    caplog.set_level(logging.INFO, logger="dse.search.progress")
    with SweepProgress(40, 10, MIN3, feed(points), stream=out, clock=clock, summary_every_s=10) as progress:
        points.append([1.0, 2.0, 3.0])
        clock.now = 5.0
        progress.update(12, 1)
        assert caplog.messages == []  # not yet 10 s
        clock.now = 10.0
        progress.update(15, 2)
        clock.now = 12.0
        progress.update(16, 2)
        clock.now = 20.0
        progress.update(20, 3)
    assert out.getvalue() == ""
    # 5 trials in 10 s: 25 left take 50 s; then 10 in 20 s: 20 left take 40 s.
    assert caplog.messages == [
        "progress: 15/40 trials, 2 failed, hypervolume 0.006, 10.0 s, ETA 50 s",
        "progress: 20/40 trials, 3 failed, hypervolume 0.006, 20.0 s, ETA 40 s",
    ]


def test_sweep_in_a_pipe_keeps_one_plain_line_per_trial(tmp_path: Path) -> None:
    proc = toy_cli(tmp_path, *FAILING_GRID)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    for text in (stdout, stderr):
        assert "\x1b" not in text and "\r" not in text
    assert stdout.count("trial [") == 4
    assert stdout.count("] failed: ") == 3
    assert "1 trials complete, 3 failed" in stdout


def test_sweep_on_a_terminal_draws_the_bar_with_counts_and_failures(tmp_path: Path) -> None:
    main, child = pty.openpty()
    ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    args = [sys.executable, str(TOY_APP), "-m", *sweep_args(tmp_path, "toy", list(FAILING_GRID))]
    proc = subprocess.Popen(args, stdout=child, stderr=child, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode()
    bar = [line for line in text.replace("\r", "\n").splitlines() if line.startswith("sweep")][-1]
    assert "4/4" in bar and "3 failed" in bar and f"hypervolume {TOY_VOLUME:.4g}" in bar
    assert text.count("] failed: ") == 3  # the trial lines are still written, above the bar
