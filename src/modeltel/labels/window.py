"""A model's quality window: its last N labelled predictions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from modeltel import _forksafe as forksafe


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
        self,
        pid: str,
        label: Any,
        predicted: Any,
        proba: np.ndarray | None,
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
