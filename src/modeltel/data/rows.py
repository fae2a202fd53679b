"""Rows of a prediction input or output: the bounded sample summaries and drift read, and
the single row of online serving, read in one call."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from modeltel.data.kinds import NDARRAY, TENSOR, input_kind, tensor_kind

# The row sample is this many evenly spaced runs of consecutive rows rather than every k-th
# row: right after a large batch the input is out of cache, and a strided sample pays a
# cache and TLB miss per row (measured here: 150 us for 256 rows of a 10,000-row batch, six
# times the warm cost); a few contiguous runs stream.
_SAMPLE_RUNS = 16


@functools.lru_cache(maxsize=256)
def sample_index(rows: int, max_rows: int) -> np.ndarray | None:
    """Row positions of the summary sample, or None when every row fits the budget.

    >>> sample_index(10, 256) is None
    True
    >>> len(sample_index(10_000, 256))
    256
    """
    if rows <= max_rows:
        return None
    runs = min(_SAMPLE_RUNS, max_rows)
    length = max_rows // runs
    starts = np.linspace(0, rows - length, runs).astype(np.intp)
    index = (starts[:, None] + np.arange(length, dtype=np.intp)).ravel()
    index.setflags(write=False)
    return index


def take_rows(x: Any, max_rows: int) -> Any:
    """The sample rows of an array, tensor or list (``x`` itself when all rows fit)."""
    index = sample_index(len(x), max_rows)
    if index is None:
        return x
    if isinstance(x, (list, tuple)):
        return [x[i] for i in index.tolist()]
    if type(x) is np.ndarray:
        # take() copies the same rows as fancy indexing at less than half the cost (its
        # generic path skips index validation per element); subclasses keep x[index].
        return x.take(index, axis=0)
    return x[index]


def single_row_tensor(t: Any, vector_is_row: bool) -> tuple[list[Any], int, str] | None:
    """(values, ndim, kind) of a CPU tensor holding one row, read with one ``tolist()``;
    None for anything else. One row: at most 2-D with one leading row, or any 1-D tensor
    when ``vector_is_row`` (an input's features; an output's 1-D is one value per row).

    One torch call instead of the numpy bridge plus reshape and tolist: right after a
    model call each of those runs cold. The values equal the numpy route's (float16 and
    bfloat16 widen exactly either way).
    """
    ndim = t.dim()
    if ndim > 2 or not t.is_cpu:
        return None
    if (ndim == 2 or (ndim == 1 and not vector_is_row)) and t.shape[0] != 1:
        return None
    kind = tensor_kind(t.dtype)
    if not kind:
        return None
    values = t.tolist()
    if ndim == 0:
        return [values], 1, kind
    return (values[0] if ndim == 2 else values), ndim, kind


# ``row=`` of sample_input and DriftMonitor.sample_inputs when the caller has not read it.
NOT_READ: Any = object()


def single_row(x: Any, vector_is_row: bool) -> tuple[list[Any], str] | None:
    """(values, numpy kind) of a numpy array or CPU tensor holding one row, read with one
    ``tolist()``; None for anything else. The shapes are ``single_row_tensor``'s.

    >>> single_row(np.array([[1.0, 2.0]]), True)
    ([1.0, 2.0], 'f')
    """
    kind = input_kind(x)
    if kind == NDARRAY:
        ndim = x.ndim
        if ndim > 2 or ((ndim == 2 or (ndim == 1 and not vector_is_row)) and x.shape[0] != 1):
            return None
        return x.reshape(-1).tolist(), x.dtype.kind
    if kind == TENSOR:
        found = single_row_tensor(x, vector_is_row)
        return None if found is None else (found[0], found[2])
    return None


def tensor_sample(x: Any, max_rows: int, on_device: bool) -> np.ndarray | None:
    """A CPU tensor as a zero-copy numpy view (sampling then happens in numpy, which costs
    far fewer calls than doing it in torch); a tensor on an accelerator is row-sampled
    first so only the sample moves, or None when ``on_device`` is off."""
    t = x.detach() if x.requires_grad else x
    if not t.is_cpu:
        if not on_device:
            return None
        if t.dim() >= 1:
            t = take_rows(t, max_rows)
        t = t.cpu()
    try:
        return t.numpy()
    except TypeError:  # bfloat16 and other dtypes numpy lacks
        return t.float().numpy()


def on_host(x: Any, max_rows: int, device_summaries: bool) -> tuple[Any, int] | None:
    """(input, kind) with a tensor turned into a numpy array (row-sampled first when it is
    on an accelerator); None when it must stay on its device."""
    kind = input_kind(x)
    if kind != TENSOR:
        return x, kind
    array = tensor_sample(x, max_rows, device_summaries)
    return None if array is None else (array, NDARRAY)
