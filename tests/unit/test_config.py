"""Configuration: environment variables and options, validated at start-up."""

from __future__ import annotations

import pytest

import modeltel
from modeltel._core.providers import check_environment
from modeltel.config import (
    _ENV_FIELDS,
    MODEL_OPTIONS,
    Settings,
    enabled_from_env,
    frameworks_from_env,
    settings_from_env,
)


def test_env_values_are_parsed():
    s = settings_from_env(
        {"MODELTEL_SUMMARIES": "off", "MODELTEL_SUMMARY_MAX_ROWS": "32", "MODELTEL_TORCH_TRAINING": "yes"}
    )
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


# --- every MODELTEL_* variable is checked as its option is -------------------------------


def test_every_option_has_an_environment_variable():
    assert set(_ENV_FIELDS.values()) == MODEL_OPTIONS
    assert _ENV_FIELDS["MODELTEL_TASK"] == "task"
    assert settings_from_env({"MODELTEL_TASK": "regression"}).task == "regression"


def _cases(field: str) -> tuple[tuple[str, object], list[tuple[str, object, bool]]]:
    """One accepted (env text, option value) pair for ``field``, and the refused ones as
    (env text, option value, whether the refusal is a bound shared with the option rather than
    text the environment cannot parse)."""
    kind = type(getattr(Settings(), field))
    if kind is bool:
        return ("false", False), [("maybe", "maybe", False)]
    if kind is int:
        least = 0 if field == "label_store_max_entries" else 1
        return ("10", 10), [(str(least - 1), least - 1, True), ("-5", -5, True), ("2.5", 2.5, False)]
    if kind is float:
        refused = [("-1", -1.0, True), ("-0.5", -0.5, True), ("nan", float("nan"), True)]
        if field == "prediction_log_rate":
            refused += [("5", 5.0, True), ("1.5", 1.5, True)]
        return ("0.25", 0.25), refused
    if field == "drift_methods":
        return ("psi, js", ["psi", "js"]), [("psi,bogus", ["psi", "bogus"], True), (",", [], True)]
    if field == "task":
        return (" regression ", "regression"), [("binary", "binary", True), ("Classification", "Classification", True)]
    # Feature-name lists take any names: no text refused, but both ways agree.
    return ("ssn, email", ["ssn", "email"]), []


@pytest.mark.parametrize(("env_name", "field"), sorted(_ENV_FIELDS.items()))
def test_env_variables_are_checked_as_their_option_is(env_name, field):
    (good_raw, good_value), refused = _cases(field)
    assert getattr(settings_from_env({env_name: good_raw}), field) == getattr(
        Settings().replace("test", {field: good_value}), field
    )
    for raw, value, shared_bound in refused:
        with pytest.raises((TypeError, ValueError)) as option_error:
            Settings().replace("test", {field: value})
        with pytest.raises(ValueError) as env_error:
            settings_from_env({env_name: raw})
        subject = f"{env_name}={raw!r}"
        message = str(env_error.value)
        assert message.startswith(subject), message
        if shared_bound:
            # One source of bounds: the variable's reason is the option's, word for word.
            reason = message[len(subject) :].lstrip(": ")
            assert reason and reason in str(option_error.value), (message, str(option_error.value))


def test_prediction_log_rate_above_one_is_refused_from_the_environment():
    with pytest.raises(ValueError, match=r"^MODELTEL_PREDICTION_LOG_RATE='5' must be >= 0 and <= 1$"):
        settings_from_env({"MODELTEL_PREDICTION_LOG_RATE": "5"})
    with pytest.raises(ValueError, match=r"option 'prediction_log_rate' must be >= 0 and <= 1, got 5"):
        Settings().replace("modeltel.register()", {"prediction_log_rate": 5})
    assert settings_from_env({"MODELTEL_PREDICTION_LOG_RATE": "1"}).prediction_log_rate == 1.0


@pytest.mark.parametrize("raw", ["nan", "NaN", "-1", "-inf"])
def test_nan_and_negative_floats_are_refused_from_the_environment_as_by_the_option(raw):
    bounds = {
        "MODELTEL_DRIFT_WINDOW_SECONDS": ">= 0",
        "MODELTEL_LABEL_STORE_MAX_AGE": ">= 0",
        "MODELTEL_PREDICTION_LOG_RATE": ">= 0 and <= 1",
    }
    for env_name, bound in bounds.items():
        reason = "a number" if raw.lower() == "nan" else bound
        with pytest.raises(ValueError, match=rf"^{env_name}='{raw}' must be {reason}$"):
            settings_from_env({env_name: raw})


def test_the_docs_table_lists_every_option_with_its_variable_and_default():
    """docs/configuration.md is read from the option definitions' side: a row per option, its
    variable (MODELTEL_ + the name), and a number default written as the number."""
    import dataclasses

    from modeltel.config import Settings, env_name
    from tests.helpers import ROOT_DIR

    text = (ROOT_DIR / "docs" / "configuration.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in text.splitlines() if line.startswith("| `")}
    for field in dataclasses.fields(Settings):
        assert field.name in rows, f"docs/configuration.md has no row for {field.name}"
        row = rows[field.name]
        assert f"`{env_name(field.name)}`" in row, row
        default = field.default
        if isinstance(default, bool):
            assert f"`{str(default).lower()}`" in row, row
        elif isinstance(default, (int, float)):
            assert f"`{default:g}`" in row or f"`{int(default)}`" in row, row
