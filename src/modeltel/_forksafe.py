"""Locks that stay usable in a child process after ``os.fork()``.

Pre-fork servers (gunicorn ``--preload``, multiprocessing's fork start method) copy the parent
with every lock in the state it had at that instant, but only the forking thread survives. A
modeltel lock held by another thread then (the metric reader's thread computing drift scores,
a request thread recording a prediction) would stay locked forever in the child, and its first
prediction would hang. Objects register the attributes that hold their locks; each child
replaces them with fresh ones before it runs any code of its own. The OpenTelemetry SDK does
the same for its providers and processors.

>>> class Window:
...     def __init__(self):
...         self._lock = threading.Lock()
...         register(self)            # after a fork, self._lock is a new, unlocked lock
>>> window = Window()
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

_owners: list[tuple[weakref.ref[Any], str]] = []
_owners_lock = threading.Lock()
_pruned_at = 64
_callbacks: list[Callable[[], None]] = []


def register(owner: Any, attribute: str = "_lock") -> None:
    """Renew ``owner.<attribute>`` (a ``threading.Lock``) in every forked child. ``owner`` is
    an object or a module; only a weak reference is kept."""
    global _pruned_at
    ref = weakref.ref(owner)
    with _owners_lock:
        _owners.append((ref, attribute))
        if len(_owners) > _pruned_at:  # owners come and go with models: drop the dead ones
            _owners[:] = [(r, a) for r, a in _owners if r() is not None]
            _pruned_at = max(64, 2 * len(_owners))


def in_child(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` in every forked child, after the locks are renewed: for process
    identity that must not be shared with the parent (prediction id prefixes). Usable as a
    decorator."""
    _callbacks.append(callback)
    return callback


def _renew_in_child() -> None:
    global _owners_lock
    _owners_lock = threading.Lock()
    for ref, attribute in _owners:
        owner = ref()
        if owner is not None:
            setattr(owner, attribute, threading.Lock())
    for callback in _callbacks:
        callback()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_in_child)
