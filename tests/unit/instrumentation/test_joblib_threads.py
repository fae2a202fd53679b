"""Estimators that fan out to joblib threads still give one span per call (issue 18, item 3)."""

from __future__ import annotations

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier

from tests.conftest import counter_value

X = np.random.default_rng(1).normal(size=(120, 4))
Y = (X[:, 0] > 0).astype(int)


def test_forest_with_threads_is_one_span(spans) -> None:
    forest = RandomForestClassifier(n_estimators=12, n_jobs=2, random_state=0).fit(X, Y)
    before = counter_value("ml.prediction.rows", **{"ml.model.name": "DecisionTreeClassifier"})
    forest.predict_proba(X)
    finished = spans()
    assert [s.name for s in finished] == ["predict_proba RandomForestClassifier"]
    assert counter_value("ml.prediction.rows", **{"ml.model.name": "DecisionTreeClassifier"}) == before


def test_meta_estimator_on_threading_backend_is_one_span(spans) -> None:
    model = MultiOutputClassifier(LogisticRegression(), n_jobs=2).fit(X, np.c_[Y, 1 - Y])
    with joblib.parallel_backend("threading", n_jobs=2):
        result = model.predict(X)
    assert result.shape == (120, 2)
    assert [s.name for s in spans()] == ["predict MultiOutputClassifier"]


def test_threads_dispatched_outside_a_prediction_are_predictions(spans) -> None:
    model = LogisticRegression().fit(X, Y)
    joblib.Parallel(n_jobs=2, backend="threading")(joblib.delayed(model.predict)(X[i::2]) for i in range(2))
    assert [s.name for s in spans()] == ["predict LogisticRegression"] * 2


def test_training_with_threads_makes_no_spans(spans) -> None:
    RandomForestClassifier(n_estimators=25, n_jobs=2, oob_score=True, random_state=0).fit(X, Y)
    assert spans() == []
