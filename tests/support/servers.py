"""The metrics and alerting half of a real pipeline, started on this machine: Prometheus (with
its remote-write receiver), vmagent (OTLP in, remote write out), Alertmanager, and a webhook
that records what Alertmanager delivers.

Together with :class:`~modeltel._local.otlp.RotelCollector` they carry modeltel's metrics the
way production does: SDK -> OTLP -> collector -> Prometheus, which evaluates the shipped alert
rules and notifies Alertmanager, which calls a webhook. Each server binds 127.0.0.1 on a free
port, writes under a work directory and is stopped by its process.

    prometheus = Prometheus(workdir, rule_files=[rules]).start()
    vmagent = VmAgent(workdir, remote_write=prometheus.remote_write_url).start()
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from modeltel._local.otlp import free_port, stop_process


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(f"none of {', '.join(names)} is installed (make test installs them)")


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class _Process:
    """A server process with a log file, started by :meth:`_spawn`, ready when ``ready_url``
    answers 200."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir / f"{self.name}-{self.port}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_file = self.workdir / "log.txt"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, cmd: list[str], ready_path: str, timeout: float = 20.0) -> None:
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


class Prometheus(_Process):
    """Prometheus with its remote-write receiver on, evaluating ``rule_files`` every
    ``interval`` and sending alerts to ``alertmanager`` (a URL)."""

    name = "prometheus"

    def __init__(
        self,
        workdir: Path,
        rule_files: list[Path] = (),  # type: ignore[assignment]
        alertmanager: str | None = None,
        interval: str = "1s",
    ) -> None:
        super().__init__(workdir)
        self.rule_files = list(rule_files)
        self.alertmanager = alertmanager
        self.interval = interval

    def start(self) -> Prometheus:
        config: dict[str, Any] = {
            "global": {"scrape_interval": self.interval, "evaluation_interval": self.interval},
            "rule_files": [str(p) for p in self.rule_files],
        }
        if self.alertmanager:
            target = urllib.parse.urlparse(self.alertmanager).netloc
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self._spawn(
            [
                _binary("prometheus"),
                f"--config.file={path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
            ],
            "/-/ready",
        )
        return self

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (or raises with Prometheus's error)."""
        body = _get_json(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        if body.get("status") != "success":
            raise ValueError(f"query {promql!r} failed: {body}")
        return body["data"]["result"]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts the rule evaluation holds now (pending and firing)."""
        return _get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]


class VmAgent(_Process):
    """vmagent receiving OTLP over HTTP at ``otlp_url`` and remote-writing to Prometheus with
    Prometheus naming (the same translation as the collector's Prometheus exporters)."""

    name = "vmagent"

    def __init__(self, workdir: Path, remote_write: str, flush_interval: str = "1s") -> None:
        super().__init__(workdir)
        self.remote_write = remote_write
        self.flush_interval = flush_interval

    def start(self) -> VmAgent:
        self._spawn(
            [
                _binary("vmagent"),
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-remoteWrite.url={self.remote_write}",
                f"-remoteWrite.flushInterval={self.flush_interval}",
                f"-remoteWrite.tmpDataPath={self.workdir / 'queue'}",
                "-opentelemetry.usePrometheusNaming",
                "-loggerLevel=WARN",
            ],
            "/health",
        )
        return self

    @property
    def otlp_url(self) -> str:
        """Where OTLP/HTTP metrics go (the full path: per-signal exporter endpoints are used as given)."""
        return f"{self.url}/opentelemetry/v1/metrics"


class Alertmanager(_Process):
    """Prometheus Alertmanager with the given configuration (a dict, e.g. the shipped
    alertmanager.yml with its webhook URL pointed at a :class:`Webhook`)."""

    name = "alertmanager"

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        super().__init__(workdir)
        self.config = config

    def start(self) -> Alertmanager:
        path = self.workdir / "alertmanager.yml"
        path.write_text(yaml.safe_dump(self.config))
        self._spawn(
            [
                _binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={path}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Empty: otherwise it opens a cluster port on 0.0.0.0:9094.
                "--cluster.listen-address=",
            ],
            "/-/ready",
        )
        return self


class Webhook:
    """An HTTP server recording every Alertmanager notification it receives, with the
    monotonic time it arrived."""

    def __init__(self) -> None:
        self.notifications: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook._lock:
                    hook.notifications.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/alerts"

    def start(self) -> Webhook:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alerts(self, alertname: str | None = None, status: str | None = None) -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, alert) for every alert in every notification, filtered by name/status."""
        with self._lock:
            return [
                (at, alert)
                for at, note in self.notifications
                for alert in note.get("alerts", [])
                if (alertname is None or alert["labels"].get("alertname") == alertname)
                and (status is None or alert["status"] == status)
            ]

    def wait_for(
        self, alertname: str, status: str, since: float = 0.0, timeout: float = 60.0
    ) -> list[tuple[float, dict[str, Any]]]:
        """(arrival, alert) for alerts named ``alertname`` in ``status`` that arrived after
        ``since``; waits until there is at least one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [(at, a) for at, a in self.alerts(alertname, status) if at >= since]
            if found:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"no {status} {alertname} notification within {timeout}s; got {self.alerts()}")


def binaries_missing() -> list[str]:
    """Which of the servers above are not installed (empty when all can start)."""
    wanted = {
        "prometheus": ("prometheus",),
        "alertmanager": ("prometheus-alertmanager", "alertmanager"),
        "vmagent": ("vmagent",),
    }
    return [name for name, binaries in wanted.items() if not any(shutil.which(b) for b in binaries)]
