"""The Grafana dashboard, Datadog monitors and docker-compose stack under collector-config/:
in step with the metrics modeltel emits (docs/semantic-conventions.md), with the Prometheus
alert rules, and with each other's service names and ports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT_DIR

ROOT = ROOT_DIR
CONFIG = ROOT / "collector-config"
DASHBOARD = CONFIG / "grafana" / "modeltel-dashboard.json"
MONITORS = CONFIG / "datadog" / "monitors.json"
COMPOSE = CONFIG / "docker-compose.yaml"
ALERT_RULES = CONFIG / "prometheus" / "alert-rules.yml"
GATEWAY = CONFIG / "otelcol" / "gateway.yaml"

promtool = shutil.which("promtool")
# `make test` and .ci/run install Prometheus (Debian package) before the tests run.
requires_promtool = pytest.mark.skipif(promtool is None, reason="promtool not installed (make test installs it)")

# What the end-to-end test substitutes for Grafana's variables before querying Prometheus.
SUBSTITUTIONS = {"$__rate_interval": "1m", "$__interval": "15s", "$model": ".+"}
MODEL_FILTER = 'ml_model_name=~"$model"'


# --- docs/semantic-conventions.md -----------------------------------------------------------


def _documented_metrics() -> tuple[set[str], set[str]]:
    """(OpenTelemetry names, Prometheus names) from the doc's metric tables."""
    otel, prometheus = set(), set()
    lines = (ROOT / "docs" / "semantic-conventions.md").read_text().splitlines()
    header: list[str] = []
    for line, following in zip(lines, [*lines[1:], ""]):
        if not line.startswith("|"):
            continue  # a blank line inside a table keeps its header (the ml.alerts row)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if following.startswith("|---"):
            header = cells
            continue
        if line.startswith("|---") or "Prometheus" not in header or len(cells) != len(header):
            continue
        otel.update(re.findall(r"`([a-z_.]+)`", cells[header.index("Metric")])[:1])
        names = re.findall(r"`([a-z_:]+)`", cells[header.index("Prometheus")])
        base = names[0].removesuffix("_bucket")
        # `name_bucket` / `_sum` / `_count`: the suffixes are shorthand for base + suffix.
        prometheus.update(base + n if n.startswith("_") else n for n in names)
    return otel, prometheus


OTEL_METRICS, PROMETHEUS_METRICS = _documented_metrics()


def test_the_doc_tables_parse():
    # Guards the parser above: if the tables change shape, the checks below must not go vacuous.
    assert {"ml.prediction.duration", "ml.drift.score", "modeltel.internal.errors", "ml.alerts"} <= OTEL_METRICS
    assert {
        "ml_prediction_duration_seconds_bucket",
        "ml_prediction_duration_seconds_count",
        "ml_labels_total",
        "ml_drift_window_rows",
        "ml_input_distribution_total",
    } <= PROMETHEUS_METRICS


# --- Grafana dashboard ----------------------------------------------------------------------


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(panels: list[dict]) -> list[dict]:
    """Every panel that shows data, rows' nested panels included (collapsed rows hold them)."""
    out = []
    for panel in panels:
        if panel["type"] == "row":
            out += _panels(panel.get("panels", []))
        else:
            out.append(panel)
    return out


def _exprs() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in _panels(_dashboard()["panels"]) for t in p["targets"]]


def _substituted(expr: str) -> str:
    return re.sub(r"\$\w+", lambda m: SUBSTITUTIONS[m.group(0)], expr)


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names or label values."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range windows
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    keywords = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}
    return {
        m.group(0)
        for m in re.finditer(r"(?<![\w.])[a-zA-Z_:][\w:]*", expr)
        if m.group(0).lower() not in keywords and not expr[m.end() :].lstrip().startswith("(")
    }


