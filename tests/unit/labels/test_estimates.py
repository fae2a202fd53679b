"""CBPE: label-free accuracy from calibrated probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from tests.conftest import metric_points

RNG = np.random.default_rng(44)


def estimated(name, metric):
    points = metric_points(
        "ml.performance",
        **{"ml.model.name": name, "ml.performance.metric": metric, "ml.performance.source": "estimated"},
    )
    return points[-1].value


def data(n, shift=0.0):
    X = RNG.normal(size=(n, 2))
    X[:, 0] += shift
    # A logistic ground truth: LogisticRegression is then calibrated by construction.
    y = (RNG.uniform(size=n) < 1 / (1 + np.exp(-(2.0 * X[:, 0] - X[:, 1])))).astype(int)
    return X, y


def test_cbpe_accuracy_tracks_realized_accuracy_and_covariate_shift():
    X, y = data(20_000)
    clf = LogisticRegression().fit(X, y)
    steady = modeltel.register(clf, name="cbpe-steady", performance_window=5000)
    Xs, ys = data(5000)
    for i in range(0, 5000, 100):
        steady.predict_proba(Xs[i : i + 100])
    realized = float(np.mean(clf.predict(Xs) == ys))
    assert estimated("cbpe-steady", "accuracy") == pytest.approx(realized, abs=0.03)

    shifted_model = modeltel.register(LogisticRegression().fit(X, y), name="cbpe-shift", performance_window=5000)
    Xh, yh = data(5000, shift=-2.0)  # pushes rows towards the decision boundary region
    for i in range(0, 5000, 100):
        shifted_model.predict_proba(Xh[i : i + 100])
    realized_shift = float(np.mean(shifted_model.predict(Xh) == yh))
    est_shift = estimated("cbpe-shift", "accuracy")
    assert est_shift == pytest.approx(realized_shift, abs=0.03)
    # moves in the right direction with the realized accuracy
    assert (est_shift - estimated("cbpe-steady", "accuracy")) * (realized_shift - realized) > 0
    f1 = estimated("cbpe-steady", "f1")
    from sklearn.metrics import f1_score

    assert f1 == pytest.approx(f1_score(ys, clf.predict(Xs)), abs=0.05)


def test_reference_labels_calibrate_an_overconfident_model():
    from modeltel import Reference

    X, y = data(20_000)
    base = LogisticRegression().fit(X, y)

    class Overconfident:
        """Probabilities pushed towards 0 and 1: right as often as base, but sure of itself."""

        classes_ = base.classes_

        def predict_proba(self, x):
            p = base.predict_proba(x)[:, 1]
            sharp = p**3 / (p**3 + (1 - p) ** 3)
            return np.column_stack([1 - sharp, sharp])

    model = Overconfident()
    Xr, yr = data(10_000)
    ref = Reference.from_data(Xr, predictions=model.predict_proba(Xr), labels=yr)
    assert ref.calibration["kind"] == "binary"
    raw = modeltel.wrap(Overconfident(), name="cbpe-raw", performance_window=5000)
    calibrated = modeltel.wrap(Overconfident(), name="cbpe-calibrated", reference=ref, performance_window=5000)
    Xs, ys = data(5000)
    for i in range(0, 5000, 100):
        raw.predict_proba(Xs[i : i + 100])
        calibrated.predict_proba(Xs[i : i + 100])
    realized = float(np.mean(base.predict(Xs) == ys))
    assert abs(estimated("cbpe-raw", "accuracy") - realized) > 0.03  # overconfidence shows
    assert estimated("cbpe-calibrated", "accuracy") == pytest.approx(realized, abs=0.03)


def test_ring_buffer_estimates_equal_cbpe_over_the_last_rows():
    from modeltel.labels.estimates import EstimateWindow, calibrate

    rng = np.random.default_rng(9)
    for classes, calibration in [
        (2, None),
        (2, {"kind": "binary", "x": [0.0, 0.5, 1.0], "y": [0.1, 0.4, 0.9]}),
        (4, None),
        (4, {"kind": "top", "x": [0.25, 1.0], "y": [0.2, 0.8]}),
    ]:
        window = EstimateWindow(50)
        seen = []
        for n in rng.integers(1, 30, 20):  # wraps around the ring several times, one call > 50 rows too
            proba = rng.dirichlet(np.ones(classes), size=int(n) if n != 7 else 60)
            window.add(proba, calibration)
            seen.append(proba)
        rows = np.concatenate(seen)[-50:]
        last = calibrate(rows, calibration)
        got = window.estimates()
        if classes == 2:
            assert got["accuracy"] == pytest.approx(last.max(axis=1).mean())
        else:  # the expected accuracy is the calibrated top probability (even if it drops below another)
            top = rows.max(axis=1)
            if calibration:
                top = np.interp(top, calibration["x"], calibration["y"])
            assert got["accuracy"] == pytest.approx(top.mean())
        if classes == 2:
            positive = last[:, 1]
            tp = positive[positive >= 0.5].sum()
            fp = (1 - positive[positive >= 0.5]).sum()
            fn = positive[positive < 0.5].sum()
            assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        else:
            assert "f1" not in got
