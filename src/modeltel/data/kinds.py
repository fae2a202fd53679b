"""What kind of value a prediction input or output is (numpy, tensor, pandas, sparse, mapping,
sequence, number), decided once per type, and how many rows it carries. Optional libraries
are recognised by the module of the value's type, never imported here."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

_NUMERIC_KINDS = frozenset("fiub")


_SEQUENCES = (list, tuple)


# Input kinds, decided once per type: a dict lookup replaces a chain of isinstance and
# module-name checks on every call.
NDARRAY, TENSOR, FRAME, SERIES, SPARSE, MAPPING, SEQUENCE, NUMBER, OTHER = range(9)


_kinds: dict[type, int] = {}


def _classify(cls: type) -> int:
    module = cls.__module__ or ""
    if issubclass(cls, np.ndarray):
        return NDARRAY
    if module.startswith("torch") and hasattr(cls, "detach"):
        return TENSOR
    if module.startswith("pandas") and cls.__name__ == "DataFrame":
        return FRAME
    if module.startswith("pandas") and cls.__name__ == "Series":
        return SERIES
    if module.startswith("scipy.sparse") and hasattr(cls, "nnz"):
        return SPARSE
    if issubclass(cls, Mapping):
        return MAPPING
    if issubclass(cls, _SEQUENCES):
        return SEQUENCE
    if issubclass(cls, numbers.Number) and not issubclass(cls, complex):
        return NUMBER
    return OTHER


def input_kind(x: Any) -> int:
    """The kind of a prediction input or output (one of the module's kind constants)."""
    cls = type(x)
    kind = _kinds.get(cls)
    if kind is None:
        kind = _classify(cls)
        if len(_kinds) < 4096:  # bounded even if types are made on the fly
            _kinds[cls] = kind
    return kind


def is_columnar(x: Mapping[Any, Any]) -> bool:
    """A dict of equally long column arrays/lists (a batch), as opposed to one record."""
    if not x:
        return False
    lengths = set()
    for value in x.values():
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            lengths.add(value.shape[0])
        elif isinstance(value, _SEQUENCES) or input_kind(value) == SERIES:
            lengths.add(len(value))
        else:
            return False
    return len(lengths) == 1


def leading_is_rows(first: Any) -> bool:
    return input_kind(first) in (SEQUENCE, MAPPING, NDARRAY, TENSOR)


def batch_size(x: Any) -> int:
    """Rows in a prediction input: 1-D inputs, scalars and single records count as one row.

    >>> batch_size(np.zeros((32, 4)))
    32
    """
    kind = input_kind(x)
    if kind == NDARRAY or kind == TENSOR:
        return int(x.shape[0]) if x.ndim >= 2 else 1
    if kind == FRAME or kind == SPARSE:
        return int(x.shape[0])
    if kind == SEQUENCE:
        if not x:
            return 0
        return len(x) if leading_is_rows(x[0]) else 1
    if kind == MAPPING and is_columnar(x):
        return len(next(iter(x.values())))
    return 1


# numpy kind of each torch dtype the single-row shortcuts read with Tensor.tolist(); named,
# not imported (torch is optional). Other dtypes take the numpy route.
_TENSOR_KINDS = {
    "torch.float64": "f",
    "torch.float32": "f",
    "torch.float16": "f",
    "torch.bfloat16": "f",
    "torch.int64": "i",
    "torch.int32": "i",
    "torch.int16": "i",
    "torch.int8": "i",
    "torch.uint8": "u",
    "torch.bool": "b",
}


_tensor_kinds: dict[Any, str] = {}


def tensor_kind(dtype: Any) -> str:
    """The numpy kind ("f", "i", "u", "b") of a torch dtype, "" for any other dtype."""
    kind = _tensor_kinds.get(dtype)
    if kind is None:
        kind = _TENSOR_KINDS.get(str(dtype), "")
        if len(_tensor_kinds) < 64:
            _tensor_kinds[dtype] = kind
    return kind
