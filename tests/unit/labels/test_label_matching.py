"""Which labels are scored: matching to the classes, corrections, repeated ids, multi-output."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

import modeltel
from modeltel._core import states
from tests.conftest import counter_value, metric_points

RNG = np.random.default_rng(5)
X = RNG.normal(size=(400, 4))
Y = (X[:, 0] > 0).astype(int)


def performance(name, metric):
    points = metric_points(
        "ml.performance", **{"ml.model.name": name, "ml.performance.metric": metric, "ml.performance.source": "labels"}
    )
    assert points, f"no ml.performance {metric} for {name}"
    return points[-1].value


def outcomes(outcome):
    return counter_value("ml.labels", **{"ml.labels.outcome": outcome})


def internal_errors():
    return counter_value("modeltel.internal.errors")


def test_label_not_a_class_is_not_scored():
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="match-not-a-class")
    predicted = clf.predict(X[:30])
    ids = modeltel.last_prediction_ids()
    before = outcomes("unknown_class")
    # Right labels, some as numeric strings or floats (the classes are the ints 0 and 1), then
    # ten that are no class of the model.
    right = [int(p) for p in predicted[:10]] + [str(p) for p in predicted[10:15]] + [float(p) for p in predicted[15:20]]
    summary = modeltel.record_labels(ids, right + ["benign"] * 10)
    assert performance("match-not-a-class", "accuracy") == pytest.approx(1.0)
    assert performance("match-not-a-class", "f1") == pytest.approx(1.0)
    assert outcomes("unknown_class") - before == 10
    assert (summary.matched, summary.unknown_class, summary.invalid) == (20, 10, 0)


def test_scores_without_classes_are_matched_to_their_column_indices():
    torch = pytest.importorskip("torch")
    net = modeltel.register(torch.nn.Linear(4, 3).eval(), name="match-logits")
    with torch.no_grad():
        top = net(torch.as_tensor(X[:20], dtype=torch.float32)).argmax(dim=1).tolist()
    summary = modeltel.record_labels(modeltel.last_prediction_ids(), top[:15] + [3, 7, "cat", -1, None])
    assert performance("match-logits", "accuracy") == pytest.approx(1.0)
    assert (summary.matched, summary.unknown_class, summary.invalid) == (15, 4, 1)


def test_regressor_labels_that_are_not_numbers_are_invalid_and_not_scored():
    reg = modeltel.register(LinearRegression().fit(X, X[:, 1]), name="match-regressor")
    out = reg.predict(X[:6])
    before = outcomes("invalid")
    summary = modeltel.record_labels(modeltel.last_prediction_ids(), [1.5, "2.5", "n/a", None, float("nan"), [1.0]])
    assert performance("match-regressor", "mae") == pytest.approx(metrics.mean_absolute_error([1.5, 2.5], out[:2]))
    assert outcomes("invalid") - before == 4
    assert (summary.matched, summary.invalid, summary.unknown_class) == (2, 4, 0)


def test_relabel_replaces_previous_label():
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="match-relabel")
    predicted = clf.predict(X[:50])
    ids = modeltel.last_prediction_ids()
    modeltel.record_labels(ids, predicted.tolist())
    assert performance("match-relabel", "accuracy") == pytest.approx(1.0)
    modeltel.record_labels(ids, (1 - predicted).tolist())  # every label corrected to the other class
    assert performance("match-relabel", "accuracy") == pytest.approx(0.0)
    assert len(states.live_state(("match-relabel", None)).quality) == 50


def test_corrections_stay_within_the_performance_window():
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="match-bounded", performance_window=10)
    predicted = clf.predict(X[:50])
    ids = modeltel.last_prediction_ids()
    modeltel.record_labels(ids, predicted.tolist())
    window = states.live_state(("match-bounded", None)).quality
    assert len(window) == 10
    for _ in range(10):  # one prediction corrected again and again stays one sample
        modeltel.record_labels(ids[-1:], [1 - int(predicted[-1])])
    assert len(window) == 10
    assert performance("match-bounded", "accuracy") == pytest.approx(0.9)
    # A correction of a prediction that already left the window comes back as the newest sample.
    modeltel.record_labels(ids[:1], [1 - int(predicted[0])])
    assert len(window) == 10
    assert performance("match-bounded", "accuracy") == pytest.approx(0.8)


def test_duplicate_ids_in_one_call_count_once():
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="match-duplicates")
    predicted = clf.predict(X[:2]).tolist()
    ids = modeltel.last_prediction_ids()
    before = outcomes("matched")
    # ids[0] first with the wrong label, then with the right one: the last wins.
    summary = modeltel.record_labels([ids[0], ids[1], ids[0]], [1 - predicted[0], predicted[1], predicted[0]])
    assert summary.matched == 2
    assert outcomes("matched") - before == 2
    assert performance("match-duplicates", "accuracy") == pytest.approx(1.0)
    assert len(states.live_state(("match-duplicates", None)).quality) == 2


@pytest.mark.parametrize("estimator", [KNeighborsClassifier, RandomForestClassifier])
def test_multi_output_classifier_scores_whole_row_exact_match(estimator):
    # Two outputs: one with 2 classes, one with 3, so classes_ is a list of arrays of two sizes
    # and predict_proba a list of (n, 2) and (n, 3) arrays.
    targets = np.column_stack([Y, np.digitize(X[:, 1], [-0.5, 0.5])])
    name = f"match-multi-{estimator.__name__}"
    model = estimator(n_estimators=10, random_state=0) if estimator is RandomForestClassifier else estimator()
    clf = modeltel.register(model.fit(X, targets), name=name)
    errors = internal_errors()
    ids, predicted = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of modeltel's reaches the caller
        for i in range(100):
            rows = X[3 * i : 3 * i + 1 + i % 3]
            if i % 2:
                proba = clf.predict_proba(rows)
                predicted.extend(np.column_stack([c[p.argmax(axis=1)] for c, p in zip(clf.classes_, proba)]).tolist())
            else:
                predicted.extend(clf.predict(rows).tolist())
            ids.extend(modeltel.last_prediction_ids())
        truth = np.array(predicted)
        truth[::4, 1] = (truth[::4, 1] + 1) % 3  # a quarter of the rows wrong in the second output
        summary = modeltel.record_labels(ids, truth)
        assert summary.matched == len(ids)
        bad = modeltel.record_labels(ids[:3], [[0], [0, 7], 1])  # too short, no class 7, a scalar
    assert internal_errors() - errors == 0
    assert (bad.matched, bad.invalid, bad.unknown_class) == (0, 2, 1)
    expected = np.mean(np.all(truth == np.array(predicted), axis=1))
    assert expected == pytest.approx(0.75, abs=0.01)
    assert performance(name, "accuracy") == pytest.approx(expected)
    # Precision, recall and the like have no one per-row definition across outputs.
    assert not metric_points("ml.performance", **{"ml.model.name": name, "ml.performance.metric": "f1"})
    assert not metric_points("ml.performance", **{"ml.model.name": name, "ml.performance.source": "estimated"})
