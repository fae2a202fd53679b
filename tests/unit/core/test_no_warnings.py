"""No warning of modeltel's own computations reaches the caller (issue 18, item 6)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

import modeltel
from tests.conftest import counter_value, metric_points

RNG = np.random.default_rng(7)
TRAIN = RNG.normal(size=(200, 3))


def _extremes() -> list[np.ndarray]:
    huge = np.full((300, 3), 1e308)
    return [
        huge,
        huge[:5],
        np.c_[huge[:, :1], -huge[:, :2]],
        np.c_[huge[:, :1], np.full((300, 1), np.nan), np.full((300, 1), -np.inf)],
        np.full((300, 3), np.finfo(np.float32).max, dtype=np.float32),
        np.full((20, 3), np.finfo(np.float16).max, dtype=np.float16),
        np.array([[1e308, -1e308, np.inf]]),
    ]


def _calls(x: np.ndarray) -> None:
    identity = modeltel.wrap(lambda a: a, name="warn-identity", reference=modeltel.Reference.from_data(TRAIN))
    identity(x)
    modeltel.wrap(lambda a: np.full((len(a), 2), 1e308), name="warn-wide")(x)
    modeltel.wrap(lambda a: torch.full((len(a), 3), 3e38), name="warn-tensor")(torch.as_tensor(x, dtype=torch.float32))
    modeltel.wrap(lambda a: a, name="warn-frame")(pd.DataFrame(x, columns=["a", "b", "c"]))


@pytest.mark.parametrize("index", range(len(_extremes())))
def test_extreme_values_raise_no_warning(index: int) -> None:
    x = _extremes()[index]
    errors = counter_value("modeltel.internal.errors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _calls(x)
    assert counter_value("modeltel.internal.errors") == errors


def test_sklearn_output_of_extreme_inputs_raises_no_new_warning() -> None:
    regression = LinearRegression().fit(TRAIN, TRAIN[:, 0])
    classifier = LogisticRegression().fit(TRAIN, (TRAIN[:, 0] > 0).astype(int))
    x = np.full((300, 3), 1e300)
    # What the models themselves warn about is theirs: compare with the uninstrumented calls.
    seen = []
    for active in (False, True):
        if not active:
            modeltel.uninstrument()
        else:
            modeltel.instrument()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            regression.predict(x)
            classifier.predict_proba(x)
        seen.append(sorted(str(w.message) for w in caught))
    assert seen[1] == seen[0]


_SPECIAL = [0.0, 1.0, -2.5, 1e308, -1e308, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("rows", [1, 2, 300])
def test_any_mix_of_special_values_raises_no_warning(rows: int) -> None:
    """Every pair of special values in one column (+inf beside -inf sums to NaN: numpy's
    'invalid value' warning), for one-row, small and sampled batches."""
    pairs = [(a, b) for a in _SPECIAL for b in _SPECIAL]
    column = np.array([pairs[i % len(pairs)] for i in range(len(pairs))]).reshape(-1)
    x = np.stack([np.resize(np.roll(column, shift), rows * len(pairs)) for shift in range(3)], axis=1)
    errors = counter_value("modeltel.internal.errors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for start in range(0, len(x), rows):
            _calls(x[start : start + rows])
    assert counter_value("modeltel.internal.errors") == errors


def test_multivariate_score_of_overflowing_rows_is_finite_and_high(caplog: pytest.LogCaptureFixture) -> None:
    """Rows whose reconstruction error overflows make the score large, not inf or NaN (which
    the SDK drops with a warning of its own)."""
    model = modeltel.wrap(lambda a: a, name="warn-pca", reference=modeltel.Reference.from_data(TRAIN))
    model(np.c_[np.full((50, 1), 1e308), np.full((50, 1), -1e308), np.full((50, 1), np.inf)])
    with caplog.at_level("WARNING"):
        points = metric_points("ml.drift.multivariate.score", **{"ml.model.name": "warn-pca"})
    assert len(points) == 1 and np.isfinite(points[0].value) and points[0].value > 1e6
    assert "non-finite" not in caplog.text
