"""The drift method registry: every consumer reads it, and Hellinger was added as one entry."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltel
from modeltel import Reference
from modeltel.drift.methods import METHODS, NAMES
from modeltel.drift.statistics import hellinger_distance
from tests.conftest import metric_points
from tests.helpers import ROOT_DIR

ROOT = ROOT_DIR
RNG = np.random.default_rng(5)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30).flatmap(
        lambda p: st.tuples(
            st.just(p), st.lists(st.floats(min_value=0, max_value=1e6), min_size=len(p), max_size=len(p))
        )
    )
)
def test_hellinger_is_the_normalised_euclidean_distance_of_square_roots(pair):
    p, q = (np.asarray(v, dtype=float) for v in pair)
    if p.sum() <= 0 or q.sum() <= 0:
        return
    expected = np.linalg.norm(np.sqrt(p / p.sum()) - np.sqrt(q / q.sum())) / math.sqrt(2)
    assert hellinger_distance(p, q) == pytest.approx(expected, abs=1e-7)
    assert hellinger_distance(p, q) == pytest.approx(hellinger_distance(q, p), abs=1e-12)
    assert 0.0 <= hellinger_distance(p, q) <= 1.0


def test_hellinger_of_equal_and_disjoint_distributions():
    assert hellinger_distance([0.2, 0.3, 0.5], [2, 3, 5]) == pytest.approx(0.0, abs=1e-12)
    assert hellinger_distance([1, 0, 0], [0, 0.5, 0.5]) == 1.0


def test_hellinger_is_exported_per_feature_for_numeric_and_categorical_features():
    train = pd.DataFrame({"amount": RNG.normal(size=2000), "country": RNG.choice(["fr", "de", "it"], 2000)})
    model = modeltel.wrap(
        lambda x: np.zeros(len(x)),
        name="hellinger-model",
        reference=Reference.from_data(train),
        drift_methods=["hellinger"],
    )
    model(train.iloc[:500])
    shifted = train.iloc[:500].assign(amount=train["amount"].iloc[:500] + 3, country="fr")
    model(shifted)
    points = {
        p.attributes["ml.feature.name"]: p.value
        for p in metric_points("ml.drift.score", **{"ml.model.name": "hellinger-model"})
    }
    methods = {
        p.attributes["ml.drift.method"] for p in metric_points("ml.drift.score", **{"ml.model.name": "hellinger-model"})
    }
    assert methods == {"hellinger"}
    assert set(points) == {"amount", "country"}
    assert 0.2 < points["amount"] < 1 and 0.1 < points["country"] < 1


def test_hellinger_and_chi2_pvalue_are_alertable_thresholds():
    """A p-value alerts below its threshold, a distance above it (the directions come from the registry)."""
    train = pd.DataFrame({"amount": RNG.normal(size=2000), "country": RNG.choice(["fr", "de", "it"], 2000)})
    alerts = []
    model = modeltel.wrap(
        lambda x: np.zeros(len(x)),
        name="registry-alerts",
        reference=Reference.from_data(train),
        drift_methods=["chi2_pvalue", "hellinger"],
        thresholds={"chi2_pvalue": 0.05, "hellinger": 0.3},
        on_alert=alerts.append,
    )
    drifted = train.iloc[:100].assign(amount=train["amount"].iloc[:100] + 5, country="fr")
    for i in range(100):
        model(drifted.iloc[i : i + 1])
    fired = {a.metric: a for a in alerts if a.state == "firing"}
    assert set(fired) == {"chi2_pvalue", "hellinger"}
    assert fired["chi2_pvalue"].value < 0.05 and fired["hellinger"].value > 0.3
    assert "below" in fired["chi2_pvalue"].message() and "above" in fired["hellinger"].message()


def test_an_unknown_method_or_threshold_names_the_known_ones():
    with pytest.raises(ValueError, match="hellinger"):
        modeltel.register(lambda x: x, drift_methods=["helinger"])
    with pytest.raises(ValueError, match="hellinger"):
        modeltel.register(lambda x: x, thresholds={"helinger": 0.1})


def test_the_report_shows_hellinger_with_its_label_and_default_threshold():
    from modeltel.report.html import compare, render_report

    train = pd.DataFrame({"amount": RNG.normal(size=2000)})
    reference = Reference.from_data(train)
    window = modeltel.WindowSnapshot.from_data(train.assign(amount=train["amount"] + 2), reference)
    results, _ = compare(reference, window, method="hellinger")
    assert results[0].method == "hellinger" and results[0].threshold == METHODS["hellinger"].threshold
    assert results[0].drifted is True
    page = render_report(reference, window, method="hellinger")
    assert "Hellinger &gt; 0.1" in page or "Hellinger > 0.1" in page


def test_the_docs_table_lists_every_method_with_its_kinds_and_threshold():
    text = (ROOT / "docs" / "drift.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)`[^\n]*\|$", text, flags=re.M)}
    for name in NAMES:
        assert name in rows, f"docs/drift.md has no row for {name}"
        row = rows[name]
        for kind in sorted(METHODS[name].kinds):
            assert kind in row, (name, kind)
        assert f"{METHODS[name].threshold:g}" in row, (name, row)
