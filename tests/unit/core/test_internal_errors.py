"""A failure inside modeltel never reaches the caller: it is counted and logged once."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel._core import call as recorder
from modeltel._core.internal_errors import _reset_for_tests
from modeltel.summaries import observers as summaries
from tests.conftest import counter_value

X = np.random.default_rng(0).normal(size=(50, 3))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize(
    ("target", "site", "rows"),
    [
        ("sample_input", "input_summary", 50),
        ("finish_input", "input_summary", 50),
        ("finish_input", "input_summary", 1000),  # a sampled batch: finished after the call
        ("summarize_output", "output_summary", 50),
    ],
)
def test_summary_failure_is_counted_logged_once_and_prediction_unchanged(
    monkeypatch, caplog, spans, target, site, rows
):
    _reset_for_tests()
    model = LogisticRegression().fit(X, Y)
    batch = np.random.default_rng(1).normal(size=(rows, 3))
    expected = model.predict(batch)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom inside modeltel")

    monkeypatch.setattr(summaries, target, broken)
    spans_before = len(spans())
    before = counter_value("modeltel.internal.errors", **{"modeltel.site": site, "error.type": "ZeroDivisionError"})
    with caplog.at_level(logging.WARNING, logger="modeltel"):
        for _ in range(3):
            np.testing.assert_array_equal(model.predict(batch), expected)
    after = counter_value("modeltel.internal.errors", **{"modeltel.site": site, "error.type": "ZeroDivisionError"})
    assert after - before == 3
    logged = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert len(logged) == 1 and site in logged[0].getMessage()
    assert len(spans()) - spans_before == 3  # the spans still end


def test_span_start_failure_still_returns_prediction(monkeypatch):
    model = LogisticRegression().fit(X, Y)

    def broken(*args, **kwargs):
        raise RuntimeError("tracer exploded")

    monkeypatch.setattr(recorder, "Call", broken)
    before = counter_value("modeltel.internal.errors", **{"modeltel.site": "span_start"})
    assert model.predict(X[:2]).shape == (2,)
    assert counter_value("modeltel.internal.errors", **{"modeltel.site": "span_start"}) == before + 1


def test_model_exception_object_is_identical(spans):
    err = ValueError("model says no")

    @modeltel.monitor("raiser")
    def f(x):
        raise err

    with pytest.raises(ValueError) as caught:
        f([1])
    assert caught.value is err


def test_a_failing_concern_does_not_switch_off_the_others(monkeypatch, spans):
    from modeltel import Reference
    from modeltel.drift.monitor import DriftMonitor

    def broken(self, y, rows):
        raise RuntimeError("drift exploded")

    monkeypatch.setattr(DriftMonitor, "observe_outputs", broken)
    model = modeltel.register(LogisticRegression().fit(X, Y), name="isolated", reference=Reference.from_data(X))
    before = counter_value("modeltel.internal.errors", **{"modeltel.site": "drift_update"})
    model.predict(X[:3])
    assert counter_value("modeltel.internal.errors", **{"modeltel.site": "drift_update"}) == before + 1
    # the label store and the output summary still ran
    assert modeltel.record_labels(modeltel.last_prediction_ids(), Y[:3].tolist()).matched == 3
    (span,) = [s for s in spans() if s.name == "predict isolated"]
    assert "ml.output.class.counts" in span.attributes
