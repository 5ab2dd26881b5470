"""The pimdse sweeper end to end on the toy app, with real SQLite studies in tmp_path."""

from __future__ import annotations

import math
import re
from pathlib import Path

import optuna
import pandas as pd
import pytest
import toy_app
import yaml
from conftest import TOY_APP, load
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from study_maker import report_data

from dse.results.explorer.sources import STUDY_RECORD
from dse.results.frames import load_frame
from dse.search.jobconfig import config_hash
from dse.search.ledger import ATTR_FAIL_REASON
from dse.search.storage import make_storage, sqlite_url

TrialState = optuna.trial.TrialState


def composed(overrides: list[str]):
    """Hydra's own composition of a job's overrides (what the basic launcher would run)."""
    with initialize_config_dir(str(TOY_APP.parent / "toy_conf"), version_base="1.3"):
        return compose("config", overrides=overrides)


def test_default_sweep_stores_every_trial_with_metrics_and_provenance(run_toy, tmp_path: Path) -> None:
    stats = run_toy()
    assert OmegaConf.load(tmp_path / "sweep" / "multirun.yaml").hydra.sweeper.n_trials == 12
    study = load(tmp_path)
    trials = study.get_trials()
    assert len(trials) == 12 == stats.completed + stats.failed
    assert [t.number for t in trials] == list(range(12))
    # The default objectives: accuracy_loss (the toy's loss, as pimdse's default metric), latency, memory.
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE", "MINIMIZE"]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert complete, "the toy space has feasible, evaluable points"
    for t in complete:
        # Conditional params: PQ's only for pq, uniform's only for uniform, none for fp16.
        algo_keys = {k for k in t.params if k.startswith("algo.")}
        assert (
            algo_keys
            == {"pq": {"algo.subvector_dim", "algo.n_centroids"}, "uniform": {"algo.bits"}, "fp16": set()}[
                t.params["algo"]
            ]
        )
        cfg = composed(t.user_attrs["overrides"])
        expected = toy_app.evaluate(cfg)
        assert t.values == [expected["accuracy"]["value"], expected["latency_s"], expected["kv_bytes"]]
        assert t.user_attrs["kv_bytes_split"] == expected["kv_bytes_split"]
        assert t.user_attrs["accuracy.value"] == expected["accuracy"]["value"]
        assert t.user_attrs["fits"] == expected["fits"]
        assert t.constraints == {"fits": 0.0 if expected["fits"] else 1.0}
        assert re.fullmatch(r"(git:[0-9a-f]{12}(-dirty)?|pimdse==.*)", t.user_attrs["code_version"])
        # The in-process config is Hydra's composition of the same overrides, to the hash.
        assert "hydra" not in cfg
        assert t.user_attrs["config_hash"] == config_hash(OmegaConf.to_container(cfg, resolve=False))


@pytest.mark.parametrize(
    "executor",
    [[], ["hydra.sweeper.executor=launcher", "hydra.sweeper.n_jobs=2"], ["hydra.sweeper.n_jobs=2"]],
    ids=["in-process", "basic-launcher", "process-pool"],
)
def test_failed_evaluations_are_stored_with_their_reason_and_the_sweep_goes_on(
    run_toy, tmp_path: Path, executor: list[str]
) -> None:
    # Grid over 4 points: bits=3 raises in the task, banks=56 returns a NaN latency.
    run_toy(
        *executor,
        "space=flat",
        "algo=uniform",
        "hw.banks=choice(16,56)",
        "algo.bits=choice(3,4)",
        "hydra.sweeper.sampler=grid",
        "hydra.sweeper.n_trials=4",
    )
    by_point = {(t.params["hw.banks"], t.params["algo.bits"]): t for t in load(tmp_path).get_trials()}
    assert set(by_point) == {(16, 3), (16, 4), (56, 3), (56, 4)}
    assert by_point[(16, 4)].state == TrialState.COMPLETE
    for point in [(16, 3), (56, 3)]:
        assert by_point[point].state == TrialState.FAIL
        assert by_point[point].user_attrs[ATTR_FAIL_REASON] == "ValueError: 3-bit uniform is not supported"
    assert by_point[(56, 4)].state == TrialState.FAIL
    assert by_point[(56, 4)].user_attrs[ATTR_FAIL_REASON] == "objective latency: 'latency_s' is nan"


def test_same_seed_same_trials_other_seed_other_trials(run_toy, tmp_path: Path) -> None:
    run_toy("hydra.sweeper.seed=7", study="a")
    run_toy("hydra.sweeper.seed=7", study="b")
    run_toy("hydra.sweeper.seed=8", study="c")

    def params(name: str) -> list[dict]:
        return [t.params for t in load(tmp_path, name).get_trials()]

    assert params("a") == params("b")
    assert params("a") != params("c")


