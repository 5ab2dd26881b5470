"""Progress of the one-time model runs: a bar on a terminal, a start and an end line otherwise."""

import io
import logging
from contextlib import contextmanager

import torch

import models.capture
from models.capture import CaptureKey, load_capture
from models.longrange import LongRangeRule, short_context_nll
from models.progress import long_run
from models.runtime import get_model
from models.spec import ModelSpec, parse_proxy


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_counting_the_work(caplog) -> None:
    out = Terminal()
    caplog.set_level(logging.INFO, logger="models.progress")
    with long_run("capture of eval activations", "layer", stream=out) as progress:
        progress.expect(4)
        for _ in range(3):
            progress.advance()
        shown = out.getvalue()
        progress.advance()
    assert "capture of eval activations" in shown and "3/4" in shown and "\r" in shown
    assert len(caplog.messages) == 1  # no start line: the bar says it
    assert caplog.messages[0].startswith("capture of eval activations: done in ")


def test_no_terminal_gets_a_start_and_an_end_line_and_no_bar(caplog) -> None:
    out = io.StringIO()
    caplog.set_level(logging.INFO, logger="models.progress")
    with long_run("long-range tokens", "chunk", stream=out) as progress:
        progress.expect(14)
        progress.advance(14)
    assert out.getvalue() == ""
    assert caplog.messages[0] == "long-range tokens: started (once: the result is cached)"
    assert caplog.messages[1].startswith("long-range tokens: done in ") and caplog.messages[1].endswith(" s")
    assert len(caplog.messages) == 2


class Recording:
    """A LongRun stand-in that records what it expects and every advance."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.advanced: list[int] = []

    def expect(self, total: int) -> None:
        self.total = total

    def advance(self, n: int = 1) -> None:
        self.advanced.append(n)


def recording(calls: dict):
    @contextmanager
    def fake(what, unit):
        calls.update(what=what, unit=unit, run=Recording())
        yield calls["run"]

    return fake


def test_a_capture_advances_once_per_layer_of_every_sequence(tiny_proxy, tmp_path, monkeypatch) -> None:
    calls: dict = {}
    monkeypatch.setattr(models.capture, "long_run", recording(calls))
    spec = parse_proxy(tiny_proxy | {"cache_dir": str(tmp_path)})  # a cache of its own: the capture runs
    load_capture(spec, CaptureKey("eval", spec.layers))
    # SmolLM2-135M has 30 layers; the tiny proxy captures 2 sequences of 320 tokens.
    assert calls["what"] == "capture of eval activations (2 x 320 tokens)" and calls["unit"] == "layer"
    assert calls["run"].total == 2 * 30 == sum(calls["run"].advanced)


def test_the_short_context_pass_reports_every_chunk() -> None:
    model = get_model(ModelSpec())
    ids = torch.tensor([model.tokenizer("The harbour master of Vellington is Oskar Brandt. " * 3).input_ids])
    chunks: list[None] = []
    rule = LongRangeRule(sinks=2, window=4, chunk=7)
    short_context_nll(model.weights, ids, 10, rule, lambda: chunks.append(None))
    assert len(chunks) == len(range(10, ids.shape[1] - 1, 7)) > 2
