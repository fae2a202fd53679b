"""Single values and whole arrays, read the same way everywhere: what is missing, what is a
number, and a tensor or array-like as a numpy array on the host."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_missing(value: Any) -> bool:
    """None or a float NaN: a missing value.

    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0)
    (True, True, False)
    """
    return value is None or (isinstance(value, float) and value != value)


# One Python call per element of an object array (there is no vectorised test for None).
_missing = np.frompyfunc(is_missing, 1, 1)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """``is_missing`` of every element of an object array, as a bool array."""
    if not values.size:
        return np.zeros(values.shape, dtype=bool)
    return _missing(values).astype(bool)


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool and not complex.

    >>> is_number(3), is_number(np.float32(1.5)), is_number(True), is_number("3")
    (True, True, False, False)
    """
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_, np.complexfloating))


_number = np.frompyfunc(is_number, 1, 1)


def number_mask(values: np.ndarray) -> np.ndarray:
    """``is_number`` of every element of an object array, as a bool array."""
    if not values.size:
        return np.zeros(values.shape, dtype=bool)
    return _number(values).astype(bool)


def to_numpy(value: Any) -> np.ndarray:
    """A tensor (on any device, in any autograd graph) copied to a host numpy array, or any
    array-like as one; dtypes numpy lacks (bfloat16) widen to float32.

    >>> to_numpy([[1, 2]]).shape
    (1, 2)
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        tensor = value.detach().cpu()
        try:
            return tensor.numpy()
        except TypeError:  # bfloat16 and other dtypes numpy lacks
            return tensor.float().numpy()
    return np.asarray(value)
