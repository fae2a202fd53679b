"""The README's demo runs end to end and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_python

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def test_demo_shows_nested_prediction_spans_and_metrics():
    code = f"import runpy, sys; sys.argv = ['demo', '--requests', '8']; runpy.run_path({str(ROOT / 'examples' / 'demo.py')!r}, run_name='__main__')"
    proc = run_python(code, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "rotel collector" in out  # the embedded default goes through a real collector
    assert "8 HTTP requests" in out and "(7 ok, 1 rejected)" in out
    assert "POST /score" in out and "└─ predict_proba fraud" in out
    assert "ERROR ValueError" in out
    assert "ml.prediction.duration  predict_proba fraud: 7 calls" in out
    assert "ml.prediction.rows" in out
