"""The process's store of recent predictions, for labels that arrive later."""

from __future__ import annotations

import sys
import threading

from modeltel import _forksafe as forksafe
from modeltel._core import runtime
from modeltel.labels.store import LabelStore

_store: LabelStore | None = None
_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_lock")


@forksafe.in_child
def _forget_parent_predictions() -> None:
    """The parent's stored predictions are not the child's to join (their ids carry the
    parent's prefix): drop the copy rather than hold its memory in every worker."""
    global _store
    _store = None


def store() -> LabelStore:
    """The process-wide prediction store, sized from the settings when first used.

    >>> store().find("an-id-no-prediction-had")
    'unknown'
    """
    global _store
    found = _store
    if found is None:
        with _lock:
            if _store is None:
                settings = runtime.current_settings()
                _store = LabelStore(settings.label_store_max_entries, settings.label_store_max_age)
            found = _store
    return found
