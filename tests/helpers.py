"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (fresh OpenTelemetry globals, no OTEL_/MODELTEL_ env)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout)


# The repository's root: docs, examples, benchmarks and collector-config are read from here.
ROOT_DIR = Path(__file__).resolve().parents[1]