def test_rerun_resumes_the_study_up_to_n_trials(run_toy, tmp_path: Path) -> None:
    run_toy("hydra.sweeper.n_trials=5")
    first = [(t.params, t.values) for t in load(tmp_path).get_trials()]
    run_toy("hydra.sweeper.n_trials=9")
    trials = load(tmp_path).get_trials()
    assert len(trials) == 9
    assert [(t.params, t.values) for t in trials[:5]] == first
    stats = run_toy("hydra.sweeper.n_trials=9")
    assert stats.completed + stats.failed == 0


def test_infeasible_trials_never_enter_the_pareto_set(run_toy, tmp_path: Path) -> None:
    # hw=small holds 4 MiB: fp16 and 8-bit uniform at 4096 tokens do not fit.
    run_toy("hydra.sweeper.n_trials=30", "hydra.sweeper.sampler=random")
    df = load_frame(study_db_url(tmp_path), "toy")
    assert (~df["feasible"] & (df["state"] == "COMPLETE")).any()
    assert df["pareto"].any()
    assert df.loc[df["pareto"], "fits"].all()
    assert (df.loc[df["pareto"], "constraint.fits"] == 0).all()


def test_upper_bound_constraints_from_config(run_toy, tmp_path: Path) -> None:
    run_toy("hydra.sweeper.constraints=[{key:latency_s,max:2e-5}]", "hydra.sweeper.n_trials=10")
    for t in load(tmp_path).get_trials(states=[TrialState.COMPLETE]):
        assert t.constraints["latency_s"] == pytest.approx(max(0.0, t.user_attrs["latency_s"] - 2e-5))


@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc", "gp"])
def test_samplers_by_config(run_toy, tmp_path: Path, sampler: str) -> None:
    run_toy(f"hydra.sweeper.sampler={sampler}", "hydra.sweeper.n_trials=4")
    assert len(load(tmp_path).get_trials()) == 4


def test_grid_sampler_visits_every_point_once(run_toy, tmp_path: Path) -> None:
    run_toy(
        "space=flat",
        "algo=uniform",
        "algo.bits=choice(2,4)",
        "hydra.sweeper.sampler=grid",
        "hydra.sweeper.n_trials=8",
    )
    points = sorted((t.params["hw.banks"], t.params["algo.bits"]) for t in load(tmp_path).get_trials())
    assert points == sorted((b, bits) for b in (8, 16, 24, 32) for bits in (2, 4))


def test_objectives_by_config(run_toy, tmp_path: Path) -> None:
    run_toy("hydra.sweeper.objectives=[energy,latency]", "hydra.sweeper.n_trials=4")
    study = load(tmp_path)
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    for t in study.get_trials(states=[TrialState.COMPLETE]):
        assert t.values == [t.user_attrs["energy_j"], t.user_attrs["latency_s"]]


@pytest.mark.parametrize(
    "executor",
    [["hydra.sweeper.executor=launcher", "hydra.sweeper.n_jobs=2"], ["hydra.sweeper.n_jobs=2"]],
    ids=["basic-launcher", "process-pool"],
)
def test_launcher_and_worker_pool_give_the_same_results(run_toy, tmp_path: Path, executor: list[str]) -> None:
    run_toy("hydra.sweeper.n_trials=6", *executor)
    trials = load(tmp_path).get_trials()
    assert len(trials) == 6
    for t in trials:
        if t.state == TrialState.COMPLETE:
            expected = toy_app.evaluate(composed(t.user_attrs["overrides"]))
            assert t.values[1] == expected["latency_s"]
    if "hydra.sweeper.executor=launcher" in executor:
        # Hydra's launcher wrote its per-job directories.
        assert len(list((tmp_path / "sweep").glob("*/.hydra/config.yaml"))) == 6


def test_joblib_launcher(run_toy, tmp_path: Path) -> None:
    run_toy(
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.executor=launcher",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=4",
    )
    assert len(load(tmp_path).get_trials(states=[TrialState.COMPLETE, TrialState.FAIL])) == 4


def test_accuracy_objective_maximises_a_higher_is_better_metric(run_toy, tmp_path: Path) -> None:
    # The older kind of metric (a score, higher is better) with the `accuracy` objective, as before.
    run_toy(
        "toy.metric=score", "hydra.sweeper.objectives=[accuracy,latency,memory]", "hydra.sweeper.n_trials=6"
    )
    study = load(tmp_path)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE"]
    complete = study.get_trials(states=[TrialState.COMPLETE])
    assert complete
    for t in complete:
        expected = toy_app.evaluate(composed(t.user_attrs["overrides"]))  # holds toy.metric=score
        assert expected["accuracy"]["name"] == "toy_score"
        assert t.values == [expected["accuracy"]["value"], expected["latency_s"], expected["kv_bytes"]]


