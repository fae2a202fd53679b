"""Threshold checks in process: the local counterpart of backend alerting.

``register(model, thresholds={"accuracy": 0.8}, on_alert=callback)``. When a windowed metric
crosses its threshold modeltel emits one WARN log record, an ``ml.alert`` span event, one
``ml.alerts`` count and calls ``on_alert``; when it comes back, one recovery. Once per
crossing, never once per call. Quality metrics alert below their threshold; error metrics
(``log_loss``, ``mae``, ``rmse``, ``mape``) above it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry._logs import SeverityNumber, get_logger

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._version import __version__
from modeltel.drift.methods import METHODS
from modeltel.errors import ModeltelTypeError, ModeltelValueError
from modeltel.labels.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

_logger = logging.getLogger("modeltel")
_otel_logger = get_logger("modeltel", __version__)

# Drift thresholds: every drift method (drift/methods.py says which direction is drift).
DRIFT_THRESHOLDS = frozenset(METHODS)
LOWER_IS_WORSE = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"}) | frozenset(
    name for name, m in METHODS.items() if not m.higher_is_drift
)
# Drift thresholds apply to the largest score over the features (evaluated each time the
# drift window moves); latency_p99 to the 99th percentile of the last 1,000 calls (evaluated
# every 100 calls), in seconds.
HIGHER_IS_WORSE = frozenset({"log_loss", "mae", "rmse", "mape", "latency_p99"}) | (DRIFT_THRESHOLDS - LOWER_IS_WORSE)
THRESHOLD_METRICS = (
    frozenset(CLASSIFICATION_METRICS) | frozenset(REGRESSION_METRICS) | DRIFT_THRESHOLDS | {"latency_p99"}
)


@dataclass(frozen=True)
class Alert:
    """One threshold crossing (``state="firing"``) or recovery (``state="resolved"``)."""

    model: str
    version: str | None
    metric: str
    value: float
    threshold: float
    state: str

    @property
    def name(self) -> str:
        return f"{self.model} {self.metric}"

    def message(self) -> str:
        relation = "below" if self.metric in LOWER_IS_WORSE else "above"
        if self.state == "firing":
            return f"modeltel alert: {self.name} = {self.value:.4g} is {relation} its threshold {self.threshold:g}"
        return (
            f"modeltel alert resolved: {self.name} = {self.value:.4g} is back within its threshold {self.threshold:g}"
        )


def check_thresholds(caller: str, thresholds: Any) -> dict[str, float]:
    """Validate ``thresholds=``: known metric names mapped to finite numbers."""
    if thresholds is None:
        return {}
    if not isinstance(thresholds, Mapping):
        raise ModeltelTypeError(f"{caller}: thresholds must be a dict such as {{'accuracy': 0.8}}, got {thresholds!r}")
    checked = {}
    for metric, value in thresholds.items():
        if metric not in THRESHOLD_METRICS:
            raise ModeltelValueError(
                f"{caller}: unknown threshold metric {metric!r}; known: {', '.join(sorted(THRESHOLD_METRICS))}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModeltelTypeError(f"{caller}: threshold for {metric!r} must be a number, got {value!r}")
        checked[metric] = float(value)
    return checked


def check_callback(caller: str, on_alert: Any) -> Callable[[Alert], Any] | None:
    if on_alert is not None and not callable(on_alert):
        raise ModeltelTypeError(f"{caller}: on_alert must be callable, got {on_alert!r}")
    return on_alert


class AlertState:
    """Which thresholds of one model are currently crossed."""

    def __init__(self) -> None:
        self._firing: set[str] = set()
        self._lock = threading.Lock()
        forksafe.register(self)

    def evaluate(
        self,
        model: tuple[str, str | None],
        values: Mapping[str, float],
        thresholds: Mapping[str, float],
        on_alert: Callable[[Alert], Any] | None,
        span: Any,
        counter: Any,
    ) -> list[Alert]:
        """Compare the latest values with the thresholds; report changes of state only."""
        changes = []
        for metric, threshold in thresholds.items():
            value = values.get(metric)
            if value is None or value != value:
                continue
            crossed = value < threshold if metric in LOWER_IS_WORSE else value > threshold
            with self._lock:
                was = metric in self._firing
                if crossed == was:
                    continue
                (self._firing.add if crossed else self._firing.discard)(metric)
            changes.append(Alert(model[0], model[1], metric, value, threshold, "firing" if crossed else "resolved"))
        for alert in changes:
            _emit(alert, on_alert, span, counter)
        return changes


def _emit(alert: Alert, on_alert: Callable[[Alert], Any] | None, span: Any, counter: Any) -> None:
    attrs = {semconv.ML_ALERT_NAME: alert.name, semconv.ML_ALERT_STATE: alert.state}
    counter.add(1, attrs)
    if span is not None and span.is_recording():
        span.add_event(
            semconv.ML_ALERT_EVENT,
            {
                **attrs,
                semconv.ML_PERFORMANCE_METRIC: alert.metric,
                semconv.ML_ALERT_VALUE: alert.value,
                semconv.ML_ALERT_THRESHOLD: alert.threshold,
            },
        )
    # One WARN record as an OpenTelemetry log (exported by the logger provider instrument()
    # sets up) and one in Python logging, for whoever reads the process's own log.
    _otel_logger.emit(
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        body=alert.message(),
        event_name=semconv.ML_ALERT_EVENT,
        attributes={
            **attrs,
            semconv.ML_MODEL_NAME: alert.model,
            semconv.ML_ALERT_VALUE: alert.value,
            semconv.ML_ALERT_THRESHOLD: alert.threshold,
        },
    )
    _logger.warning(alert.message())
    if on_alert is not None:
        try:
            on_alert(alert)
        except Exception:
            _logger.exception("modeltel: on_alert callback failed for %s", alert.name)
