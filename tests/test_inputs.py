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

from modeltel.inputs import batch_size, summarize_input

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
