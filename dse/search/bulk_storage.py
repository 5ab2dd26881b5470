"""Optuna's RDBStorage, with a finished trial added in a handful of SQL statements.

`Study.add_trial` on RDBStorage writes each value, parameter and attribute with its own lookups
(about 50 statements, ~20 ms, for a trial with a dozen metrics). The sweep only ever adds finished
trials whole (dse.search.ledger), so this storage inserts the trial row, then all its child rows in one
batch, in the same single transaction as Optuna's own code: the stored rows are the ones Optuna
would write. It relies on Optuna 5's RDB models (pinned by pyproject); tests/dse check a round trip.
Parameter distributions are not re-checked against earlier trials here: the sampler's in-memory
twin of the study already holds every stored trial and checked them when the trial was asked.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.distributions import distribution_to_json
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial


class BulkRDBStorage(optuna.storages.RDBStorage):
    """RDBStorage whose creation of an already-finished trial is one batched insert."""

    def _get_prepared_new_trial(
        self, study_id: int, template_trial: FrozenTrial | None, session: Any
    ) -> models.TrialModel:
        if (
            template_trial is None
            or not template_trial.state.is_finished()
            or template_trial.intermediate_values
        ):
            return super()._get_prepared_new_trial(study_id, template_trial, session)
        trial = models.TrialModel(
            study_id=study_id,
            number=None,
            state=template_trial.state,
            datetime_start=template_trial.datetime_start,
            datetime_complete=template_trial.datetime_complete,
        )
        session.add(trial)
        session.flush()  # assigns trial_id, which the child rows reference
        tid = trial.trial_id
        rows: list[Any] = []
        for objective, value in enumerate(template_trial.values or ()):
            stored, value_type = models.TrialValueModel.value_to_stored_repr(value)
            rows.append(
                models.TrialValueModel(trial_id=tid, objective=objective, value=stored, value_type=value_type)
            )
        for name, value in template_trial.params.items():
            dist = template_trial.distributions[name]
            rows.append(
                models.TrialParamModel(
                    trial_id=tid,
                    param_name=name,
                    param_value=dist.to_internal_repr(value),
                    distribution_json=distribution_to_json(dist),
                )
            )
        rows += [
            models.TrialUserAttributeModel(trial_id=tid, key=k, value_json=json.dumps(v))
            for k, v in template_trial.user_attrs.items()
        ]
        rows += [
            models.TrialSystemAttributeModel(trial_id=tid, key=k, value_json=json.dumps(v))
            for k, v in template_trial.system_attrs.items()
        ]
        session.add_all(rows)
        trial.number = trial.count_past_trials(session)
        return trial
