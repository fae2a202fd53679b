"""scikit-learn instrumentation: one span per top-level inference call, none during training."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier, StackingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import all_estimators

import modeltel
from modeltel.instrumentation.sklearn import INFERENCE_METHODS, is_patched
from tests.conftest import counter_value, histogram_count, metric_points, metric_unit

X, Y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def clf() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


def test_predict_emits_one_internal_span_with_identity_and_summaries(clf, spans):
    clf.predict(X[:10])
    (span,) = spans()
    assert span.name == "predict LogisticRegression"
    assert span.kind is SpanKind.INTERNAL
    a = span.attributes
    assert a["ml.model.name"] == "LogisticRegression"
    assert a["ml.model.framework"] == "sklearn"
    assert a["ml.operation"] == "predict"
    assert "ml.model.version" not in a
    assert a["ml.batch.size"] == 10
    assert a["ml.input.summary.rows"] == 10
    assert a["ml.input.feature.count"] == 6
    assert list(a["ml.input.feature.mean"]) == pytest.approx(X[:10].mean(axis=0).tolist())
    assert list(a["ml.input.feature.min"]) == pytest.approx(X[:10].min(axis=0).tolist())
    assert list(a["ml.input.feature.max"]) == pytest.approx(X[:10].max(axis=0).tolist())
    assert a["ml.input.missing.count"] == 0
    expected = dict(zip(*np.unique(clf.predict(X[:10]), return_counts=True)))
    got = dict(zip(a["ml.output.class.labels"], a["ml.output.class.counts"]))
    assert got == {str(k): int(v) for k, v in expected.items()}


def test_predict_proba_reports_argmax_counts_and_confidence(clf, spans):
    proba = clf.predict_proba(X[:40])
    (span,) = spans()
    assert span.name == "predict_proba LogisticRegression"
    a = span.attributes
    assert sum(a["ml.output.class.counts"]) == 40
    winners = clf.classes_[proba.argmax(axis=1)]
    assert dict(zip(a["ml.output.class.labels"], a["ml.output.class.counts"])) == {
        str(c): int((winners == c).sum()) for c in np.unique(winners)
    }
    assert a["ml.output.confidence.mean"] == pytest.approx(proba.max(axis=1).mean())


def test_regressor_output_is_numeric_summary(spans):
    reg = LinearRegression().fit(X, X[:, 0] * 3.0)
    out = reg.predict(X[:20])
    (span,) = spans()
    assert span.attributes["ml.output.mean"] == pytest.approx(out.mean())
    assert span.attributes["ml.output.min"] == pytest.approx(out.min())
    assert span.attributes["ml.output.max"] == pytest.approx(out.max())


def test_register_sets_name_version_and_feature_names(spans):
    model = modeltel.register(
        LogisticRegression().fit(X, Y), name="fraud", version="2024-06", feature_names=list("abcdef")
    )
    model.predict_proba(X[:3])
    (span,) = spans()
    assert span.name == "predict_proba fraud"
    assert span.attributes["ml.model.version"] == "2024-06"
    assert list(span.attributes["ml.input.feature.names"]) == list("abcdef")


def test_feature_names_come_from_dataframe_columns_and_feature_names_in(spans):
    frame = pd.DataFrame(X, columns=[f"col_{i}" for i in range(6)])
    model = LogisticRegression().fit(frame, Y)
    model.predict(frame.iloc[:5])
    model.predict(X[:5])  # numpy input: names from feature_names_in_ (sklearn warns about it)
    first, second = spans()
    assert list(first.attributes["ml.input.feature.names"]) == list(frame.columns)
    assert list(second.attributes["ml.input.feature.names"]) == list(frame.columns)


def test_pipeline_is_one_span_not_one_per_step(spans):
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    SPAN_COUNT_AFTER_FIT = len(spans())
    pipe.predict(X[:5])
    pipe.predict_proba(X[:5])
    names = [s.name for s in spans()]
    assert SPAN_COUNT_AFTER_FIT == 0
    assert names == ["predict Pipeline", "predict_proba Pipeline"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: OneVsRestClassifier(LogisticRegression()),
        lambda: StackingClassifier([("lr", LogisticRegression()), ("rf", RandomForestClassifier(n_estimators=5))]),
        lambda: GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2),
    ],
    ids=["one-vs-rest", "stacking", "grid-search"],
)
def test_meta_estimators_yield_one_span_and_none_during_fit(make, spans):
    model = make().fit(X, Y)
    assert spans() == []  # fit, including scoring inside a grid search, is not prediction
    model.predict(X[:7])
    (span,) = spans()
    assert span.name == f"predict {type(model).__name__}"
    assert span.attributes["ml.batch.size"] == 7


def test_fit_predict_and_fit_transform_are_training(spans):
    from sklearn.cluster import KMeans

    KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(X)
    StandardScaler().fit_transform(X)
    assert spans() == []
    StandardScaler().fit(X).transform(X[:4])
    assert [s.name for s in spans()] == ["transform StandardScaler"]


def test_error_path_records_and_reraises_the_same_exception(spans):
    model = LogisticRegression()
    with pytest.raises(NotFittedError) as caught:
        model.predict(X[:2])
    (span,) = spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "NotFittedError"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"].endswith("NotFittedError")
    assert event.attributes["exception.message"] == str(caught.value)
    points = metric_points("ml.prediction.duration", **{"error.type": "NotFittedError"})
    assert points and points[0].attributes["ml.model.name"] == "LogisticRegression"


def test_metrics_duration_histogram_and_row_counter(clf):
    name = "metrics-check"
    model = modeltel.register(clone(clf).fit(X, Y), name=name, version="7")
    for rows in (1, 10, 100):
        model.predict(X[:rows])
    attrs = {"ml.model.name": name, "ml.model.version": "7", "ml.operation": "predict", "ml.model.framework": "sklearn"}
    assert histogram_count("ml.prediction.duration", **attrs) == 3
    assert counter_value("ml.prediction.rows", **attrs) == 111
    assert metric_unit("ml.prediction.duration") == "s"
    assert metric_unit("ml.prediction.rows") == "{row}"
    (point,) = metric_points("ml.prediction.duration", **attrs)
    assert list(point.explicit_bounds)[0] == pytest.approx(0.00005)
    assert list(point.explicit_bounds)[-1] == pytest.approx(10.0)
    assert "error.type" not in point.attributes


def test_every_sklearn_estimator_inference_method_is_wrapped():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimators = all_estimators()
    # Import the modules all_estimators loaded, then instrument picks new classes via the hook.
    checked = 0
    for name, cls in estimators:
        for method in INFERENCE_METHODS:
            if inspect.getattr_static(cls, method, None) is None:
                continue
            assert is_patched(cls, method), f"{name}.{method} is not instrumented"
            checked += 1
    assert checked > 150


def test_subclass_defined_after_instrument_is_covered(spans):
    class Thresholded(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict(self, X):
            return (np.asarray(X)[:, 0] > 0).astype(int)

    class Stricter(LogisticRegression):
        def predict(self, X):
            return super().predict(X)

    Thresholded().fit(X, Y).predict(X[:3])
    Stricter().fit(X, Y).predict(X[:3])
    assert [s.name for s in spans()] == ["predict Thresholded", "predict Stricter"]


def test_uninstrument_restores_original_methods_and_stops_spans(spans):
    from sklearn.linear_model._base import LinearClassifierMixin

    wrapped = LinearClassifierMixin.__dict__["predict"]
    modeltel.uninstrument()
    try:
        restored = LinearClassifierMixin.__dict__["predict"]
        assert restored is wrapped.__wrapped__
        assert "__init_subclass__" not in BaseEstimator.__dict__
        LogisticRegression().fit(X, Y).predict(X[:2])
        assert spans() == []
    finally:
        modeltel.instrument()
    assert is_patched(LogisticRegression, "predict")


def test_instrument_is_idempotent(clf, spans):
    modeltel.instrument()
    modeltel.instrument()
    clf.predict(X[:1])
    assert len(spans()) == 1
    assert not isinstance(LogisticRegression.predict.__wrapped__, type(LogisticRegression.predict))


def test_suppression_is_honoured(clf, spans):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        clf.predict(X[:2])
    assert spans() == []


def test_prediction_results_are_unchanged(clf):
    instrumented = clf.predict_proba(X)
    modeltel.uninstrument()
    try:
        bare = clf.predict_proba(X)
    finally:
        modeltel.instrument()
    np.testing.assert_array_equal(instrumented, bare)


def test_prediction_span_is_child_of_current_span(clf, spans):
    from opentelemetry import trace

    with trace.get_tracer("app").start_as_current_span("request") as parent:
        clf.predict(X[:1])
    child = next(s for s in spans() if s.name.startswith("predict"))
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.context.trace_id == parent.get_span_context().trace_id


def test_transformer_defined_after_instrument_keeps_set_output_and_is_observed(spans):
    class Doubler(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.n_features_in_ = np.asarray(X).shape[1]
            return self

        def transform(self, X):
            return np.asarray(X) * 2.0

        def get_feature_names_out(self, input_features=None):
            return np.array([f"d{i}" for i in range(self.n_features_in_)], dtype=object)

    out = Doubler().fit(X).set_output(transform="pandas").transform(X[:3])
    assert isinstance(out, pd.DataFrame) and list(out.columns)[:2] == ["d0", "d1"]
    np.testing.assert_allclose(out.to_numpy(), X[:3] * 2.0)
    assert [s.name for s in spans()] == ["transform Doubler"]
    assert is_patched(Doubler, "transform")
