"""instrument() and the global providers, each in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modeltel._local.otlp import OtlpBackend
from tests.helpers import run_python

INSPECT = textwrap.dedent(
    """
    import json
    from opentelemetry import trace, metrics, _logs
    def exporter_of(proc):
        inner = getattr(proc, "_batch_processor", proc)
        return getattr(inner, "_exporter", None) or getattr(inner, "span_exporter")
    def name_of(obj):
        return type(obj).__module__ + "." + type(obj).__name__
    def describe():
        tp, mp, lp = trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()
        out = {"tracer": type(tp).__name__, "meter": type(mp).__name__, "logger": type(lp).__name__}
        if hasattr(tp, "resource"):
            out["service"] = tp.resource.attributes.get("service.name")
            procs = tp._active_span_processor._span_processors
            out["span_exporters"] = [name_of(exporter_of(p)) for p in procs]
            out["span_endpoints"] = [getattr(exporter_of(p), "_endpoint", None) for p in procs]
            out["span_queues"] = [getattr(getattr(p, "_batch_processor", None), "_max_queue_size", None) for p in procs]
        if hasattr(mp, "_metric_readers"):
            out["readers"] = [name_of(getattr(r, "_exporter", r)) for r in mp._metric_readers]
        out["tp_id"], out["mp_id"] = id(tp), id(mp)
        return out
    """
)


def run(body: str, env: dict[str, str] | None = None) -> dict:
    proc = run_python(INSPECT + textwrap.dedent(body), env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_unconfigured_process_gets_sdk_providers_with_otlp_grpc_defaults():
    out = run(
        """
        import modeltel
        modeltel.instrument(frameworks=[])
        print(json.dumps(describe()))
        """
    )
    assert (out["tracer"], out["meter"], out["logger"]) == ("TracerProvider", "MeterProvider", "LoggerProvider")
    # The SDK's OTLP/gRPC span exporter with modeltel's attribute encoding (a subclass).
    assert out["span_exporters"] == ["modeltel._sdk.otlp_encoding.OTLPSpanExporter"]
    assert out["span_endpoints"] == ["localhost:4317"]
    assert out["span_queues"] == [16384]  # modeltel's default (the SDK's is 2,048)
    assert out["readers"] == ["opentelemetry.exporter.otlp.proto.grpc.metric_exporter.OTLPMetricExporter"]
    assert out["service"].startswith("unknown_service")


def test_service_name_and_endpoint_override_env_and_http_protocol_gets_signal_paths():
    out = run(
        """
        import modeltel
        modeltel.instrument(service_name="from-arg", endpoint="http://collector:4318", frameworks=[])
        print(json.dumps(describe()))
        """,
        env={"OTEL_SERVICE_NAME": "from-env", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
    )
    assert out["service"] == "from-arg"
    assert out["span_exporters"] == ["modeltel._sdk.otlp_encoding.OTLPHttpSpanExporter"]
    assert out["span_endpoints"] == ["http://collector:4318/v1/traces"]


def test_env_service_name_is_used_and_console_exporter_is_honoured():
    out = run(
        """
        import modeltel
        modeltel.instrument(frameworks=[])
        print(json.dumps(describe()))
        """,
        env={"OTEL_SERVICE_NAME": "env-svc", "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"},
    )
    assert out["service"] == "env-svc"
    assert out["span_exporters"] == ["opentelemetry.sdk.trace.export.ConsoleSpanExporter"]
    assert out["readers"] == []


def test_app_configured_tracer_provider_is_left_alone_and_others_are_filled():
    out = run(
        """
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        app_tp = TracerProvider()
        app_tp.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        trace.set_tracer_provider(app_tp)
        import modeltel
        modeltel.instrument(service_name="ignored", frameworks=[])
        modeltel.instrument(frameworks=[])
        out = describe()
        out["same_tp"] = trace.get_tracer_provider() is app_tp
        print(json.dumps(out))
        """
    )
    assert out["same_tp"] is True
    assert out["span_exporters"] == ["opentelemetry.sdk.trace.export.in_memory_span_exporter.InMemorySpanExporter"]
    assert out["service"].startswith("unknown_service")  # service_name does not touch it
    assert out["meter"] == "MeterProvider" and out["logger"] == "LoggerProvider"


def test_instrument_twice_keeps_the_same_providers_and_patches_once():
    out = run(
        """
        import modeltel
        modeltel.instrument(frameworks=["sklearn"])
        first = describe()
        modeltel.instrument(frameworks=["sklearn"])
        second = describe()
        from sklearn.linear_model._base import LinearClassifierMixin
        import wrapt
        inner = LinearClassifierMixin.__dict__["predict"].__wrapped__
        print(json.dumps({"same": first == second, "double_wrapped": isinstance(inner, wrapt.FunctionWrapper)}))
        """
    )
    assert out == {"same": True, "double_wrapped": False}


def test_kill_switch_leaves_everything_untouched():
    out = run(
        """
        import modeltel
        modeltel.instrument()
        print(json.dumps(describe()))
        """,
        env={"MODELTEL_ENABLED": "false"},
    )
    assert out["tracer"] == "ProxyTracerProvider"


def test_frameworks_limit_patching():
    out = run(
        """
        import modeltel
        modeltel.instrument(frameworks=["sklearn"])
        from modeltel.instrumentation import sklearn as sk, torch as tc
        from sklearn.linear_model import LogisticRegression
        print(json.dumps({"torch_patched": tc.is_patched(), "sklearn_patched": sk.is_patched(LogisticRegression, "predict")}))
        """,
        env={"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert out == {"torch_patched": False, "sklearn_patched": True}


@pytest.mark.integration
def test_zero_code_opentelemetry_instrument_uses_the_entry_points(tmp_path: Path):
    backend = OtlpBackend().start()
    try:
        script = tmp_path / "app.py"
        script.write_text(
            textwrap.dedent(
                """
                import numpy as np
                from sklearn.linear_model import LogisticRegression
                X = np.random.default_rng(0).normal(size=(50, 3))
                clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
                clf.predict(X[:4])
                """
            )
        )
        instrument = Path(sys.executable).parent / "opentelemetry-instrument"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
        env.update(
            OTEL_SERVICE_NAME="zero-code",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{backend.port}",
            OTEL_EXPORTER_OTLP_INSECURE="true",
        )
        proc = subprocess.run(
            [str(instrument), sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        assert backend.wait_for(lambda b: any(s.name == "predict LogisticRegression" for s in b.spans)), proc.stderr
        ((_, attrs, _),) = [t for t in backend.span_attributes() if t[0].startswith("predict")]
        assert attrs["ml.batch.size"] == 4
        assert backend.resources[0]["service.name"] == "zero-code"
    finally:
        backend.stop()


def test_env_vars_disable_summaries_and_a_framework():
    out = run(
        """
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider(); provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import numpy as np, modeltel
        from modeltel.instrumentation.torch import is_patched
        modeltel.instrument()
        from sklearn.linear_model import LogisticRegression
        X = np.random.default_rng(0).normal(size=(20, 3))
        LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)).predict(X[:5])
        (span,) = exporter.get_finished_spans()
        print(json.dumps({"keys": sorted(span.attributes), "torch_patched": is_patched()}))
        """,
        env={
            "MODELTEL_SUMMARIES": "false",
            "MODELTEL_DISABLED_FRAMEWORKS": "torch",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
    )
    assert out["torch_patched"] is False
    assert "ml.batch.size" in out["keys"] and "ml.input.feature.mean" not in out["keys"]
    assert "ml.output.class.counts" not in out["keys"]


def test_bad_env_value_fails_at_instrument_naming_the_variable():
    proc = run_python(
        "import modeltel\nmodeltel.instrument()",
        env={"MODELTEL_SUMMARY_MAX_ROWS": "a-few"},
    )
    assert proc.returncode != 0
    assert "MODELTEL_SUMMARY_MAX_ROWS='a-few' is not an integer" in proc.stderr


def test_the_span_queue_size_variable_wins_over_modeltels_default():
    out = run(
        """
        import modeltel
        modeltel.instrument(frameworks=[])
        print(json.dumps(describe()))
        """,
        env={"OTEL_BSP_MAX_QUEUE_SIZE": "1000"},
    )
    assert out["span_queues"] == [1000]


def test_spans_of_the_installed_provider_leave_the_global_random_sequence_alone():
    """A seeded application sequence is the same with traced predictions between its draws
    (issue 18, item 11); a forked child draws other ids than its parent."""
    proc = run_python(
        textwrap.dedent(
            """
            import json, os, random
            import numpy as np
            import modeltel
            modeltel.instrument(frameworks=[])
            model = modeltel.wrap(lambda x: x, name="seeded")
            random.seed(42)
            alone = [random.random() for _ in range(5)]
            random.seed(42)
            mixed = []
            for _ in range(5):
                model(np.ones((1, 2)))
                mixed.append(random.random())
            from opentelemetry import trace
            generator = trace.get_tracer_provider().id_generator
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.write(write, json.dumps([generator.generate_trace_id() for _ in range(3)]).encode())
                os._exit(0)
            os.waitpid(pid, 0)
            child = json.loads(os.read(read, 4096))
            parent = [generator.generate_trace_id() for _ in range(3)]
            print(json.dumps({"alone": alone, "mixed": mixed, "type": type(generator).__name__,
                              "shared": sorted(set(child) & set(parent))}))
            """
        ),
        env={"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mixed"] == out["alone"]
    assert out["type"] == "PrivateRandomIdGenerator"
    assert out["shared"] == []
