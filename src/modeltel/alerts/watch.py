"""Thresholds checked from the prediction path: latency and drift, every ``CHECK_EVERY`` calls."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from modeltel._observer import CallView
from modeltel.alerts.thresholds import DRIFT_THRESHOLDS, AlertState

# Metrics a prediction can move (the others move when labels arrive).
CALL_TIME = DRIFT_THRESHOLDS | {"latency_p99"}


class CallWatch:
    """Latency p99 over the last 1,000 calls and each drift method's worst feature, compared
    with the model's thresholds every ``CHECK_EVERY`` calls; an observer of its calls."""

    CHECK_EVERY = 100
    site = "alerts"

    def __init__(
        self,
        model: tuple[str, str | None],
        thresholds: Mapping[str, float],
        on_alert: Any,
        state: AlertState,
        drift: Any,
    ) -> None:
        self.model = model
        self.thresholds = {k: v for k, v in thresholds.items() if k in CALL_TIME}
        self.on_alert = on_alert
        self.state = state
        self.drift = drift
        self._latency: deque[float] = deque(maxlen=1000)
        self._calls = itertools.count(1)

    def after(self, call: CallView, result: Any) -> None:
        if "latency_p99" in self.thresholds:
            self._latency.append(call.duration)
        if next(self._calls) % self.CHECK_EVERY:
            return
        values: dict[str, float] = {}
        if self._latency:
            values["latency_p99"] = float(np.percentile(np.fromiter(self._latency, float), 99))
        if self.drift is not None:
            for method in DRIFT_THRESHOLDS & self.thresholds.keys():
                score = self.drift.worst_score(method)
                if score is not None:
                    values[method] = score
        self.state.evaluate(self.model, values, self.thresholds, self.on_alert, call.span, call.telemetry.alerts)


def call_watch(
    model: tuple[str, str | None], thresholds: Mapping[str, float] | None, on_alert: Any, state: AlertState, drift: Any
) -> CallWatch | None:
    """The model's call watch, or None when none of its thresholds is checked per call."""
    if not thresholds or not CALL_TIME & thresholds.keys():
        return None
    return CallWatch(model, thresholds, on_alert, state, drift)
