"""OTLP over TLS with an API key from environment variables: the key reaches the backend as a
header, and appears in no log, warning or error output of the instrumented process."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from modeltel._local.otlp import OtlpBackend
from tests.helpers import run_python

pytestmark = pytest.mark.integration
SECRET = "mt-secret-4f9c2a7e"

APP = textwrap.dedent(
    """
    import logging
    logging.basicConfig(level=logging.DEBUG)  # everything any library logs goes to stderr
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="tls-app")
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(100, 3))
    clf = modeltel.register(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), name="tls-model",
                            reference=modeltel.Reference.from_data(X))
    clf.predict(X[:5])
    try:
        clf.predict(X[:3, :2])  # a model error: logged paths must not leak the key either
    except ValueError:
        pass
    from opentelemetry import trace
    trace.get_tracer_provider().shutdown()
    print("done")
    """
)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_otlp_over_tls_carries_the_api_key_and_never_logs_it(tmp_path: Path):
    key, cert = self_signed(tmp_path)
    backend = OtlpBackend(tls=(key.read_bytes(), cert.read_bytes())).start()
    try:
        proc = run_python(
            APP,
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"https://127.0.0.1:{backend.port}",
                "OTEL_EXPORTER_OTLP_CERTIFICATE": str(cert),
                "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={SECRET}",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
            },
        )
        assert proc.returncode == 0, proc.stderr
        assert backend.wait_for(lambda b: sum(s.name == "predict tls-model" for s in b.spans) == 2)
        assert all(h.get("x-api-key") == SECRET for h in backend.headers)
        assert SECRET not in proc.stdout + proc.stderr
        assert "modeltel" in proc.stderr  # modeltel's own warning (the narrow batch) was in what we checked
    finally:
        backend.stop()


def test_plaintext_client_cannot_talk_to_the_tls_backend(tmp_path: Path):
    key, cert = self_signed(tmp_path)
    backend = OtlpBackend(tls=(key.read_bytes(), cert.read_bytes())).start()
    try:
        # Without the CA the handshake fails: the export is refused, the prediction is not.
        proc = run_python(
            APP,
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"https://127.0.0.1:{backend.port}",
                "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={SECRET}",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
            },
        )
        assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr
        assert backend.spans == [] and SECRET not in proc.stderr
    finally:
        backend.stop()
