"""The bounded store of recent predictions that delayed labels are joined to.

It keeps the most recent predictions up to ``label_store_max_entries`` rows and
``label_store_max_age`` seconds, evicting the oldest batches first. Generated ids are found
by parsing them (labels/ids.py); caller-supplied ids are indexed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from opentelemetry.trace import SpanContext

from modeltel import _forksafe as forksafe
from modeltel._sdk.span_context import unpack_span_context
from modeltel.labels.ids import parse_generated


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
            parsed = parse_generated(pid)
            if parsed is None:
                return "unknown"
            number, row = parsed
            entry = self._batches.get(number)
            if entry is not None and entry[_IDS] is None and entry[_OFFSET] <= row < entry[_ROWS]:
                return StoredBatch._make(entry), row - entry[_OFFSET]
            return "expired" if number < self._oldest_retained else "unknown"
