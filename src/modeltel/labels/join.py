"""Delayed ground truth: remember predictions, join labels to them, report realized quality.

``remember`` runs on the prediction path (cheap: a batch number, a copy of the outputs into
a bounded store); ``record_labels`` runs when labels arrive and is where the join, the label
delay, the per-model windows and the ``label {model}`` span with links happen. ``ml.performance``
is computed from the windows when metrics are collected.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from opentelemetry.trace import Link, SpanKind

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._core import runtime as state
from modeltel._core.registry import Binding
from modeltel._core.telemetry import default_telemetry
from modeltel.alerts.thresholds import alert_state
from modeltel.labels.estimates import estimate_window, probabilities
from modeltel.labels.estimates import observations as estimated
from modeltel.labels.metrics import (
    classification_metrics,
    exact_match_accuracy,
    regression_metrics,
)
from modeltel.labels.store import (
    INVALID,
    UNKNOWN_CLASS,
    ClassMatcher,
    LabelStore,
    LabelSummary,
    PerformanceWindow,
    PredictionIds,
    Resolved,
    StoredBatch,
    label_row,
    numeric_label,
    pack_span_context,
    rejected,
    scalar_label,
)
from modeltel.summaries.outputs import PROBA_OPERATIONS, looks_like_probabilities

# Span links per label span: enough for a batch of labels, bounded for the exporter.
MAX_LINKS = 128

_store: LabelStore | None = None
_store_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_store_lock")
_windows: dict[tuple[str, str | None], tuple[PerformanceWindow, str]] = {}
# Thresholds and callback per model (from its binding's registration).
_alerting: dict[tuple[str, str | None], tuple[dict[str, float], Any]] = {}


@forksafe.in_child
def _forget_parent_predictions() -> None:
    """The parent's stored predictions are not the child's to join (their ids carry the
    parent's prefix): drop the copy rather than hold its memory in every worker."""
    global _store
    _store = None


def store() -> LabelStore:
    """The process-wide prediction store, sized from the current settings."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                settings = state.current_settings()
                _store = LabelStore(settings.label_store_max_entries, settings.label_store_max_age)
    return _store


def remember(bind: Binding, ids: PredictionIds, span_context: Any, result: Any, classes: Any) -> None:
    """Keep one call's output so labels arriving later can be joined to it.

    On the prediction path, so it only copies a numpy output or a large CPU tensor (the
    caller may reuse it; see _stored_tensor) and files it; everything else waits for a label.
    """
    key = bind.model_key
    if key not in _windows:
        _windows.setdefault(key, (PerformanceWindow(bind.settings.performance_window), bind.settings.task))
    if bind.thresholds and key not in _alerting:
        _alerting.setdefault(key, (bind.thresholds, bind.on_alert))
    if classes is not None and type(classes) is not np.ndarray:
        classes = _stored_classes(classes)
    # A multi-output classifier's probabilities are a list of arrays, one per output: CBPE
    # has no estimate for them.
    if bind.operation in PROBA_OPERATIONS and type(classes) is not tuple:
        proba = probabilities(result, bind.operation, bind.settings.summary_max_rows)
        if proba is not None:
            calibration = bind.drift.reference.calibration if bind.drift is not None else None
            estimate_window(key, bind.settings.performance_window).add(proba, calibration)
    if not bind.settings.label_store_max_entries:
        return  # the store is off for this model: no copy, and its labels read "unknown"
    if isinstance(result, np.ndarray):
        result = result.copy()
    elif hasattr(result, "detach"):
        result = _stored_tensor(result, ids.rows)
    elif type(classes) is tuple and isinstance(result, (list, tuple)):  # per-output probabilities
        result = tuple(np.array(part) for part in result)
    # StoredBatch's fields, as the plain tuple the store files.
    (_store or store()).add((
        ids.batch, key, time.monotonic(), pack_span_context(span_context), result, bind.operation,
        classes, ids.supplied, ids.rows, 0,
    ))


def _stored_classes(classes: Any) -> np.ndarray | tuple[np.ndarray, ...]:
    """``classes_`` as the store keeps it: an array, or for a multi-output classifier (whose
    ``classes_`` is a list with one array per output) a tuple of arrays."""
    if isinstance(classes, (list, tuple)) and classes and all(np.ndim(c) == 1 for c in classes):
        return tuple(np.asarray(c) for c in classes)
    return np.asarray(classes)


# CPU tensor outputs of batches this large are stored as numpy copies.
_COPY_TENSOR_ROWS = 64
_COPY_TENSOR_VALUES = 1024


def _stored_tensor(t: Any, rows: int) -> Any:
    """What the store keeps of a tensor output. A large CPU tensor is copied into a numpy
    array: keeping the model's own output tensor alive made its next large call slower
    (a 20-64-64-2 MLP at 10,000 rows: ~100-150 us more per call than with the copy, which
    costs ~10 us). Small batches keep their tensor: the copy of a fresh one-row output cost
    ~7 us in the call (overhead.py: torch 1-row ratio 2.15 -> 2.42), though a tensor keeps its
    store entry tracked by the garbage collector (StoredBatch). Tensors on an accelerator and
    dtypes numpy lacks stay tensors; only a tensor in an autograd graph is detached (so the
    store does not keep the graph alive; detach() costs a dispatch)."""
    if getattr(t, "requires_grad", True):
        t = t.detach()
    if rows >= _COPY_TENSOR_ROWS and getattr(t, "is_cpu", False) and t.numel() >= _COPY_TENSOR_VALUES:
        try:
            return t.numpy().copy()
        except (TypeError, RuntimeError):  # bfloat16 and other dtypes numpy lacks
            pass
    return t


def _per_row(batch: StoredBatch) -> Resolved | None:
    """Per-row predictions (and probabilities) of a stored batch, and the classes its labels
    are matched against."""
    classes = batch.classes
    if type(classes) is tuple:
        predicted, proba = _multi_outputs(batch.output, classes, batch.rows), None
    else:
        predicted, proba, classes = _outputs(batch.output, batch.operation, classes, batch.rows)
    if predicted is None:
        return None
    if batch.offset:
        predicted = predicted[batch.offset :]
        proba = None if proba is None else proba[batch.offset :]
    return predicted, proba, classes


def _values(result: Any) -> np.ndarray:
    """A stored output (an array, a tensor on any device, a list) as a numpy array."""
    is_tensor = hasattr(result, "cpu") and hasattr(result, "detach")
    return np.asarray(result.detach().cpu().numpy() if is_tensor else result)


def _multi_outputs(result: Any, classes: tuple[np.ndarray, ...], rows: int) -> np.ndarray | None:
    """A multi-output classifier's per-row predictions, one column per output: its
    ``predict`` output as it is, or the class of each output's top probability."""
    if isinstance(result, tuple):
        if len(result) != len(classes) or any(p.shape != (rows, c.size) for p, c in zip(result, classes)):
            return None
        predicted = np.empty((rows, len(classes)), dtype=object)
        for column, (proba, names) in enumerate(zip(result, classes)):  # a few outputs, not rows
            predicted[:, column] = names[proba.argmax(axis=1)]
        return predicted
    try:
        values = _values(result)
    except (TypeError, ValueError, RuntimeError):
        return None
    return values if values.shape == (rows, len(classes)) else None


def _outputs(result: Any, operation: str, classes: Any, rows: int) -> tuple[np.ndarray | None, np.ndarray | None, Any]:
    """Per-row predicted values, for probability outputs the probability rows, and the
    classes the predictions are drawn from (None when unknown)."""
    try:
        values = _values(result)
    except (TypeError, ValueError, RuntimeError):
        return None, None, None
    if values.ndim == 0 or values.shape[0] != rows:
        return None, None, None
    if values.ndim == 2 and values.shape[1] > 1 and values.dtype.kind == "f":
        if operation in PROBA_OPERATIONS or looks_like_probabilities(values):
            proba = np.exp(values) if operation == "predict_log_proba" else values
        elif operation in ("forward", "call"):
            proba = None  # scores or logits: the predicted class is still the argmax
        else:
            return values[:, 0], None, classes
        top = values.argmax(axis=1)
        if classes is not None and len(classes) == values.shape[1]:
            return np.asarray(classes)[top], proba, classes
        # Without classes_ (a torch model's scores) the classes are the column indices.
        return top, proba, np.arange(values.shape[1]) if classes is None else None
    return (values.reshape(rows, -1)[:, 0] if values.ndim > 1 else values), None, classes


def record_labels(ids: Sequence[Any], labels: Sequence[Any], *, model: Any = None) -> LabelSummary:
    """Join ground truth with stored predictions; unknown or expired ids are counted.

    ``ids`` are prediction ids (``last_prediction_ids()`` or your own from
    ``prediction_ids``), ``labels`` the true values in the same order. ``model`` (a name or a
    registered model) restricts the join to that model. A label is matched to the model's
    classes; one matching none (``unknown_class``), or one that cannot be a target of the
    model (``invalid``: a missing value, a non-numeric label for a regressor), is counted and
    not scored. A later label for the same id replaces the earlier one; an id given twice in
    one call counts once, with its last label. Never raises for unknown ids or labels; raises
    ``ValueError``/``TypeError`` for mismatched or malformed arguments.

    >>> modeltel.record_labels(["order-17", "order-18"], [1, 0])
    LabelSummary(matched=2, unknown=0, expired=0, unknown_class=0, invalid=0)
    """
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__len__"):
        raise TypeError(f"modeltel.record_labels(): ids must be a sequence of prediction ids, got {ids!r}")
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise TypeError(f"modeltel.record_labels(): labels must be a sequence, got {labels!r}")
    if len(ids) != len(labels):
        raise ValueError(f"modeltel.record_labels(): {len(ids)} ids but {len(labels)} labels")
    wanted = _model_name(model)
    telemetry = default_telemetry()
    now = time.monotonic()
    counts = dict.fromkeys(("matched", "unknown", "expired", UNKNOWN_CLASS, INVALID), 0)
    links: dict[tuple[str, str | None], dict[int, Any]] = {}
    # Arrays, tensors and Series as Python values, which match classes by value.
    to_list = getattr(labels, "tolist", None)
    label_list = to_list() if callable(to_list) else list(labels)
    # One label per id: a repeated id keeps its last label.
    latest = dict(zip((str(i) for i in ids), label_list))
    matchers: dict[int, tuple[Any, Any]] = {}  # id(classes) -> (classes, its matcher), for this call
    for pid, label in latest.items():
        found = store().find(pid)
        if isinstance(found, str) or (wanted is not None and found[0].model[0] != wanted):
            counts["expired" if found == "expired" else "unknown"] += 1
            continue
        batch, row = found
        resolved = store().resolved(batch, _per_row)
        if resolved is None:  # an output with no per-row view
            counts["unknown"] += 1
            continue
        predicted, probas, classes = resolved
        window, task = _windows[batch.model]
        value = _checked(label, classes, task, predicted, matchers)
        outcome = rejected(value)
        if outcome is not None:
            counts[outcome] += 1
            continue
        guess = predicted[row]
        window.add(pid, value, tuple(guess.tolist()) if type(classes) is tuple else guess,
                   None if probas is None else probas[row], batch.classes)
        counts["matched"] += 1
        attrs = _model_attributes(batch.model)
        telemetry.label_delay.record(max(0.0, now - batch.time), attrs)
        if batch.link:
            links.setdefault(batch.model, {})[batch.link] = batch.span_context
    base = _model_attributes((wanted, None)) if wanted else {}
    for outcome, count in counts.items():
        if count:
            telemetry.labels.add(count, {**base, semconv.ML_LABELS_OUTCOME: outcome})
    for key, contexts in links.items():
        span = telemetry.tracer.start_span(
            f"label {key[0]}",
            kind=SpanKind.INTERNAL,
            links=[Link(ctx) for ctx in list(contexts.values())[:MAX_LINKS]],
            attributes={**_model_attributes(key), semconv.ML_PREDICTION_ID_COUNT: len(contexts)},
        )
        try:
            _check_alerts(key, span, telemetry)
        finally:
            span.end()
    return LabelSummary(
        counts["matched"], counts["unknown"], counts["expired"], counts[UNKNOWN_CLASS], counts[INVALID]
    )


def _checked(label: Any, classes: Any, task: str, predicted: np.ndarray, matchers: dict[int, tuple[Any, Any]]) -> Any:
    """The label as it is scored (the class it matches, a float for a regressor), or a
    rejected label (labels.rejected names its outcome)."""
    if task == "regression" or (classes is None and not task and predicted.dtype.kind == "f"):
        return numeric_label(label)
    if classes is None:  # a classifier whose classes are unknown: labels are compared as strings
        return scalar_label(label)
    entry = matchers.get(id(classes))
    if entry is None:
        made = tuple(ClassMatcher(c) for c in classes) if type(classes) is tuple else ClassMatcher(classes)
        entry = matchers[id(classes)] = (classes, made)  # holding classes keeps its id unique
    matcher = entry[1]
    return label_row(label, matcher) if isinstance(matcher, tuple) else matcher.match(label)


def _check_alerts(key: tuple[str, str | None], span: Any, telemetry: Any) -> None:
    alerting = _alerting.get(key)
    if alerting is None:
        return
    thresholds, on_alert = alerting
    values = {
        attrs[semconv.ML_PERFORMANCE_METRIC]: value
        for value, attrs in _observations(key, _windows[key])
    }
    alert_state(key).evaluate(key, values, thresholds, on_alert, span, telemetry.alerts)


def _model_name(model: Any) -> str | None:
    if model is None:
        return None
    if isinstance(model, str):
        known = _known_model_names()
        if model not in known:
            listed = ", ".join(map(repr, sorted(known)[:20])) or "none yet"
            raise ValueError(
                f"modeltel.record_labels(): no model named {model!r} is registered or has made predictions "
                f"in this process (known: {listed})"
            )
        return model
    from modeltel._core.registry import lookup

    info = lookup(model)
    if info is None or info.name is None:
        raise ValueError("modeltel.record_labels(): model= must be a model name or a model registered with a name")
    return info.name


def _known_model_names() -> set[str]:
    """Names a label can be for: models that predicted here, and registered ones."""
    from modeltel._core.registry import registered_names

    return {name for name, _ in list(_windows)} | registered_names()


def _model_attributes(key: tuple[str | None, str | None]) -> dict[str, str]:
    attrs = {semconv.ML_MODEL_NAME: key[0]} if key[0] else {}
    if key[1] is not None:
        attrs[semconv.ML_MODEL_VERSION] = key[1]
    return attrs


def performance_observations() -> Iterable[tuple[float, dict[str, str]]]:
    """(value, attributes) of ml.performance: realized from labels, and CBPE estimates."""
    for key, entry in list(_windows.items()):
        yield from _observations(key, entry)
    for key, metric, value in estimated():
        yield value, {
            **_model_attributes(key),
            semconv.ML_PERFORMANCE_METRIC: metric,
            semconv.ML_PERFORMANCE_SOURCE: "estimated",
        }


def _observations(
    key: tuple[str, str | None], entry: tuple[PerformanceWindow, str]
) -> Iterable[tuple[float, dict[str, str]]]:
    window, task = entry
    if len(window):
        labels, predicted, probas = window.snapshot()
        yield from _metric_points(key, window, task, labels, predicted, probas)


def _metric_points(
    key: tuple[str, str | None], window: PerformanceWindow, task: str,
    labels: list[Any], predicted: list[Any], probas: list[Any],
) -> Iterable[tuple[float, dict[str, str]]]:
    classes = window.classes
    if isinstance(classes, tuple):  # a multi-output classifier: exact match of the whole row
        values = {"accuracy": exact_match_accuracy(labels, predicted)}
    else:
        if not task:
            numeric = np.asarray(predicted).dtype.kind == "f"
            task = "classification" if classes is not None or not numeric else "regression"
        if task == "regression":
            values = regression_metrics(np.asarray(labels, dtype=float), np.asarray(predicted, dtype=float))
        else:
            proba = np.vstack(probas) if probas and all(p is not None for p in probas) else None
            values = classification_metrics(np.asarray(labels), np.asarray(predicted), proba, classes)
    for metric, value in values.items():
        if value == value:  # NaN (e.g. AUC with one class present) is not exported
            yield value, {
                **_model_attributes(key),
                semconv.ML_PERFORMANCE_METRIC: metric,
                semconv.ML_PERFORMANCE_SOURCE: "labels",
            }
