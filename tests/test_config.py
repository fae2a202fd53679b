"""Configuration: environment variables and options, validated at start-up."""

from __future__ import annotations

import pytest

import modeltel
from modeltel.config import enabled_from_env, frameworks_from_env, settings_from_env
from modeltel.providers import check_environment


def test_env_values_are_parsed():
    s = settings_from_env({"MODELTEL_SUMMARIES": "off", "MODELTEL_SUMMARY_MAX_ROWS": "32",
                           "MODELTEL_TORCH_TRAINING": "yes"})
    assert (s.summaries, s.summary_max_rows, s.torch_training) == (False, 32, True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODELTEL_SUMMARIES": "maybe"}, "MODELTEL_SUMMARIES='maybe' is not a boolean"),
        ({"MODELTEL_SUMMARY_MAX_ROWS": "lots"}, "MODELTEL_SUMMARY_MAX_ROWS='lots' is not an integer"),
        ({"MODELTEL_SUMMARY_MAX_FEATURES": "0"}, "MODELTEL_SUMMARY_MAX_FEATURES='0' must be >= 1"),
    ],
)
def test_bad_env_values_name_the_variable(env, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        settings_from_env(env)


def test_frameworks_from_argument_env_and_disable_list():
    assert frameworks_from_env(None, {}) == ["sklearn", "torch"]
    assert frameworks_from_env(None, {"MODELTEL_FRAMEWORKS": "torch"}) == ["torch"]
    assert frameworks_from_env(None, {"MODELTEL_DISABLED_FRAMEWORKS": "torch"}) == ["sklearn"]
    assert frameworks_from_env(["sklearn"], {"MODELTEL_FRAMEWORKS": "torch"}) == ["sklearn"]
    with pytest.raises(ValueError, match="MODELTEL_FRAMEWORKS: unknown framework.*'tensorflow'"):
        frameworks_from_env(None, {"MODELTEL_FRAMEWORKS": "tensorflow"})


def test_kill_switch():
    assert enabled_from_env({"MODELTEL_ENABLED": "false"}) is False
    assert enabled_from_env({}) is True


def test_bad_otel_exporter_variables_fail_fast():
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_PROTOCOL='thrift'"):
        check_environment({"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"})
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER='jaeger'"):
        check_environment({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_instrument_rejects_bad_arguments():
    with pytest.raises(TypeError, match="unknown option.*'row_budget'"):
        modeltel.instrument(row_budget=10)
    with pytest.raises(ValueError, match="unknown framework.*'keras'"):
        modeltel.instrument(frameworks=["keras"])
    with pytest.raises(ValueError, match="endpoint must be a URL"):
        modeltel.instrument(endpoint="localhost:4317")
    with pytest.raises(TypeError, match="frameworks must be a list"):
        modeltel.instrument(frameworks="sklearn")


def test_kill_switch_turns_every_wrapper_into_a_pass_through():
    code = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)
import modeltel
modeltel.instrument()
score = modeltel.monitor("killed")(lambda x: x * 2)
ranker = modeltel.wrap(lambda x: x + 1, name="killed-wrap")
print(json.dumps({"results": [score(3), ranker(3)], "spans": len(spans.get_finished_spans()),
                  "ids": modeltel.last_prediction_ids()}))
"""
    import json

    from tests.helpers import run_python

    proc = run_python(code, env={"MODELTEL_ENABLED": "false"})
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"results": [6, 4], "spans": 0, "ids": []}


def test_drift_sample_rows_from_env_and_its_bound():
    assert settings_from_env({"MODELTEL_DRIFT_SAMPLE_ROWS": "16"}).drift_sample_rows == 16
    with pytest.raises(ValueError, match="MODELTEL_DRIFT_SAMPLE_ROWS='0' must be >= 1"):
        settings_from_env({"MODELTEL_DRIFT_SAMPLE_ROWS": "0"})
