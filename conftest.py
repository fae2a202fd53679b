"""Doctests: the examples in modeltel's docstrings run as tests (``pytest`` collects them with
``--doctest-modules`` over ``src/``). They share one in-memory telemetry, as tests/ does, and the
names below, so an example reads as a user would write it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modeltel
from modeltel.testing import InMemoryTelemetry

# Before anything is instrumented: OpenTelemetry's global providers can be set once.
TELEMETRY = InMemoryTelemetry.install()
modeltel.instrument()


def _names(tmp_path: Path) -> dict[str, Any]:
    import json
    import threading

    import numpy as np
    import pandas as pd
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, 1000),
            "age": rng.integers(18, 90, 1000).astype(float),
            "country": rng.choice(["fr", "de", "it"], 1000),
        }
    )
    X = df[["amount", "age"]].to_numpy()
    y = (df["amount"] > 100).astype(int).to_numpy()
    clf = LogisticRegression().fit(X, y)
    reference = modeltel.Reference.from_data(df, predictions=clf.predict_proba(X))
    live_df = df.assign(amount=df["amount"] * 1.5)
    window = modeltel.WindowSnapshot.from_data(live_df, reference, predictions=clf.predict_proba(X))
    profile = reference.feature("amount")
    return {
        "json": json,
        "np": np,
        "pd": pd,
        "threading": threading,
        "modeltel": modeltel,
        "TracerProvider": TracerProvider,
        "BatchSpanProcessor": BatchSpanProcessor,
        "df": df,
        "live_df": live_df,
        "X": X,
        "X_train": X,
        "y": y,
        "clf": clf,
        "model": clf,
        "reference": reference,
        "ref": reference,
        "window": window,
        "profile": profile,
        "reference_proportions": np.asarray(profile.proportions),
        "window_counts": np.asarray(window.feature("amount").counts),
        "telemetry": TELEMETRY,
        "tmp_path": tmp_path,
    }


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if isinstance(request.node, pytest.DoctestItem):
        modeltel.instrument()  # an example before may have called uninstrument()
        TELEMETRY.clear()
        request.getfixturevalue("doctest_namespace").update(_names(tmp_path))
        monkeypatch.chdir(tmp_path)  # examples that write files write them here
    yield
