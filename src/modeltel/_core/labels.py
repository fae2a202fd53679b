"""``record_labels``: delayed ground truth joined to stored predictions, scored in the model's
state, with the label delay, a ``label {model}`` span linked to the predictions, and the
model's quality thresholds checked."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import Link, SpanKind

from modeltel import semconv
from modeltel._core import registry, states
from modeltel._core.label_store import store
from modeltel._core.telemetry import Telemetry, default_telemetry
from modeltel.errors import ModeltelTypeError, ModeltelValueError
from modeltel.labels.join import checked, model_attributes, per_row, quality_points
from modeltel.labels.matching import INVALID, UNKNOWN_CLASS, LabelSummary, rejected

# Span links per label span: enough for a batch of labels, bounded for the exporter.
MAX_LINKS = 128


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

    >>> with modeltel.prediction_ids(["order-17", "order-18"]):
    ...     _ = clf.predict(X[:2])
    >>> modeltel.record_labels(["order-17", "order-18"], [1, 0])
    LabelSummary(matched=2, unknown=0, expired=0, unknown_class=0, invalid=0)
    """
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__len__"):
        raise ModeltelTypeError(f"modeltel.record_labels(): ids must be a sequence of prediction ids, got {ids!r}")
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise ModeltelTypeError(f"modeltel.record_labels(): labels must be a sequence, got {labels!r}")
    if len(ids) != len(labels):
        raise ModeltelValueError(f"modeltel.record_labels(): {len(ids)} ids but {len(labels)} labels")
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
    predictions = store()
    for pid, label in latest.items():
        found = predictions.find(pid)
        if isinstance(found, str) or (wanted is not None and found[0].model[0] != wanted):
            counts["expired" if found == "expired" else "unknown"] += 1
            continue
        batch, row = found
        state = states.live_state(batch.model)
        if state is None:  # the model's state was retired since: its windows are gone
            counts["expired"] += 1
            continue
        resolved = predictions.resolved(batch, per_row)
        if resolved is None:  # an output with no per-row view
            counts["unknown"] += 1
            continue
        predicted, probas, classes = resolved
        value = checked(label, classes, state.settings.task, predicted, matchers)
        outcome = rejected(value)
        if outcome is not None:
            counts[outcome] += 1
            continue
        guess = predicted[row]
        state.quality.add(
            pid,
            value,
            tuple(guess.tolist()) if type(classes) is tuple else guess,
            None if probas is None else probas[row],
            batch.classes,
        )
        counts["matched"] += 1
        telemetry.label_delay.record(max(0.0, now - batch.time), model_attributes(batch.model))
        if batch.link:
            links.setdefault(batch.model, {})[batch.link] = batch.span_context
    base = model_attributes((wanted, None)) if wanted else {}
    for outcome, count in counts.items():
        if count:
            telemetry.labels.add(count, {**base, semconv.ML_LABELS_OUTCOME: outcome})
    for key, contexts in links.items():
        span = telemetry.tracer.start_span(
            f"label {key[0]}",
            kind=SpanKind.INTERNAL,
            links=[Link(ctx) for ctx in list(contexts.values())[:MAX_LINKS]],
            attributes={**model_attributes(key), semconv.ML_PREDICTION_ID_COUNT: len(contexts)},
        )
        try:
            _check_alerts(key, span, telemetry)
        finally:
            span.end()
    return LabelSummary(counts["matched"], counts["unknown"], counts["expired"], counts[UNKNOWN_CLASS], counts[INVALID])


def _check_alerts(key: tuple[str, str | None], span: Any, telemetry: Telemetry) -> None:
    state = states.live_state(key)
    if state is None or not state.thresholds:
        return
    values = {
        attrs[semconv.ML_PERFORMANCE_METRIC]: value
        for value, attrs in quality_points(key, state.quality, state.settings.task)
    }
    state.alerts.evaluate(key, values, state.thresholds, state.on_alert, span, telemetry.alerts)


def _model_name(model: Any) -> str | None:
    if model is None:
        return None
    if isinstance(model, str):
        known = {state.name for state in states.live()} | registry.registered_names()
        if model not in known:
            listed = ", ".join(map(repr, sorted(known)[:20])) or "none yet"
            raise ModeltelValueError(
                f"modeltel.record_labels(): no model named {model!r} is registered or has made predictions "
                f"in this process (known: {listed})"
            )
        return model
    info = registry.lookup(model)
    if info is None or info.name is None:
        raise ModeltelValueError(
            "modeltel.record_labels(): model= must be a model name or a model registered with a name"
        )
    return info.name
