"""Whatever the input, the instrumented call returns exactly what the bare call returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import modeltel
from modeltel import Reference

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.binary(max_size=5),
)
inputs = st.one_of(
    scalars,
    st.lists(scalars, max_size=6),
    st.lists(st.lists(scalars, max_size=4), max_size=5),  # ragged, mixed
    st.dictionaries(st.text(max_size=3), scalars, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), scalars, max_size=3), max_size=4),
    hnp.arrays(dtype=st.sampled_from([np.float64, np.float32, np.int8, np.bool_, np.complex64, object, "U3"]),
               shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)),
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
