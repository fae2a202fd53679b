"""Prediction ids, the bounded store of recent predictions, and joining delayed labels.

Every observed call gets one id per row. Generated ids cost nothing per row: a batch gets a
number and row ``i`` of batch ``n`` is ``{process prefix}{n:x}-{i}``, so id strings are only
made when someone asks for them. Caller-supplied ids (``with prediction_ids([...])``) are
indexed. The store keeps the most recent predictions up to ``label_store_max_entries`` rows
and ``label_store_max_age`` seconds, evicting the oldest batches first.
"""

from __future__ import annotations

import contextvars
import itertools
import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from opentelemetry.trace import SpanContext

from modeltel import _forksafe as forksafe
from modeltel._sdk.span_context import unpack_span_context
from modeltel.errors import ModeltelTypeError, ModeltelValueError

# Distinguishes generated ids of different processes (replicas, workers).
PREFIX = os.urandom(4).hex()


@forksafe.in_child
def _renew_prefix() -> None:
    """A forked worker counts batches from where its parent was: without its own prefix it
    would hand out the same ids as its siblings, and a label could join the wrong prediction."""
    global PREFIX
    PREFIX = os.urandom(4).hex()


class PredictionIds:
    """The ids of one call's rows, made into strings lazily."""

    __slots__ = ("batch", "rows", "supplied")

    def __init__(self, batch: int, rows: int, supplied: tuple[str, ...] | None) -> None:
        self.batch = batch
        self.rows = rows
        self.supplied = supplied

    def first(self) -> str:
        return self.supplied[0] if self.supplied else f"{PREFIX}{self.batch:x}-0"

    def as_list(self, limit: int | None = None) -> list[str]:
        """The ids, or the first ``limit`` of them."""
        count = self.rows if limit is None else min(limit, self.rows)
        if self.supplied is not None:
            return list(self.supplied[:count])
        base = f"{PREFIX}{self.batch:x}-"
        return [f"{base}{i}" for i in range(count)]


_supplied: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("modeltel_ids", default=None)
_last: contextvars.ContextVar[PredictionIds | None] = contextvars.ContextVar("modeltel_last_ids", default=None)


class prediction_ids:
    """Use these ids (one per row, in order) for the predictions made inside the block.

    >>> with modeltel.prediction_ids(["order-17", "order-18"]):
    ...     model.predict(X)
    """

    def __init__(self, ids: Sequence[Any]) -> None:
        if isinstance(ids, (str, bytes)) or not isinstance(ids, (Sequence, np.ndarray)):
            raise ModeltelTypeError(f"modeltel.prediction_ids() takes a sequence of ids, got {ids!r}")
        converted = tuple(str(i) for i in ids)
        if not converted:
            raise ModeltelValueError("modeltel.prediction_ids() needs at least one id")
        if len(set(converted)) != len(converted):
            raise ModeltelValueError("modeltel.prediction_ids(): ids must be unique")
        self._ids = converted
        self._token: contextvars.Token[tuple[str, ...] | None] | None = None

    def __enter__(self) -> prediction_ids:
        self._token = _supplied.set(self._ids)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _supplied.reset(self._token)


def current_supplied_ids() -> tuple[str, ...] | None:
    return _supplied.get()


def set_last_ids(ids: PredictionIds) -> None:
    _last.set(ids)


def last_prediction_ids() -> list[str]:
    """Ids of the most recent prediction in the current context (empty if none).

    >>> probability = model.predict_proba(X)
    >>> return {"id": modeltel.last_prediction_ids()[0], "p": probability[0, 1]}
    """
    ids = _last.get()
    return [] if ids is None else ids.as_list()


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


class StoredBatch(NamedTuple):
    """One call's outputs, kept raw: turning them into per-row predictions (argmax of
    probabilities, labels from classes_) waits until a label asks for them.

    The store files each as a plain tuple of these fields: Python's collector stops tracking
    an exact tuple whose items it need not traverse (ints, strings, numpy arrays; not a
    named tuple), so a full store (100,000 single-row calls) adds nothing to every full
    collection. As objects they made a torch server's full collections 2.3x slower
    (119 -> 276 ms), and those run about every 10,000 calls while spans wait in the export
    queue.
    """

    number: int
    model: tuple[str, str | None]
    time: float
    link: int  # the prediction span, packed (pack_span_context); 0 when there is none
    output: Any  # what the model returned (a private copy for numpy arrays and large CPU tensors)
    operation: str
    classes: np.ndarray | tuple[np.ndarray, ...] | None  # a tuple: one array per output (multi-output)
    ids: tuple[str, ...] | None
    rows: int
    offset: int = 0  # rows dropped from the front of an oversized batch

    @property
    def span_context(self) -> SpanContext | None:
        return unpack_span_context(self.link)


# Per-row predictions, probability rows, and the classes labels are matched against (None
# when unknown; a tuple of arrays, one per output, for a multi-output classifier).
Resolved = tuple[np.ndarray, "np.ndarray | None", Any]
# Positions in the plain tuples the store files (StoredBatch's fields).
_NUMBER, _TIME, _OUTPUT, _IDS, _ROWS, _OFFSET = (
    StoredBatch._fields.index(f) for f in ("number", "time", "output", "ids", "rows", "offset")
)


def _kept(entry: tuple[Any, ...]) -> int:
    """Rows of a filed batch the store holds."""
    return entry[_ROWS] - entry[_OFFSET]