def test_dashboard_is_a_grafana_dashboard_with_model_and_datasource_variables():
    dashboard = _dashboard()
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    model = variables["model"]
    assert model["type"] == "query"
    assert re.fullmatch(r"label_values\(\s*ml_prediction_rows_total\s*,\s*ml_model_name\s*\)", model["query"])
    assert model["multi"] is True and model["includeAll"] is True
    datasource = variables["datasource"]
    assert datasource["type"] == "datasource" and datasource["query"] == "prometheus"
    panels = _panels(dashboard["panels"])
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    ids = [p["id"] for p in [*rows, *panels]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert source == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


def test_every_panel_has_a_query_filtered_by_model():
    panels = _panels(_dashboard()["panels"])
    assert len(panels) >= 12
    for panel in panels:
        assert panel["targets"] and all(t.get("expr", "").strip() for t in panel["targets"]), panel["title"]
    for title, expr in _exprs():
        assert MODEL_FILTER in expr, title
        # Every selector is filtered, or joined (`and on`) to a filtered one: the metrics that
        # carry no model name (modeltel.internal.errors, ml.labels without model=) are shown
        # for the processes that serve the selected models.
        for selector in re.finditer(r"(?<![\w:\"])([a-zA-Z_:][\w:]*)(\{[^}]*\})?", expr):
            if selector.group(1) not in PROMETHEUS_METRICS or MODEL_FILTER in (selector.group(2) or ""):
                continue
            rest = expr[selector.end() :]
            joined = rf"^(\[[^\]]*\])?\)?\s*and\s+on\s*\([^)]*\)\s*[a-z_]+\{{[^}}]*{re.escape(MODEL_FILTER)}"
            assert re.match(joined, rest), f"{title}: {selector.group(0)} is not filtered by model"


def test_every_query_uses_only_the_variables_the_end_to_end_test_substitutes():
    for title, expr in _exprs():
        windows = re.findall(r"\[[^\]]*\]", expr)
        assert all(w == "[$__rate_interval]" for w in windows), f"{title}: {windows}"
        variables = set(re.findall(r"\$\w+", expr))
        assert variables <= set(SUBSTITUTIONS), f"{title}: {variables - set(SUBSTITUTIONS)}"
        assert "$" not in _substituted(expr), f"{title}: {expr}"  # no ${...} form either


def test_every_metric_in_the_dashboard_is_documented():
    used = set()
    for title, expr in _exprs():
        names = _metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= PROMETHEUS_METRICS, f"{title}: undocumented {names - PROMETHEUS_METRICS}"
        used |= names
    # The panels the dashboard promises: latency, throughput, errors, drift, quality, labels,
    # data quality, modeltel's own errors.
    assert {
        "ml_prediction_duration_seconds_bucket",
        "ml_prediction_duration_seconds_count",
        "ml_prediction_rows_total",
        "ml_drift_score_ratio",
        "ml_prediction_drift_score_ratio",
        "ml_drift_multivariate_score_ratio",
        "ml_drift_window_rows",
        "ml_performance_ratio",
        "ml_labels_total",
        "ml_data_quality_issues_total",
        "modeltel_internal_errors_total",
    } <= used


def test_panels_show_what_they_promise():
    panels = _panels(_dashboard()["panels"])

    def exprs(panel):
        return " ".join(t["expr"] for t in panel["targets"])

    latency = [p for p in panels if "histogram_quantile" in exprs(p) and "duration_seconds_bucket" in exprs(p)]
    assert latency and {0.5, 0.9, 0.99} <= {
        float(q) for p in latency for q in re.findall(r"histogram_quantile\(([0-9.]+)", exprs(p))
    }
    drift = [p for p in panels if 'ml_drift_method="psi"' in exprs(p) and "ml_drift_score_ratio" in exprs(p)]
    assert any(
        p["type"] in {"heatmap", "status-history", "state-timeline"} and "ml_feature_name" in exprs(p) for p in drift
    )
    accuracy = [p for p in panels if 'ml_performance_metric="accuracy"' in exprs(p)]
    assert any("ml_performance_source" in exprs(p) for p in accuracy)  # realized vs estimated
    assert any("error_type" in exprs(p) and "by (" in exprs(p) for p in panels)
    assert any("ml_data_quality_kind" in exprs(p) and "ml_feature_name" in exprs(p) for p in panels)


def _recording_rules(exprs: list[tuple[str, str]]) -> dict:
    return {
        "groups": [
            {
                "name": "modeltel-dashboard",
                "rules": [
                    {"record": f"modeltel_dashboard:query_{i}", "expr": _substituted(expr)}
                    for i, (_, expr) in enumerate(exprs)
                ],
            }
        ]
    }


@requires_promtool
def test_dashboard_queries_are_valid_promql(tmp_path):
    exprs = _exprs()
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text(yaml.safe_dump(_recording_rules(exprs)))
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in proc.stdout


# Modeltel-shaped series of a `fraud` model (a failure, drift, labels, data quality issues)
# for the "every query returns data" check below.
_PROCESS = 'service_name="fraud-api", service_instance_id="replica-1"'
_MODEL = f'{_PROCESS}, ml_model_name="fraud", ml_model_version="v3"'
_CALL = f'{_MODEL}, ml_model_framework="sklearn", ml_operation="predict_proba"'
SERIES = {
    **{
        f'ml_prediction_duration_seconds_bucket{{{_CALL}, le="{le}"}}': f"0+{n}x40"
        for le, n in [("0.001", 5), ("0.01", 9), ("0.25", 10), ("+Inf", 10)]
    },
    **{
        f'ml_prediction_duration_seconds_bucket{{{_CALL}, error_type="ValueError", le="{le}"}}': "0+1x40"
        for le in ("0.001", "0.01", "0.25", "+Inf")
    },
    f"ml_prediction_duration_seconds_count{{{_CALL}}}": "0+10x40",
    f'ml_prediction_duration_seconds_count{{{_CALL}, error_type="ValueError"}}': "0+1x40",
    f"ml_prediction_rows_total{{{_CALL}}}": "0+250x40",
    f'ml_drift_score_ratio{{{_MODEL}, ml_feature_name="amount", ml_drift_method="psi"}}': "0.3x40",
    f'ml_drift_score_ratio{{{_MODEL}, ml_feature_name="amount", ml_drift_method="ks"}}': "0.2x40",
    f'ml_prediction_drift_score_ratio{{{_MODEL}, ml_drift_method="psi"}}': "0.1x40",
    f"ml_drift_multivariate_score_ratio{{{_MODEL}}}": "1.2x40",
    f"ml_drift_window_rows{{{_MODEL}}}": "1000x40",
    f'ml_performance_ratio{{{_MODEL}, ml_performance_metric="accuracy", ml_performance_source="labels"}}': "0.9x40",
    f'ml_performance_ratio{{{_MODEL}, ml_performance_metric="accuracy", ml_performance_source="estimated"}}': "0.85x40",
    f'ml_labels_total{{{_MODEL}, ml_labels_outcome="matched"}}': "0+5x40",
    **{f'ml_label_delay_seconds_bucket{{{_MODEL}, le="{le}"}}': f"0+{n}x40" for le, n in [("60", 3), ("+Inf", 5)]},
    f'ml_data_quality_issues_total{{{_MODEL}, ml_feature_name="amount", ml_data_quality_kind="missing"}}': "0+20x40",
}
# What a healthy process lacks: modeltel internal errors, labels recorded without model=.
TROUBLE = {
    f'ml_labels_total{{{_PROCESS}, ml_labels_outcome="unknown"}}': "0+1x40",
    f'modeltel_internal_errors_total{{{_PROCESS}, modeltel_site="input_summary", error_type="TypeError"}}': "0+1x40",
}


@requires_promtool
@pytest.mark.parametrize("series", [SERIES, {**SERIES, **TROUBLE}], ids=["healthy", "with-internal-errors"])
def test_every_dashboard_query_returns_data_on_modeltel_series(tmp_path, series):
    """Each query, substituted as the end-to-end test does, evaluated by Prometheus's engine
    (`promtool test rules`) on modeltel-shaped series: none may come back empty."""
    exprs = _exprs()
    tests = {
        "rule_files": [],
        "tests": [
            {
                "interval": "15s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                # `count(q) > bool 0` is 1 when q has any sample (NaN included), nothing when empty.
                "promql_expr_test": [
                    {
                        "expr": f"count({_substituted(expr)}) > bool 0",
                        "eval_time": "5m",
                        "exp_samples": [{"labels": "{}", "value": 1}],
                    }
                    for _, expr in exprs
                ],
            }
        ],
    }
    (tmp_path / "dashboard.test.yml").write_text(yaml.safe_dump(tests))
    assert {n.split("{")[0] for n in series} <= PROMETHEUS_METRICS
    proc = subprocess.run(
        [promtool, "test", "rules", "dashboard.test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@requires_promtool
def test_metrics_without_a_model_name_show_for_the_processes_serving_the_selected_model(tmp_path):
    """modeltel.internal.errors and ml.labels recorded without model= carry no model name: the
    dashboard shows them for the processes that serve the selected model, not for others."""
    other = 'service_name="scoring", service_instance_id="replica-2"'
    series = {
        **SERIES,
        **TROUBLE,
        f'ml_prediction_rows_total{{{other}, ml_model_name="churn"}}': "0+10x40",
        f'ml_labels_total{{{other}, ml_labels_outcome="expired"}}': "0+1x40",
        f'modeltel_internal_errors_total{{{other}, modeltel_site="drift_update", error_type="KeyError"}}': "0+1x40",
    }
    # What each panel shows with model=fraud, counted by one label: replica-2's errors and
    # labels must not appear.
    expected = {
        "modeltel_internal_errors_total": ("modeltel_site", ['{modeltel_site="input_summary"}']),
        "ml_labels_total": ("ml_labels_outcome", ['{ml_labels_outcome="matched"}', '{ml_labels_outcome="unknown"}']),
    }
    tests = []
    for metric, (label, samples) in expected.items():
        [expr] = [e for _, e in _exprs() if metric in e]
        tests.append(
            {
                "expr": f"count by ({label}) ({_substituted(expr.replace('$model', 'fraud'))})",
                "eval_time": "5m",
                "exp_samples": [{"labels": s, "value": 1} for s in samples],
            }
        )
    (tmp_path / "join.test.yml").write_text(
        yaml.safe_dump(
            {
                "rule_files": [],
                "tests": [
                    {
                        "interval": "15s",
                        "input_series": [{"series": s, "values": v} for s, v in series.items()],
                        "promql_expr_test": tests,
                    }
                ],
            }
        )
    )
    proc = subprocess.run([promtool, "test", "rules", "join.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_grafana_provisioning_points_at_the_dashboard_and_prometheus():
    provisioning = CONFIG / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus"
    # The dashboard's datasource variable defaults to the provisioned uid.
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert variables["datasource"]["current"]["value"] == datasource["uid"] == "prometheus"
    services = _compose()["services"]
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)", datasource["url"]).groups()
    assert host in services and int(port) in _container_ports(services[host])
    provider = yaml.safe_load((provisioning / "dashboards" / "modeltel.yml").read_text())["providers"][0]
    mounts = dict(_mounts(services["grafana"]))
    assert mounts[DASHBOARD.resolve()].rsplit("/", 1)[0] == provider["options"]["path"]
    assert mounts[provisioning.resolve()] == "/etc/grafana/provisioning"


# --- Datadog monitors -----------------------------------------------------------------------

_COMPARISON = r"(>=|<=|==|!=|>|<)\s*([0-9]+(?:\.[0-9]+)?)"


def _alert_rules() -> dict[str, dict]:
    return {r["alert"]: r for r in yaml.safe_load(ALERT_RULES.read_text())["groups"][0]["rules"]}


def _monitors() -> dict[str, dict]:
    by_alert: dict[str, dict] = {}
    for monitor in json.loads(MONITORS.read_text()):
        alerts = [t.split(":", 1)[1] for t in monitor["tags"] if t.startswith("alert:")]
        assert len(alerts) == 1, monitor["name"]
        assert alerts[0] not in by_alert, f"two monitors for {alerts[0]}"
        by_alert[alerts[0]] = monitor
    return by_alert


def _minutes(duration: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([mh])", duration).groups()
    return int(value) * (60 if unit == "h" else 1)


def test_one_datadog_monitor_per_prometheus_alert():
    assert set(_monitors()) == set(_alert_rules())
    assert len(_monitors()) == 9


@pytest.mark.parametrize("alert", sorted(_alert_rules()))
def test_monitor_has_the_alert_rules_threshold_window_and_severity(alert):
    rule, monitor = _alert_rules()[alert], _monitors()[alert]
    assert monitor["type"] in {"query alert", "metric alert"}
    match = re.fullmatch(r"(\w+)\(last_(\d+[mh])\):(.+?)\s*" + _COMPARISON, monitor["query"], re.DOTALL)
    assert match, monitor["query"]
    _, window, _, comparator, value = match.groups()
    rule_comparator, rule_value = re.findall(_COMPARISON, rule["expr"])[0]
    # `rate(...) == 0` on a row count is `<= 0` in Datadog, whose metric monitors have no `==`.
    assert comparator == {"==": "<="}.get(rule_comparator, rule_comparator)
    assert float(value) == float(rule_value) == monitor["options"]["thresholds"]["critical"]
    # The monitor's evaluation window is the time the rule's condition must hold (`for:`).
    assert _minutes(window) == _minutes(rule["for"])
    assert f"severity:{rule['labels']['severity']}" in monitor["tags"]
    assert isinstance(monitor["options"]["require_full_window"], bool)
    assert re.search(r"(^|\s)@[\w.-]+", monitor["message"]), "no @-handle to notify"


def test_monitors_use_documented_metrics_as_the_gateway_exports_them():
    used = set()
    for monitor in _monitors().values():
        names = set(re.findall(r"(?<![\w.])((?:ml|modeltel)\.[a-z_.]+)(?=\{)", monitor["query"]))
        assert names and names <= OTEL_METRICS, f"{monitor['name']}: {names - OTEL_METRICS}"
        used |= names
    assert "ml.prediction.duration" in used
    # gateway.yaml keeps the datadog exporter's default histogram mode, `distributions`: the
    # duration histogram is one distribution metric (p99:, count:), with no .bucket/.count
    # metrics beside it.
    datadog = yaml.safe_load(GATEWAY.read_text())["exporters"]["datadog"]
    histograms = (datadog.get("metrics") or {}).get("histograms") or {}
    assert histograms.get("mode", "distributions") == "distributions"
    latency = _monitors()["ModelLatencyP99High"]["query"]
    assert latency.startswith("percentile(") and "p99:ml.prediction.duration{" in latency
    assert not any(re.search(r"ml\.prediction\.duration\.(bucket|count|sum)", m["query"]) for m in _monitors().values())


def test_gaps_between_monitors_and_alert_rules_are_documented():
    readme = (CONFIG / "datadog" / "README.md").read_text()
    guarded = [name for name, rule in _alert_rules().items() if "ml_drift_window_rows" in rule["expr"]]
    assert len(guarded) == 3
    gaps = readme.split("## Gaps", 1)[1]
    for name in guarded:
        assert name in gaps, f"{name}: the min-rows guard Datadog lacks is not documented"
    assert "ml.drift.window.rows" in gaps


# --- docker-compose -------------------------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _mounts(service: dict) -> list[tuple[Path, str]]:
    """Bind mounts as (host path resolved against collector-config/, container path)."""
    out = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            out.append(((CONFIG / source).resolve(), target))
    return out


def _container_ports(service: dict) -> set[int]:
    return {int(str(p).split(":")[-1].split("/")[0]) for p in service.get("ports", [])}


def _listen_ports(config: dict) -> set[int]:
    """Ports the collector listens on: every `endpoint: host:port` of a receiver, exporter or
    extension that binds locally (0.0.0.0 or localhost), not the ones it sends to."""
    ports = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "endpoint" and isinstance(value, str):
                    match = re.fullmatch(r"(0\.0\.0\.0|localhost|127\.0\.0\.1|):(\d+)", value)
                    if match:
                        ports.add(int(match.group(2)))
                else:
                    walk(value)

    for kind in ("receivers", "exporters", "extensions"):
        walk(config.get(kind, {}))
    return ports


def test_compose_mounts_exist_and_services_are_the_stack():
    services = _compose()["services"]
    assert {"otel-collector", "jaeger", "prometheus", "alertmanager", "grafana"} <= set(services)
    mounted = [source for service in services.values() for source, _ in _mounts(service)]
    assert len(mounted) >= 7
    for source in mounted:
        assert source.exists(), f"mounted path {source} does not exist"
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_compose_matches_prometheus_targets():
    services = _compose()["services"]
    prometheus_yml = yaml.safe_load((CONFIG / "prometheus" / "prometheus.yml").read_text())
    scrape = [t for job in prometheus_yml["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    alerting = [
        t for am in prometheus_yml["alerting"]["alertmanagers"] for c in am["static_configs"] for t in c["targets"]
    ]
    exporter_endpoint = yaml.safe_load(GATEWAY.read_text())["exporters"]["prometheus"]["endpoint"]
    for target in [*scrape, *alerting]:
        host, port = target.rsplit(":", 1)
        assert host in services, f"{target}: no compose service {host}"
        assert int(port) in _container_ports(services[host]), f"{target}: {host} does not expose {port}"
    assert [t.rsplit(":", 1) for t in scrape] == [["otel-collector", exporter_endpoint.rsplit(":", 1)[1]]]
    # prometheus.yml names its rule files relative to itself: they must sit next to it.
    mounts = dict(_mounts(services["prometheus"]))
    config_dir = mounts[(CONFIG / "prometheus" / "prometheus.yml").resolve()].rsplit("/", 1)[0]
    for rule_file in prometheus_yml["rule_files"]:
        assert mounts[(CONFIG / "prometheus" / rule_file).resolve()] == f"{config_dir}/{rule_file}"
    am_mounts = dict(_mounts(services["alertmanager"]))
    assert (CONFIG / "alertmanager" / "alertmanager.yml").resolve() in am_mounts


def test_compose_collector_runs_gateway_yaml_on_its_ports():
    collector = _compose()["services"]["otel-collector"]
    gateway_text = GATEWAY.read_text()
    gateway = yaml.safe_load(gateway_text)
    mounts = dict(_mounts(collector))
    config_path = mounts[GATEWAY.resolve()]
    assert f"--config={config_path}" in collector["command"]
    assert _container_ports(collector) == _listen_ports(gateway) == {4317, 4318, 8889, 13133}
    # Every ${env:X} gateway.yaml reads is given to the container.
    environment = collector["environment"]
    assert set(re.findall(r"\$\{env:(\w+)\}", gateway_text)) <= set(environment)
    jaeger_host = environment["JAEGER_OTLP_ENDPOINT"].split(":")[0]
    assert jaeger_host in _compose()["services"]


def test_compose_has_no_secret_literal():
    text = COMPOSE.read_text()
    for name, service in _compose()["services"].items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(e.split("=", 1) if "=" in e else (e, None) for e in environment)
        for key, value in environment.items():
            if re.search(r"KEY|TOKEN|SECRET|PASSWORD", key):
                # Passed through from the shell: `KEY` alone, or `${KEY}` / `${KEY:?message}`.
                assert value is None or re.fullmatch(rf"\$\{{{key}(:?[?-][^}}]*)?\}}", value), f"{name}: {key}"
    assert not re.search(r"(?i)(api_?key|password|token)\s*[:=]\s*['\"]?[0-9a-f]{16,}", text)
    assert "DD_API_KEY" in text  # the passthrough itself is there
