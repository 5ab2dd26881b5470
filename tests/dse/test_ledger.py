"""The ledger: an in-memory twin per worker, finished trials stored once, others' trials mirrored."""

from __future__ import annotations

import optuna

from dse.search.ledger import ATTR_CONFIG_HASH, ATTR_WORKER, Ledger


def workers(n: int) -> tuple[optuna.Study, list[Ledger]]:
    durable = optuna.create_study(directions=["minimize"])
    return durable, [Ledger(durable, optuna.samplers.RandomSampler(seed=i)) for i in range(n)]


def run_one(ledger: Ledger, tag: str) -> None:
    trial = ledger.ask()
    x = trial.suggest_float("x", 0, 1)
    ledger.complete(trial, [x], {ATTR_CONFIG_HASH: tag}, {"fits": 0.0})


def test_each_worker_sees_every_finished_trial_once() -> None:
    durable, (a, b) = workers(2)
    for i in range(3):
        run_one(a, f"a{i}")
    assert b.sync() == 3
    assert len(b.local.get_trials()) == 3
    for i in range(2):
        run_one(b, f"b{i}")
    assert a.sync() == 5 == b.sync()
    assert len(a.local.get_trials()) == len(b.local.get_trials()) == 5
    stored = durable.get_trials()
    assert [t.number for t in stored] == [0, 1, 2, 3, 4]
    assert [t.user_attrs[ATTR_WORKER] for t in stored] == [a.worker_id] * 3 + [b.worker_id] * 2
    assert all(t.constraints == {"fits": 0.0} for t in stored)


def test_failed_trials_keep_their_reason_and_count() -> None:
    durable, (a,) = workers(1)
    a.fail(a.ask(), "ValueError: boom", {ATTR_CONFIG_HASH: "f"})
    (t,) = durable.get_trials()
    assert t.state == optuna.trial.TrialState.FAIL and t.user_attrs["fail_reason"] == "ValueError: boom"
    assert a.sync() == 1


def test_repeated_configs_are_answered_from_the_study() -> None:
    durable, (a, b) = workers(2)
    run_one(a, "same")
    b.sync()
    earlier = b.seen("same")
    assert earlier is not None and b.seen("other") is None
    trial = b.ask()
    trial.suggest_float("x", 0, 1)
    b.skip_duplicate(trial, earlier)
    # Told in b's twin with the stored values; nothing new in storage.
    assert b.local.get_trials()[-1].values == earlier.values
    assert len(durable.get_trials()) == 1
