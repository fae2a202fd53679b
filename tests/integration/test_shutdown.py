"""The flush at exit and on SIGTERM is bounded: an unreachable or hung collector cannot hold a
process past ``shutdown_timeout`` (issue 18, item 10)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from modeltel._local.otlp import OtlpBackend
from tests.helpers import run_python

_PREDICT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="exit-test", endpoint=sys.argv[1], frameworks=[]{extra})
    model = modeltel.wrap(lambda x: x.sum(axis=1), name="exit-model")
    for _ in range(300):
        model(np.ones((1, 3)))
    print(time.time(), flush=True)
    """
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A collector that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


def _exit_seconds(endpoint: str, env: dict[str, str], extra: str = "") -> tuple[float, str]:
    """Seconds from the script's last line to its exit, and its stderr."""
    code = _PREDICT.format(extra=extra)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
    full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", code, endpoint], env=full_env, capture_output=True, text=True, timeout=120
    )
    ended = time.time()
    assert proc.returncode == 0, proc.stderr
    return ended - float(proc.stdout.split()[-1]), proc.stderr


@pytest.mark.integration
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("collector", ["closed port", "silent server"])
def test_exit_with_an_unreachable_collector_takes_at_most_the_bound(
    protocol: str, collector: str, silent_port: int
) -> None:
    port = _closed_port() if collector == "closed port" else silent_port
    seconds, stderr = _exit_seconds(
        f"http://127.0.0.1:{port}",
        {"MODELTEL_SHUTDOWN_TIMEOUT": "1", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol},
    )
    # Without the bound the SDK's own flush took 14-20 s here; interpreter teardown adds ~0.3 s.
    assert seconds < 1 + 2.0, stderr
    assert "did not flush within 1 s" in stderr


@pytest.mark.integration
def test_the_argument_overrides_the_variable(silent_port: int) -> None:
    seconds, stderr = _exit_seconds(
        f"http://127.0.0.1:{silent_port}", {"MODELTEL_SHUTDOWN_TIMEOUT": "30"}, extra=", shutdown_timeout=0.5"
    )
    assert seconds < 0.5 + 2.0, stderr
    assert "did not flush within 0.5 s" in stderr


@pytest.mark.integration
def test_a_healthy_collector_still_gets_everything_at_exit() -> None:
    backend = OtlpBackend().start()
    try:
        seconds, stderr = _exit_seconds(f"http://127.0.0.1:{backend.port}", {"MODELTEL_SHUTDOWN_TIMEOUT": "5"})
        spans = [s for s in backend.spans if s.name == "call exit-model"]
    finally:
        backend.stop()
    assert len(spans) == 300, stderr
    assert seconds < 5, stderr
    assert "did not flush" not in stderr


@pytest.mark.integration
def test_sigterm_with_a_hung_collector_dies_within_the_bound(silent_port: int) -> None:
    code = _PREDICT.format(extra="") + "time.sleep(60)\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
    env["MODELTEL_SHUTDOWN_TIMEOUT"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, f"http://127.0.0.1:{silent_port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    returncode = proc.wait(timeout=30)
    assert returncode == -signal.SIGTERM
    assert time.monotonic() - sent < 1 + 2.0
    assert "did not flush within 1 s" in (proc.stderr.read() if proc.stderr else "")


@pytest.mark.parametrize(
    ("env", "argument", "message"),
    [
        ({"MODELTEL_SHUTDOWN_TIMEOUT": "soon"}, None, "MODELTEL_SHUTDOWN_TIMEOUT='soon' is not a number"),
        ({"MODELTEL_SHUTDOWN_TIMEOUT": "-1"}, None, "MODELTEL_SHUTDOWN_TIMEOUT='-1' must be a finite number"),
        ({}, "-2", "shutdown_timeout must be a finite number of seconds >= 0, got -2"),
        ({}, "'5'", "shutdown_timeout must be a number of seconds, got '5'"),
    ],
)
def test_a_bad_bound_is_refused_at_instrument(env: dict[str, str], argument: str | None, message: str) -> None:
    extra = "" if argument is None else f", shutdown_timeout={argument}"
    proc = run_python(
        textwrap.dedent(
            f"""
            import modeltel
            try:
                modeltel.instrument(frameworks=[]{extra})
            except (TypeError, ValueError) as exc:
                print(type(exc).__name__, exc)
            """
        ),
        env={**env, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert message in proc.stdout, proc.stdout + proc.stderr
