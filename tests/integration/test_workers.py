"""Pre-fork servers: gunicorn with several workers forked after ``instrument()`` (``--preload``).
Every worker exports under its own identity, nothing deadlocks at fork, and SIGTERM drains
what the workers still held."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from modeltel._local.otlp import OtlpBackend, RotelCollector, attributes, free_port, wait_for_port
from tests.helpers import ROOT_DIR

EXAMPLES = ROOT_DIR / "examples"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None,
        reason="gunicorn not installed (the test extra installs it)",
    ),
]

# A WSGI model server: instrument() and the model load in the gunicorn master (--preload);
# workers are forked from it.
APP = textwrap.dedent(
    """
    import json, os, time
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="forked")
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(300, 4))
    model = modeltel.register(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), name="forked-model")

    def app(environ, start_response):
        rows = int(environ.get("QUERY_STRING", "rows=1").split("=")[1])
        model.predict(X[:rows])
        time.sleep(0.05)  # keep this worker busy so concurrent requests spread over workers
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"pid": os.getpid(), "id": modeltel.last_prediction_ids()[0]}).encode()]
    """
)


@contextmanager
def serving(
    tmp_path: Path, argv: Callable[[int], list[str]], **env: str
) -> Iterator[tuple[OtlpBackend, subprocess.Popen[str], int]]:
    """A rotel collector in front of an OTLP backend, and ``argv(port)`` started as the server
    with ``env`` (and nothing of this process's OTEL_/MODELTEL_ variables); everything stopped
    afterwards, the server killed if a test left it running."""
    backend = OtlpBackend().start()
    collector = RotelCollector(backend.port, tmp_path).start()
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
    full_env.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, **env)
    server = subprocess.Popen(
        argv(port), env=full_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, timeout=90)
        yield backend, server, port
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        collector.stop()
        backend.stop()


WORKERS, REQUESTS = 3, 60


def test_preloaded_gunicorn_workers_each_export_and_drain_on_sigterm(tmp_path: Path):
    (tmp_path / "forked_app.py").write_text(APP)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = lambda port: [
        gunicorn,
        "--preload",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "20",
        "--log-level",
        "warning",
        "forked_app:app",
    ]
    # Long export intervals: what the workers hold at SIGTERM must be flushed by the shutdown.
    with serving(
        tmp_path,
        command,
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_METRIC_EXPORT_INTERVAL="60000",
        PYTHONPATH=str(tmp_path),
    ) as (backend, server, port):
        rows = [1 + i % 7 for i in range(REQUESTS)]
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            ThreadPoolExecutor(WORKERS * 2) as pool,
        ):
            answers = list(pool.map(lambda n: client.get(f"/?rows={n}").raise_for_status().json(), rows))
        served = Counter(a["pid"] for a in answers)
        assert len({a["id"] for a in answers}) == REQUESTS  # workers never hand out the same id
        assert len(served) >= 2, served  # the traffic really spread over forked workers
        assert backend.spans == []  # nothing exported yet: the drain below must deliver it all

        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
        assert server.returncode == 0, out

        # SIGTERM drained every worker's spans (the collector forwards them in batches).
        assert backend.wait_for(lambda b: sum(s.name == "predict forked-model" for s in b.spans) == REQUESTS)
        predictions = [s for s in backend.spans if s.name == "predict forked-model"]
        assert len(predictions) == REQUESTS
        # Each worker exported its own spans under its own service.instance.id (renewed at fork),
        # so metric series of different workers do not collide.
        by_instance = Counter(backend.span_resources[s.span_id]["service.instance.id"] for s in predictions)
        assert sorted(by_instance.values()) == sorted(served.values())
        instances = set(by_instance)

        assert backend.wait_for(
            lambda b: (
                len({r["service.instance.id"] for r, m in b.metric_resources if m.name == "ml.prediction.rows"})
                >= len(instances)
            )
        )
        rows_by_instance: dict[str, int] = {}
        for resource, metric in backend.metric_resources:
            if metric.name == "ml.prediction.rows":
                for point in metric.sum.data_points:
                    if attributes(point.attributes)["ml.model.name"] == "forked-model":
                        rows_by_instance[resource["service.instance.id"]] = point.as_int
        assert sum(rows_by_instance.values()) == sum(rows)  # every worker's counters, flushed once
        assert set(rows_by_instance) == instances


def test_uvicorn_workers_each_instrument_and_export(tmp_path: Path):
    """uvicorn --workers spawns fresh interpreters: each imports the app (the one line runs in
    each) and exports under its own identity; ids never repeat across workers. (uvicorn ends a
    worker by re-raising SIGTERM after its graceful shutdown, so atexit does not run there:
    docs/deployment.md says to shut the providers down in the app's lifespan.)"""
    command = lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "sklearn_fastapi:create_app",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with serving(
        tmp_path, command, OTEL_BSP_SCHEDULE_DELAY="200", OTEL_METRIC_EXPORT_INTERVAL="60000", PYTHONPATH=str(EXAMPLES)
    ) as (backend, server, port):
        rows = [[120.0, 400.0, 3.0, 2.5, 14.0, 0.1]] * 3
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client, ThreadPoolExecutor(8) as pool:

            def score(_: int) -> list[str]:
                for _attempt in range(50):  # the second worker may still be loading its model
                    response = client.post("/predict", json={"rows": rows})
                    if response.status_code == 200:
                        return response.json()["ids"]
                    time.sleep(0.2)
                raise AssertionError(response.text)

            ids = [pid for batch in pool.map(score, range(40)) for pid in batch]
        assert len(set(ids)) == len(ids) == 120  # ids unique across the worker processes
        assert backend.wait_for(lambda b: sum(s.name == "predict_proba fraud" for s in b.spans) == 40)
        predictions = [s for s in backend.spans if s.name == "predict_proba fraud"]
        assert all(backend.span_resources[s.span_id]["service.name"] == "fraud-api" for s in predictions)
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)


def test_sigterm_flushes_a_server_that_ran_instrument_before_serving(tmp_path: Path):
    """The script form (`instrument()` at import, then `uvicorn.run`): uvicorn restores the
    SIGTERM handler it found and re-raises the signal after its graceful shutdown; that handler
    is modeltel's, which shuts the providers down (flushing) before the process dies of it."""
    command = lambda port: [sys.executable, str(EXAMPLES / "sklearn_fastapi.py"), "--port", str(port)]
    with serving(tmp_path, command, OTEL_BSP_SCHEDULE_DELAY="60000", OTEL_METRIC_EXPORT_INTERVAL="60000") as (
        backend,
        server,
        port,
    ):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(10):
                client.post("/predict", json={"rows": [[120.0, 400.0, 3.0, 2.5, 14.0, 0.1]]}).raise_for_status()
        assert backend.spans == []  # 60 s intervals: only the SIGTERM flush can deliver them
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
        assert server.returncode == -signal.SIGTERM, out  # it still dies of the signal
        # Flushed to the collector before the process died; the collector forwards in batches.
        assert backend.wait_for(lambda b: sum(s.name == "predict_proba fraud" for s in b.spans) == 10), len(
            backend.spans
        )
        assert backend.wait_for(lambda b: any(m.name == "ml.prediction.rows" for m in b.metrics))
