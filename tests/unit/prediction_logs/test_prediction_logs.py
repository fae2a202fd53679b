"""Opt-in prediction logs reach an OTLP receiver behind a real collector, redacted."""

from __future__ import annotations

import json
import textwrap

import pytest

from modeltel._local.otlp import OtlpBackend, RotelCollector, attributes
from tests.helpers import run_python

pytestmark = pytest.mark.integration

APP = textwrap.dedent(
    """
    import json, os
    import numpy as np, pandas as pd
    import modeltel
    from opentelemetry import trace, metrics, _logs
    modeltel.instrument(service_name="logs-app", endpoint=os.environ["COLLECTOR"])
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 200), "ssn": rng.integers(10**8, 10**9, 200)})
    clf = modeltel.register(LogisticRegression().fit(frame, (frame.age > 50).astype(int)), name="credit",
                            prediction_log_rate=1.0, log_features_deny=["ssn"])
    clf.predict(frame.iloc[:3])
    pid = modeltel.last_prediction_ids()[0]
    # A nested record list and a MultiIndex frame, with the denied name deep and on a level.
    score = modeltel.monitor("nested", prediction_log_rate=1.0, features_deny=["ssn"])(lambda x: np.zeros(len(x)))
    score([{"user": {"ssn": 123456789, "age": 41}, "history": [{"ssn": 123456789, "amount": 3.5}]}])
    columns = pd.MultiIndex.from_tuples([("ssn", ""), ("age", "years"), ("contact", "ssn")])
    score(pd.DataFrame([[987654321, 41, 987654321]], columns=columns))
    trace.get_tracer_provider().shutdown(); _logs.get_logger_provider().shutdown(); metrics.get_meter_provider().shutdown()
    print(json.dumps({"pid": pid}))
    """
)


def test_prediction_logs_are_correlated_and_redacted(tmp_path):
    backend = OtlpBackend().start()
    collector = RotelCollector(backend.port, tmp_path).start()
    try:
        proc = run_python(APP, env={"COLLECTOR": collector.endpoint})
        assert proc.returncode == 0, proc.stderr
        pid = json.loads(proc.stdout.strip().splitlines()[-1])["pid"]
        assert backend.wait_for(lambda b: len(b.logs) == 3 and any(s.name == "predict credit" for s in b.spans))
        by_model = {attributes(r.attributes)["ml.model.name"]: [] for r in backend.logs}
        for r in backend.logs:
            by_model[attributes(r.attributes)["ml.model.name"]].append(r)
        (record,) = by_model["credit"]
        body = json.loads(record.body.string_value)
        assert body["prediction_ids"][0] == pid and body["rows"] == 3 and len(body["outputs"]) == 3
        assert set(body["inputs"][0]) == {"age"}  # ssn redacted
        assert attributes(record.attributes)["ml.model.name"] == "credit"
        span = next(s for s in backend.spans if s.name == "predict credit")
        assert record.trace_id == span.trace_id and record.span_id == span.span_id
        nested, multiindex = (json.loads(r.body.string_value)["inputs"] for r in by_model["nested"])
        assert nested == [{"user": {"age": 41}, "history": [{"amount": 3.5}]}]
        assert multiindex == [{"('age', 'years')": 41}]
        # The OTLP bytes as the backend received them: the secrets are nowhere in them.
        wire = b"".join(r.SerializeToString() for r in by_model["nested"])
        assert b"123456789" not in wire and b"987654321" not in wire
    finally:
        collector.stop()
        backend.stop()


def test_prediction_logs_are_off_by_default_and_rate_is_validated():
    import modeltel

    with pytest.raises(ValueError, match="prediction_log_rate.*<= 1"):
        modeltel.register(lambda x: x, prediction_log_rate=2.0)
    assert modeltel.config.Settings().prediction_log_rate == 0.0
