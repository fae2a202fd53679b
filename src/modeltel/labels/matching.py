"""Labels matched to what a model can predict: its classes, or numbers for a regressor.

A label that matches no class (``unknown_class``) or cannot be a target of the model at all
(``invalid``) is counted under its own ``ml.labels`` outcome and not scored."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelSummary:
    """What ``record_labels`` did with the ids it was given: ``matched`` labels were joined and
    scored; ``unknown`` and ``expired`` ids were not found; ``unknown_class`` labels matched
    none of the model's classes and ``invalid`` ones could not be a target of the model at all
    (docs/labels.md); neither of these two is scored."""

    matched: int
    unknown: int
    expired: int
    unknown_class: int = 0
    invalid: int = 0


# Why a label is not scored: the ml.labels outcomes besides matched, unknown and expired.
UNKNOWN_CLASS = "unknown_class"


INVALID = "invalid"


class ClassMatcher:
    """Labels matched to one output's classes.

    A label is a class when it equals one (``1``, ``1.0`` and ``True`` are equal in Python), when
    its string form is one's (``"1"`` for class ``1``, ``2`` for class ``"2"``), or, for numeric
    classes, when it is a string that parses as a number equal to one (``"1.0"`` for class 1).
    ``match`` returns the class itself, so labels and predictions compare alike, or
    ``UNKNOWN_CLASS``/``INVALID``.
    """

    def __init__(self, classes: np.ndarray) -> None:
        self.values: list[Any] = np.asarray(classes).ravel().tolist()
        self._index: dict[Any, int] = {}
        for i, value in enumerate(self.values):
            self._index.setdefault(value, i)
        for i, value in enumerate(self.values):
            self._index.setdefault(str(value), i)
        self._numeric = np.asarray(classes).dtype.kind in "biuf"

    def match(self, label: Any) -> Any:
        label = scalar_label(label)
        if label is INVALID_LABEL:
            return INVALID_LABEL
        try:
            found = self._index.get(label)
            if found is None:
                found = self._index.get(str(label))
            if found is None and self._numeric and isinstance(label, str):
                found = self._index.get(float(label))
        except (TypeError, ValueError):  # an unhashable label; a string that is not a number
            found = None
        return UNKNOWN_CLASS_LABEL if found is None else self.values[found]


class _Rejected:
    """A label that is not scored, and the ml.labels outcome it is counted under."""

    __slots__ = ("outcome",)

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def __repr__(self) -> str:
        return f"<label {self.outcome}>"


UNKNOWN_CLASS_LABEL = _Rejected(UNKNOWN_CLASS)


INVALID_LABEL = _Rejected(INVALID)


_NOT_SCALAR = (list, tuple, dict, set, frozenset, np.ndarray)


def scalar_label(label: Any) -> Any:
    """``label`` as one value, or ``INVALID_LABEL`` for a missing one (None, NaN) or a sequence."""
    if isinstance(label, np.ndarray) and label.ndim == 0:
        label = label.item()
    if label is None or isinstance(label, _NOT_SCALAR):
        return INVALID_LABEL
    if isinstance(label, (float, np.floating)) and math.isnan(label):
        return INVALID_LABEL
    return label


def label_row(label: Any, matchers: tuple[ClassMatcher, ...]) -> Any:
    """A multi-output classifier's label: one value per output, each matched to that output's
    classes, as a tuple; ``INVALID_LABEL`` when it is not a sequence of that length,
    ``UNKNOWN_CLASS_LABEL`` when some value matches no class of its output."""
    if isinstance(label, np.ndarray):
        label = label.tolist()
    if not isinstance(label, (list, tuple)) or len(label) != len(matchers):
        return INVALID_LABEL
    row = tuple(m.match(value) for m, value in zip(matchers, label))
    for value in row:
        if isinstance(value, _Rejected):
            return INVALID_LABEL if value is INVALID_LABEL else UNKNOWN_CLASS_LABEL
    return row


def numeric_label(label: Any) -> Any:
    """A regressor's label as a finite float (numeric strings too), else ``INVALID_LABEL``."""
    label = scalar_label(label)
    if label is INVALID_LABEL:
        return label
    try:
        value = float(label)
    except (TypeError, ValueError):
        return INVALID_LABEL
    return value if math.isfinite(value) else INVALID_LABEL


def rejected(label: Any) -> str | None:
    """The outcome a checked label is counted under when it is not scored, else None."""
    return label.outcome if isinstance(label, _Rejected) else None
