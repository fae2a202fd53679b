"""Realized metrics equal sklearn.metrics on the same labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from modeltel.labels.metrics import classification_metrics, regression_metrics

RNG = np.random.default_rng(9)


def test_binary_classification_matches_sklearn():
    y = RNG.integers(0, 2, 500)
    p1 = np.clip(y * 0.6 + RNG.uniform(0, 0.5, 500), 0, 1)
    proba = np.column_stack([1 - p1, p1])
    pred = (p1 >= 0.5).astype(int)
    got = classification_metrics(y, pred, proba, np.array([0, 1]))
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred))
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p1))
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba))


def test_multiclass_macro_and_ties_in_auc():
    y = RNG.choice(["a", "b", "c"], 300)
    pred = np.where(RNG.uniform(size=300) < 0.7, y, RNG.choice(["a", "b", "c"], 300))
    got = classification_metrics(y, pred)
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred, average="macro"))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred, average="macro"))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    scores = np.round(RNG.uniform(size=200), 1)  # many ties
    truth = RNG.integers(0, 2, 200)
    binary = classification_metrics(
        truth, (scores > 0.5).astype(int), np.column_stack([1 - scores, scores]), np.array([0, 1])
    )
    assert binary["roc_auc"] == pytest.approx(metrics.roc_auc_score(truth, scores))


def test_regression_matches_sklearn():
    y = RNG.normal(10, 2, 400)
    p = y + RNG.normal(0, 1, 400)
    got = regression_metrics(y, p)
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, p)))
    assert got["mape"] == pytest.approx(metrics.mean_absolute_percentage_error(y, p))