def test_report_writes_plot_and_exports_next_to_the_study(run_toy, tmp_path: Path, capsys) -> None:
    run_toy("hydra.sweeper.report=true", "hydra.sweeper.n_trials=10")
    out = capsys.readouterr().out
    studies = tmp_path / "studies"
    html = (studies / "toy.html").read_text()
    assert "Pareto set" in html and "plotly" in html
    # The Pareto explorer's data: one row per complete trial; the sweep directory names the study.
    page = report_data(studies / "toy.html")
    assert page["title"] == "pimdse study toy"
    assert yaml.safe_load((tmp_path / "sweep" / STUDY_RECORD).read_text()) == {
        "storage": sqlite_url(studies / "toy.db"),
        "study_name": "toy",
    }
    df = pd.read_parquet(studies / "toy.trials.parquet")
    csv = pd.read_csv(studies / "toy.trials.csv")
    assert len(df) == len(csv) == 10
    assert page["rows"]["number"] == df.loc[df["state"] == "COMPLETE", "number"].tolist()
    assert {
        "accuracy_loss",
        "latency",
        "memory",
        "params.algo",
        "latency_s",
        "accuracy.value",
        "pareto",
    } <= set(df)
    n_front = int(df["pareto"].sum())
    assert f"Pareto set of study 'toy' ({n_front} of 10 trials)" in out
    assert str(studies / "toy.html") in out and "hypervolume" in out
    # The metric and its unit, then one table row per Pareto trial under the header, the loss in
    # the record's unit: 1 - accuracy (toy_app), e.g. PQ s=2 K=16: 0.1 * 2 / 4 = 0.05 nats/token.
    legend, *table = out.split("trials):\n", 1)[1].split("hypervolume")[0].strip().splitlines()
    assert legend == "accuracy_loss: accuracy loss (toy_loss, nats/token), lower is better"
    assert len(table) == n_front + 1 and table[0].split()[:2] == ["trial", "accuracy_loss"]
    front = df[df["pareto"]].sort_values("accuracy_loss")
    for line, (_, row) in zip(table[1:], front.iterrows(), strict=True):
        assert line.split()[:3] == [str(row["number"]), f"{row['accuracy_loss']:.4g}", "nats/token"]


def study_db_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "studies" / "toy.db")


def test_loaded_frame_matches_the_study(run_toy, tmp_path: Path) -> None:
    run_toy("hydra.sweeper.n_trials=8")
    df = load_frame(study_db_url(tmp_path), "toy")
    study = load(tmp_path)
    assert df["number"].tolist() == [t.number for t in study.get_trials()]
    for t in study.get_trials(states=[TrialState.COMPLETE]):
        row = df[df["number"] == t.number].iloc[0]
        assert [row["accuracy_loss"], row["latency"], row["memory"]] == t.values
        assert row["breakdown.attention"] == t.user_attrs["breakdown"]["attention"]
    front = df[df["pareto"]]
    for _, a in front.iterrows():  # no Pareto trial dominates another
        for _, b in front.iterrows():
            objectives = ["accuracy_loss", "latency", "memory"]
            dominates = all(b[o] <= a[o] for o in objectives) and any(b[o] < a[o] for o in objectives)
            assert not dominates
    assert all(math.isnan(v) for v in df.loc[df["state"] == "FAIL", "latency"])


def test_repeated_configs_are_not_rerun(run_toy, tmp_path: Path) -> None:
    # 4 distinct configs, a budget of 10: the sampler's repeats are answered from the study.
    small = [
        "space=flat",
        "algo=uniform",
        "hw.banks=choice(8,16)",
        "algo.bits=choice(2,4)",
        "hydra.sweeper.sampler=random",
        "hydra.sweeper.n_trials=10",
    ]
    stats = run_toy(*small, study="dedup")
    trials = load(tmp_path, "dedup").get_trials()
    assert len(trials) == 4
    assert len({t.user_attrs["config_hash"] for t in trials}) == 4
    assert stats.duplicates >= 200  # it stops after MAX_DUPLICATE_STREAK repeats in a row
    run_toy(*small, "hydra.sweeper.skip_duplicates=false", study="repeats")
    assert len(load(tmp_path, "repeats").get_trials()) == 10


def test_optuna_dashboard_reads_the_study(run_toy, tmp_path: Path) -> None:
    import io
    import json
    import sys

    from optuna_dashboard import wsgi

    run_toy("hydra.sweeper.n_trials=4")
    app = wsgi(make_storage(study_db_url(tmp_path)))

    def get(path: str) -> dict:
        status = []
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "test",
            "SERVER_PORT": "80",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        assert status == ["200 OK"]
        return json.loads(body)

    (summary,) = get("/api/studies")["study_summaries"]
    assert summary["study_name"] == "toy"
    trials = get(f"/api/studies/{summary['study_id']}")["trials"]
    assert len(trials) == 4
    assert {"latency_s", "kv_bytes", "config_hash"} <= {a["key"] for a in trials[0]["user_attrs"]}


def test_study_report_command(run_toy, tmp_path: Path, capsys) -> None:
    from dse.results.study_report import main as report_main

    run_toy("hydra.sweeper.n_trials=5")
    capsys.readouterr()
    assert report_main([study_db_url(tmp_path)]) == 0
    assert "Pareto set of study 'toy'" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "studies" / "toy.trials.csv")) == 5
    assert (tmp_path / "studies" / "toy.html").exists()
    assert report_main([study_db_url(tmp_path), "--study", "nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"pimdse: error: no study 'nope' in {study_db_url(tmp_path)} (has: toy)"
    )
