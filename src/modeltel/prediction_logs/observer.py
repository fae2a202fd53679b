"""Prediction logs as an observer of a model's calls: a sampled fraction of them, after the call."""

from __future__ import annotations

from typing import Any

from modeltel._observer import CallView
from modeltel.prediction_logs.records import emit, should_log


class PredictionLogObserver:
    """Writes a record for a sampled fraction (``prediction_log_rate``) of the model's calls."""

    __slots__ = ()
    site = "prediction_log"

    def after(self, call: CallView, result: Any) -> None:
        if call.ids is not None and should_log(call.bind.settings):
            emit(call.bind, call.ids, call.x, result, call.feature_names(), call.span)
