"""Drift and data quality as an observer of a model's calls: inputs binned into the window
before the call (or a copied sample binned after it), predictions after it."""

from __future__ import annotations

from typing import Any

from modeltel import semconv
from modeltel._observer import CallView
from modeltel.data.rows import NOT_READ
from modeltel.drift.monitor import DriftMonitor, DriftSample


class DriftObserver:
    """Feeds one model's ``DriftMonitor``. Drift is a metric: it is updated whether or not
    the span is sampled."""

    __slots__ = ("monitor",)
    site = "drift_update"

    def __init__(self, monitor: DriftMonitor) -> None:
        self.monitor = monitor

    def before(self, call: CallView) -> PendingDrift | None:
        rows = call.rows
        pending = self.monitor.sample_inputs(call.x, rows, call.one_row() if rows == 1 else NOT_READ)
        if isinstance(pending, int):
            out_of_range(call, pending)
            return None
        if pending.copied:
            # Binned after the call, like a sampled batch's input statistics.
            return PendingDrift(self.monitor, pending)
        # A sample that may be a view of the input is binned now, before the model can change it.
        out_of_range(call, self.monitor.add_inputs(pending, call.feature_names()))
        return None

    def after(self, call: CallView, result: Any) -> None:
        self.monitor.observe_outputs(result, call.rows)


class PendingDrift:
    """A call's copied input sample, binned once the model has returned or raised."""

    __slots__ = ("monitor", "pending")
    site = "drift_update"

    def __init__(self, monitor: DriftMonitor, pending: DriftSample) -> None:
        self.monitor = monitor
        self.pending = pending

    def finish(self, call: CallView) -> None:
        out_of_range(call, self.monitor.add_inputs(self.pending, call.feature_names()))


def out_of_range(call: CallView, count: int) -> None:
    if count and call.attrs is not None:
        call.attrs[semconv.ML_INPUT_OUT_OF_RANGE_COUNT] = count
