"""One state per (model name, version): replaced as a unit, bounded, isolated (issue 19)."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel import Reference
from modeltel._core import states
from tests.conftest import counter_value, metric_points
from tests.helpers import run_python

RNG = np.random.default_rng(19)
X = RNG.normal(size=(300, 3))
Y = (X[:, 0] > 0).astype(int)


def test_registering_again_with_new_thresholds_and_callback_takes_effect():
    fired = []
    model = LogisticRegression().fit(X, Y)
    modeltel.register(model, name="reregistered", thresholds={"latency_p99": 100.0})
    for _ in range(150):
        model.predict(X[:1])
    modeltel.register(model, name="reregistered", thresholds={"latency_p99": 1e-9}, on_alert=fired.append)
    for _ in range(300):
        model.predict(X[:1])
    assert [(a.metric, a.state) for a in fired] == [("latency_p99", "firing")]
    state = states.live_state(("reregistered", None))
    assert state is not None and state.thresholds == {"latency_p99": 1e-9}


def test_a_replaced_state_keeps_counting_rows_where_the_old_one_left_off():
    model = LogisticRegression().fit(X, Y)
    modeltel.register(model, name="rows-carried")
    model.predict(X[:7])
    modeltel.register(model, name="rows-carried", thresholds={"accuracy": 0.5})
    model.predict(X[:5])
    assert counter_value("ml.prediction.rows", **{"ml.model.name": "rows-carried"}) == 12


def test_an_older_registration_never_replaces_a_newer_one_back():
    """Two objects registered under one name with different options: the latest wins, and
    calls of the first do not rebuild the state on every alternation."""
    first = modeltel.register(LogisticRegression().fit(X, Y), name="two-objects", thresholds={"accuracy": 0.1})
    second = modeltel.register(LogisticRegression().fit(X, Y), name="two-objects", thresholds={"accuracy": 0.9})
    first.predict(X[:1])
    second.predict(X[:1])
    state = states.live_state(("two-objects", None))
    for _ in range(20):
        first.predict(X[:1])
        second.predict(X[:1])
    assert states.live_state(("two-objects", None)) is state
    assert state.thresholds == {"accuracy": 0.9}


def test_calling_instrument_again_with_the_same_options_keeps_the_windows():
    model = modeltel.register(LogisticRegression().fit(X, Y), name="kept-windows", reference=Reference.from_data(X))
    model.predict(X[:50])
    state = states.live_state(("kept-windows", None))
    modeltel.instrument()
    model.predict(X[:50])
    assert states.live_state(("kept-windows", None)) is state
    assert state.drift is not None and state.drift.window_rows() == 100


def test_one_models_failing_metric_source_leaves_every_other_models_series(monkeypatch):
    good = modeltel.register(LogisticRegression().fit(X, Y), name="quality-good")
    bad = modeltel.register(LogisticRegression().fit(X, Y), name="quality-bad")
    good.predict(X[:20])
    good_ids = modeltel.last_prediction_ids()
    bad.predict(X[:20])
    bad_ids = modeltel.last_prediction_ids()
    modeltel.record_labels(good_ids, Y[:20])
    modeltel.record_labels(bad_ids, Y[:20])

    class Broken:
        def __len__(self) -> int:
            raise RuntimeError("this model's window is broken")

    monkeypatch.setattr(states.live_state(("quality-bad", None)), "quality", Broken())
    site = {"modeltel.site": "performance", "error.type": "RuntimeError"}
    before = counter_value("modeltel.internal.errors", **site)
    names = {
        p.attributes["ml.model.name"] for p in metric_points("ml.performance", **{"ml.performance.source": "labels"})
    }
    assert "quality-good" in names and "quality-bad" not in names
    assert counter_value("modeltel.internal.errors", **site) > before  # counted once per collection
    # the bad model's other series are still there
    assert counter_value("ml.prediction.rows", **{"ml.model.name": "quality-bad"}) == 20


def test_a_thousand_versions_of_one_model_keep_at_most_max_versions_drift_monitors():
    reference = Reference.from_data(X)
    model = LogisticRegression().fit(X, Y)
    for version in range(1000):
        modeltel.register(model, name="many-versions", version=str(version), reference=reference)
        model.predict(X[:1])
    live = [s for s in states.live() if s.name == "many-versions"]
    assert len(live) == states.MAX_VERSIONS
    assert {s.version for s in live} == {str(v) for v in range(1000 - states.MAX_VERSIONS, 1000)}
    windows = metric_points("ml.drift.window.rows", **{"ml.model.name": "many-versions"})
    assert len(windows) == states.MAX_VERSIONS


def test_ten_thousand_model_names_keep_at_most_max_models_states_and_row_series():
    # In a process of its own: the SDK keeps a cumulative duration series per model ever
    # seen (up to its own limit), which would overflow the shared test meter for later tests.
    proc = run_python(
        textwrap.dedent("""
        import json
        import numpy as np
        from modeltel.testing import InMemoryTelemetry
        telemetry = InMemoryTelemetry.install()
        import modeltel
        from modeltel._core import states
        for i in range(10_000):
            modeltel.monitor(f"name-{i}")(lambda x: x)(np.ones((1, 2)))
        rows = {p.attributes["ml.model.name"] for p in telemetry.metric_points("ml.prediction.rows")}
        print(json.dumps({"states": len(states.live()), "rows": len(rows), "last": "name-9999" in rows,
                          "max": states.MAX_MODELS}))
        """)
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["states"] <= out["max"] and out["rows"] <= out["max"]
    assert out["last"]  # the most recent are the ones kept


def test_a_retired_model_that_predicts_again_starts_afresh():
    reference = Reference.from_data(X)
    model = modeltel.register(LogisticRegression().fit(X, Y), name="comes-back", version="0", reference=reference)
    model.predict(X[:10])
    first = states.live_state(("comes-back", "0"))
    other = LogisticRegression().fit(X, Y)
    for version in range(1, states.MAX_VERSIONS + 1):
        modeltel.register(other, name="comes-back", version=str(version))
        other.predict(X[:1])
    assert first is not None and first.retired and states.live_state(("comes-back", "0")) is None
    model.predict(X[:4])
    again = states.live_state(("comes-back", "0"))
    assert again is not None and again is not first and again.drift is not None
    assert again.drift.window_rows() == 4


def test_omitting_a_concern_rejects_unknown_names():
    with pytest.raises(ValueError, match="known"):
        states.omitting("input_summaries")
