"""In-process threshold alerts: one alert per crossing and one recovery."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from tests.conftest import counter_value

RNG = np.random.default_rng(33)
X = RNG.normal(size=(3000, 3))
Y = (X[:, 0] > 0).astype(int)


def test_accuracy_below_threshold_alerts_once_and_recovers_once(spans, caplog):
    alerts = []
    clf = modeltel.register(
        LogisticRegression().fit(X, Y),
        name="alerting",
        thresholds={"accuracy": 0.8},
        performance_window=200,
        on_alert=alerts.append,
    )

    def label(batch_rows, correct):
        ids, truth = [], []
        for row in batch_rows:
            pred = clf.predict(X[row : row + 1])[0]
            ids.append(modeltel.last_prediction_ids()[0])
            truth.append(pred if correct else 1 - pred)
        return modeltel.record_labels(ids, truth)

    with caplog.at_level(logging.WARNING, logger="modeltel"):
        for chunk in range(4):  # 200 correct labels: no alert
            label(range(chunk * 50, chunk * 50 + 50), correct=True)
        assert alerts == []
        for chunk in range(4):  # 200 wrong labels: accuracy falls through 0.8 once
            label(range(1000 + chunk * 50, 1050 + chunk * 50), correct=False)
        for chunk in range(6):  # correct again: back above 0.8 once
            label(range(2000 + chunk * 50, 2050 + chunk * 50), correct=True)
    assert [(a.metric, a.state) for a in alerts] == [("accuracy", "firing"), ("accuracy", "resolved")]
    assert alerts[0].value < 0.8 <= alerts[1].value
    messages = [r.getMessage() for r in caplog.records if "modeltel alert" in r.getMessage()]
    assert len(messages) == 2 and "below its threshold 0.8" in messages[0]
    from tests.conftest import LOG_EXPORTER

    otel = [r for r in LOG_EXPORTER.get_finished_logs() if "alerting accuracy" in str(r.log_record.body)]
    assert [r.log_record.severity_text for r in otel] == ["WARN", "WARN"]
    assert counter_value("ml.alerts", **{"ml.alert.name": "alerting accuracy", "ml.alert.state": "firing"}) == 1
    assert counter_value("ml.alerts", **{"ml.alert.name": "alerting accuracy", "ml.alert.state": "resolved"}) == 1
    events = [e for s in spans() if s.name == "label alerting" for e in s.events if e.name == "ml.alert"]
    assert [e.attributes["ml.alert.state"] for e in events] == ["firing", "resolved"]
    assert events[0].attributes["ml.alert.threshold"] == 0.8


def test_threshold_arguments_are_validated():
    with pytest.raises(ValueError, match="unknown threshold metric 'acc'"):
        modeltel.register(LogisticRegression(), thresholds={"acc": 0.8})
    with pytest.raises(TypeError, match="must be a number"):
        modeltel.register(LogisticRegression(), thresholds={"accuracy": "high"})
    with pytest.raises(TypeError, match="on_alert must be callable"):
        modeltel.register(LogisticRegression(), on_alert="email me")


def test_drift_and_latency_thresholds_are_checked_as_the_window_moves():
    import time as _time

    from modeltel import Reference

    alerts = []

    class Slow:
        def predict(self, x):
            _time.sleep(0.002)
            return np.zeros(len(x))

    model = modeltel.wrap(
        Slow(),
        name="watched",
        reference=Reference.from_data(X),
        thresholds={"psi": 0.2, "latency_p99": 0.001},
        on_alert=alerts.append,
    )
    shifted = X[:100] + np.array([3.0, 0.0, 0.0])
    for i in range(100):
        model.predict(shifted[i : i + 1])
    assert sorted((a.metric, a.state) for a in alerts) == [("latency_p99", "firing"), ("psi", "firing")]
    assert next(a for a in alerts if a.metric == "latency_p99").value >= 0.002
