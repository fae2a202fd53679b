"""Every example runs, and its telemetry arrives through a real collector as promised."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from modeltel._local.otlp import OtlpBackend, RotelCollector, attributes, free_port
from tests.helpers import ROOT_DIR

pytestmark = pytest.mark.integration
EXAMPLES = ROOT_DIR / "examples"


@pytest.fixture
def pipeline(tmp_path):
    backend = OtlpBackend().start()
    collector = RotelCollector(backend.port, tmp_path).start()
    yield backend, collector
    collector.stop()
    backend.stop()


def run_example(name: str, collector: RotelCollector, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.endpoint
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], env=env, capture_output=True, text=True, timeout=150
    )
    assert proc.returncode == 0, proc.stderr
    assert "Failed to export" not in proc.stderr, proc.stderr
    return proc.stdout


def data_points(backend: OtlpBackend, metric: str) -> list[dict]:
    points = []
    for m in backend.metrics:
        if m.name == metric:
            data = getattr(m, m.WhichOneof("data"))
            points += [attributes(p.attributes) | {"_value": p.as_double or p.as_int} for p in data.data_points]
    return points


def test_pytorch_example_gives_one_span_per_eval_call_and_none_in_training(pipeline):
    backend, collector = pipeline
    out = run_example("pytorch_model.py", collector)
    assert "batch of 256" in out
    assert backend.wait_for(lambda b: any(s.name == "forward churn-mlp" for s in b.spans))
    names = Counter(name for name, _, _ in backend.span_attributes())
    assert names == {"forward churn-mlp": 3}  # 50 training steps and the sub-modules: nothing
    sizes = sorted(a["ml.batch.size"] for _, a, _ in backend.span_attributes())
    assert sizes == [1, 16, 256]


def test_generic_callable_example_observes_a_function_and_a_wrapped_object(pipeline):
    backend, collector = pipeline
    run_example("generic_callable.py", collector)
    assert backend.wait_for(lambda b: len(b.spans) >= 2)
    spans = {name: attrs for name, attrs, _ in backend.span_attributes()}
    assert spans["call price-quote"]["ml.model.framework"] == "python"
    assert spans["call price-quote"]["ml.input.feature.names"] == ["distance_km", "weight_kg", "express"]
    assert spans["predict ranker"]["ml.batch.size"] == 2


def test_delayed_labels_example_exports_realized_and_estimated_accuracy(pipeline):
    backend, collector = pipeline
    out = run_example("delayed_labels.py", collector)
    assert "matched=600" in out and "unknown=1" in out
    assert backend.wait_for(lambda b: any(m.name == "ml.performance" for m in b.metrics))
    accuracy = {
        p["ml.performance.source"]: p["_value"]
        for p in data_points(backend, "ml.performance")
        if p["ml.performance.metric"] == "accuracy"
    }
    realized = float(out.split("realized accuracy on the labelled 600: ")[1].split()[0])
    assert accuracy["labels"] == pytest.approx(realized, abs=1e-3)
    assert accuracy["estimated"] == pytest.approx(realized, abs=0.05)
    assert any(s.name == "label loan-default" and len(s.links) for s in backend.spans)


def test_reference_build_example_round_trips_a_reference_file(pipeline, tmp_path):
    backend, collector = pipeline
    run_example("reference_build.py", collector, "--out", str(tmp_path / "model"))
    assert (tmp_path / "model" / "fraud.json").exists()
    assert backend.wait_for(lambda b: any(m.name == "ml.data_quality.issues" for m in b.metrics))
    issues = data_points(backend, "ml.data_quality.issues")
    assert any(p["ml.feature.name"] == "country" and p["ml.data_quality.kind"] == "unseen_category" for p in issues)


def test_fastapi_example_nests_prediction_spans_under_request_spans(pipeline):
    backend, collector = pipeline
    out = run_example("sklearn_fastapi.py", collector, "--smoke", "--port", str(free_port()))
    assert "labels matched: 20" in out
    assert backend.wait_for(lambda b: any(s.name == "predict_proba fraud" for s in b.spans))
    spans = {raw.span_id: (name, raw) for name, _, raw in backend.span_attributes()}
    prediction = next(raw for name, raw in spans.values() if name == "predict_proba fraud")
    assert spans[prediction.parent_span_id][0] == "POST /predict"
