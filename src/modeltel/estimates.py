"""Label-free performance estimates: confidence-based performance estimation (CBPE).

While labels are missing, a classifier's own probabilities say how often it should be right:
with calibrated probabilities p, the expected accuracy of a prediction is its top
probability; for a binary model, expected TP = sum of p over rows predicted positive, expected
FP = sum of (1 - p) over them, expected FN = sum of p over rows predicted negative (NannyML's
CBPE). Exported as ``ml.performance{ml.performance.source="estimated"}`` for accuracy and F1.
It assumes the probabilities are calibrated and that P(y | x) has not changed (no concept
drift): it tracks covariate shift, not a change in what the right answer is.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from modeltel import forksafe
from modeltel.inputs import take_rows
from modeltel.outputs import PROBA_OPERATIONS


class EstimateWindow:
    """Per-call CBPE sums over roughly the last ``size`` rows with probabilities."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: deque[np.ndarray] = deque()  # [rows, expected correct, tp, fp, fn]
        self._rows = 0.0
        self._lock = threading.Lock()
        forksafe.register(self)

    def add(self, proba: np.ndarray, calibration: dict[str, Any] | None = None) -> None:
        """Add the probability rows of one call (a bounded sample is fine), first mapped
        through the reference's calibration when there is one."""
        if proba.ndim != 2 or proba.shape[0] == 0 or proba.shape[1] < 2:
            return
        proba = calibrate(proba, calibration)
        top = proba.max(axis=1)
        part = np.array([proba.shape[0], top.sum(), 0.0, 0.0, 0.0])
        if proba.shape[1] == 2:
            positive = proba[:, 1]
            predicted_positive = positive >= 0.5
            part[2] = positive[predicted_positive].sum()  # expected true positives
            part[3] = (1.0 - positive[predicted_positive]).sum()  # expected false positives
            part[4] = positive[~predicted_positive].sum()  # expected false negatives
        with self._lock:
            self._parts.append(part)
            self._rows += part[0]
            while self._parts and self._rows - self._parts[0][0] >= self.size:
                self._rows -= self._parts.popleft()[0]

    def estimates(self) -> dict[str, float]:
        with self._lock:
            if not self._parts:
                return {}
            total = np.sum(self._parts, axis=0)
        rows, correct, tp, fp, fn = total.tolist()
        out = {"accuracy": correct / rows}
        if tp + fp + fn > 0 and (tp > 0 or fp > 0 or fn > 0):
            out["f1"] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
        return out


def calibrate(proba: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    if not calibration:
        return proba
    x, y = np.asarray(calibration["x"]), np.asarray(calibration["y"])
    if calibration["kind"] == "binary" and proba.shape[1] == 2:
        positive = np.interp(proba[:, 1], x, y)
        return np.column_stack([1.0 - positive, positive])
    if calibration["kind"] == "top":
        # Only the top probability matters for expected accuracy: rescale it in place.
        calibrated = proba.copy()
        rows = np.arange(proba.shape[0])
        calibrated[rows, proba.argmax(axis=1)] = np.interp(proba.max(axis=1), x, y)
        return calibrated
    return proba


_windows: dict[tuple[str, str | None], EstimateWindow] = {}
_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_lock")


def estimate_window(model: tuple[str, str | None], size: int) -> EstimateWindow:
    found = _windows.get(model)
    if found is None:
        with _lock:
            found = _windows.setdefault(model, EstimateWindow(size))
    return found


def observations() -> Iterable[tuple[tuple[str, str | None], str, float]]:
    for model, window in list(_windows.items()):
        for metric, value in window.estimates().items():
            yield model, metric, value


def probabilities(result: Any, operation: str, max_rows: int) -> np.ndarray | None:
    """The probability rows of a call's output (sampled), or None when it has none."""
    if operation not in PROBA_OPERATIONS:
        return None
    values = np.asarray(result)
    if values.ndim != 2 or values.dtype.kind != "f":
        return None
    values = take_rows(values, max_rows)
    return np.exp(values) if operation == "predict_log_proba" else values
