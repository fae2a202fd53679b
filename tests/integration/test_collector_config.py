"""The shipped Prometheus alert rules: valid, unit-tested with promtool, and in step with the
metric names modeltel emits."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from modeltel import semconv
from tests.helpers import ROOT_DIR

CONFIG = ROOT_DIR / "collector-config"
RULES = CONFIG / "prometheus" / "alert-rules.yml"

promtool = shutil.which("promtool")
# `make test` and .ci/run install Prometheus (Debian package) before the tests run.
requires_promtool = pytest.mark.skipif(promtool is None, reason="promtool not installed (make test installs it)")


@requires_promtool
def test_prometheus_config_is_valid_and_loads_every_rule_file():
    config = RULES.parent / "prometheus.yml"
    proc = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = set(yaml.safe_load(config.read_text())["rule_files"])
    assert listed == {p.name for p in RULES.parent.glob("*-rules.yml")}


@requires_promtool
def test_rules_are_valid():
    proc = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 9 rules found" in proc.stdout


@requires_promtool
@pytest.mark.parametrize("tests", ["alert-rules.test.yml", "recording-rules.test.yml"])
def test_rule_unit_tests_pass(tests):
    proc = subprocess.run([promtool, "test", "rules", tests], cwd=RULES.parent, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _prometheus_name(name: str, unit: str, counter: bool) -> str:
    """The collector's OTel -> Prometheus translation (prometheus/prometheusremotewrite exporters,
    vmagent's Prometheus naming): unit-1 gauges get `_ratio`."""
    base = name.replace(".", "_")
    if unit == "s":
        base += "_seconds"
    if unit == "1" and not counter:
        base += "_ratio"
    return base + ("_total" if counter else "")


def test_every_metric_in_the_rules_is_one_modeltel_emits():
    emitted = {
        _prometheus_name(semconv.ML_DRIFT_SCORE, "1", False),
        _prometheus_name(semconv.ML_PREDICTION_DRIFT_SCORE, "1", False),
        _prometheus_name(semconv.ML_DRIFT_MULTIVARIATE_SCORE, "1", False),
        _prometheus_name(semconv.ML_DRIFT_WINDOW_ROWS, "{row}", False),
        _prometheus_name(semconv.ML_PERFORMANCE, "1", False),
        _prometheus_name(semconv.ML_PREDICTION_DURATION, "s", False) + "_bucket",
        _prometheus_name(semconv.ML_PREDICTION_DURATION, "s", False) + "_count",
        _prometheus_name(semconv.ML_PREDICTION_ROWS, "{row}", True),
        _prometheus_name(semconv.ML_DATA_QUALITY_ISSUES, "{value}", True),
        _prometheus_name(semconv.ML_INPUT_DISTRIBUTION, "{row}", True),
        _prometheus_name(semconv.ML_REFERENCE_DISTRIBUTION, "1", False),
    }
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    recording = yaml.safe_load((RULES.parent / "recording-rules.yml").read_text())["groups"][0]["rules"]
    used = set()
    for rule in [*rules, *recording]:
        used |= set(re.findall(r"\b(ml_[a-z_]+?)(?:\{|\[|\)|\s|$)", rule["expr"]))
    labels = {
        "ml_model_name",
        "ml_model_version",
        "ml_feature_name",
        "ml_drift_method",
        "ml_performance_metric",
        "ml_performance_source",
        "ml_data_quality_kind",
        "ml_bin",
    }
    assert used - labels <= emitted, used - labels - emitted
    assert len(rules) == 9


amtool = shutil.which("amtool")


@pytest.mark.skipif(amtool is None, reason="amtool not installed (make test installs it)")
def test_alertmanager_config_is_valid_and_routes_by_severity():
    path = CONFIG / "alertmanager" / "alertmanager.yml"
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load(path.read_text())
    assert {tuple(r["matchers"]) for r in config["route"]["routes"]} == {
        ('severity="critical"',),
        ('severity="warning"',),
    }
    rule_severities = {r["labels"]["severity"] for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]}
    assert rule_severities <= {"critical", "warning"}  # every alert has a route


# Component types of otelcol-contrib the configs may use (checked against the contrib
# distribution's component list; extend it when a config needs another one).
CONTRIB_COMPONENTS = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "filelog"},
    "processors": {"memory_limiter", "batch", "tail_sampling", "attributes", "resource", "filter", "transform"},
    "exporters": {"otlp", "otlphttp", "datadog", "prometheus", "prometheusremotewrite", "loadbalancing", "debug"},
    "extensions": {"health_check", "pprof", "zpages"},
    "connectors": {"spanmetrics", "forward"},
}


@pytest.mark.parametrize("name", ["gateway.yaml", "agent.yaml"])
def test_otelcol_configs_reference_defined_real_components(name):
    text = (CONFIG / "otelcol" / name).read_text()
    config = yaml.safe_load(text)
    for kind, allowed in CONTRIB_COMPONENTS.items():
        for component in config.get(kind, {}) or {}:
            assert component.split("/")[0] in allowed, (
                f"{name}: {kind} {component!r} is not an otelcol-contrib component"
            )
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"]
    for pipeline, spec in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in spec.get(kind, []):
                assert component in config[kind], (
                    f"{name}: pipeline {pipeline} uses undefined {kind[:-1]} {component!r}"
                )
        if "processors" in spec:
            assert spec["processors"][0] == "memory_limiter"  # first, as the collector docs advise
    assert not re.search(r"(?i)(api_?key|key):\s*['\"]?[0-9a-f]{16,}", text), "a secret is written in the file"


def test_gateway_keeps_errors_and_slow_traces_and_agent_routes_by_trace_id():
    gateway = yaml.safe_load((CONFIG / "otelcol" / "gateway.yaml").read_text())
    policies = {p["type"] for p in gateway["processors"]["tail_sampling"]["policies"]}
    assert {"status_code", "latency", "probabilistic"} <= policies
    agent = yaml.safe_load((CONFIG / "otelcol" / "agent.yaml").read_text())
    assert agent["exporters"]["loadbalancing/traces"]["routing_key"] == "traceID"
    assert gateway["exporters"]["datadog"]["api"]["key"] == "${env:DD_API_KEY}"


@pytest.mark.parametrize("name", ["gateway.yaml", "agent.yaml"])
def test_otelcol_configs_carry_every_signal_modeltel_sends(name):
    # Prediction logs and ml.alert records are OTLP logs: a tier without a logs pipeline refuses them.
    pipelines = yaml.safe_load((CONFIG / "otelcol" / name).read_text())["service"]["pipelines"]
    assert {p.split("/")[0] for p in pipelines} >= {"traces", "metrics", "logs"}
