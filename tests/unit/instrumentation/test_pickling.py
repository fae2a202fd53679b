"""Wrapped methods and functions pickle and copy like the plain ones (issue 18, item 1)."""

from __future__ import annotations

import copy
import pickle

import cloudpickle
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.preprocessing import FunctionTransformer

import modeltel
from tests.helpers import run_python

X = np.random.default_rng(0).normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(int)


@pytest.fixture
def fitted() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


@pytest.mark.parametrize("dumps,loads", [(pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)])
def test_bound_method_pickles(fitted: LogisticRegression, dumps, loads) -> None:
    restored = loads(dumps(fitted.predict_proba))
    np.testing.assert_array_equal(restored(X), fitted.predict_proba(X))


def test_method_looked_up_on_class_pickles() -> None:
    restored = pickle.loads(pickle.dumps(LogisticRegression.predict))
    assert restored.__qualname__ == LogisticRegression.predict.__qualname__


def test_bound_method_deep_copies_with_its_estimator(fitted: LogisticRegression, spans) -> None:
    copied = copy.deepcopy(fitted.predict)
    assert copied.__self__ is not fitted
    np.testing.assert_array_equal(copied(X), fitted.predict(X))
    assert copy.copy(fitted.predict)(X).shape == (40,)
    assert [s.name for s in spans()] == ["predict LogisticRegression"] * 3  # the copy is still observed


def test_joblib_process_backend_pickles_inner_predict() -> None:
    targets = np.c_[X[:, 0], X[:, 1]]
    model = MultiOutputRegressor(Ridge(), n_jobs=2).fit(X, targets)
    expected = np.column_stack([e.predict(X) for e in model.estimators_])
    np.testing.assert_allclose(model.predict(X), expected)


def test_clone_of_transformer_holding_a_bound_method(fitted: LogisticRegression) -> None:
    cloned = clone(FunctionTransformer(func=fitted.predict_proba)).fit(X)
    np.testing.assert_allclose(cloned.transform(X), fitted.predict_proba(X))


def test_pickled_method_unpickles_without_modeltel(fitted: LogisticRegression, tmp_path) -> None:
    path = tmp_path / "predict.pkl"
    path.write_bytes(pickle.dumps(fitted.predict))
    result = run_python(
        "import pickle, sys\n"
        f"f = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(type(f).__name__, 'modeltel' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["method", "False"]


def test_wrapped_model_method_and_proxy_copy() -> None:
    proxy = modeltel.wrap(LogisticRegression().fit(X, Y), name="copied")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(proxy.predict))(X), proxy.predict(X))
    twin = copy.deepcopy(proxy)
    assert type(twin) is type(proxy) and twin.__wrapped__ is not proxy.__wrapped__
    np.testing.assert_array_equal(twin.predict(X), proxy.predict(X))


def test_monitored_function_pickles_and_copies() -> None:
    restored = pickle.loads(pickle.dumps(_monitored))
    assert restored is _monitored
    assert copy.deepcopy(_monitored) is _monitored
    assert restored(2) == 4


@modeltel.monitor("pickled-fn")
def _monitored(x: int) -> int:
    return x * 2
