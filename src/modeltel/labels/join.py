"""Joining labels to stored predictions, and the quality they show.

When a label arrives its prediction's stored output is turned into per-row predictions once
(``per_row``), the label is checked against the model's classes (``checked``), and the
model's quality window is scored when metrics are collected (``quality_points``), beside the
label-free estimates (``estimate_points``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from modeltel import semconv
from modeltel.data.probabilities import PROBA_OPERATIONS, looks_like_probabilities, predicted_class
from modeltel.data.values import to_numpy
from modeltel.labels.estimates import EstimateWindow
from modeltel.labels.matching import ClassMatcher, label_row, numeric_label, scalar_label
from modeltel.labels.metrics import (
    classification_metrics,
    exact_match_accuracy,
    regression_metrics,
)
from modeltel.labels.store import Resolved, StoredBatch
from modeltel.labels.window import PerformanceWindow

# Span links per label span: enough for a batch of labels, bounded for the exporter.
MAX_LINKS = 128


def per_row(batch: StoredBatch) -> Resolved | None:
    """Per-row predictions (and probabilities) of a stored batch, and the classes its labels
    are matched against."""
    classes = batch.classes
    if type(classes) is tuple:
        predicted, proba = _multi_outputs(batch.output, classes, batch.rows), None
    else:
        predicted, proba, classes = _outputs(batch.output, batch.operation, classes, batch.rows)
    if predicted is None:
        return None
    if batch.offset:
        predicted = predicted[batch.offset :]
        proba = None if proba is None else proba[batch.offset :]
    return predicted, proba, classes


def _values(result: Any) -> np.ndarray:
    """A stored output (an array, a tensor on any device, a list) as a numpy array."""
    return to_numpy(result)


def _multi_outputs(result: Any, classes: tuple[np.ndarray, ...], rows: int) -> np.ndarray | None:
    """A multi-output classifier's per-row predictions, one column per output: its
    ``predict`` output as it is, or the class of each output's top probability."""
    if isinstance(result, tuple):
        if len(result) != len(classes) or any(p.shape != (rows, c.size) for p, c in zip(result, classes)):
            return None
        predicted = np.empty((rows, len(classes)), dtype=object)
        for column, (proba, names) in enumerate(zip(result, classes)):  # a few outputs, not rows
            predicted[:, column] = names[predicted_class(proba)]
        return predicted
    try:
        values = _values(result)
    except (TypeError, ValueError, RuntimeError):
        return None
    return values if values.shape == (rows, len(classes)) else None


def _outputs(result: Any, operation: str, classes: Any, rows: int) -> tuple[np.ndarray | None, np.ndarray | None, Any]:
    """Per-row predicted values, for probability outputs the probability rows, and the
    classes the predictions are drawn from (None when unknown)."""
    try:
        values = _values(result)
    except (TypeError, ValueError, RuntimeError):
        return None, None, None
    if values.ndim == 0 or values.shape[0] != rows:
        return None, None, None
    if values.ndim == 2 and values.shape[1] > 1 and values.dtype.kind == "f":
        if operation in PROBA_OPERATIONS or looks_like_probabilities(values):
            proba = np.exp(values) if operation == "predict_log_proba" else values
        elif operation in ("forward", "call"):
            proba = None  # scores or logits: the predicted class is still the argmax
        else:
            return values[:, 0], None, classes
        top = predicted_class(values)
        if classes is not None and len(classes) == values.shape[1]:
            return np.asarray(classes)[top], proba, classes
        # Without classes_ (a torch model's scores) the classes are the column indices.
        return top, proba, np.arange(values.shape[1]) if classes is None else None
    return (values.reshape(rows, -1)[:, 0] if values.ndim > 1 else values), None, classes


def checked(label: Any, classes: Any, task: str, predicted: np.ndarray, matchers: dict[int, tuple[Any, Any]]) -> Any:
    """The label as it is scored (the class it matches, a float for a regressor), or a
    rejected label (labels.rejected names its outcome)."""
    if task == "regression" or (classes is None and not task and predicted.dtype.kind == "f"):
        return numeric_label(label)
    if classes is None:  # a classifier whose classes are unknown: labels are compared as strings
        return scalar_label(label)
    entry = matchers.get(id(classes))
    if entry is None:
        made = tuple(ClassMatcher(c) for c in classes) if type(classes) is tuple else ClassMatcher(classes)
        entry = matchers[id(classes)] = (classes, made)  # holding classes keeps its id unique
    matcher = entry[1]
    return label_row(label, matcher) if isinstance(matcher, tuple) else matcher.match(label)


def model_attributes(key: tuple[str | None, str | None]) -> dict[str, str]:
    attrs = {semconv.ML_MODEL_NAME: key[0]} if key[0] else {}
    if key[1] is not None:
        attrs[semconv.ML_MODEL_VERSION] = key[1]
    return attrs


def quality_points(
    key: tuple[str, str | None], window: PerformanceWindow, task: str
) -> Iterable[tuple[float, dict[str, str]]]:
    """``ml.performance`` from labels: the model's quality over its last labelled predictions."""
    if len(window):
        labels, predicted, probas = window.snapshot()
        yield from _metric_points(key, window, task, labels, predicted, probas)


def _metric_points(
    key: tuple[str, str | None],
    window: PerformanceWindow,
    task: str,
    labels: list[Any],
    predicted: list[Any],
    probas: list[Any],
) -> Iterable[tuple[float, dict[str, str]]]:
    classes = window.classes
    if isinstance(classes, tuple):  # a multi-output classifier: exact match of the whole row
        values = {"accuracy": exact_match_accuracy(labels, predicted)}
    else:
        if not task:
            numeric = np.asarray(predicted).dtype.kind == "f"
            task = "classification" if classes is not None or not numeric else "regression"
        if task == "regression":
            values = regression_metrics(np.asarray(labels, dtype=float), np.asarray(predicted, dtype=float))
        else:
            proba = np.vstack(probas) if probas and all(p is not None for p in probas) else None
            values = classification_metrics(np.asarray(labels), np.asarray(predicted), proba, classes)
    for metric, value in values.items():
        if value == value:  # NaN (e.g. AUC with one class present) is not exported
            yield (
                value,
                {
                    **model_attributes(key),
                    semconv.ML_PERFORMANCE_METRIC: metric,
                    semconv.ML_PERFORMANCE_SOURCE: "labels",
                },
            )


def estimate_points(key: tuple[str, str | None], estimates: EstimateWindow) -> Iterable[tuple[float, dict[str, str]]]:
    """``ml.performance`` estimated from the model's own probabilities while labels are missing."""
    for metric, value in estimates.estimates().items():
        yield (
            value,
            {
                **model_attributes(key),
                semconv.ML_PERFORMANCE_METRIC: metric,
                semconv.ML_PERFORMANCE_SOURCE: "estimated",
            },
        )
