"""Opt-in prediction logs reach an OTLP receiver behind a real collector, redacted."""

from __future__ import annotations

import json
import textwrap

import pytest

from modeltel.testing import OtlpBackend, RotelCollector, attributes
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
        assert backend.wait_for(lambda b: b.logs and any(s.name == "predict credit" for s in b.spans))
        (record,) = backend.logs
        body = json.loads(record.body.string_value)
        assert body["prediction_ids"][0] == pid and body["rows"] == 3 and len(body["outputs"]) == 3
        assert set(body["inputs"][0]) == {"age"}  # ssn redacted
        assert attributes(record.attributes)["ml.model.name"] == "credit"
        span = next(s for s in backend.spans if s.name == "predict credit")
        assert record.trace_id == span.trace_id and record.span_id == span.span_id
    finally:
        collector.stop()
        backend.stop()


def test_prediction_logs_are_off_by_default_and_rate_is_validated():
    import modeltel

    with pytest.raises(ValueError, match="prediction_log_rate.*<= 1"):
        modeltel.register(object(), prediction_log_rate=2.0)
    assert modeltel.config.Settings().prediction_log_rate == 0.0
