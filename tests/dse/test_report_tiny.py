"""`pimdse-report` on studies with almost nothing in them, and on inputs that are no study: a readable
report or one line, never a traceback."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from optuna.trial import TrialState
from study_maker import Trial, make_study, report_data

from dse.results.explorer.cli import main
from dse.results.explorer.sources import STUDY_RECORD, record_study
from dse.search.objectives import parse_objectives

MS, GIB = 1e-3, 2**30


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, capsys, trials: list[Trial]) -> tuple[dict, str]:
    url = make_study(tmp_path, "tiny", trials)
    html = tmp_path / "tiny.html"
    code, out, err = run(capsys, url, "--out", str(html), "--no-images")
    assert code == 0 and err == "", err
    assert f"report:  {html}" in out
    return report_data(html), out


def test_no_trial_gives_a_page_that_says_so(tmp_path, capsys):
    data, out = write(tmp_path, capsys, [])
    assert "study 'tiny'" in out and "0 trials" in out and "The study holds no trial yet." in out
    assert data["rows"]["number"] == []
    assert data["studies"][0]["notes"] == ["The study holds no trial yet."]
    assert data["figures"]["hypervolume"]["figure"] is None
    assert data["emptyMessage"] == "No complete trial in tiny: nothing to plot."
    # Every slider has no step: the page disables it.
    assert all(f["steps"] == [] for f in data["filters"])


def test_one_trial_is_its_own_pareto_set_with_the_whole_box(tmp_path, capsys):
    data, _ = write(tmp_path, capsys, [Trial(0.01, 5 * MS, GIB)])
    assert data["rows"]["pareto"] == [True]
    # One point: the ideal is the point itself and the reference lies beyond it in every objective,
    # so the point dominates the whole box: a share of exactly 1.
    (shares,) = [t["y"] for t in data["figures"]["hypervolume"]["figure"]["data"]]
    assert _numbers(shares) == [1.0]
    assert data["rows"]["cells"] == [["0.01 nats/token"], ["5 ms"], ["1 GiB"]]
    assert data["rows"]["command"] == ["pimdse algo=pq hw.pim.stacks=8"]
    (importance,) = data["figures"]["importance"]
    assert importance["figure"] is None
    assert importance["note"] == "tiny: parameter importance needs at least 5 complete trials (1 here)"


def test_two_trials_one_dominated(tmp_path, capsys):
    data, out = write(tmp_path, capsys, [Trial(0.01, 5 * MS, GIB), Trial(0.02, 6 * MS, 2 * GIB, stacks=4)])
    assert data["rows"]["pareto"] == [True, False]
    assert "2 complete (0 infeasible), 0 failed; 1 on its Pareto set" in out


def test_all_infeasible_names_the_broken_constraint(tmp_path, capsys):
    trials = [Trial(0.01 * (i + 1), (5 - i) * MS, GIB, fits=False) for i in range(3)]
    data, out = write(tmp_path, capsys, trials)
    assert data["rows"]["feasible"] == [False] * 3 and data["rows"]["pareto"] == [False] * 3
    assert data["rows"]["broke"] == ["fits"] * 3
    assert "infeasible: broke fits" in data["rows"]["hover"][0]
    note = "Every complete trial is infeasible (broke fits): the Pareto set is empty."
    assert note in data["studies"][0]["notes"] and note in out
    assert data["figures"]["hypervolume"]["note"] == "No feasible complete trial: no hypervolume."


def test_all_failed_lists_the_reasons(tmp_path, capsys):
    trials = [Trial(state=TrialState.FAIL, fail_reason="objective latency: 'latency_s' is nan")] * 2
    trials.append(Trial(state=TrialState.FAIL, fail_reason="ValueError: 3-bit uniform is not supported"))
    data, out = write(tmp_path, capsys, trials)
    assert data["rows"]["number"] == []
    assert data["studies"][0]["notes"] == [
        "No trial completed: nothing to plot.",
        "Failed: objective latency: 'latency_s' is nan (x2); ValueError: 3-bit uniform is not supported (x1)",
    ]
    assert "0 complete (0 infeasible), 3 failed" in out


def test_tiny_studies_still_write_images_or_say_why(tmp_path, capsys):
    url = make_study(tmp_path, "one", [Trial(0.01, 5 * MS, GIB)])
    code, out, err = run(capsys, url, "--out", str(tmp_path / "one.html"))
    assert code == 0 and err == ""
    figures = next(line for line in out.splitlines() if line.startswith("figures:"))
    # Either the files were written, or one line says why not (no Chromium for kaleido).
    if "skipped" in figures:
        assert figures.endswith("the HTML report is complete")
    else:
        assert sorted(p.name for p in (tmp_path / "one.figures").iterdir()) == sorted(
            f"{stem}.{fmt}"
            # The trial stored no per-kernel results: of its per-point figures, only the capacity wall.
            for stem in ("front-2d", "front-3d", "parallel", "hypervolume", "point-capacity")
            for fmt in ("png", "svg")
        )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["{tmp}/nowhere"],
            "{tmp}/nowhere: no such file or directory (give a storage URL or a sweep directory)",
        ),
        (
            ["{tmp}/empty"],
            "{tmp}/empty: holds no study (no pimdse-study.yaml, multirun.yaml or .db file): "
            "give a storage URL or a pimdse -m sweep directory",
        ),
        (["sqlite:///{tmp}/missing.db"], "no study file {tmp}/missing.db (from sqlite:///{tmp}/missing.db)"),
        (["{tmp}/a.db", "--study", "b"], "no study 'b' in {tmp}/a.db (has: a)"),
        (
            ["{tmp}/nameless"],
            "{tmp}/nameless/multirun.yaml: the sweep does not record its study name (a default "
            "pimdse-<hash> name): give the study's storage URL, "
            "e.g. sqlite:///outputs/studies/<study>.db",
        ),
        (
            ["{tmp}/a.db", "{tmp}/c.db"],
            "the studies share no objective (same key, direction and unit): "
            "a: accuracy_loss, latency, memory; c: energy",
        ),
    ],
)
def test_inputs_that_are_no_study_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "nameless").mkdir()
    (tmp_path / "nameless" / "multirun.yaml").write_text("hydra:\n  sweeper:\n    study_name: null\n")
    make_study(tmp_path, "a", [Trial(0.01, 5 * MS, GIB)])
    energy = parse_objectives(["energy"])
    make_study(tmp_path, "c", [Trial(0.01, 5 * MS, GIB, extra={"energy_j": 1.0})], objectives=energy)
    code, out, err = run(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and out == ""
    assert err == f"pimdse-report: error: {message.format(tmp=tmp_path)}\n"


def test_a_sweep_directory_names_its_study(tmp_path, capsys):
    url = make_study(tmp_path, "swept", [Trial(0.01, 5 * MS, GIB)])
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    record_study(sweep, url, "swept")
    assert (sweep / STUDY_RECORD).is_file()
    code, out, _ = run(capsys, str(sweep), "--no-images")
    assert code == 0
    # One study in an SQLite file: the report goes next to it, as the sweep writes it.
    assert f"report:  {tmp_path / 'swept.html'}" in out


def _numbers(values) -> list[float]:
    """A trace's numbers, whether plotly wrote them as a list or as a typed array."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
