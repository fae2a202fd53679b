"""Drift and data quality end to end: register a reference, predict, read the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel import InvalidReferenceError, Reference
from modeltel._core import states
from tests.conftest import metric_points
from tests.helpers import run_python

RNG = np.random.default_rng(5)
X_TRAIN = RNG.normal(size=(5000, 3))
Y_TRAIN = (X_TRAIN[:, 0] + X_TRAIN[:, 2] > 0).astype(int)


def gauge(name, **attrs):
    points = metric_points(name, **attrs)
    assert points, f"no {name} point with {attrs}"
    return points[-1].value


def fitted(name, **options):
    model = LogisticRegression().fit(X_TRAIN, Y_TRAIN)
    ref = Reference.from_data(X_TRAIN, predictions=model.predict(X_TRAIN))
    return modeltel.register(model, name=name, reference=ref, **options)


def test_shifted_feature_drifts_and_unshifted_does_not():
    model = fitted("drift-shift", drift_methods=["psi", "js", "ks", "wasserstein"])
    for _ in range(5):
        batch = RNG.normal(size=(200, 3))
        batch[:, 1] += 1.0
        model.predict(batch)
    base = {"ml.model.name": "drift-shift"}
    assert gauge("ml.drift.score", **base, **{"ml.feature.name": "x1", "ml.drift.method": "psi"}) > 0.2
    assert gauge("ml.drift.score", **base, **{"ml.feature.name": "x0", "ml.drift.method": "psi"}) < 0.1
    assert gauge(
        "ml.drift.score", **base, **{"ml.feature.name": "x1", "ml.drift.method": "wasserstein"}
    ) == pytest.approx(1.0, abs=0.15)
    assert gauge("ml.drift.score", **base, **{"ml.feature.name": "x1", "ml.drift.method": "ks"}) > 0.3
    assert gauge("ml.drift.window.rows", **base) == 1000
    # Predictions move with x1? No: the model ignores x1, so its outputs stay put.
    assert gauge("ml.prediction.drift.score", **base, **{"ml.drift.method": "psi"}) < 0.1


def test_prediction_drift_follows_the_outputs():
    model = fitted("drift-pred")
    batch = RNG.normal(size=(1000, 3))
    batch[:, 0] += 2.0  # pushes almost every prediction to class 1
    model.predict(batch)
    assert gauge("ml.prediction.drift.score", **{"ml.model.name": "drift-pred", "ml.drift.method": "psi"}) > 0.2


def test_multivariate_score_rises_when_correlation_flips_and_not_otherwise():
    a = RNG.normal(size=6000)
    data = np.column_stack([a, a + 0.1 * RNG.normal(size=6000), RNG.normal(size=6000)])
    ref = Reference.from_data(data[:4000])

    @modeltel.monitor("mv-same", reference=ref)
    def same(x):
        return x[:, 0]

    @modeltel.monitor("mv-flip", reference=ref)
    def flip(x):
        return x[:, 0]

    same(data[4000:5000])
    flipped = data[5000:].copy()
    flipped[:, 1] = -flipped[:, 1]
    flip(flipped)
    assert gauge("ml.drift.multivariate.score", **{"ml.model.name": "mv-same"}) == pytest.approx(1.0, abs=0.15)
    assert gauge("ml.drift.multivariate.score", **{"ml.model.name": "mv-flip"}) > 1.5
    # each marginal is unchanged, so per-feature drift stays low
    assert (
        gauge("ml.drift.score", **{"ml.model.name": "mv-flip", "ml.feature.name": "x1", "ml.drift.method": "psi"}) < 0.1
    )


def test_data_quality_issues_are_counted_and_never_raise(spans):
    train = pd.DataFrame({"amount": RNG.normal(100, 10, 1000), "country": RNG.choice(["NO", "SE"], 1000)})
    ref = Reference.from_data(train)

    @modeltel.monitor("dq", reference=ref)
    def score(frame):
        return np.zeros(len(frame))

    live = pd.DataFrame({"amount": [100.0, None, 1e6, "oops"], "country": ["NO", "DK", None, "SE"]}, dtype=object)
    assert score(live).tolist() == [0.0] * 4
    score(pd.DataFrame({"country": ["NO"]}))  # narrower: amount is absent
    score(pd.DataFrame({"amount": [], "country": []}))  # empty batch
    q = lambda feature, kind: (
        metric_points(
            "ml.data_quality.issues",
            **{"ml.model.name": "dq", "ml.feature.name": feature, "ml.data_quality.kind": kind},
        )[-1].value
    )
    assert q("amount", "missing") == 2  # None, and the absent column
    assert q("amount", "out_of_range") == 1
    assert q("amount", "type_mismatch") == 1
    assert q("country", "unseen_category") == 1
    assert q("country", "missing") == 1
    first = [s for s in spans() if s.name == "call dq"][0]
    assert first.attributes["ml.input.out_of_range.count"] == 1


def test_absent_and_mismatched_features_count_once_per_row_also_in_sampled_batches():
    train = pd.DataFrame({"amount": RNG.normal(100, 10, 1000), "country": RNG.choice(["NO", "SE"], 1000)})

    @modeltel.monitor("dq-scale", reference=Reference.from_data(train))
    def score(frame):
        return np.zeros(len(frame))

    rows = 4000  # above the row budget: counts come from a sample, scaled to the batch
    score(pd.DataFrame({"amount": RNG.normal(100, 10, rows)}))  # country absent
    score(pd.DataFrame({"country": ["NO"] * rows}))  # amount absent
    score(pd.DataFrame({"amount": ["oops"] * rows, "country": ["SE"] * rows}, dtype=object))
    q = lambda feature, kind: (
        metric_points(
            "ml.data_quality.issues",
            **{"ml.model.name": "dq-scale", "ml.feature.name": feature, "ml.data_quality.kind": kind},
        )[-1].value
    )
    assert q("country", "missing") == pytest.approx(rows)  # once per row, not twice
    assert q("amount", "missing") == pytest.approx(rows)
    assert q("amount", "type_mismatch") == pytest.approx(rows)


def test_window_is_bounded_by_rows():
    model = fitted("drift-window", drift_window=1000)
    for _ in range(30):
        model.predict(RNG.normal(size=(200, 3)))
    rows = gauge("ml.drift.window.rows", **{"ml.model.name": "drift-window"})
    assert 1000 <= rows <= 1200  # ten blocks of 100 rows plus the block being filled


def test_wide_batch_counts_by_weight():
    model = fitted("drift-weight")
    model.predict(RNG.normal(size=(10_000, 3)))
    assert gauge("ml.drift.window.rows", **{"ml.model.name": "drift-weight"}) == 10_000


@pytest.mark.parametrize("options, large_sample", [({}, 64), ({"drift_sample_rows": 128}, 128)])
def test_calls_within_the_row_budget_are_binned_whole_and_larger_ones_sampled(options, large_sample):
    from modeltel.drift.monitor import DriftMonitor

    monitor = DriftMonitor("sampled", None, Reference.from_data(X_TRAIN), modeltel.config.Settings(**options))
    monitor.observe_inputs(RNG.normal(size=(256, 3)), 256, None)  # the summaries' row budget
    monitor.observe_inputs(RNG.normal(size=(10_000, 3)), 10_000, None)
    window = monitor.inputs.snapshot()
    assert (window.rows, window.sampled) == (10_256, 256 + large_sample)
    assert np.allclose(window.counts.sum(axis=1), 10_256)  # the sample stands for its whole batch


def test_bad_reference_fails_at_register(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InvalidReferenceError, match="not valid JSON"):
        modeltel.register(LogisticRegression(), reference=bad)
    with pytest.raises(TypeError, match="reference must be"):
        modeltel.register(LogisticRegression(), reference=42)


def test_reference_directory_is_loaded_at_instrument(tmp_path):
    Reference.from_data(X_TRAIN).save(tmp_path / "fraud.json")
    out = run_python(
        """
