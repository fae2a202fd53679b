"""Input summaries: a bounded sample of a prediction input's features and its statistics.

Every supported input type (numpy, pandas, lists, dicts, scipy sparse, torch tensors) is
reduced to a small sample: at most ``max_rows`` rows (evenly spaced runs of rows) and at most
``max_features`` leading features. All statistics are computed on that sample with whole-array
numpy operations, so the cost of a summary is bounded whatever the batch size.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from modeltel.data.kinds import (
    _NUMERIC_KINDS,
    FRAME,
    MAPPING,
    NDARRAY,
    NUMBER,
    SEQUENCE,
    SERIES,
    SPARSE,
    TENSOR,
    input_kind,
    is_columnar,
    leading_is_rows,
)
from modeltel.data.rows import NOT_READ, on_host, sample_index, single_row, take_rows
from modeltel.data.values import missing_mask


class InputSummary(NamedTuple):
    """Per-feature statistics over the sampled rows (aligned with ``names``).

    A named tuple: built on every prediction, and a frozen dataclass costs ~1 us to make.
    """

    summary_rows: int
    feature_count: int
    names: tuple[str, ...]
    mean: tuple[float, ...]
    min: tuple[float, ...]
    max: tuple[float, ...]
    missing: int


@functools.lru_cache(maxsize=64)
def _default_names(count: int) -> tuple[str, ...]:
    return tuple(f"x{i}" for i in range(count))


# A sample is either a 2-D float array (all sampled features numeric) or a list of 1-D
# columns of any dtype, together with the full feature count and the input's own names.
_Table = np.ndarray | list


def _sample_array(x: np.ndarray, max_rows: int, max_features: int) -> tuple[_Table, int]:
    if x.ndim <= 1:
        x = x.reshape(1, -1)
    else:
        x = take_rows(x, max_rows)
        if x.ndim > 2:
            # Images, sequences...: summarised over the leading axis, the rest flattened
            # (a view: the trailing axes of a row stay contiguous).
            x = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    feature_count = int(x.shape[1])
    sample = x[:, :max_features] if feature_count > max_features else x
    if sample.dtype.kind == "f":
        return sample, feature_count  # float16/32/64: reduced as they are (sums in float64)
    if sample.dtype.kind in _NUMERIC_KINDS:
        return sample.astype(np.float64), feature_count
    # Object, string, datetime and complex columns: counted, not averaged (unless an
    # object column holds only numbers).
    return [sample[:, j].astype(object) for j in range(sample.shape[1])], feature_count


def _sample_frame(df: Any, max_rows: int, max_features: int) -> tuple[_Table, int, list[str]]:
    feature_count = int(df.shape[1])
    index = sample_index(len(df), max_rows)
    part = df.iloc[:, :max_features] if index is None else df.iloc[index, :max_features]
    names = [str(c) for c in part.columns]
    kinds = {dtype.kind for dtype in part.dtypes}
    if kinds <= _NUMERIC_KINDS:
        return part.to_numpy(dtype=np.float64, na_value=np.nan), feature_count, names
    columns = []
    for _, col in part.items():  # noqa: PERF102 - a DataFrame's columns, not a dict
        if col.dtype.kind in _NUMERIC_KINDS:
            columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            # Categorical, string and object columns: keep missing cells visible as None.
            values = col.astype(object).to_numpy(copy=True)
            values[col.isna().to_numpy()] = None
            columns.append(values)
    return columns, feature_count, names


def _sample_records(records: Sequence[Mapping[Any, Any]], max_rows: int, max_features: int):
    sample = take_rows(records, max_rows)
    keys: dict[Any, None] = {}
    for record in sample:
        keys.update(dict.fromkeys(record))
    names_all = list(keys)
    names = names_all[:max_features]
    columns = [np.array([r.get(k) for r in sample], dtype=object) for k in names]
    return columns, len(names_all), [str(n) for n in names]


def _sample(x: Any, kind: int, max_rows: int, max_features: int):
    """Return (table, feature_count, names or None), or None when x has no feature view."""
    if kind == NDARRAY:
        return (*_sample_array(x, max_rows, max_features), None)
    if kind == FRAME:
        return _sample_frame(x, max_rows, max_features)
    if kind == SERIES:
        return _sample_frame(x.to_frame().T, max_rows, max_features)
    if kind == SPARSE:
        matrix = x.tocsr()
        index = sample_index(matrix.shape[0], max_rows)
        rows = (matrix if index is None else matrix[index])[:, :max_features]
        return rows.toarray().astype(np.float64, copy=False), int(x.shape[1]), None
    if kind == MAPPING:
        if is_columnar(x):
            frame = {k: np.asarray(v) for k, v in x.items()}
            names = list(frame)[:max_features]
            return [_as_column(take_rows(frame[k], max_rows)) for k in names], len(frame), [str(n) for n in names]
        return _sample_records([x], max_rows, max_features)
    if kind == SEQUENCE:
        return _sample_sequence(x, max_rows, max_features)
    if kind == NUMBER:
        return np.array([[float(x)]]), 1, None
    return None


def _sample_sequence(x: Sequence[Any], max_rows: int, max_features: int):
    if not x:
        return None
    first = x[0]
    if isinstance(first, Mapping):
        return _sample_records(x, max_rows, max_features)
    if leading_is_rows(first):
        if input_kind(first) == TENSOR:
            return None
        sample = take_rows(x, max_rows)
        if not _uniform_lengths(sample):
            return None
        arr = np.asarray(sample)
    else:
        arr = np.asarray(x, dtype=object if _has_non_numbers(x) else None)
    return (*_sample_array(arr, max_rows, max_features), None)


def _uniform_lengths(rows: Sequence[Any]) -> bool:
    try:
        return len({len(r) for r in rows}) == 1
    except TypeError:
        return False


def _has_non_numbers(values: Sequence[Any]) -> bool:
    return not all(isinstance(v, numbers.Real) for v in values)


def _as_column(values: np.ndarray) -> np.ndarray:
    values = values.reshape(values.shape[0], -1)[:, 0] if values.ndim > 1 else values
    if values.dtype.kind in _NUMERIC_KINDS:
        return values.astype(np.float64, copy=False)
    return values.astype(object)


def numeric_stats(a: np.ndarray) -> tuple[list[float], list[float], list[float], int]:
    """Per-column mean/min/max ignoring NaN, and the NaN count, of a 2-D float sample."""
    # Few numpy calls on purpose: right after a large model call every call runs cold, so
    # small per-feature lists are finished in Python instead.
    if a.shape[0] == 1:
        # One row: the summary is the row itself; skip the reductions.
        values = a[0].tolist()
        return values, values, values, sum(1 for v in values if v != v)
    # One feature per contiguous row: numpy reduces along the last axis several times
    # faster than down the columns of a (rows, features) sample. Narrower floats are widened
    # in the same copy: a float64 sum of float32 values costs 3x a plain one, and up to
    # numpy's buffer size (8192 elements a row) the cast-while-reducing sum adds in exactly
    # the same order, so the means are bit for bit what they were.
    if a.dtype.kind == "f" and a.dtype.itemsize < 8 and a.shape[0] <= _CAST_IN_REDUCE_ROWS:
        t = np.array(a.T, dtype=np.float64, order="C")
    else:
        t = np.ascontiguousarray(a.T)
    rows = t.shape[1]
    with np.errstate(
        over="ignore", invalid="ignore"
    ):  # inf or +inf beside -inf, handled below: no warning for the caller
        totals = np.add.reduce(t, axis=1, dtype=np.float64).tolist()
    overall = sum(totals)
    if overall - overall == 0.0:
        # A finite total of the sums means every sum is finite: nothing is NaN (NaN would
        # propagate) and no mean can overflow, so the mask pass and the checks are skipped.
        return (
            [v / rows for v in totals],
            np.minimum.reduce(t, axis=1).tolist(),
            np.maximum.reduce(t, axis=1).tolist(),
            0,
        )
    if all(v == v for v in totals):
        means = [v / rows for v in totals]
        if any(math.isinf(v) for v in means):
            # Overflow of huge finite values (or real infinities): divide first (in the
            # input's own precision, as this rare path always has).
            unwidened = t if t.dtype == a.dtype else np.ascontiguousarray(a.T)
            means = np.add.reduce(unwidened / rows, axis=1, dtype=np.float64).tolist()
        return (
            means,
            np.minimum.reduce(t, axis=1).tolist(),
            np.maximum.reduce(t, axis=1).tolist(),
            0,
        )
    t = t.astype(np.float64, copy=False)
    nan = np.isnan(t)
    missing = int(np.count_nonzero(nan))
    present = rows - nan.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.where(nan, 0.0, t) / present[:, None]).sum(axis=1)
    lo = np.where(nan, np.inf, t).min(axis=1)
    hi = np.where(nan, -np.inf, t).max(axis=1)
    empty = present == 0
    lo[empty] = np.nan
    hi[empty] = np.nan
    mean[empty] = np.nan
    return mean.tolist(), lo.tolist(), hi.tolist(), missing


# numpy's default buffer size: a reduction that casts (float32 summed in float64) adds rows
# up to this long in one pairwise pass, as a sum over an already widened copy does.
_CAST_IN_REDUCE_ROWS = 8192


def _column_stats(col: np.ndarray) -> tuple[float, float, float, int]:
    if col.dtype.kind == "f":
        stats = numeric_stats(col.reshape(-1, 1))
        return stats[0][0], stats[1][0], stats[2][0], stats[3]
    missing = missing_mask(col)
    present = col[~missing]
    if present.size and all(isinstance(v, numbers.Real) for v in present):
        stats = numeric_stats(present.astype(np.float64).reshape(-1, 1))
        return stats[0][0], stats[1][0], stats[2][0], int(missing.sum())
    return math.nan, math.nan, math.nan, int(missing.sum())


def _names_list(names: Sequence[Any], limit: int) -> Sequence[str]:
    if isinstance(names, tuple):  # registered names are already strings
        return names[:limit]
    listed = names[:limit].tolist() if isinstance(names, np.ndarray) else list(names[:limit])
    return listed if all(isinstance(n, str) for n in listed) else [str(n) for n in listed]


class InputSample(NamedTuple):
    """The rows and features an input summary is computed over, before the statistics.

    ``table`` is a copy whenever the input had more rows than the row budget (sampled rows
    are gathered into new arrays), so its statistics can wait until after the model call.
    """

    table: _Table
    feature_count: int
    names: Sequence[str]


def sample_input(
    x: Any,
    *,
    max_rows: int,
    max_features: int,
    feature_names: Sequence[str] | None = None,
    device_summaries: bool = False,
    row: Any = NOT_READ,
) -> InputSummary | InputSample | None:
    """The first half of ``summarize_input``: the row sample, or the finished summary when
    the input is one row of numbers (nothing to defer).

    Returns None for inputs with no feature view (a string, a ragged list, a tensor on an
    accelerator when ``device_summaries`` is off). ``feature_names`` names the features when
    the input does not (a numpy array); names carried by the input win when their counts
    disagree with it. ``row`` is ``single_row(x, True)`` when the caller has read it already.

    >>> sample_input(np.zeros((1000, 3)), max_rows=256, max_features=64).table.shape
    (256, 3)
    """
    found = single_row(x, True) if row is NOT_READ else row
    if found is not None and found[1] in _NUMERIC_KINDS:
        # One row of numbers (online serving's common case): the summary is the row itself,
        # built from one conversion instead of the sampling and reduction passes.
        return _row_summary(found[0], found[1] == "f", max_features, feature_names)
    host = on_host(x, max_rows, device_summaries)
    if host is None:
        return None
    x, kind = host
    sampled = _sample(x, kind, max_rows, max_features)
    if sampled is None:
        return None
    table, feature_count, names = sampled
    return InputSample(table, feature_count, _resolve_names(names, feature_names, feature_count, max_features))


def summarize_input(x: Any, **options: Any) -> InputSummary | None:
    """Summarise the features of one prediction input over a bounded sample of its rows:
    ``sample_input`` (whose keyword options it takes) and then ``finish_input``.

    >>> s = summarize_input(np.array([[1.0, 2.0], [3.0, np.nan]]), max_rows=256, max_features=64)
    >>> s.mean, s.missing
    ((2.0, 2.0), 1)
    """
    sample = sample_input(x, **options)
    return finish_input(sample) if isinstance(sample, InputSample) else sample


def finish_input(sample: InputSample) -> InputSummary:
    """The second half of ``summarize_input``: the statistics of a sample.

    >>> finish_input(InputSample(np.array([[1.0], [3.0]]), 1, ("a",))).mean
    (2.0,)
    """
    table, feature_count, names = sample
    if isinstance(table, np.ndarray):
        rows = int(table.shape[0])
        mean, lo, hi, missing = numeric_stats(table) if table.size else ([], [], [], 0)
    else:
        rows = int(table[0].shape[0]) if table else 0
        stats = [_column_stats(col) for col in table]
        mean = [s[0] for s in stats]
        lo = [s[1] for s in stats]
        hi = [s[2] for s in stats]
        missing = sum(s[3] for s in stats)
    return InputSummary(rows, feature_count, tuple(names), tuple(mean), tuple(lo), tuple(hi), missing)


def _resolve_names(
    own: Sequence[str] | None, given: Sequence[str] | None, feature_count: int, max_features: int
) -> Sequence[str]:
    if given is not None and len(given) == feature_count:
        return _names_list(given, max_features)
    if own is not None:
        return own
    return _default_names(min(feature_count, max_features))


def _row_summary(
    values: list[Any], is_float: bool, max_features: int, feature_names: Sequence[str] | None
) -> InputSummary:
    feature_count = len(values)
    kept = values if feature_count <= max_features else values[:max_features]
    row = tuple(kept) if is_float else tuple(map(float, kept))
    if feature_names is None:
        names = _default_names(min(feature_count, max_features))
    else:
        names = tuple(_resolve_names(None, feature_names, feature_count, max_features))
    # A finite total proves no value is NaN (NaN propagates), sparing the per-value check.
    total = sum(row)
    missing = 0 if total - total == 0.0 else sum(1 for v in row if v != v)
    return InputSummary(1, feature_count, names, row, row, row, missing)
