"""Tables as named columns: a DataFrame, a dict of columns, a list of records, an array or a
tensor read as (name, values) pairs, and a column as floats when it holds only numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modeltel.data.values import is_number, to_numpy
from modeltel.errors import InvalidReferenceError


def table_columns(X: Any, feature_names: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """Every column of a tabular input as (name, 1-D array), for whole-data profiling.

    Accepts what predictions accept: numpy arrays, pandas DataFrames, lists of rows, a list of
    dict records, a dict of columns, scipy sparse matrices, torch tensors.
    """
    module = type(X).__module__ or ""
    if module.startswith("pandas") and type(X).__name__ == "DataFrame":
        # Categorical columns as plain objects: their categories, not pandas codes.
        columns = [
            (str(c), (X[c].astype(object) if getattr(X[c].dtype, "name", "") == "category" else X[c]).to_numpy())
            for c in X.columns
        ]
        return _named(columns, feature_names)
    if module.startswith("torch") and hasattr(X, "detach"):
        X = to_numpy(X)
    if module.startswith("scipy.sparse"):
        X = X.toarray()
    if isinstance(X, Mapping):
        return _named([(str(k), np.asarray(v)) for k, v in X.items()], feature_names)
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], Mapping):
        keys: dict[Any, None] = {}
        for record in X:
            keys.update(dict.fromkeys(record))
        return _named([(str(k), np.array([r.get(k) for r in X], dtype=object)) for k in keys], feature_names)
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InvalidReferenceError(f"reference data must be 2-D (rows x features), got shape {array.shape}")
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise InvalidReferenceError(f"{len(names)} feature_names for {array.shape[1]} features")
    return [(str(n), array[:, i]) for i, n in enumerate(names)]


def _named(columns: list[tuple[str, np.ndarray]], names: Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    if names is None:
        return columns
    if len(names) != len(columns):
        raise InvalidReferenceError(f"{len(names)} feature_names for {len(columns)} features")
    return [(str(n), values) for n, (_, values) in zip(names, columns)]


def numeric_column(values: np.ndarray) -> np.ndarray | None:
    """The column as float64 (None/NaN missing), or None when it holds non-numbers."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    if values.dtype.kind != "O":
        return None
    if not all(v is None or is_number(v) for v in values):
        return None
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
