"""Real OTLP over gRPC: instrumented model -> rotel collector process -> OTLP backend."""

from __future__ import annotations

import json
import textwrap

import pytest

from modeltel._local.otlp import OtlpBackend, RotelCollector
from tests.helpers import run_python

pytestmark = pytest.mark.integration

APP = textwrap.dedent(
    """
    import json, os
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="fraud-api", endpoint=os.environ["COLLECTOR"])
    from opentelemetry import trace
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(200, 4))
    clf = modeltel.register(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)),
                            name="fraud", version="v3", feature_names=["a", "b", "c", "d"])
    with trace.get_tracer("app").start_as_current_span("POST /score") as req:
        clf.predict_proba(X[:25])
        ids = {"trace_id": format(req.get_span_context().trace_id, "032x"),
               "span_id": format(req.get_span_context().span_id, "016x")}
    trace.get_tracer_provider().shutdown()
    from opentelemetry import metrics
    metrics.get_meter_provider().shutdown()
    print(json.dumps(ids))
    """
)


@pytest.fixture
def pipeline(tmp_path):
    backend = OtlpBackend().start()
    collector = RotelCollector(backend.port, tmp_path).start()
    yield backend, collector
    collector.stop()  # before its backend: otherwise rotel waits and exits 1
    backend.stop()


def test_spans_and_metrics_arrive_through_a_real_collector(pipeline):
    backend, collector = pipeline
    proc = run_python(APP, env={"COLLECTOR": collector.endpoint})
    assert proc.returncode == 0, proc.stderr
    ids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert backend.wait_for(lambda b: any(s.name == "predict_proba fraud" for s in b.spans)), (
        collector.log_file.read_text() if collector.log_file.exists() else "no rotel log"
    )
    assert backend.wait_for(lambda b: {"ml.prediction.duration", "ml.prediction.rows"} <= {m.name for m in b.metrics})
    spans = {name: (attrs, raw) for name, attrs, raw in backend.span_attributes()}
    attrs, raw = spans["predict_proba fraud"]
    _, request = spans["POST /score"]
    assert raw.trace_id.hex() == ids["trace_id"] == request.trace_id.hex()
    assert raw.parent_span_id.hex() == ids["span_id"] == request.span_id.hex()
    assert raw.kind == 1  # SPAN_KIND_INTERNAL
    assert attrs["ml.model.name"] == "fraud" and attrs["ml.model.version"] == "v3"
    assert attrs["ml.model.framework"] == "sklearn" and attrs["ml.operation"] == "predict_proba"
    assert attrs["ml.batch.size"] == 25 and attrs["ml.input.feature.count"] == 4
    assert attrs["ml.input.feature.names"] == ["a", "b", "c", "d"]
    assert len(attrs["ml.input.feature.mean"]) == 4
    assert sum(attrs["ml.output.class.counts"]) == 25
    assert {"service.name": "fraud-api"}.items() <= backend.resources[0].items()
    duration = next(m for m in backend.metrics if m.name == "ml.prediction.duration")
    assert duration.unit == "s"
    point = duration.histogram.data_points[0]
    assert point.count == 1 and list(point.explicit_bounds)[0] == pytest.approx(0.00005)
