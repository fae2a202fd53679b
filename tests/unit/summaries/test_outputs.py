"""Output summaries: labels, probability rows, numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modeltel.summaries.outputs import MAX_CLASSES, summarize_output


def out(y, operation="predict", classes=None, is_classifier=False, **kw):
    return summarize_output(
        y,
        operation=operation,
        classes=classes,
        is_classifier=is_classifier,
        max_rows=kw.get("max_rows", 256),
        max_columns=64,
    )


def test_string_labels_are_counted_most_frequent_first():
    a = out(np.array(["cat", "dog", "dog"]))
    assert a == {"ml.output.class.labels": ("dog", "cat"), "ml.output.class.counts": (2, 1)}


def test_probabilities_use_classes_and_confidence():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    a = out(p, "predict_proba", classes=np.array(["no", "yes"]))
    assert dict(zip(a["ml.output.class.labels"], a["ml.output.class.counts"])) == {"yes": 2, "no": 1}
    assert a["ml.output.confidence.mean"] == pytest.approx((0.9 + 0.8 + 0.7) / 3)


def test_log_probabilities_are_exponentiated():
    p = np.array([[0.6, 0.4]])
    a = out(np.log(p), "predict_log_proba")
    assert a["ml.output.confidence.mean"] == pytest.approx(0.6)


def test_numeric_single_and_multi_column():
    a = out(np.array([1.0, 3.0]))
    assert (a["ml.output.mean"], a["ml.output.min"], a["ml.output.max"]) == (2.0, 1.0, 3.0)
    m = out(np.array([[1.0, 10.0], [3.0, 30.0]]), "transform")
    assert m["ml.output.mean"] == (2.0, 20.0)


def test_many_integer_values_are_numbers_not_classes():
    a = out(np.arange(MAX_CLASSES * 2))
    assert "ml.output.class.labels" not in a and a["ml.output.max"] == MAX_CLASSES * 2 - 1


def test_softmax_tensor_and_unknown_outputs():
    t = torch.softmax(torch.rand(5, 4), dim=1)
    a = out(t, "forward")
    assert sum(a["ml.output.class.counts"]) == 5
    assert out({"logits": 1}, "forward") == {}
    assert out(None) == {}


@settings(max_examples=300, deadline=None)
@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
        shape=st.sampled_from([(1,), (1, 1), (1, 2), (1, 3), (1, 70)]),
        elements=None,
    ),
    operation=st.sampled_from(["predict", "predict_proba", "predict_log_proba", "forward", "transform", "call"]),
    use_classes=st.booleans(),
    is_classifier=st.booleans(),
)
def test_single_row_fast_path_agrees_with_the_general_path(values, operation, use_classes, is_classifier):
    from modeltel.summaries.outputs import _array_attributes, _single_row_attributes

    if values.dtype == np.bool_:
        values = values.astype(bool)
    softmax_like = values.dtype.kind == "f" and values.ndim == 2 and values.shape[1] >= 2 and values[0, 0] > 0
    if softmax_like:  # make some rows real probabilities
        values = np.abs(values) / np.abs(values).sum() if np.abs(values).sum() > 0 else values
    width = values.shape[-1] if values.ndim == 2 else 1
    classes = np.array([f"c{i}" for i in range(width)]) if use_classes else None
    fast = _single_row_attributes(values, operation, classes, is_classifier, 64)
    if fast is None:
        return
    general = _array_attributes(values, operation, classes, is_classifier, 64)
    assert fast.keys() == general.keys()
    for key, expected in general.items():
        got = fast[key]
        if isinstance(expected, float):
            assert got == pytest.approx(expected, nan_ok=True)
        elif expected and isinstance(expected[0], float):
            assert list(got) == pytest.approx(list(expected), nan_ok=True)
        else:
            assert tuple(got) == tuple(expected)


def test_boolean_and_integer_labels_are_named_like_single_rows():
    a = out(np.array([True, False, True]))
    assert dict(zip(a["ml.output.class.labels"], a["ml.output.class.counts"])) == {"True": 2, "False": 1}
    assert out(np.array([True]))["ml.output.class.labels"] == ("True",)
    b = out(np.array([-2, 5, 5]))
    assert b["ml.output.class.labels"] == ("5", "-2") and b["ml.output.class.counts"] == (2, 1)


def test_index_range_classes_and_unexpected_labels():
    a = out(np.array([0, 2, 2, 1]), classes=np.array([0, 1, 2]), is_classifier=True)
    assert a["ml.output.class.labels"] == ("2", "0", "1") and a["ml.output.class.counts"] == (2, 1, 1)
    # A label outside classes_ still gets counted rather than dropped.
    b = out(np.array([0, 5, 5]), classes=np.array([0, 1]), is_classifier=True)
    assert dict(zip(b["ml.output.class.labels"], b["ml.output.class.counts"])) == {"5": 2, "0": 1}
    c = out(np.array([-1, 1]), classes=np.array([0, 1]), is_classifier=True)
    assert dict(zip(c["ml.output.class.labels"], c["ml.output.class.counts"])) == {"-1": 1, "1": 1}


def _same_attributes(a, b):
    assert list(a) == list(b)
    for key in a:
        assert type(a[key]) is type(b[key]) and repr(a[key]) == repr(b[key]), key  # repr: NaN


_ELEMENTS = st.one_of(st.floats(-1e4, 1e4), st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.5, 1.0]))
_TENSOR_DTYPES = [
    torch.float64,
    torch.float32,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
]


@settings(max_examples=300, deadline=None)
@given(
    values=hnp.arrays(
        dtype=np.float64,
        shape=st.sampled_from([(), (1,), (3,), (1, 1), (1, 2), (1, 3), (2, 2), (1, 70), (1, 2, 2)]),
        elements=_ELEMENTS,
    ),
    dtype=st.sampled_from(_TENSOR_DTYPES),
    probabilities=st.booleans(),
    operation=st.sampled_from(["predict", "predict_proba", "predict_log_proba", "forward", "transform", "call"]),
    use_classes=st.booleans(),
    is_classifier=st.booleans(),
    grad=st.booleans(),
)
def test_single_row_tensor_outputs_read_directly_match_the_numpy_route(
    values, dtype, probabilities, operation, use_classes, is_classifier, grad
):
    from modeltel.data.rows import tensor_sample

    if probabilities and values.ndim == 2 and np.isfinite(values).all() and (np.abs(values).sum(axis=1) > 0).all():
        values = np.abs(values) / np.abs(values).sum(axis=1, keepdims=True)
    t = torch.from_numpy(values).to(dtype)
    if grad and dtype.is_floating_point:
        t.requires_grad_()
    width = values.shape[-1] if values.ndim == 2 else 1
    classes = np.array([f"c{i}" for i in range(width)]) if use_classes else None
    direct = out(t, operation, classes, is_classifier)
    via_numpy = out(tensor_sample(t, 256, False), operation, classes, is_classifier)  # the route before
    _same_attributes(direct, via_numpy)


@settings(max_examples=200, deadline=None)
@given(
    values=hnp.arrays(
        dtype=np.float64,
        shape=st.sampled_from([(), (1,), (20,), (1, 1), (1, 20), (2, 3), (1, 70), (1, 2, 2)]),
        elements=_ELEMENTS,
    ),
    dtype=st.sampled_from(_TENSOR_DTYPES),
    names=st.booleans(),
)
def test_single_row_tensor_inputs_read_directly_match_the_numpy_route(values, dtype, names):
    from modeltel.data.rows import tensor_sample
    from modeltel.summaries.inputs import summarize_input

    t = torch.from_numpy(values).to(dtype)
    count = values.shape[-1] if values.ndim else 1
    feature_names = tuple(f"f{i}" for i in range(count)) if names else None
    kw = {"max_rows": 256, "max_features": 64, "feature_names": feature_names}
    direct = summarize_input(t, **kw)
    via_numpy = summarize_input(tensor_sample(t, 256, False), **kw)  # the route before
    assert repr(direct) == repr(via_numpy)


@settings(max_examples=400, deadline=None)
@given(
    rows=st.integers(1, 6),
    width=st.sampled_from([2, 3, 10, 64, 65]),
    dtype=st.sampled_from([np.float32, np.float64]),
    kind=st.sampled_from(["probabilities", "logits", "near the tolerance", "outside it", "nan", "inf", "zero row"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_first_row_rejection_never_changes_the_probability_check(rows, width, dtype, kind, seed):
    # The Python check of the first row may only reject what the full check rejects too.
    from modeltel.data import probabilities as outputs

    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(width), size=rows)
    if kind == "logits":
        p = rng.normal(size=(rows, width))
    elif kind == "near the tolerance":
        p = p * (1.0 + rng.choice([-1, 1]) * rng.uniform(9e-4, 1.1e-3))
    elif kind == "outside it":
        p = p * (1.0 + rng.choice([-1, 1]) * rng.uniform(1e-3, 2e-2))
    elif kind == "nan":
        p[rng.integers(rows), rng.integers(width)] = np.nan
    elif kind == "inf":
        p[rng.integers(rows), rng.integers(width)] = np.inf
    elif kind == "zero row":
        p[0] = 0.0
    a = p.astype(dtype)
    with_first_row = outputs.looks_like_probabilities(a)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outputs, "_FIRST_ROW_CHECK_COLUMNS", 0)
        assert with_first_row == outputs.looks_like_probabilities(a)
    if kind == "probabilities" and dtype == np.float64:
        assert with_first_row
    if kind in ("logits", "nan", "inf", "zero row"):
        assert not with_first_row
