"""`modeltel reference build`, run as the installed console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from modeltel import Reference

SCRIPT = Path(sys.executable).parent / "modeltel"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_build_from_csv_drops_target_and_marks_categories(tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "amount": rng.normal(size=300),
            "zip": rng.integers(1000, 1005, 300),
            "city": rng.choice(["Oslo", "Bergen"], 300),
            "target": rng.integers(0, 2, 300),
        }
    )
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "ref.json"
    proc = run("reference", "build", str(data), "-o", str(out), "--categorical", "zip", "--drop", "target")
    assert proc.returncode == 0, proc.stderr
    assert "300 rows, 3 features (1 numeric, 2 categorical)" in proc.stdout
    ref = Reference.load(out)
    assert [(f.name, f.kind) for f in ref.features] == [
        ("amount", "numeric"),
        ("zip", "categorical"),
        ("city", "categorical"),
    ]


def test_build_errors_are_clear(tmp_path):
    data = tmp_path / "train.csv"
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(data, index=False)
    proc = run("reference", "build", str(data), "-o", str(tmp_path / "r.json"), "--drop", "target")
    assert proc.returncode == 2 and "--drop names column(s) not in" in proc.stderr and "target" in proc.stderr
    proc = run("reference", "build", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "no such data file" in proc.stderr
