"""What the Pareto explorer computes before any browser sees it: running hypervolume (closed form),
the objectives several studies share, Pareto ranks, which points carry per-point figures, the
sliders, how inputs name studies, and data that cannot break out of its script element."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from optuna.trial import TrialState
from study_maker import Trial, make_study, report_data

from dse.results.explorer.build import build_explorer
from dse.results.explorer.page import filter_sliders
from dse.results.explorer.points import selectable_rows
from dse.results.explorer.sources import StudySource, resolve_inputs
from dse.results.explorer.studies import hypervolume_history, load_report, nondomination_rank
from dse.results.explorer.write import write_explorer
from dse.search.objectives import parse_objectives
from dse.search.storage import sqlite_url

MS, GIB = 1e-3, 2**30


def test_running_hypervolume_is_the_closed_form_share_of_the_box(tmp_path):
    # a = (0.1 nats/token, 1 ms, 1 GiB), b = (0.2, 2 ms, 0.5 GiB); trial 1 failed in between.
    trials = [
        Trial(0.1, 1 * MS, GIB),
        Trial(state=TrialState.FAIL, fail_reason="x"),
        Trial(0.2, 2 * MS, GIB / 2),
    ]
    report = load_report(resolve_inputs([make_study(tmp_path, "hv", trials)]))
    history = hypervolume_history(report)
    # Reference: worst + 10 % of the range; ideal: the best of each objective.
    ref = np.array([0.21, 2.1 * MS, 1.05 * GIB])
    ideal = np.array([0.1, 1 * MS, 0.5 * GIB])
    np.testing.assert_allclose(history.reference, ref)
    np.testing.assert_allclose(history.ideal, ideal)
    box = np.prod(ref - ideal)
    a = np.prod(ref - [0.1, 1 * MS, GIB])
    b = np.prod(ref - [0.2, 2 * MS, GIB / 2])
    both = np.prod(ref - [0.2, 2 * MS, GIB])  # the two boxes overlap beyond the worse corner
    assert history.numbers[0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(history.shares[0], [a / box, a / box, (a + b - both) / box])
    assert a / box == pytest.approx(1 / 11)


def test_studies_are_compared_on_the_objectives_they_share(tmp_path):
    three = make_study(tmp_path, "three", [Trial(0.01, 2 * MS, GIB), Trial(0.02, 1 * MS, GIB / 4)])
    two_objectives = parse_objectives(["accuracy_loss", "latency"])
    two = make_study(tmp_path, "two", [Trial(0.01, 3 * MS, GIB), Trial(0.03, 3 * MS, GIB)], two_objectives)
    report = load_report(resolve_inputs([three, two]))
    assert [o.name for o in report.objectives] == ["accuracy_loss", "latency"]
    assert report.trials["study"].tolist() == [0, 0, 1, 1]
    # Within each study over the shared pair: both of "three" trade off; "two"'s second is dominated.
    assert report.trials["pareto"].tolist() == [True, True, True, False]
    html = tmp_path / "both.html"
    write_explorer(report, html, images=False)
    data = report_data(html)
    assert data["studies"][0]["notes"] == ["Not shown (not shared by every study): memory"]
    assert [s["name"] for s in data["studies"]] == ["three", "two"]
    assert data["title"] == "pimdse: three, two"


def test_nondomination_rank_peels_fronts():
    points = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [4, 4], [2, 2]], dtype=float)
    assert nondomination_rank(points).tolist() == [0, 0, 0, 1, 2, 0]


def test_point_figures_go_to_the_front_first_then_by_rank_up_to_the_cap(tmp_path):
    # Ten trials on one line (all Pareto) and two dominated ones.
    line = [Trial(0.01 * (i + 1), (10 - i) * MS, GIB) for i in range(10)]
    dominated = [Trial(0.5, 20 * MS, GIB), Trial(0.6, 30 * MS, GIB)]
    report = load_report(resolve_inputs([make_study(tmp_path, "cap", line + dominated)]))
    # A cap below the front: an even spread along the first objective (loss), ends included.
    assert selectable_rows(report, per_study=4) == [0, 3, 6, 9]
    # A cap above the front: the whole front, then the dominated trials by rank.
    assert selectable_rows(report, per_study=11) == [*range(10), 10]
    assert selectable_rows(report, per_study=40) == list(range(12))


def test_sliders_cover_the_objectives_then_latency_accuracy_and_memory(tmp_path):
    objectives = parse_objectives(["latency", "energy"])
    trials = [
        Trial(0.02, 2 * MS, GIB, extra={"energy_j": 0.5}),
        Trial(0.01, 1 * MS, 2 * GIB, extra={"energy_j": 0.5}),
    ]
    report = load_report(resolve_inputs([make_study(tmp_path, "sl", trials, objectives)]))
    sliders = filter_sliders(report)
    assert [(s.id, s.label, s.bound) for s in sliders] == [
        ("objective:0", "max latency", "max"),
        ("objective:1", "max energy", "max"),
        ("key:accuracy.value", "max accuracy loss", "max"),  # the record says lower is better
        ("key:kv_bytes", "memory budget (KV bytes)", "max"),
    ]
    assert sliders[0].steps == [1 * MS, 2 * MS] and sliders[0].labels == ["1 ms", "2 ms"]
    assert sliders[1].steps == [0.5] and sliders[1].labels == ["0.5 J"]
    assert sliders[2].labels == ["0.01 nats/token", "0.02 nats/token"]
    assert sliders[3].labels == ["1 GiB", "2 GiB"]


def test_inputs_name_studies(tmp_path):
    url = make_study(tmp_path, "a", [Trial(0.01, 1 * MS, GIB)])
    make_study(tmp_path, "b", [Trial(0.01, 1 * MS, GIB)])
    # A directory of study files: every study in it; --study picks.
    assert resolve_inputs([str(tmp_path)]) == [
        StudySource(url, "a"),
        StudySource(sqlite_url(tmp_path / "b.db"), "b"),
    ]
    assert resolve_inputs([str(tmp_path)], ["b"]) == [StudySource(sqlite_url(tmp_path / "b.db"), "b")]
    # A sweep directory from before the study record: multirun.yaml's study name and studies_dir.
    sweep = tmp_path / "old-sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(
        f"hydra:\n  runtime:\n    cwd: {tmp_path}\n  sweeper:\n    study_name: a\n    storage: null\n"
        "    studies_dir: .\n"
    )
    assert resolve_inputs([str(sweep)]) == [StudySource(sqlite_url(tmp_path / "." / "a.db"), "a")]
    # The same study named twice is shown once.
    assert resolve_inputs([url, str(tmp_path / "a.db")]) == [StudySource(url, "a")]


def test_text_in_the_data_cannot_close_its_script_element(tmp_path):
    hostile = "x</script><script>document.title='broken'</script>"
    url = make_study(tmp_path, "odd", [Trial(0.01, 1 * MS, GIB, extra={"overrides": [f"algo={hostile}"]})])
    html = tmp_path / "odd.html"
    write_explorer(load_report(resolve_inputs([url])), html, images=False)
    text = html.read_text()
    assert text.count("</script>") == 3  # plotly.js, the data, the page's script
    assert report_data(html)["rows"]["command"] == ["pimdse " + shlex.quote(f"algo={hostile}")]


def test_each_trial_is_explained_once(tmp_path):
    url = make_study(tmp_path, "e", [Trial(0.01, 1 * MS, GIB, fits=False), Trial(0.02, 2 * MS, GIB)])
    explorer = build_explorer(load_report(resolve_inputs([url])))
    assert explorer.hover[0].split("<br>") == [
        "<b>e · trial 0</b>",
        "accuracy_loss: 0.01 nats/token",
        "latency: 1 ms",
        "memory: 1 GiB",
        "<b>infeasible</b>: broke fits",
        "algo=pq",
        "hw.pim.stacks=8",
    ]
    assert [a.title for a in explorer.axes] == [
        "accuracy loss, est. (loss_increase_est, nats/token) ↓",
        "latency (latency_s, ms) ↓",
        "memory (kv_bytes, GiB) ↓",
    ]
    assert [a.scale for a in explorer.axes] == [1.0, 1e3, 2.0**-30]
