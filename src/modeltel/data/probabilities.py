"""Probability rows: recognising them, reducing them row by row, and the class each predicts."""

from __future__ import annotations

import numpy as np

PROBA_OPERATIONS = frozenset({"predict_proba", "predict_log_proba"})

# Rows at most this wide are checked first in Python (see looks_like_probabilities).
_FIRST_ROW_CHECK_COLUMNS = 64


def reduce_rows(ufunc: np.ufunc, p: np.ndarray) -> np.ndarray:
    """``ufunc`` reduced over each row of a (rows, k) sample, down the columns of its
    transpose: numpy reduces a short last axis row by row (10 us for 256 x 2) and across rows
    in one pass (1 us, plus 0.5 for the copy).

    >>> reduce_rows(np.maximum, np.array([[0.2, 0.8], [0.6, 0.4]]))
    array([0.8, 0.6])
    """
    return ufunc.reduce(np.ascontiguousarray(p.T), axis=0)


def looks_like_probabilities(a: np.ndarray) -> bool:
    """True when every row of a 2-D float sample is a probability distribution (values in
    [0, 1], summing to 1 within 1e-3).

    >>> looks_like_probabilities(np.array([[0.2, 0.8], [1.0, 0.0]]))
    True
    """
    if a.ndim != 2 or a.shape[1] < 2 or a.dtype.kind != "f" or a.size == 0:
        return False
    if a.shape[1] <= _FIRST_ROW_CHECK_COLUMNS:
        # Logits and regression outputs fail on their first row: rejected from its values in
        # Python before any reduction runs (the first numpy call after a large model call
        # costs ~8 us cold). Never rejects what the check below accepts: the bounds are the
        # same comparisons, the sum's slack (1e-2) is far wider than float32 rounding, and a
        # NaN makes the sum NaN.
        first = a[0].tolist()
        if not (min(first) >= 0.0 and max(first) <= 1.0 and abs(sum(first) - 1.0) <= 1e-2):
            return False
    if not (np.minimum.reduce(a, axis=None) >= 0.0 and np.maximum.reduce(a, axis=None) <= 1.0):
        return False  # also for NaN
    return bool(np.maximum.reduce(np.abs(reduce_rows(np.add, a) - 1.0)) <= 1e-3)


def predicted_class(rows: np.ndarray) -> np.ndarray:
    """The column of each row's largest score (the first of equal ones): the predicted class
    index of probability rows or logits.

    >>> predicted_class(np.array([[0.2, 0.8], [0.6, 0.4]]))
    array([1, 0])
    """
    return rows.argmax(axis=1)


def one_value_per_row(predictions: np.ndarray) -> np.ndarray:
    """Predictions as one value per row: the predicted class of score rows, else the values.

    >>> one_value_per_row(np.array([[0.1, 0.9], [0.7, 0.3]]))
    array([1, 0])
    """
    if predictions.ndim == 2 and predictions.shape[1] > 1:
        predictions = predicted_class(predictions)
    return predictions.reshape(-1)
