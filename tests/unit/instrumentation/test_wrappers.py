"""``monitor`` and ``wrap`` on plain callables and model objects."""

from __future__ import annotations

import asyncio
import inspect
import pickle

import numpy as np
import pytest
from opentelemetry.trace import StatusCode

import modeltel


def test_monitor_sync_function_names_and_version(spans):
    @modeltel.monitor("scorer", version=3)
    def score(features):
        return np.asarray(features).sum(axis=1)

    result = score(np.ones((4, 2)))
    assert result.tolist() == [2.0, 2.0, 2.0, 2.0]
    (span,) = spans()
    assert span.name == "call scorer"
    assert span.attributes["ml.model.version"] == "3"
    assert span.attributes["ml.model.framework"] == "python"
    assert span.attributes["ml.batch.size"] == 4


def test_bare_monitor_uses_qualified_name(spans):
    @modeltel.monitor
    def predict(x):
        return x

    predict([1.0])
    (span,) = spans()
    assert span.name == f"predict {predict.__qualname__}"
    assert "test_bare_monitor_uses_qualified_name" in span.attributes["ml.model.name"]


def test_monitor_async_span_covers_the_await(spans):
    @modeltel.monitor("async-model")
    async def infer(x):
        await asyncio.sleep(0.02)
        return [v * 2 for v in x]

    assert inspect.iscoroutinefunction(infer)  # frameworks (FastAPI) still see an async def
    assert asyncio.run(infer([1, 2])) == [2, 4]
    (span,) = spans()
    assert span.name == "call async-model"
    assert (span.end_time - span.start_time) / 1e9 >= 0.02


def test_monitor_method_and_exception_passthrough(spans):
    class Model:
        @modeltel.monitor("method-model")
        def predict(self, x):
            raise KeyError("missing feature")

    with pytest.raises(KeyError, match="missing feature"):
        Model().predict([1.0])
    (span,) = spans()
    assert span.name == "predict method-model"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyError"


@pytest.mark.parametrize("rows", [100, 1000], ids=["within the row budget", "sampled"])
def test_the_input_summary_describes_the_input_before_the_model_changed_it(spans, rows):
    from modeltel.summaries.inputs import summarize_input

    @modeltel.monitor("mutating")
    def predict(x):
        x *= 0.0  # some preprocessing steps scale in place
        return x[:, 0]

    @modeltel.monitor("mutating-and-failing")
    def predict_fails(x):
        x *= 0.0
        raise ValueError("bad batch")

    data = np.random.default_rng(5).normal(loc=3.0, size=(rows, 4))
    expected = summarize_input(data, max_rows=256, max_features=64)
    predict(data.copy())
    with pytest.raises(ValueError):
        predict_fails(data.copy())
    for span in spans():
        a = span.attributes
        assert a["ml.input.summary.rows"] == min(rows, 256)
        assert list(a["ml.input.feature.mean"]) == list(expected.mean)
        assert list(a["ml.input.feature.max"]) == list(expected.max)


class Plain:
    classes_ = np.array(["a", "b"])

    def predict(self, x):
        return np.where(np.asarray(x)[:, 0] > 0, "b", "a")

    def predict_proba(self, x):
        p = (np.asarray(x)[:, 0] > 0).astype(float)
        return np.column_stack([1 - p, p])

    def explain(self):
        return "not inference"


def test_wrap_object_observes_entry_methods_and_forwards_the_rest(spans):
    model = modeltel.wrap(Plain(), name="plain", version="1")
    x = np.array([[1.0], [-1.0], [2.0]])
    assert model.predict(x).tolist() == ["b", "a", "b"]
    model.predict_proba(x)
    assert model.explain() == "not inference"
    assert isinstance(model, Plain)
    assert not hasattr(model, "run")
    names = [s.name for s in spans()]
    assert names == ["predict plain", "predict_proba plain"]
    assert dict(
        zip(spans()[1].attributes["ml.output.class.labels"], spans()[1].attributes["ml.output.class.counts"])
    ) == {"b": 2, "a": 1}


def test_wrap_onnx_style_run_and_callable_object(spans):
    class Session:
        def run(self, output_names, input_feed):
            return [input_feed["input"] * 2]

    class Callable:
        def __call__(self, x):
            return x

    session = modeltel.wrap(Session(), name="onnx")
    session.run(None, {"input": np.ones((5, 3))})
    modeltel.wrap(Callable())(np.ones((2, 2)))
    first, second = spans()
    assert first.name == "run onnx" and first.attributes["ml.batch.size"] == 5
    assert first.attributes["ml.input.feature.count"] == 3
    assert second.name == "call Callable"


def test_wrap_plain_function_and_register_on_result(spans):
    wrapped = modeltel.wrap(lambda x: x, name="lam")
    modeltel.register(wrapped, version="9")
    wrapped([1, 2])
    (span,) = spans()
    assert span.name == "call lam" and span.attributes["ml.model.version"] == "9"


def test_wrapped_model_pickles_as_the_model():
    model = modeltel.wrap(Plain(), name="plain")
    assert type(pickle.loads(pickle.dumps(model))) is Plain


def test_pass_through_after_uninstrument(spans):
    @modeltel.monitor("gone")
    def f(x):
        return x

    model = modeltel.wrap(Plain())
    modeltel.uninstrument()
    try:
        assert f(5) == 5
        assert model.predict(np.array([[1.0]])).tolist() == ["b"]
        assert spans() == []
    finally:
        modeltel.instrument()
    f(5)
    assert len(spans()) == 1


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError, match="unknown option.*'sumaries'"):
        modeltel.monitor("x", sumaries=False)
    with pytest.raises(TypeError, match="has none"):
        modeltel.wrap(object())
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        modeltel.wrap(Plain(), name=3)
    with pytest.raises(TypeError, match="summary_max_rows.*int"):
        modeltel.register(Plain(), summary_max_rows="many")
    with pytest.raises(ValueError, match="summary_max_rows.*>= 1"):
        modeltel.register(Plain(), summary_max_rows=0)
    with pytest.raises(TypeError, match="needs a model"):
        modeltel.register(None)
    with pytest.raises(TypeError, match="feature_names"):
        modeltel.register(Plain(), feature_names="abc")


def test_an_async_instance_method_shadowing_a_sync_class_method_is_awaited(spans):
    # Whether the entry is a coroutine function is cached per class: an instance attribute
    # that shadows the class's method must not take the class's answer.
    class Model:
        def predict(self, x):
            return x

    plain, shadowed = modeltel.wrap(Model(), name="plain"), Model()

    async def slow_predict(x):
        await asyncio.sleep(0.02)
        return [v * 2 for v in x]

    shadowed.predict = slow_predict
    shadowed = modeltel.wrap(shadowed, name="shadowed")
    assert plain.predict([1]) == [1]
    assert asyncio.run(shadowed.predict([1, 2])) == [2, 4]
    assert plain.predict([3]) == [3]
    (span,) = [s for s in spans() if s.name == "predict shadowed"]
    assert (span.end_time - span.start_time) / 1e9 >= 0.015  # the span covers the await