import json, numpy as np, modeltel
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry import metrics
reader = InMemoryMetricReader(); metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
modeltel.instrument()
from sklearn.linear_model import LogisticRegression
X = np.random.default_rng(0).normal(size=(100, 3))
clf = modeltel.register(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), name="fraud")
clf.predict(X)
data = reader.get_metrics_data()
names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
print(json.dumps(sorted(n for n in names if n.startswith("ml.drift"))))
""",
        env={"MODELTEL_REFERENCE_DIR": str(tmp_path), "OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert out.returncode == 0, out.stderr
    assert "ml.drift.score" in out.stdout and "ml.drift.window.rows" in out.stdout
    bad = run_python("import modeltel; modeltel.instrument()", env={"MODELTEL_REFERENCE_DIR": str(tmp_path / "nope")})
    assert bad.returncode != 0 and "MODELTEL_REFERENCE_DIR" in bad.stderr and "is not a directory" in bad.stderr


def test_time_window_forgets_old_blocks(monkeypatch):
    from modeltel.drift import window as drift_window

    clock = [1000.0]
    monkeypatch.setattr(drift_window.time, "monotonic", lambda: clock[0])
    model = fitted("drift-time", drift_window_seconds=60.0)
    for _ in range(30):  # one call every 10 s for 5 minutes
        model.predict(RNG.normal(size=(10, 3)))
        clock[0] += 10.0
    rows = gauge("ml.drift.window.rows", **{"ml.model.name": "drift-time"})
    assert 60 <= rows <= 80  # the last minute or so of calls, not all 300 rows


def test_wider_and_narrower_numpy_batches_are_counted_not_raised():
    model = fitted("drift-width")

    @modeltel.monitor("width", reference=Reference.from_data(X_TRAIN))
    def f(x):
        return np.zeros(len(x))

    f(RNG.normal(size=(4, 5)))  # two columns more than the reference
    f(RNG.normal(size=(4, 2)))  # one column less
    q = lambda feature, kind: (
        metric_points(
            "ml.data_quality.issues",
            **{"ml.model.name": "width", "ml.feature.name": feature, "ml.data_quality.kind": kind},
        )[-1].value
    )
    assert q("_unexpected", "type_mismatch") == 8
    assert q("x2", "missing") == 4
    assert model.predict(RNG.normal(size=(3, 3))).shape == (3,)


def test_numeric_categories_match_across_int_and_float_inputs():
    train = pd.DataFrame({"zip": RNG.choice([1000, 2000], 500), "amount": RNG.normal(size=500)})
    ref = Reference.from_data(train, categorical=["zip"])

    @modeltel.monitor("zips", reference=ref)
    def f(x):
        return np.zeros(len(x))

    f(np.array([[1000.0, 0.1], [2000.0, -0.3]]))  # a float matrix carrying the zip codes
    unseen = metric_points(
        "ml.data_quality.issues",
        **{"ml.model.name": "zips", "ml.feature.name": "zip", "ml.data_quality.kind": "unseen_category"},
    )[-1].value
    assert unseen == 0


def test_opt_in_distribution_counts_rows_per_bin_with_a_feature_cap(caplog):
    ref = Reference.from_data(RNG.normal(size=(2000, 4)), bins=5)

    @modeltel.monitor("dist", reference=ref, export_distribution=True, distribution_max_features=2)
    def f(x):
        return np.zeros(len(x))

    f(np.array([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]]))
    points = metric_points("ml.input.distribution", **{"ml.model.name": "dist"})
    assert {p.attributes["ml.feature.name"] for p in points} == {"x0", "x1"}  # capped at 2
    x0 = {p.attributes["ml.bin"]: p.value for p in points if p.attributes["ml.feature.name"] == "x0"}
    assert len(x0) == 7 and sum(x0.values()) == 2 and x0["6"] == 1  # 5 bins + under/overflow
    shares = {
        p.attributes["ml.bin"]: p.value
        for p in metric_points("ml.reference.distribution", **{"ml.model.name": "dist"})
        if p.attributes["ml.feature.name"] == "x0"
    }
    assert shares["0"] == 0.0 and shares["6"] == 0.0 and sum(shares.values()) == pytest.approx(1.0)
    assert not metric_points("ml.input.distribution", **{"ml.model.name": "drift-shift"})  # opt-in


@pytest.mark.parametrize(
    ("name", "batch", "message"),
    [
        ("width-log", RNG.normal(size=(2, 4)), "columns the reference does not have"),
        ("absent-log", pd.DataFrame({"x0": [1.0, 2.0]}), "2 reference features absent"),  # x1 and x2 absent
    ],
)
def test_schema_mismatch_is_logged_once_with_how_many(caplog, name, batch, message):
    @modeltel.monitor(name, reference=Reference.from_data(X_TRAIN))
    def f(x):
        return x

    import logging

    with caplog.at_level(logging.WARNING, logger="modeltel"):
        for _ in range(3):
            f(batch)
    logged = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(logged) == 1 and message in logged[0], logged


def test_register_a_reference_on_what_wrap_returns():
    class Scorer:
        def predict(self, x):
            return np.asarray(x)[:, 0] > 0

    scorer = modeltel.register(modeltel.wrap(Scorer(), name="wrapped-ref"), reference=Reference.from_data(X_TRAIN))
    scorer.predict(RNG.normal(size=(50, 3)))
    assert gauge("ml.drift.window.rows", **{"ml.model.name": "wrapped-ref"}) == 50


def test_columnar_dict_inputs_are_sampled_and_weighted():
    @modeltel.monitor("columnar", reference=Reference.from_data(X_TRAIN))
    def f(columns):
        return np.zeros(len(columns["x0"]))

    batch = RNG.normal(size=(5000, 3))
    f({"x0": batch[:, 0], "x1": batch[:, 1].tolist(), "x2": batch[:, 2]})
    assert gauge("ml.drift.window.rows", **{"ml.model.name": "columnar"}) == 5000
    assert (
        gauge("ml.drift.score", **{"ml.model.name": "columnar", "ml.feature.name": "x1", "ml.drift.method": "psi"})
        < 0.1
    )


def test_buffered_single_row_calls_bin_like_one_batch_of_the_same_rows():
    from modeltel.drift.window import DriftWindow

    frame = pd.DataFrame(
        {"a": RNG.normal(size=2000), "b": RNG.exponential(size=2000), "c": RNG.choice(["x", "y", "z"], 2000)}
    )
    profiles = Reference.from_data(frame, categorical=["c"]).features
    numeric = RNG.normal(size=(700, 2)) * 3
    numeric[::7, 0] = np.nan
    numeric[::11, 1] = np.inf
    accounted = np.zeros(numeric.shape, dtype=bool)
    accounted[::14, 0] = True  # NaN because of an issue the caller already counted
    categories = RNG.choice(np.array(["x", "y", "w", None], dtype=object), 700)
    weights = RNG.integers(1, 5, 700).astype(float)  # each call: one sampled row of a bigger batch

    one_by_one = DriftWindow(profiles, window_rows=10**9)
    out_of_range = sum(
        one_by_one.add(
            numeric[i : i + 1], [categories[i : i + 1]], int(weights[i]), weights[i], None, accounted[i : i + 1]
        )
        for i in range(700)
    )
    at_once = DriftWindow(profiles, window_rows=10**9)
    at_once._bin(((at_once._current, 0),), numeric, [categories], weights, accounted)  # the bulk path itself
    a, b = one_by_one.snapshot(), at_once.snapshot()
    assert np.array_equal(a.counts, b.counts)
    assert np.allclose(a.sums, b.sums)
    assert np.array_equal(one_by_one.quality, at_once.quality)
    assert a.rows == weights.sum()
    # Out-of-range values are still counted per call, for the call's span.
    low, high = profiles[0].edges[0], profiles[0].edges[-1]
    col = numeric[:, 0]
    expected = np.count_nonzero((col < low) | (col > high)) + np.count_nonzero(
        (numeric[:, 1] < profiles[1].edges[0]) | (numeric[:, 1] > profiles[1].edges[-1])
    )
    assert out_of_range == expected


def test_single_numeric_rows_take_a_python_path_that_counts_like_add():
    # One row of numbers (online serving) skips add()'s numpy calls; every count, sum, quality
    # figure and out-of-range count must be what add() gives for the same rows.
    from modeltel.drift.monitor import DriftMonitor
    from modeltel.drift.window import DriftWindow

    torch = pytest.importorskip("torch")
    reference = Reference.from_data(X_TRAIN)
    settings = modeltel.config.Settings()
    rows = RNG.normal(size=(2600, 3)) * 2  # more than a 1,024-row buffer and several blocks
    rows[::9, 1] = np.nan
    rows[::13, 2] = np.inf
    rows[::17, 0] = -np.inf
    fast = DriftMonitor("fast", None, reference, settings)
    plain = DriftWindow(
        reference.features,
        settings.drift_window,
        track_distribution=settings.export_distribution,
        errors=fast.inputs.errors,
        errors_max_rows=fast.inputs.errors_max_rows,
    )
    kinds = [
        lambda r: r,
        lambda r: r[None, :],
        lambda r: torch.as_tensor(r[None, :]),
        lambda r: r.astype(np.float32),
        lambda r: np.round(r * 0).astype(np.int64) if np.isfinite(r).all() else r,
    ]
    out_fast = out_plain = 0
    for i, row in enumerate(rows):
        x = kinds[i % len(kinds)](row)
        out_fast += fast.observe_inputs(x, 1, None)
        as_array = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
        out_plain += plain.add(as_array.reshape(1, -1).astype(np.float64), [], 1, 1.0)
    a, b = fast.inputs.snapshot(), plain.snapshot()
    assert np.array_equal(a.counts, b.counts) and a.rows == b.rows == 2600
    assert np.array_equal(a.sums, b.sums, equal_nan=True)
    assert a.error_sum == pytest.approx(b.error_sum) and a.error_rows == b.error_rows
    assert np.array_equal(fast.inputs.quality, plain.quality)
    assert out_fast == out_plain > 0


@pytest.mark.parametrize("task", ["classes", "regression"])
def test_single_row_outputs_take_a_python_path_that_counts_like_the_general_one(task, monkeypatch):
    from modeltel.drift import monitor as drift
    from modeltel.drift.monitor import DriftMonitor

    torch = pytest.importorskip("torch")
    if task == "classes":
        reference = Reference.from_data(X_TRAIN, predictions=np.eye(3)[RNG.integers(0, 3, 5000)] * 0.8 + 0.1)
        outputs = [
            np.array([[0.2, 0.5, 0.3]]),
            np.array([[0.4, 0.4, 0.2]]),
            torch.tensor([[0.1, 0.1, 0.8]]),
            np.array([2]),
            np.array([[1]]),
            torch.tensor([0]),
            np.array([[np.nan, 0.5, 0.5]]),
            np.array([[3, 9, 9]]),
            np.array([True]),
            np.array(1.0),
            torch.tensor([[5.0, -1.0, 7.0]]),
        ]
    else:
        reference = Reference.from_data(X_TRAIN, predictions=X_TRAIN[:, 0])
        outputs = [
            np.array([0.3]),
            np.array([[-2.5]]),
            torch.tensor([9.0]),
            np.array([np.nan]),
            np.array(np.inf),
            np.array([1]),
            torch.tensor([[0.25]]),
            np.array([[0.2, 0.9]]),
        ]
    settings = modeltel.config.Settings()
    fast = DriftMonitor("fast", None, reference, settings)
    plain = DriftMonitor("plain", None, reference, settings)
    general = drift.one_prediction
    for i in range(300):
        y = outputs[i % len(outputs)]
        fast.observe_outputs(y, 1)
        monkeypatch.setattr(drift, "one_prediction", lambda y: None)
        plain.observe_outputs(y, 1)
        monkeypatch.setattr(drift, "one_prediction", general)
    a, b = fast.outputs.snapshot(), plain.outputs.snapshot()
    assert a.rows == b.rows == 300
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.sums, b.sums, equal_nan=True)
    assert np.array_equal(fast.outputs.quality, plain.outputs.quality)
    assert general(outputs[0]) is not None and general(np.array([[np.nan, 1.0]])) is None
    assert general(torch.zeros(1, 0)) is None and general(np.zeros((1, 0))) is None  # no value to bin


def test_a_buffer_spanning_several_blocks_bins_each_rows_into_its_own_block():
    # Large calls close a block each; their samples share a buffer binned four at a time.
    # Every block must get exactly what it gets when each call's sample is binned alone.
    from modeltel.drift.monitor import DriftMonitor
    from modeltel.drift.window import DriftWindow

    frame = pd.DataFrame(
        {"a": RNG.normal(size=3000), "b": RNG.exponential(size=3000), "c": RNG.choice(["x", "y", "z"], 3000)}
    )
    reference = Reference.from_data(frame, categorical=["c"])
    errors = DriftMonitor(
        "errors", None, Reference.from_data(frame[["a", "b"]]), modeltel.config.Settings()
    ).inputs.errors
    shared = DriftWindow(reference.features, window_rows=5000, errors=errors)
    alone = DriftWindow(reference.features, window_rows=5000, errors=errors)
    assert shared._capacity >= 4 * 200
    for call in range(23):
        numeric = RNG.normal(size=(200, 2)) * (1 + call % 3)
        numeric[call % 7 :: 9, 0] = np.nan
        accounted = np.zeros(numeric.shape, dtype=bool)
        accounted[call % 7 :: 18, 0] = True
        categories = RNG.choice(np.array(["x", "y", "w", None], dtype=object), 200)
        rows = 10_000 if call % 5 else 3_000  # unequal weights between calls
        for window in (shared, alone):
            window.add(numeric, [categories], rows, rows / 200, None, accounted)
        alone._take_buffer()  # one call's sample per binning, as before buffers were shared
    a, b = shared.snapshot(), alone.snapshot()
    assert len(shared._blocks) == len(alone._blocks) > 1
    for x, y in zip([*shared._blocks, shared._current], [*alone._blocks, alone._current]):
        assert np.allclose(x.counts, y.counts) and np.allclose(x.sums, y.sums)
        assert x.error_sum == pytest.approx(y.error_sum) and x.error_rows == pytest.approx(y.error_rows)
        assert (x.rows, x.sampled) == (y.rows, y.sampled)
    assert np.allclose(a.counts, b.counts) and a.error_rows > 0
    assert np.allclose(shared.quality, alone.quality)


def test_category_codes_by_distinct_value_equal_the_per_value_lookup():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from modeltel.drift.layout import category_codes
    from modeltel.drift.reference import category_key

    index = {"1": 0, "2": 1, "a": 2, "2.5": 3}
    # Small non-negative integers take the bincount path; negative and large ones np.unique's.
    cells = st.one_of(
        st.sampled_from([1, 2, 3, 1.0, 2.0, 2.5, float("nan"), None, "a", "b", True]),
        st.integers(0, 4),
        st.integers(-3, 5000),
    )

    @settings(max_examples=300, deadline=None)
    @given(st.lists(cells, max_size=30), st.sampled_from(["object", "int", "uint8", "float"]))
    def check(values, kind):
        if kind in ("int", "uint8"):
            values = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
            if kind == "uint8":
                values = [v for v in values if 0 <= v < 256]
            array = np.array(values, dtype=np.int64 if kind == "int" else np.uint8)
        elif kind == "float":
            values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            array = np.array(values, dtype=np.float64)
        else:
            array = np.array(values, dtype=object)
        missing, codes = category_codes(array, index, 4)
        expected_missing = [v is None or (isinstance(v, float) and v != v) for v in array.tolist()]
        assert missing.tolist() == expected_missing
        expected = [index.get(category_key(v), 4) for v, m in zip(array, expected_missing) if not m]
        assert codes.tolist() == expected

    check()


def test_large_sampled_batches_keep_enough_sampled_rows_for_a_stable_psi():
    # A 500-feature model bins 32 rows of a 10,000-row call: a window of "the last 5,000
    # rows" must not shrink to one call's sample, whose PSI on undrifted data is noise.
    rng = np.random.default_rng(3)
    reference = modeltel.Reference.from_data(rng.normal(size=(20_000, 500)))
    predict = modeltel.monitor("wide-batches", reference=reference)(lambda x: x[:, :1])
    traffic = rng.normal(size=(20_000, 500))
    for i in range(40):
        predict(traffic[i * 250 : i * 250 + 10_000])
    monitor = next(s.drift for s in states.live() if s.name == "wide-batches")
    window = monitor.inputs.snapshot()
    assert window.sampled >= 1000
    assert window.rows > 5000  # it covers more than drift_window rows to get there
    psi = [score for _, method, score in monitor.feature_scores() if method == "psi"]
    assert len(psi) == 500 and max(psi) < 0.1
    # A 500-feature model exports no zero series (2,004 of them would overflow the SDK's
    # cardinality limit): only the few out-of-range counts of undrifted data.
    quality = [
        p for p in metric_points("ml.data_quality.issues") if p.attributes.get("ml.model.name") == "wide-batches"
    ]
    assert all(p.value > 0 for p in quality) and len(quality) < 100


def test_threads_adding_while_others_bin_and_read_lose_no_rows():
    # Buffers fill in one thread and are binned by whichever thread holds the binning role
    # (the others queue theirs); readers wait for a settled window. A slow binning (the GIL
    # lets go inside numpy) makes threads queue buffers and, past MAX_QUEUED, wait.
    import threading
    import time

    from modeltel.drift.window import DriftWindow

    profiles = Reference.from_data(X_TRAIN).features
    window = DriftWindow(profiles, window_rows=10**9)
    window._capacity = 64
    window._new_buffer()
    real_bin = window._bin
    bins = []

    def slow_bin(*item):
        bins.append(threading.get_ident())
        time.sleep(0.002)
        real_bin(*item)

    window._bin = slow_bin
    rows = RNG.normal(size=(4, 1500, 3))
    snapshots = []
    done = threading.Event()
    reading = threading.Event()
    at_half = threading.Semaphore(0)
    half = rows.shape[1] // 2

    def add(k):
        # The first half before the reader starts (adding threads bin full buffers among
        # themselves), the second while it reads (the reader bins what it finds pending):
        # each kind of thread is seen binning whatever the scheduling.
        for i in range(rows.shape[1]):
            if i == half:
                at_half.release()
                reading.wait()
            window.add(rows[k, i : i + 1], [], 1, 1.0)

    def read():
        snapshots.append(window.snapshot())
        reading.set()
        while not done.is_set():
            snapshots.append(window.snapshot())

    workers = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    reader = threading.Thread(target=read)
    for w in workers:
        w.start()
    for _ in workers:  # every first half added
        at_half.acquire()
    assert bins, "full buffers were binned by the adding threads"
    reader.start()
    for w in workers:
        w.join()
    done.set()
    reader.join()
    final = window.snapshot()
    assert final.rows == rows.shape[0] * rows.shape[1]
    assert np.array_equal(final.counts.sum(axis=1), np.full(3, final.rows))
    serial = DriftWindow(profiles, window_rows=10**9)
    serial._bin(((serial._current, 0),), rows.reshape(-1, 3), [], np.ones(rows.shape[0] * rows.shape[1]), None)
    assert np.array_equal(final.counts, serial.snapshot().counts)
    # Every snapshot taken during the run was settled: each added row already binned.
    assert len(snapshots) > 1
    for snap in snapshots:
        assert np.array_equal(snap.counts.sum(axis=1), np.full(3, snap.rows))
    assert len(set(bins)) > 1, "binning moved between threads"
    assert len(window._queued) == 0


def test_a_single_row_is_read_once_for_the_summary_and_drift(spans, monkeypatch):
    # Both need the row's values; the call reads them once and hands them to both.
    from modeltel._core import call as recorder
    from modeltel.data import rows as inputs
    from modeltel.drift import monitor as drift
    from modeltel.summaries import inputs as summaries

    model = fitted("drift-one-read")
    reads = []
    real = inputs.single_row

    def counting(x, vector_is_row):
        reads.append(vector_is_row)
        return real(x, vector_is_row)

    for module in (inputs, drift, recorder, summaries):
        monkeypatch.setattr(module, "single_row", counting)
    row = np.array([[0.5, 9.0, -0.25]])  # x1 far above the reference's range
    model.predict(row)
    assert reads.count(True) == 1  # the input's one read (an output's reads pass False)
    (span,) = [s for s in spans() if s.attributes.get("ml.model.name") == "drift-one-read"]
    assert span.attributes["ml.input.feature.mean"] == (0.5, 9.0, -0.25)
    assert span.attributes["ml.input.out_of_range.count"] == 1
    assert gauge("ml.drift.window.rows", **{"ml.model.name": "drift-one-read"}) == 1


@pytest.mark.parametrize("fails", [False, True], ids=["returns", "raises"])
def test_a_sampled_batch_is_binned_as_it_was_before_the_model_changed_it(spans, fails):
    # A batch larger than the row budget has its drift sample copied before the call and
    # binned after it: a model that scales its input in place must not change what drift sees.
    def model(scale_in_place):
        @modeltel.monitor(f"drift-late-{scale_in_place}-{fails}", reference=Reference.from_data(X_TRAIN))
        def predict(x):
            if scale_in_place:
                x *= 0.0
            if fails:
                raise ValueError("bad batch")
            return x[:, 0] > 0

        return predict

    batch = RNG.normal(size=(5000, 3))
    batch[:, 1] += 3.0  # shifted: drifts, and many values above the reference's range
    for scale_in_place in (False, True):
        try:
            model(scale_in_place)(batch.copy())
        except ValueError:
            assert fails
    results = []
    for scale_in_place in (False, True):
        name = f"drift-late-{scale_in_place}-{fails}"
        (span,) = [s for s in spans() if s.attributes.get("ml.model.name") == name]
        score = gauge("ml.drift.score", **{"ml.model.name": name, "ml.feature.name": "x1", "ml.drift.method": "psi"})
        results.append(
            (
                span.attributes["ml.input.out_of_range.count"],
                score,
                gauge("ml.drift.window.rows", **{"ml.model.name": name}),
            )
        )
    assert results[0] == results[1]
    assert results[0][0] > 0 and results[0][1] > 0.2 and results[0][2] == 5000
