"""Model outputs: a bounded summary of what a prediction returned, as span attributes.

Three shapes are recognised: class labels (counts per label), probability rows (counts by
argmax plus the mean top probability) and other numbers (mean/min/max per output column).
Like input summaries, everything is computed on the same row sample of at most
``max_rows`` rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from modeltel import semconv
from modeltel.data.kinds import FRAME, NDARRAY, SEQUENCE, SERIES, TENSOR, input_kind
from modeltel.data.probabilities import PROBA_OPERATIONS, looks_like_probabilities, predicted_class, reduce_rows
from modeltel.data.rows import single_row_tensor, take_rows, tensor_sample
from modeltel.summaries.inputs import numeric_stats

# Labels kept on a span: the most frequent ones. Bounded so a 1000-class softmax or an
# integer regression target cannot produce an oversized span.
MAX_CLASSES = 64

# Operations whose 2-D float output may be probability rows (e.g. a softmax head).
_MAYBEPROBA_OPERATIONS = frozenset({"forward", "call", "predict", "run"})


def _to_array(y: Any, max_rows: int, device_summaries: bool) -> np.ndarray | None:
    kind = input_kind(y)
    if kind == NDARRAY:
        return y
    if kind == TENSOR:
        return tensor_sample(y, max_rows, device_summaries)
    if kind == SERIES or kind == FRAME:
        return y.to_numpy()
    if kind == SEQUENCE and y:
        try:
            return np.asarray(y)
        except ValueError:  # ragged
            return None
    return None


def _counts_attributes(pairs: list[tuple[str, int]]) -> dict[str, Any]:
    """(label, count) pairs as the two aligned attributes, most frequent first."""
    if len(pairs) > 1:
        pairs = sorted(pairs, key=lambda pair: -pair[1])[:MAX_CLASSES]  # stable: ties keep order
    return {
        semconv.ML_OUTPUT_CLASS_LABELS: tuple(label for label, _ in pairs),
        semconv.ML_OUTPUT_CLASS_COUNTS: tuple(count for _, count in pairs),
    }


def _bincount_pairs(counts: np.ndarray, label_of: Any) -> list[tuple[str, int]]:
    # Small per-class lists are finished in Python: fewer numpy calls on the hot path.
    return [(label_of(i), c) for i, c in enumerate(counts.tolist()) if c]


def _proba_attributes(p: np.ndarray, classes: Sequence[Any] | None, log: bool) -> dict[str, Any]:
    if log:
        with np.errstate(over="ignore"):  # not log-probabilities after all: inf, no warning
            p = np.exp(p, dtype=np.float64)  # float32 log-probabilities overflow sooner
    top = predicted_class(p)
    known = classes if classes is not None and len(classes) == p.shape[1] else None
    label_of = (lambda i: str(known[i])) if known is not None else str
    attrs = _counts_attributes(_bincount_pairs(np.bincount(top, minlength=p.shape[1]), label_of))
    attrs[semconv.ML_OUTPUT_CONFIDENCE_MEAN] = float(reduce_rows(np.maximum, p).mean())
    return attrs


def _is_index_range(classes: Any) -> bool:
    """True for integer classes_ equal to 0, 1, ..., k-1."""
    return (
        isinstance(classes, np.ndarray)
        and classes.ndim == 1
        and classes.dtype.kind in "iu"
        and len(classes) > 0
        and int(classes[0]) == 0
        and int(classes[-1]) == len(classes) - 1
    )


def _class_attributes(
    labels: np.ndarray, classes: Sequence[Any] | None, max_distinct: int | None = None
) -> dict[str, Any] | None:
    """Counts per label; None when they cannot be counted or exceed ``max_distinct``."""
    if labels.shape[0] == 1:
        return _counts_attributes([(str(labels[0]), 1)])
    if labels.dtype.kind in "iu" and _is_index_range(classes):
        # Labels 0..k-1 (most classifiers' classes_): one bincount, no range scan.
        try:
            counts = np.bincount(labels, minlength=len(classes))  # type: ignore[arg-type]
        except ValueError:  # a negative label: not from these classes, count it below
            counts = None
        if counts is not None and counts.shape[0] == len(classes):  # type: ignore[arg-type]
            return _counts_attributes(_bincount_pairs(counts, str))
    if labels.dtype.kind in "iub":
        # Small integer ranges: one bincount instead of a sort.
        values = labels.astype(np.int64, copy=False)
        lo, hi = int(np.minimum.reduce(values)), int(np.maximum.reduce(values))
        if hi - lo < 4096:
            pairs = _bincount_pairs(np.bincount(values - lo if lo else values), lambda i: str(i + lo))
            if labels.dtype.kind == "b":
                pairs = [(str(bool(int(label))), count) for label, count in pairs]
            if max_distinct is not None and len(pairs) > max_distinct:
                return None
            return _counts_attributes(pairs)
        if max_distinct is not None:
            return None
    if isinstance(classes, np.ndarray) and classes.dtype == labels.dtype and classes.ndim == 1:
        # A classifier's sorted classes_: locate each label by binary search.
        idx = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
        if np.array_equal(classes[idx], labels):
            counts = np.bincount(idx, minlength=len(classes))
            return _counts_attributes(_bincount_pairs(counts, lambda i: str(classes[i])))
    try:
        values, counts = np.unique(labels, return_counts=True)
    except TypeError:  # mixed, unorderable labels
        return None
    return _counts_attributes([(str(v), c) for v, c in zip(values.tolist(), counts.tolist())])


def _numeric_attributes(a: np.ndarray, max_columns: int) -> dict[str, Any]:
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    elif a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape[1] > max_columns:
        a = a[:, :max_columns]
    if a.shape[0] == 0 or a.shape[1] == 0:
        return {}
    # Floats of any width are reduced as they are (sums in float64); integers are widened
    # so min/max come out as doubles.
    mean, lo, hi, _ = numeric_stats(a if a.dtype.kind == "f" else a.astype(np.float64))
    if a.shape[1] == 1:
        return {
            semconv.ML_OUTPUT_MEAN: mean[0],
            semconv.ML_OUTPUT_MIN: lo[0],
            semconv.ML_OUTPUT_MAX: hi[0],
        }
    return {
        semconv.ML_OUTPUT_MEAN: tuple(mean),
        semconv.ML_OUTPUT_MIN: tuple(lo),
        semconv.ML_OUTPUT_MAX: tuple(hi),
    }


def _single_row_attributes(
    a: np.ndarray, operation: str, classes: Sequence[Any] | None, is_classifier: bool, max_columns: int
) -> dict[str, Any] | None:
    """The one-row case of ``_array_attributes`` in plain Python (online serving's common
    case: a handful of values, where each numpy call would cost more than the work).
    None for anything it does not handle; tests check it agrees with the general path."""
    if a.ndim > 2 or a.dtype.kind not in "fiub":
        return None
    return _row_attributes(
        a.reshape(-1).tolist(), a.ndim, a.dtype.kind, a, operation, classes, is_classifier, max_columns
    )


def _row_attributes(
    row: list[Any],
    ndim: int,
    kind: str,
    a: np.ndarray | None,
    operation: str,
    classes: Sequence[Any] | None,
    is_classifier: bool,
    max_columns: int,
) -> dict[str, Any] | None:
    """``_single_row_attributes`` on the row's values, its ndim (1 or 2) and numpy kind;
    ``a`` is the array they came from, None for a tensor read directly."""
    if not row:
        return None
    is_float = kind == "f"
    if ndim == 2 and is_float:
        # map() over C functions rather than generators: this runs on every single-row call.
        if any(map(math.isnan, row)):
            return None  # NaN: leave it to the general path
        if operation in PROBA_OPERATIONS:
            probabilities = [math.exp(min(v, 700.0)) for v in row] if operation == "predict_log_proba" else row
        elif (
            operation in _MAYBEPROBA_OPERATIONS
            and len(row) >= 2
            and min(row) >= 0.0
            and max(row) <= 1.0
            and abs(sum(row) - 1.0) <= 1e-3
        ):
            probabilities = row
        else:
            probabilities = None
        if probabilities is not None:
            if operation == "predict_log_proba" and max(row) > 700.0:
                return None  # beyond float range once exponentiated: general path
            top = max(range(len(probabilities)), key=probabilities.__getitem__)
            known = classes if classes is not None and len(classes) == len(row) else None
            return {
                semconv.ML_OUTPUT_CLASS_LABELS: (str(known[top]) if known is not None else str(top),),
                semconv.ML_OUTPUT_CLASS_COUNTS: (1,),
                semconv.ML_OUTPUT_CONFIDENCE_MEAN: float(probabilities[top]),
            }
    if len(row) == 1:
        value = row[0]
        if not is_float or (is_classifier and operation == "predict"):
            # Integers and booleans print the same as Python values as numpy scalars;
            # floats print by their own precision, so only the numpy scalar will do.
            if not is_float:
                label = str(value)
            elif a is not None:
                label = str(a.reshape(-1)[0])
            else:
                return None
            return {semconv.ML_OUTPUT_CLASS_LABELS: (label,), semconv.ML_OUTPUT_CLASS_COUNTS: (1,)}
        value = float(value)
        return {semconv.ML_OUTPUT_MEAN: value, semconv.ML_OUTPUT_MIN: value, semconv.ML_OUTPUT_MAX: value}
    if ndim == 1 or kind == "b":
        return None  # leave these to the general path
    values = tuple(map(float, row[:max_columns]))
    return {semconv.ML_OUTPUT_MEAN: values, semconv.ML_OUTPUT_MIN: values, semconv.ML_OUTPUT_MAX: values}


def summarize_output(
    y: Any,
    *,
    operation: str,
    classes: Sequence[Any] | None,
    is_classifier: bool,
    max_rows: int,
    max_columns: int,
    device_summaries: bool = False,
) -> dict[str, Any]:
    """Span attributes describing a prediction's output; empty when it has no array view.

    ``classes`` (a classifier's ``classes_``) names probability columns; ``is_classifier``
    makes ``predict`` outputs count as labels even when they are floats.

    >>> summarize_output(np.array([0, 1, 1]), operation="predict", classes=None,
    ...                  is_classifier=True, max_rows=256, max_columns=64)
    {'ml.output.class.labels': ('1', '0'), 'ml.output.class.counts': (2, 1)}
    """
    if input_kind(y) == TENSOR:
        row = single_row_tensor(y, False)
        if row is not None:
            attrs = _row_attributes(row[0], row[1], row[2], None, operation, classes, is_classifier, max_columns)
            if attrs is not None:
                return attrs
    a = _to_array(y, max_rows, device_summaries)
    if a is None or a.dtype.kind == "c":
        return {}
    if a.ndim == 0:
        a = a.reshape(1)
    if a.shape[0] == 1:
        attrs = _single_row_attributes(a, operation, classes, is_classifier, max_columns)
        if attrs is not None:
            return attrs
    a = take_rows(a, max_rows)
    if a.size == 0:
        return {}
    return _array_attributes(a, operation, classes, is_classifier, max_columns)


def _array_attributes(
    a: np.ndarray, operation: str, classes: Sequence[Any] | None, is_classifier: bool, max_columns: int
) -> dict[str, Any]:
    if operation in PROBA_OPERATIONS and a.ndim == 2 and a.dtype.kind == "f":
        return _proba_attributes(a, classes, log=operation == "predict_log_proba")
    if operation in _MAYBEPROBA_OPERATIONS and looks_like_probabilities(a):
        return _proba_attributes(a, classes, log=False)
    flat = a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a
    if flat.ndim == 1:
        if flat.dtype.kind in "USOb" or (is_classifier and operation == "predict"):
            return _class_attributes(flat, classes) or {}
        if flat.dtype.kind in "iu":
            # Integers with few distinct values are labels (argmax indices); else numbers.
            attrs = _class_attributes(flat, classes, max_distinct=MAX_CLASSES)
            if attrs is not None:
                return attrs
    if a.dtype.kind in "fiu":
        return _numeric_attributes(a, max_columns)
    return {}
