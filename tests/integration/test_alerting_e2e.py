"""End to end on real servers: a FastAPI model server instrumented with one line, driven over
HTTP; traces through a rotel collector to an OTLP backend; metrics through the same collector
to vmagent, remote-written into Prometheus 2.42, which evaluates the shipped alert rules and
notifies Alertmanager, which calls a webhook here.

The shipped rules and Alertmanager routing are used as they are, except for their timing:
`for:` clauses become 0s and Alertmanager waits 0s/1s instead of 30s/5m, so the test takes
seconds, not half an hour. The model server gets a small drift window (1,000 rows) and
performance window (200 labels) through MODELTEL_* variables.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modeltel._local.otlp import OtlpBackend, RotelCollector, free_port, stop_process, wait_for_port
from tests.helpers import ROOT_DIR
from tests.support.servers import Alertmanager, Prometheus, VmAgent, Webhook, binaries_missing

ROOT = ROOT_DIR
CONFIG = ROOT / "collector-config"
sys.path.insert(0, str(ROOT / "examples"))
from sklearn_fastapi import _SCALE, FEATURES, transactions  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(binaries_missing()), reason=f"{binaries_missing()} not installed (make test installs them)"
    ),
]

DRIFTED = "amount"
DRIFT_WINDOW = 1000
PERFORMANCE_WINDOW = 200


def fast_rules(tmp: Path) -> list[Path]:
    """The shipped rule files with every `for:` set to 0s."""
    out = []
    for name in ("alert-rules.yml", "recording-rules.yml"):
        rules = yaml.safe_load((CONFIG / "prometheus" / name).read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        path = tmp / name
        path.write_text(yaml.safe_dump(rules))
        out.append(path)
    return out


def fast_alertmanager(webhook_url: str) -> dict[str, Any]:
    """The shipped Alertmanager config, its webhook pointed here and its waits shortened."""
    config = yaml.safe_load((CONFIG / "alertmanager" / "alertmanager.yml").read_text())
    config["route"].update(group_wait="0s", group_interval="1s", repeat_interval="1h")
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url
    return config


class Stack:
    """Every server of the pipeline, plus the model server as a subprocess."""

    def __init__(self, tmp: Path) -> None:
        self.webhook = Webhook().start()
        self.alertmanager = Alertmanager(tmp, fast_alertmanager(self.webhook.url)).start()
        self.prometheus = Prometheus(tmp, rule_files=fast_rules(tmp), alertmanager=self.alertmanager.url).start()
        self.vmagent = VmAgent(tmp, remote_write=self.prometheus.remote_write_url).start()
        self.backend = OtlpBackend().start()
        self.collector = RotelCollector(self.backend.port, tmp, metrics_endpoint=self.vmagent.otlp_url).start()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
        env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=self.collector.endpoint,
            OTEL_METRIC_EXPORT_INTERVAL="1000",
            OTEL_BSP_SCHEDULE_DELAY="200",
            MODELTEL_DRIFT_WINDOW=str(DRIFT_WINDOW),
            MODELTEL_PERFORMANCE_WINDOW=str(PERFORMANCE_WINDOW),
        )
        self.app_log = (tmp / "app.log").open("wb")
        self.app = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "sklearn_fastapi.py"), "--port", str(port)],
            env=env,
            stdout=self.app_log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(port, timeout=60)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.seed = 100

    def send(self, rows: int, *, shift: float = 0.0, wrong_labels: bool = False, batch: int = 50) -> None:
        """``rows`` transactions in batches; ``shift`` moves the drifted feature by that many
        standard deviations; every prediction gets its label (inverted with ``wrong_labels``)."""
        for _ in range(rows // batch):
            self.seed += 1
            X, y = transactions(batch, seed=self.seed)
            X[:, FEATURES.index(DRIFTED)] += shift * _SCALE[FEATURES.index(DRIFTED)]
            ids = self.client.post("/predict", json={"rows": X.tolist()}).raise_for_status().json()["ids"]
            labels = (1 - y) if wrong_labels else y
            self.client.post("/labels", json={"ids": ids, "labels": labels.tolist()}).raise_for_status()

    def wait_for_series(self, promql: str, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.prometheus.query(promql)
            if result and predicate(result):
                return result
            time.sleep(0.2)
        raise TimeoutError(f"{promql}: {result}")

    def app_log_text(self) -> str:
        self.app_log.flush()
        return Path(self.app_log.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.client.close()
        stop_process(self.app, timeout=15)
        self.app_log.close()
        # The collector before its backends: otherwise it waits on them and exits 1.
        for server in (self.collector, self.backend, self.vmagent, self.prometheus, self.alertmanager, self.webhook):
            server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("e2e")
    stack = Stack(tmp)
    try:
        # A baseline the alerts need (a full drift window of normal traffic, correct labels),
        # plus one malformed request and a few out-of-range rows so that every dashboard query
        # has something to show.
        stack.send(DRIFT_WINDOW + 200)
        assert stack.client.post("/predict", json={"rows": [[1.0, 2.0]]}).status_code == 422
        # Two rows, not a batch: 50 rows 8 sd out are 5% of the 1,000-row window, a PSI of ~0.3,
        # and the drift alert fired during the warm-up whenever Prometheus evaluated before
        # the next 1,000 rows pushed them out (a race a loaded CI machine lost).
        stack.send(2, shift=8.0, batch=2)
        stack.send(DRIFT_WINDOW)
        stack.wait_for_series("ml_drift_window_rows", lambda r: float(r[0]["value"][1]) >= 0.9 * DRIFT_WINDOW)
        yield stack
    finally:
        stack.stop()


def test_prediction_spans_arrive_under_their_http_request_spans(stack):
    assert stack.backend.wait_for(lambda b: sum(s.name == "predict_proba fraud" for s in b.spans) >= 10)
    spans = stack.backend.span_attributes()
    by_id = {raw.span_id: (name, raw) for name, _, raw in spans}
    predictions = [(attrs, raw) for name, attrs, raw in spans if name == "predict_proba fraud"]
    for attrs, raw in predictions:
        parent_name, parent = by_id[raw.parent_span_id]
        assert parent.kind == 2 and parent_name == "POST /predict", parent_name  # SPAN_KIND_SERVER
        assert parent.trace_id == raw.trace_id
        assert attrs["ml.model.version"] == "2026-11-01"
        if "error.type" not in attrs:  # the one malformed request has two columns
            assert attrs["ml.input.feature.names"] == FEATURES
    assert sum("error.type" in attrs for attrs, _ in predictions) <= 1

    def label_links_resolve(backend: OtlpBackend) -> bool:
        ids = {s.span_id for s in backend.spans if s.name == "predict_proba fraud"}
        labels = [s for s in backend.spans if s.name == "label fraud"]
        return bool(labels) and all(link.span_id in ids for s in labels[:5] for link in s.links)

    # Each label span links to the prediction spans it labels.
    assert stack.backend.wait_for(label_links_resolve)


def _diagnostics(stack: Stack) -> str:
    """What the pipeline holds, for a failure message."""
    try:
        return json.dumps(
            {
                "alerts": stack.prometheus.alerts(),
                "psi": stack.prometheus.query('ml_drift_score_ratio{ml_drift_method="psi"}'),
                "window_rows": stack.prometheus.query("ml_drift_window_rows"),
                "accuracy": stack.prometheus.query('ml_performance_ratio{ml_performance_metric="accuracy"}'),
            },
            default=str,
        )[:6000]
    except Exception as exc:
        return f"(no diagnostics: {exc!r})"


def test_drift_and_accuracy_alerts_fire_and_resolve_through_prometheus_and_alertmanager(stack):
    webhook, prometheus = stack.webhook, stack.prometheus

    def wait(alertname: str, status: str, since: float) -> list[tuple[float, dict[str, Any]]]:
        try:
            return webhook.wait_for(alertname, status, since=since, timeout=90)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\npipeline: {_diagnostics(stack)}\napp log: {stack.app_log_text()}") from None

    assert not webhook.alerts("ModelFeatureDrift") and not webhook.alerts("ModelAccuracyLow")

    # Drift on one feature: the webhook hears about that feature, and only that one.
    drift_start = time.monotonic()
    stack.send(DRIFT_WINDOW, shift=3.0)
    fired = wait("ModelFeatureDrift", "firing", drift_start)
    drift_latency = min(at for at, _ in fired) - drift_start
    time.sleep(3)  # let every other feature's score be evaluated too
    assert {a["labels"]["ml_feature_name"] for _, a in webhook.alerts("ModelFeatureDrift")} == {DRIFTED}
    scores = {
        r["metric"]["ml_feature_name"]: float(r["value"][1])
        for r in prometheus.query('ml_drift_score_ratio{ml_drift_method="psi"}')
    }
    assert scores[DRIFTED] > 0.2 and max(v for k, v in scores.items() if k != DRIFTED) < 0.2, scores

    # Back to normal traffic: the window refills and the alert resolves.
    recovery = time.monotonic()
    stack.send(DRIFT_WINDOW + 100)
    resolved = wait("ModelFeatureDrift", "resolved", recovery)
    assert {a["labels"]["ml_feature_name"] for _, a in resolved} == {DRIFTED}

    # Labels that disagree with the model: realized accuracy falls and the critical alert fires.
    wrong = time.monotonic()
    stack.send(PERFORMANCE_WINDOW + 100, wrong_labels=True)
    fired = wait("ModelAccuracyLow", "firing", wrong)
    assert fired[0][1]["labels"]["severity"] == "critical"
    accuracy_latency = min(at for at, _ in fired) - wrong
    right = time.monotonic()
    stack.send(PERFORMANCE_WINDOW + 100)
    wait("ModelAccuracyLow", "resolved", right)
    accuracy = prometheus.query('ml_performance_ratio{ml_performance_metric="accuracy",ml_performance_source="labels"}')
    assert float(accuracy[0]["value"][1]) > 0.8

    print(
        f"\ndrift start -> webhook: {drift_latency:.2f} s; wrong labels start -> webhook: {accuracy_latency:.2f} s "
        "(metric export 1 s, rotel batch 100 ms, vmagent flush 1 s, Prometheus evaluation 1 s, "
        "Alertmanager group_wait 0 s)"
    )
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "alert-latency.json").write_text(
        json.dumps({"drift_to_webhook_s": drift_latency, "wrong_labels_to_webhook_s": accuracy_latency})
    )


DASHBOARD = CONFIG / "grafana" / "modeltel-dashboard.json"


def _dashboard_queries() -> list[str]:
    def panels(items: list[dict[str, Any]]) -> Any:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in panels(dashboard["panels"]) for t in p.get("targets", []) if t.get("expr")]
    substitutions = {"$model": ".+", "$__rate_interval": "1m", "$__interval": "15s"}
    return [re.sub(r"\$\w+", lambda m: substitutions[m.group(0)], e) for e in exprs]


@pytest.mark.skipif(not DASHBOARD.exists(), reason="no dashboard")
def test_every_dashboard_query_returns_data_from_the_live_prometheus(stack):
    queries = _dashboard_queries()
    assert len(queries) >= 10
    # Rates need two samples inside their window; the baseline is a few seconds old.
    empty: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        empty = [q for q in queries if not stack.prometheus.query(q)]
        if not empty:
            break
        time.sleep(1)
    assert not empty, empty
