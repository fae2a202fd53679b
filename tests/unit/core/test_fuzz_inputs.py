"""Whatever the input, the instrumented call returns exactly what the bare call returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import modeltel
from modeltel import Reference

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=5),
)
inputs = st.one_of(
    scalars,
    st.lists(scalars, max_size=6),
    st.lists(st.lists(scalars, max_size=4), max_size=5),  # ragged, mixed
    st.dictionaries(st.text(max_size=3), scalars, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), scalars, max_size=3), max_size=4),
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int8, np.bool_, np.complex64, object, "U3"]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    ),
)

REFERENCE = Reference.from_data(np.random.default_rng(0).normal(size=(200, 3)))


def echo(x):
    return x


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=inputs)
def test_any_input_passes_through_unchanged(x):
    observed = modeltel.wrap(echo, name="fuzz", reference=REFERENCE)
    result = observed(x)
    assert result is x  # the very same object back, whatever modeltel made of it


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 5), cols=st.integers(0, 5), density=st.floats(0, 1))
def test_sparse_and_frames_of_any_shape(rows, cols, density):
    observed = modeltel.wrap(echo, name="fuzz-shapes", reference=REFERENCE)
    matrix = sp.random(rows, cols, density=density, format="csr") if rows and cols else sp.csr_matrix((rows, cols))
    assert observed(matrix) is matrix
    frame = pd.DataFrame(np.zeros((rows, cols)), columns=[f"c{i}" for i in range(cols)]).astype(object)
    assert observed(frame) is frame


def test_hostile_objects_pass_through():
    class Hostile:
        def __len__(self):
            raise RuntimeError("len exploded")

        def __getattr__(self, name):
            raise RuntimeError(f"{name} exploded")

    hostile = Hostile()
    observed = modeltel.wrap(echo, name="fuzz-hostile", reference=REFERENCE)
    assert observed(hostile) is hostile
    assert observed([hostile, hostile]) == [hostile, hostile]


# --- real models: the instrumented call gives the bare call's result, or its exception --------
from opentelemetry.instrumentation.utils import suppress_instrumentation  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

_X = np.random.default_rng(1).normal(size=(100, 3))
CLASSIFIER = modeltel.register(
    LogisticRegression().fit(_X, (_X[:, 0] > 0).astype(int)), name="fuzz-lr", reference=REFERENCE
)
numeric_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0]),
    st.integers(-(2**62), 2**62),
)
model_inputs = st.one_of(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6), elements=numeric_cells),
    hnp.arrays(
        object,
        st.tuples(st.integers(0, 4), st.just(3)),
        elements=st.one_of(numeric_cells, st.text(max_size=3), st.none()),
    ),
    st.lists(
        st.lists(st.one_of(numeric_cells, st.text(max_size=2), st.binary(max_size=2)), min_size=2, max_size=4),
        max_size=4,
    ),
)


def _outcome(call, x):
    try:
        return "ok", call(x)
    except Exception as exc:
        return "raised", (type(exc), str(exc))


def _same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return a[1] == b[1]
    return np.array_equal(np.asarray(a[1]), np.asarray(b[1]), equal_nan=np.asarray(a[1]).dtype.kind == "f")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=model_inputs, method=st.sampled_from(["predict", "predict_proba", "decision_function"]))
def test_sklearn_gives_the_uninstrumented_result_or_exception(x, method):
    call = getattr(CLASSIFIER, method)
    with suppress_instrumentation():
        bare = _outcome(call, x)
    assert _same(_outcome(call, x), bare)


@pytest.mark.parametrize("width", [0, 10_000])
def test_zero_and_ten_thousand_features(width):
    observed = modeltel.wrap(
        lambda x: x.sum(axis=1) if x.size else np.zeros(len(x)), name=f"fuzz-wide-{width}", reference=REFERENCE
    )
    x = np.random.default_rng(2).normal(size=(50, width))
    assert np.array_equal(observed(x), x.sum(axis=1) if width else np.zeros(50))


def test_pandas_extension_dtypes_pass_through():
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "f": pd.array([0.5, None, 1.5], dtype="Float64"),
            "s": pd.array(["a", None, "c"], dtype="string"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "c": pd.Categorical(["x", "y", None]),
        }
    )
    observed = modeltel.wrap(echo, name="fuzz-ext", reference=REFERENCE)
    assert observed(frame) is frame


def test_torch_tensors_of_any_rank_give_the_uninstrumented_output():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Softmax(dim=-1)).eval()  # any rank in, same out
    modeltel.register(net, name="fuzz-torch")
    for shape in [(4, 3, 5), (2, 3, 4, 5), (1, 2, 2, 2, 2), (0, 3, 5)]:
        x = torch.randn(*shape)
        x.view(-1)[:1] = float("nan") if x.numel() else 0.0
        with torch.inference_mode():
            with suppress_instrumentation():
                bare = net(x)
            observed = net(x)
        assert torch.equal(bare.nan_to_num(7.0), observed.nan_to_num(7.0))
