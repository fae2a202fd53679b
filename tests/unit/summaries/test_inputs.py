"""Input normalisation and summaries for every supported input type."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modeltel.data.kinds import batch_size
from modeltel.summaries.inputs import summarize_input

BUDGET = {"max_rows": 256, "max_features": 64}


def summary(x, **kw):
    s = summarize_input(x, **{**BUDGET, **kw})
    if s is None:
        return None
    # Attribute values are tuples; lists compare more readably below.
    return s._replace(names=list(s.names), mean=list(s.mean), min=list(s.min), max=list(s.max))


def test_numpy_2d():
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    s = summary(x)
    assert (s.summary_rows, s.feature_count, list(s.names)) == (2, 2, ["x0", "x1"])
    assert s.mean == [2.0, 20.0] and s.min == [1.0, 10.0] and s.max == [3.0, 30.0]
    assert batch_size(x) == 2


def test_numpy_1d_is_one_row_of_features():
    s = summary(np.array([1, 2, 3]))
    assert batch_size(np.array([1, 2, 3])) == 1
    assert (s.summary_rows, s.feature_count, s.mean) == (1, 3, [1.0, 2.0, 3.0])


def test_nd_is_summarised_over_leading_axis():
    x = np.arange(4 * 2 * 3, dtype=float).reshape(4, 2, 3)
    s = summary(x)
    assert batch_size(x) == 4 and s.feature_count == 6
    assert s.mean == pytest.approx(x.reshape(4, 6).mean(axis=0).tolist())


def test_missing_values_are_counted_and_skipped():
    x = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    s = summary(x)
    assert s.missing == 4
    assert s.mean[0] == 2.0 and s.min[0] == 1.0 and s.max[0] == 3.0
    assert math.isnan(s.mean[1]) and math.isnan(s.min[1]) and math.isnan(s.max[1])


def test_row_budget_samples_evenly_and_reports_rows():
    x = np.arange(10_000, dtype=float).reshape(-1, 1)
    s = summary(x, max_rows=100)
    assert batch_size(x) == 10_000
    assert s.summary_rows <= 100 and s.summary_rows >= 90  # 16 runs of consecutive rows
    assert s.min == [0.0] and s.max[0] >= 9_800  # spread across the batch, not the head
    assert s.mean[0] == pytest.approx(4_950, rel=0.01)


def test_feature_budget_caps_the_span_but_reports_the_full_count():
    s = summary(np.ones((3, 500)), max_features=10)
    assert s.feature_count == 500 and len(s.names) == len(s.mean) == 10


def test_dataframe_with_categorical_object_and_extension_dtypes():
    df = pd.DataFrame(
        {
            "amount": [1.0, 2.0, None],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "city": pd.Categorical(["a", None, "b"]),
            "note": ["x", "y", None],
            "flag": [True, False, True],
        }
    )
    s = summary(df)
    assert batch_size(df) == 3
    assert s.names == ["amount", "count", "city", "note", "flag"]
    assert s.mean[0] == 1.5 and s.mean[1] == 2.0 and s.mean[4] == pytest.approx(2 / 3)
    assert math.isnan(s.mean[2]) and math.isnan(s.mean[3])  # counted, not averaged
    assert s.missing == 4


def test_lists_dict_records_and_columnar_dict():
    assert summary([1.0, 2.0]).mean == [1.0, 2.0] and batch_size([1.0, 2.0]) == 1
    rows = [[1, 2], [3, 4], [5, 6]]
    assert batch_size(rows) == 3 and summary(rows).mean == [3.0, 4.0]
    record = {"age": 30, "city": "Oslo"}
    s = summary(record)
    assert batch_size(record) == 1 and s.names == ["age", "city"] and s.mean[0] == 30.0
    assert math.isnan(s.mean[1])
    records = [{"a": 1, "b": 2.0}, {"a": 3, "c": None}]
    s = summary(records)
    assert batch_size(records) == 2 and s.names == ["a", "b", "c"]
    assert s.mean[:2] == [2.0, 2.0] and s.missing == 3  # b missing once, c twice
    columnar = {"a": [1, 2, 3], "b": np.array([4.0, 5.0, 6.0])}
    assert batch_size(columnar) == 3 and summary(columnar).mean == [2.0, 5.0]


def test_sparse_matrix():
    dense = np.array([[0.0, 2.0], [4.0, 0.0], [0.0, 0.0]])
    m = sp.csr_matrix(dense)
    s = summary(m)
    assert batch_size(m) == 3 and s.mean == pytest.approx(dense.mean(axis=0).tolist())


def test_torch_tensor_including_bfloat16_and_grad():
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert summary(t).mean == [2.0, 3.0]
    assert summary(t.to(torch.bfloat16)).mean == [2.0, 3.0]
    assert batch_size(torch.zeros(7, 3, 2)) == 7


def test_inputs_without_a_feature_view():
    assert summary("some text") is None
    assert summary([[1, 2], [3]]) is None  # ragged
    assert batch_size("some text") == 1
    assert batch_size([]) == 0 and summary([]) is None


def test_registered_names_apply_when_counts_match():
    assert summary(np.ones((2, 2)), feature_names=["a", "b"]).names == ["a", "b"]
    assert summary(np.ones((2, 3)), feature_names=["a", "b"]).names == ["x0", "x1", "x2"]


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        elements={"allow_nan": True, "allow_infinity": False},
    )
)
def test_summary_bounds_hold_for_any_numeric_array(x):
    s = summary(x, max_rows=16, max_features=8)
    assert s.summary_rows <= 16 and len(s.mean) <= 8
    for lo, mean, hi in zip(s.min, s.mean, s.max):
        if not math.isnan(mean):
            assert lo <= mean * (1 + 1e-9) + 1e-300 or math.isclose(lo, mean, rel_tol=1e-6)
            assert mean <= hi * (1 + 1e-9) + 1e-300 or math.isclose(hi, mean, rel_tol=1e-6)


def _numeric_stats_before_fast_paths(a):
    """numeric_stats as it was before its fast paths: the oracle they must match exactly."""
    if a.shape[0] == 1:
        values = a[0].tolist()
        return values, values, values, sum(1 for v in values if v != v)
    t = np.ascontiguousarray(a.T)
    rows = t.shape[1]
    totals = np.add.reduce(t, axis=1, dtype=np.float64).tolist()
    if all(v == v for v in totals):
        means = [v / rows for v in totals]
        if any(math.isinf(v) for v in means):
            means = np.add.reduce(t / rows, axis=1, dtype=np.float64).tolist()
        return means, np.minimum.reduce(t, axis=1).tolist(), np.maximum.reduce(t, axis=1).tolist(), 0
    t = t.astype(np.float64, copy=False)
    missing_mask = np.isnan(t)
    missing = int(np.count_nonzero(missing_mask))
    present = rows - missing_mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.where(missing_mask, 0.0, t) / present[:, None]).sum(axis=1)
    lo = np.where(missing_mask, np.inf, t).min(axis=1)
    hi = np.where(missing_mask, -np.inf, t).max(axis=1)
    empty = present == 0
    lo[empty] = np.nan
    hi[empty] = np.nan
    mean[empty] = np.nan
    return mean.tolist(), lo.tolist(), hi.tolist(), missing


def _same_floats(a, b):
    return len(a) == len(b) and all(x == y or (x != x and y != y) for x, y in zip(a, b))


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=300),
        elements={"allow_nan": True, "allow_infinity": True},
    )
)
def test_numeric_stats_fast_paths_match_the_plain_reductions_bit_for_bit(a):
    from modeltel.summaries.inputs import numeric_stats

    with np.errstate(all="ignore"):
        got, want = numeric_stats(a), _numeric_stats_before_fast_paths(a)
    for g, w in zip(got[:3], want[:3]):
        assert _same_floats(g, w)
    assert got[3] == want[3]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_numeric_stats_widening_copy_matches_for_large_random_samples(dtype):
    from modeltel.summaries.inputs import numeric_stats

    rng = np.random.default_rng(7)
    for rows in (2, 255, 256, 4097, 8192, 8193, 12000):
        a = (rng.normal(size=(rows, 5)) * 1e3).astype(dtype)
        got, want = numeric_stats(a), _numeric_stats_before_fast_paths(a)
        for g, w in zip(got[:3], want[:3]):
            assert _same_floats(g, w)


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.int32, np.bool_]),
        shape=st.tuples(st.integers(1, 600), st.integers(1, 4), st.integers(1, 3)).map(lambda s: s[: 1 + s[2] % 3]),
    )
)
@settings(max_examples=60, deadline=None)
def test_take_rows_samples_the_same_rows_as_indexing(x):
    from modeltel.data.rows import sample_index, take_rows

    index = sample_index(len(x), 16)
    want = x if index is None else x[index]
    got = take_rows(x, 16)
    assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=x.dtype.kind == "f")


def _general_path_summary(x, max_features, feature_names):
    """summarize_input without its single-row shortcut (sample, then reduce)."""
    from modeltel.summaries.inputs import InputSummary, _resolve_names, _sample, numeric_stats

    table, feature_count, own = _sample(x, 0, 256, max_features)
    names = _resolve_names(own, feature_names, feature_count, max_features)
    mean, lo, hi, missing = numeric_stats(table) if table.size else ([], [], [], 0)
    return InputSummary(int(table.shape[0]), feature_count, tuple(names), tuple(mean), tuple(lo), tuple(hi), missing)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.uint8, np.bool_]),
        shape=st.sampled_from([(1, 1), (1, 5), (1, 20), (1, 70), (7,), (1,), ()]),
        elements={"allow_nan": True, "allow_infinity": True},
    ),
    st.sampled_from([None, "matching", "other"]),
    st.sampled_from([3, 64]),
)
def test_single_row_fast_path_agrees_with_the_general_path(x, names, max_features):
    from modeltel.summaries.inputs import summarize_input

    count = x.reshape(-1).shape[0]
    feature_names = {None: None, "matching": tuple(f"f{i}" for i in range(count)), "other": ("a", "b")}[names]
    fast = summarize_input(x, max_rows=256, max_features=max_features, feature_names=feature_names)
    general = _general_path_summary(x.reshape(1, -1), max_features, feature_names)
    assert fast[:3] == general[:3] and fast.missing == general.missing
    for f, g in zip(fast[3:6], general[3:6]):
        assert _same_floats(f, g)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: a.astype(np.float32),
        lambda a: torch.from_numpy(a.astype(np.float32)),
        lambda a: pd.DataFrame(a, columns=["a", "b", "c"]),
        lambda a: a.tolist(),
        lambda a: sp.csr_matrix(a),
        lambda a: {"a": a[:, 0], "b": a[:, 1], "c": a[:, 2]},
    ],
    ids=["float64", "float32", "tensor", "frame", "list", "sparse", "columnar dict"],
)
def test_a_sampled_batch_is_copied_so_its_statistics_can_wait(make):
    # The recorder finishes a batch's statistics after the model call when the batch was
    # sampled: the sample must not change when the input does.
    from modeltel.summaries.inputs import InputSample, finish_input, sample_input

    a = np.random.default_rng(3).normal(size=(1000, 3))
    x = make(a.copy())
    sample = sample_input(x, **BUDGET)
    assert type(sample) is InputSample and sample.feature_count == 3
    before = finish_input(sample)
    if isinstance(x, np.ndarray):
        x[:] = 0.0
    elif isinstance(x, torch.Tensor):
        x.mul_(0.0)
    elif isinstance(x, pd.DataFrame):
        x.iloc[:, :] = 0.0
    elif isinstance(x, list):
        for row in x:
            row[:] = [0.0] * len(row)
    elif isinstance(x, dict):
        for column in x.values():
            column[:] = 0.0
    else:
        x.data[:] = 0.0
    after = finish_input(sample)
    assert after == before and after.summary_rows == 256
    assert after.mean == summarize_input(make(a), **BUDGET).mean
