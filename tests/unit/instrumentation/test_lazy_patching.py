"""Frameworks are patched when the application imports them, not by ``instrument()``
(issue 18, item 13): an unused torch must not be imported, or its objects slow every full
garbage collection inside a prediction."""

from __future__ import annotations

import json

from tests.helpers import run_python

_PRELUDE = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
import modeltel
out = {}
"""


def _run(body: str) -> dict:
    result = run_python(
        _PRELUDE + body + "\nprint(json.dumps(out))\n",
        env={"OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_instrument_imports_no_framework_and_patches_on_import() -> None:
    out = _run("""
modeltel.instrument()
out["imported"] = sorted(m for m in ("torch", "sklearn") if m in sys.modules)
import torch
from modeltel.instrumentation.torch import is_patched
out["patched"] = is_patched()
net = torch.nn.Linear(3, 1).eval()
net(torch.zeros(2, 3))
from sklearn.linear_model import LinearRegression
LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]).predict([[2.0]])
out["spans"] = [s.name for s in exporter.get_finished_spans()]
""")
    assert out["imported"] == []
    assert out["patched"] is True
    assert out["spans"] == ["forward Linear", "predict LinearRegression"]


def test_uninstrument_before_import_leaves_the_framework_alone() -> None:
    out = _run("""
modeltel.instrument()
modeltel.uninstrument()
import torch
from modeltel.instrumentation.torch import is_patched
from modeltel.instrumentation.sklearn import is_patched as sklearn_patched
from sklearn.linear_model import LinearRegression
out["patched"] = [is_patched(), sklearn_patched(LinearRegression, "predict")]
modeltel.instrument()
out["again"] = [is_patched(), sklearn_patched(LinearRegression, "predict")]
""")
    assert out["patched"] == [False, False]
    assert out["again"] == [True, True]


def test_failing_patch_on_import_is_counted_not_raised() -> None:
    out = _run("""
from modeltel.instrumentation import torch as torch_instrumentation
def broken(self, switch, telemetry):
    raise RuntimeError("patch failed")
torch_instrumentation.TorchInstrumentor._patch = broken
modeltel.instrument()
import torch
out["imported"] = torch.nn.Linear(2, 1)(torch.zeros(1, 2)).shape[0]
""")
    assert out["imported"] == 1
