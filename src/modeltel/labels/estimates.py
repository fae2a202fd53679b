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

import threading
from typing import Any

import numpy as np

from modeltel import _forksafe as forksafe
from modeltel.data.probabilities import PROBA_OPERATIONS, reduce_rows
from modeltel.data.rows import take_rows


class EstimateWindow:
    """The last ``size`` sampled probability rows of one model; CBPE sums are computed when
    the metric is read, so a prediction only copies its rows into a ring buffer.

    Binary models keep both probabilities (for F1); others only the top one (accuracy is all
    CBPE gives them), so the buffer is at most ``size`` x 2 floats whatever the class count.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: np.ndarray | None = None
        self._next = 0
        self._filled = 0
        self._calibration: dict[str, Any] | None = None
        self._lock = threading.Lock()
        forksafe.register(self)

    def add(self, proba: np.ndarray, calibration: dict[str, Any] | None = None) -> None:
        """Add the probability rows of one call (a bounded sample is fine)."""
        if proba.ndim != 2 or proba.shape[0] == 0 or proba.shape[1] < 2:
            return
        kept = proba if proba.shape[1] == 2 else reduce_rows(np.maximum, proba)[:, None]  # multiclass: top probability
        n, width = kept.shape
        with self._lock:
            self._calibration = calibration
            if self._rows is None or self._rows.shape[1] != width:
                self._rows = np.empty((self.size, width))
                self._next = self._filled = 0
            if n >= self.size:
                self._rows[:] = kept[n - self.size :]
                self._next, self._filled = 0, self.size
                return
            end = self._next + n
            if end <= self.size:
                self._rows[self._next : end] = kept
            else:  # wrap around the ring
                first = self.size - self._next
                self._rows[self._next :] = kept[:first]
                self._rows[: n - first] = kept[first:]
            self._next = end % self.size
            self._filled = min(self.size, self._filled + n)

    def estimates(self) -> dict[str, float]:
        with self._lock:
            if not self._filled or self._rows is None:
                return {}
            rows = self._rows[: self._filled].copy()
            calibration = self._calibration
        if rows.shape[1] == 1:  # multiclass: the top probability
            top = rows[:, 0]
            if calibration and calibration["kind"] == "top":
                top = np.interp(top, np.asarray(calibration["x"]), np.asarray(calibration["y"]))
            return {"accuracy": float(top.mean())}
        proba = calibrate(rows, calibration)
        out = {"accuracy": float(proba.max(axis=1).mean())}
        positive = proba[:, 1]
        predicted_positive = positive >= 0.5
        tp = float(positive[predicted_positive].sum())  # expected true positives
        fp = float((1.0 - positive[predicted_positive]).sum())  # expected false positives
        fn = float(positive[~predicted_positive].sum())  # expected false negatives
        if tp > 0 or fp > 0 or fn > 0:
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


def probabilities(result: Any, operation: str, max_rows: int) -> np.ndarray | None:
    """The probability rows of a call's output (sampled), or None when it has none."""
    if operation not in PROBA_OPERATIONS:
        return None
    values = np.asarray(result)
    if values.ndim != 2 or values.dtype.kind != "f":
        return None
    values = take_rows(values, max_rows)
    return np.exp(values) if operation == "predict_log_proba" else values
