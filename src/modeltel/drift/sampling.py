"""Reading a call's inputs and outputs for drift: row samples, columns by name or position,
the one-row fast paths. Loops run over the bounded row sample only, never the batch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modeltel.data.kinds import FRAME, MAPPING, NDARRAY, SEQUENCE, is_columnar, leading_is_rows
from modeltel.data.rows import on_host, sample_index, single_row, take_rows


def pick(name: str, position: int, by_name: dict[str, Any], positional: list[Any], use_names: bool) -> Any:
    if use_names:
        return by_name.get(name)
    return positional[position] if position < len(positional) else None


def numbers_or_nan(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floats for a mixed object column: numbers kept; anything else NaN, flagged in the
    returned mask (a type mismatch). Loops over the row sample only."""
    out = np.full(len(values), np.nan)
    mismatched = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_, np.complexfloating)):
            out[i] = float(v)
        else:
            mismatched[i] = True
    return out, mismatched


def numeric_row(found: tuple[list[Any], str] | None, width: int) -> list[Any] | None:
    """The values of a one-row numeric array or CPU tensor of ``width`` features (1-D or one
    leading row; ``found`` is what single_row read of it), as Python numbers; None for
    anything else (the general path handles it)."""
    if found is None or found[1] not in "fiu" or len(found[0]) != width:
        return None
    return found[0]


def one_prediction(y: Any) -> Any:
    """The prediction of a one-row numeric output as a Python number: the value of a one-value
    output, the predicted class (first largest) of a row of scores; None for anything else
    (NaN scores, an empty row, other types, a tensor on an accelerator: the general path
    handles them)."""
    found = single_row(y, False)
    if found is None or found[1] not in "fiub" or not found[0]:
        return None
    row = found[0]
    if len(row) == 1:
        return row[0]
    if any(map(math.isnan, row)):
        return None
    return row.index(max(row))  # numpy's argmax: the first of equal maxima


def row_sample(x: Any, max_rows: int, device_summaries: bool) -> Any:
    host = on_host(x, max_rows, device_summaries)
    if host is None:
        return None
    x, kind = host
    if kind == NDARRAY:
        return x if x.ndim <= 1 else take_rows(x, max_rows)
    if kind == FRAME:
        index = sample_index(len(x), max_rows)
        return x if index is None else x.iloc[index]
    if kind == MAPPING:
        if is_columnar(x):  # a dict of columns: sample each column the same way
            return {k: take_rows(np.asarray(v), max_rows) for k, v in x.items()}
        return [x]  # one record
    if kind == SEQUENCE:
        return take_rows(list(x), max_rows) if x and leading_is_rows(x[0]) else [list(x)]
    return None


def output_sample(y: Any, max_rows: int, device_summaries: bool) -> np.ndarray | None:
    """Sampled rows of a prediction output (a 1-D output is one prediction per row)."""
    host = on_host(y, max_rows, device_summaries)
    if host is None:
        return None
    y, kind = host
    if kind != NDARRAY:
        try:
            y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        except (TypeError, ValueError):
            return None
    if y.ndim == 0:
        y = y.reshape(1)
    return take_rows(y, max_rows)


def sample_length(sample: Any) -> int:
    if isinstance(sample, np.ndarray):
        return 1 if sample.ndim <= 1 else int(sample.shape[0])
    if isinstance(sample, dict):
        return len(next(iter(sample.values()), []))
    return len(sample)
