"""Remembering predictions for delayed labels, as an observer of a model's calls.

On the prediction path, so it only copies a numpy output or a large CPU tensor (the caller may
reuse it) and files it; turning outputs into per-row predictions waits until a label asks
(labels/join.py). Probability outputs also feed the model's label-free estimate window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from modeltel._observer import CallView
from modeltel._sdk.span_context import pack_span_context
from modeltel.data.probabilities import PROBA_OPERATIONS
from modeltel.labels.estimates import EstimateWindow, probabilities
from modeltel.labels.store import LabelStore

# CPU tensor outputs of batches this large are stored as numpy copies.
_COPY_TENSOR_ROWS = 64
_COPY_TENSOR_VALUES = 1024


class LabelObserver:
    """Files each call's output in the process's prediction store (unless the model's store
    is off) and its probability rows in the model's estimate window."""

    __slots__ = ("calibration", "estimates", "store", "stores")
    site = "labels"

    def __init__(
        self, store: Callable[[], LabelStore], estimates: EstimateWindow, calibration: Any, stores: bool
    ) -> None:
        self.store = store
        self.estimates = estimates
        self.calibration = calibration
        self.stores = stores

    def after(self, call: CallView, result: Any) -> None:
        ids = call.ids
        if ids is None or not call.rows:
            return
        bind = call.bind
        settings = bind.settings
        classes = call.classes()
        if classes is not None and type(classes) is not np.ndarray:
            classes = stored_classes(classes)
        # A multi-output classifier's probabilities are a list of arrays, one per output: CBPE
        # has no estimate for them.
        if bind.operation in PROBA_OPERATIONS and type(classes) is not tuple:
            proba = probabilities(result, bind.operation, settings.summary_max_rows)
            if proba is not None:
                self.estimates.add(proba, self.calibration)
        if not self.stores:
            return  # the store is off for this model: no copy, and its labels read "unknown"
        if isinstance(result, np.ndarray):
            result = result.copy()
        elif hasattr(result, "detach"):
            result = stored_tensor(result, ids.rows)
        elif type(classes) is tuple and isinstance(result, (list, tuple)):  # per-output probabilities
            result = tuple(np.array(part) for part in result)
        # StoredBatch's fields, as the plain tuple the store files.
        self.store().add(
            (
                ids.batch,
                bind.model_key,
                time.monotonic(),
                pack_span_context(call.span.get_span_context()),
                result,
                bind.operation,
                classes,
                ids.supplied,
                ids.rows,
                0,
            )
        )


def stored_classes(classes: Any) -> np.ndarray | tuple[np.ndarray, ...]:
    """``classes_`` as the store keeps it: an array, or for a multi-output classifier (whose
    ``classes_`` is a list with one array per output) a tuple of arrays."""
    if isinstance(classes, (list, tuple)) and classes and all(np.ndim(c) == 1 for c in classes):
        return tuple(np.asarray(c) for c in classes)
    return np.asarray(classes)


def stored_tensor(t: Any, rows: int) -> Any:
    """What the store keeps of a tensor output. A large CPU tensor is copied into a numpy
    array: keeping the model's own output tensor alive made its next large call slower than
    the copy costs. Small batches keep their tensor (copying a fresh one-row output costs more
    than it saves), though a tensor keeps its store entry tracked by the garbage collector
    (StoredBatch). Tensors on an accelerator and dtypes numpy lacks stay tensors; only a
    tensor in an autograd graph is detached (so the store does not keep the graph alive)."""
    if getattr(t, "requires_grad", True):
        t = t.detach()
    if rows >= _COPY_TENSOR_ROWS and getattr(t, "is_cpu", False) and t.numel() >= _COPY_TENSOR_VALUES:
        try:
            return t.numpy().copy()
        except (TypeError, RuntimeError):  # bfloat16 and other dtypes numpy lacks
            pass
    return t
