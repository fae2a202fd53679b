"""The README's demo runs end to end and shows what it promises."""

from __future__ import annotations

import re

import pytest

from tests.helpers import ROOT_DIR, run_python

pytestmark = pytest.mark.integration
ROOT = ROOT_DIR


def test_demo_shows_nested_traces_drift_on_the_shifted_feature_accuracy_and_alerts():
    code = (
        "import runpy, sys; sys.argv = ['demo', '--quick']; "
        f"runpy.run_path({str(ROOT / 'examples' / 'demo.py')!r}, run_name='__main__')"
    )
    proc = run_python(code, timeout=170)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "-> rotel collector" in out  # the embedded default goes through a real collector
    phases = out.split("── phase ")[1:]
    assert len(phases) == 3
    # Traces: a prediction span right under its HTTP request span, and the malformed request's error.
    assert re.search(r"trace    POST /predict .*\n\s+└─ predict_proba fraud .* batch=10", phases[0])
    assert "└─ predict_proba fraud" in phases[0] and "ERROR ValueError" in phases[0]
    assert re.search(r"latency  predict_proba fraud: 100 calls, p50 <= [\d.]+ ms", phases[0])

    def drifted(phase: str) -> list[str]:
        line = next(text for text in phase.splitlines() if text.strip().startswith("drift"))
        return re.findall(r"(\w+) [\d.]+ DRIFT", line)

    assert drifted(phases[0]) == [] and drifted(phases[1]) == ["amount"] and drifted(phases[2]) == []
    # Realized accuracy appears once labels arrive, and falls when they disagree.
    realized = [re.search(r"realized (\S+)", p).group(1) for p in phases]
    assert realized[0] == "n/a" and float(realized[1]) > 0.8 > float(realized[2])
    alerts = out.split("── alerts raised by modeltel")[1]
    assert re.search(r"firing   fraud psi = [\d.]+", alerts)
    assert re.search(r"firing   fraud accuracy = 0\.[0-7]", alerts)
    assert "resolved fraud psi" in alerts
