"""Model quality from labelled predictions: accuracy and friends, in numpy.

The same definitions as ``sklearn.metrics`` (tests compare them on the same labels), without
making scikit-learn a dependency. Binary metrics treat the second class (sorted, like a
classifier's ``classes_``) as positive; with more classes precision, recall and F1 are
macro averages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape")


def classification_metrics(
    labels: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None, classes: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and (with probabilities) ROC AUC and log loss.

    ``proba`` has one column per entry of ``classes`` (sorted); rows align with ``labels``.
    """
    labels = np.asarray(labels).astype(str)
    predicted = np.asarray(predicted).astype(str)
    out: dict[str, float] = {}
    if labels.size == 0:
        return out
    out["accuracy"] = float(np.mean(labels == predicted))
    present = np.unique(np.concatenate([labels, predicted]))
    if classes is not None:
        classes = np.asarray(classes).astype(str)
    binary = present.size <= 2 and (classes is None or classes.size == 2)
    if binary:
        positive = classes[1] if classes is not None else present[-1]
        precision, recall = _precision_recall(labels, predicted, positive)
        out["precision"], out["recall"] = precision, recall
        out["f1"] = _f1(precision, recall)
    else:
        scores = [_precision_recall(labels, predicted, c) for c in present]
        out["precision"] = float(np.mean([p for p, _ in scores]))
        out["recall"] = float(np.mean([r for _, r in scores]))
        out["f1"] = float(np.mean([_f1(p, r) for p, r in scores]))
    if proba is not None and classes is not None and proba.shape[1] == classes.size:
        index = {c: i for i, c in enumerate(classes)}
        known = np.array([label in index for label in labels])
        if known.all():
            columns = np.array([index[label] for label in labels])
            p_true = np.clip(proba[np.arange(len(labels)), columns], 1e-15, 1.0)
            out["log_loss"] = float(-np.mean(np.log(p_true)))
            if classes.size == 2 and np.unique(labels).size == 2:
                out["roc_auc"] = roc_auc(labels == classes[1], proba[:, 1])
    return out


def exact_match_accuracy(labels: Sequence[Sequence[Any]], predicted: Sequence[Sequence[Any]]) -> float:
    """Accuracy of a multi-output classifier: the share of rows whose every output is right
    (what ``MultiOutputClassifier.score`` and sklearn's subset accuracy compute); values are
    compared as strings, like ``classification_metrics``."""
    truth = np.asarray(labels, dtype=object).astype(str)
    guess = np.asarray(predicted, dtype=object).astype(str)
    if truth.size == 0 or truth.shape != guess.shape:
        return math.nan
    return float(np.mean(np.all(truth == guess, axis=1)))


def _precision_recall(labels: np.ndarray, predicted: np.ndarray, positive: str) -> tuple[float, float]:
    tp = float(np.sum((predicted == positive) & (labels == positive)))
    predicted_positive = float(np.sum(predicted == positive))
    actual_positive = float(np.sum(labels == positive))
    precision = tp / predicted_positive if predicted_positive else 0.0
    recall = tp / actual_positive if actual_positive else 0.0
    return precision, recall


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic with average ranks for ties."""
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(score.size)
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def regression_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and MAPE (as a fraction, like ``sklearn.metrics.mean_absolute_percentage_error``)."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if y.size == 0:
        return {}
    error = p - y
    eps = np.finfo(np.float64).eps
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(np.mean(np.abs(error) / np.maximum(np.abs(y), eps))),
    }