class LabelStore:
    """Recent predictions, bounded by rows and age; thread-safe."""

    def __init__(self, max_entries: int, max_age: float) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        # Filing order in a deque beside a plain dict: an OrderedDict costs ~100 bytes more
        # per stored prediction, and popping the front of a plain dict degrades.
        self._batches: dict[int, tuple[Any, ...]] = {}  # StoredBatch fields, untracked
        # Per-row predictions of batches a label has asked for (their raw output is dropped).
        self._resolved: dict[int, Resolved] = {}
        self._order: deque[int] = deque()
        self._by_id: dict[str, tuple[int, int]] = {}
        # Supplied ids evicted lately, so a late label reads "expired", not "unknown".
        self._evicted: OrderedDict[str, None] = OrderedDict()
        self._rows = 0
        self._oldest_retained = 0
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        forksafe.register(self)

    def next_batch(self) -> int:
        return next(self._numbers)

    def __len__(self) -> int:
        return self._rows

    def add(self, entry: tuple[Any, ...]) -> None:
        """File one call: a plain tuple of StoredBatch's fields (not a StoredBatch, which the
        collector would keep tracking; see there)."""
        if not self.max_entries:
            return  # a store of size 0 keeps nothing (a model registered with a size of its own)
        rows = entry[_ROWS]
        if rows > self.max_entries:  # keep the newest rows of an oversized batch
            offset = rows - self.max_entries
            ids = entry[_IDS]
            entry = tuple(StoredBatch._make(entry)._replace(offset=offset, ids=None if ids is None else ids[offset:]))
        number, ids = entry[_NUMBER], entry[_IDS]
        with self._lock:
            self._batches[number] = entry
            self._order.append(number)
            self._rows += _kept(entry)
            if ids is not None:
                for row, pid in enumerate(ids):
                    self._by_id[pid] = (number, row)
            self._evict(entry[_TIME])

    def _evict(self, now: float) -> None:
        while self._order:
            number = self._order[0]
            oldest = self._batches.get(number)
            if oldest is None:  # filed twice under one number (never by next_batch)
                self._order.popleft()
                continue
            if self._rows <= self.max_entries and now - oldest[_TIME] <= self.max_age:
                break
            self._order.popleft()
            del self._batches[number]
            self._resolved.pop(number, None)
            self._rows -= _kept(oldest)
            # Calls finish out of order, so batches are not filed in number order.
            self._oldest_retained = max(self._oldest_retained, number + 1)
            ids = oldest[_IDS]
            if ids is not None:
                for pid in ids:
                    if self._by_id.get(pid, (None,))[0] == number:
                        del self._by_id[pid]
                    self._evicted[pid] = None
                while len(self._evicted) > self.max_entries:
                    self._evicted.popitem(last=False)

    def resolved(self, batch: StoredBatch, compute: Callable[[StoredBatch], Resolved | None]) -> Resolved | None:
        """``compute(batch)`` (its per-row predictions), worked out once per batch; None when
        the output has no per-row view."""
        with self._lock:
            done = self._resolved.get(batch.number)
        if done is not None or batch.output is None:
            return done
        done = compute(batch)
        if done is not None:
            with self._lock:
                entry = self._batches.get(batch.number)
                if entry is not None and entry[_OUTPUT] is batch.output:
                    self._resolved[batch.number] = done
                    self._batches[batch.number] = tuple(batch._replace(output=None))  # no longer needed
        return done

    def find(self, pid: str) -> tuple[StoredBatch, int] | str:
        """(batch, row) for a known id, else "unknown" or "expired"."""
        with self._lock:
            self._evict(time.monotonic())
            found = self._by_id.get(pid)
            if found is not None:
                return StoredBatch._make(self._batches[found[0]]), found[1]
            if pid in self._evicted:
                return "expired"
            parsed = _parse_generated(pid)
            if parsed is None:
                return "unknown"
            number, row = parsed
            entry = self._batches.get(number)
            if entry is not None and entry[_IDS] is None and entry[_OFFSET] <= row < entry[_ROWS]:
                return StoredBatch._make(entry), row - entry[_OFFSET]
            return "expired" if number < self._oldest_retained else "unknown"


def _parse_generated(pid: str) -> tuple[int, int] | None:
    if not pid.startswith(PREFIX):
        return None
    body = pid[len(PREFIX):]
    batch, _, row = body.partition("-")
    try:
        return int(batch, 16), int(row)
    except ValueError:
        return None


class PerformanceWindow:
    """The last N labelled predictions of one model, one sample per prediction id: a second
    label for an id replaces the first (a correction) and makes it the newest sample."""

    def __init__(self, size: int) -> None:
        self.size = size
        # Keyed by prediction id, so the correction lookup is bounded by the window itself.
        self._items: OrderedDict[str, tuple[Any, Any, np.ndarray | None]] = OrderedDict()
        self.classes: np.ndarray | tuple[np.ndarray, ...] | None = None
        self._lock = threading.Lock()
        forksafe.register(self)

    def add(
        self, pid: str, label: Any, predicted: Any, proba: np.ndarray | None,
        classes: np.ndarray | tuple[np.ndarray, ...] | None,
    ) -> None:
        """Hold ``label`` for prediction ``pid`` (replacing an earlier label for it)."""
        with self._lock:
            items = self._items
            items.pop(pid, None)
            items[pid] = (label, predicted, proba)
            if len(items) > self.size:
                items.popitem(last=False)
            if classes is not None:
                self.classes = classes

    def __len__(self) -> int:
        return len(self._items)

    def snapshot(self) -> tuple[list[Any], list[Any], list[np.ndarray | None]]:
        with self._lock:
            items = list(self._items.values())
        return [i[0] for i in items], [i[1] for i in items], [i[2] for i in items]


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
