"""Bad input to modeltel's own API gets a clear error when it is given (issue 18, item 7)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel._core.internal_errors import _reset_for_tests
from tests.conftest import counter_value

X = np.random.default_rng(3).normal(size=(60, 30))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("not_a_model", [42, "model.pkl", Path("model.pkl"), 3.5, b"bytes", object()])
def test_register_refuses_what_is_not_a_model(not_a_model) -> None:
    with pytest.raises(TypeError, match="needs a model"):
        modeltel.register(not_a_model, name="nothing")


def test_register_of_a_path_says_to_load_the_model() -> None:
    with pytest.raises(TypeError, match="load the model first"):
        modeltel.register("model.pkl")


def test_register_accepts_models_and_callables() -> None:
    clf = LogisticRegression()
    assert modeltel.register(clf, name="accepted") is clf
    assert modeltel.register(torch.nn.Linear(2, 1), name="accepted-torch") is not None
    assert modeltel.register(lambda x: x, name="accepted-fn") is not None


def test_feature_names_must_match_a_fitted_models_feature_count() -> None:
    fitted = LogisticRegression().fit(X, Y)
    with pytest.raises(ValueError, match="4 feature_names for a model fitted on 30 features"):
        modeltel.register(fitted, feature_names=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="4 feature_names"):
        modeltel.wrap(fitted, feature_names=["a", "b", "c", "d"])
    modeltel.register(fitted, feature_names=[f"f{i}" for i in range(30)])  # the right count is fine


def test_feature_names_of_an_unfitted_model_are_checked_on_the_call(spans, caplog) -> None:
    net = modeltel.register(torch.nn.Linear(30, 1).eval(), name="names-differ", feature_names=["a", "b", "c", "d"])
    before = counter_value("modeltel.usage.warnings", **{"modeltel.site": "feature_names"})
    errors = counter_value("modeltel.internal.errors")
    with caplog.at_level(logging.WARNING, logger="modeltel"):
        for _ in range(3):
            net(torch.zeros(2, 30))
    assert counter_value("modeltel.usage.warnings", **{"modeltel.site": "feature_names"}) == before + 3
    assert counter_value("modeltel.internal.errors") == errors
    logged = [r for r in caplog.records if "names-differ" in r.getMessage()]
    assert len(logged) == 1 and "4 feature_names" in logged[0].getMessage()
    assert spans()[-1].attributes["ml.input.feature.names"][:2] == ("x0", "x1")


def test_too_few_prediction_ids_is_a_usage_warning_not_an_internal_error(caplog) -> None:
    _reset_for_tests()  # the message is logged once per process
    clf = LogisticRegression().fit(X, Y)
    before = counter_value("modeltel.usage.warnings", **{"modeltel.site": "prediction_ids"})
    errors = counter_value("modeltel.internal.errors")
    with caplog.at_level(logging.WARNING, logger="modeltel"), modeltel.prediction_ids(["a", "b"]):
        clf.predict(X[:3])
    assert counter_value("modeltel.usage.warnings", **{"modeltel.site": "prediction_ids"}) == before + 1
    assert counter_value("modeltel.internal.errors") == errors
    assert any("2 ids for a call with 3 rows" in r.getMessage() for r in caplog.records)
    assert len(modeltel.last_prediction_ids()) == 3


def test_record_labels_for_a_model_that_does_not_exist_says_so() -> None:
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="labels-known")
    clf.predict(X[:2])
    ids = modeltel.last_prediction_ids()
    with pytest.raises(ValueError, match="no model named 'typo'.*'labels-known'"):
        modeltel.record_labels(ids, [0, 1], model="typo")
    assert modeltel.record_labels(ids, [0, 1], model="labels-known").matched == 2
    registered = modeltel.register(LogisticRegression(), name="labels-registered-only")
    assert modeltel.record_labels(["x"], [0], model="labels-registered-only").unknown == 1
    assert registered is not None  # held: a model that is gone is forgotten


def test_every_error_modeltel_raises_for_bad_input_is_a_modeltel_error_of_the_builtin_kind():
    from modeltel import InvalidReferenceError, ModeltelError, Reference, WindowError

    cases = [
        (lambda: modeltel.register(42), TypeError),
        (lambda: modeltel.register(lambda x: x, summary_max_rows=0), ValueError),
        (lambda: modeltel.instrument(drift_methods="psi"), TypeError),
        (lambda: modeltel.record_labels([1, 2], [1]), ValueError),
        (lambda: modeltel.prediction_ids([]), ValueError),
        (lambda: Reference.load("/nonexistent/reference.json"), InvalidReferenceError),
        (lambda: modeltel.WindowSnapshot.from_dict({"schema": "x"}), WindowError),
    ]
    for make, kind in cases:
        with pytest.raises(ModeltelError) as caught:
            make()
        assert isinstance(caught.value, kind), (caught.value, kind)
    assert issubclass(InvalidReferenceError, ValueError) and issubclass(WindowError, ValueError)


def test_the_old_reference_error_name_still_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="InvalidReferenceError"):
        old = modeltel.ReferenceError
    assert old is modeltel.InvalidReferenceError
    assert old is not ReferenceError  # Python's builtin is no longer shadowed by the package's name
