"""One prediction call observed: the span, the metrics, the ids, the error path, and the hooks
of the model's concerns (``_observer.py``), run in the order its state bound them.

Every wrapper (sklearn methods, torch modules, ``monitor``/``wrap``) funnels into
``begin``/``Call``. Whatever fails inside modeltel is reported and swallowed; whatever the
model raises is recorded and re-raised untouched.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from modeltel import semconv
from modeltel._core.internal_errors import report_internal_error, report_usage_warning
from modeltel._core.label_store import store
from modeltel._core.phase import PREDICTING, phase_scope, reset_phase, set_phase
from modeltel._core.registry import Binding
from modeltel._core.telemetry import Telemetry
from modeltel._sdk.span_attributes import set_prevalidated
from modeltel.data.kinds import batch_size
from modeltel.data.rows import NOT_READ, single_row
from modeltel.labels.ids import PredictionIds, current_supplied_ids, set_last_ids

# Not yet read for this call (a lazily read value may itself be None).
_UNREAD: Any = object()


class Call:
    """An observed prediction in flight: created by ``begin``, closed by ``ok`` or ``failed``.

    Span attributes are gathered into one dict (``attrs``, None when the span is not
    recording) and set once when the call ends: the SDK validates and locks per
    ``set_attributes`` call, and this is the hot path.
    """

    __slots__ = (
        "_classes",
        "_ctx_token",
        "_deferred",
        "_names",
        "_phase_token",
        "_row",
        "_start",
        "attrs",
        "bind",
        "duration",
        "ids",
        "model",
        "rows",
        "span",
        "telemetry",
        "x",
    )

    def __init__(self, telemetry: Telemetry, bind: Binding, model: Any, x: Any) -> None:
        self.telemetry = telemetry
        self.bind = bind
        self.model = model
        self.x = x
        self.duration = 0.0
        self._row = self._names = self._classes = _UNREAD
        # Identity attributes are set with the others, past the SDK's per-value validation;
        # head samplers see the span name, which carries the operation and model name.
        span = telemetry.tracer.start_span(bind.span_name, kind=SpanKind.INTERNAL)
        self.span = span
        self.rows = 0
        self.attrs: dict[str, Any] | None = None
        try:
            self.rows = batch_size(x)
            if span.is_recording():
                self.attrs = attrs = dict(bind.attributes)
                attrs[semconv.ML_BATCH_SIZE] = self.rows
        except Exception as exc:  # noqa: BLE001 - modeltel must not break the prediction
            report_internal_error("input_summary", exc, telemetry)
        self.ids: PredictionIds | None = None
        try:
            self.ids = _assign_ids(self.rows, telemetry)
            if self.attrs is not None:
                self.attrs[semconv.ML_PREDICTION_ID] = self.ids.first()
                if self.rows > 1:
                    self.attrs[semconv.ML_PREDICTION_ID_COUNT] = self.rows
        except Exception as exc:  # noqa: BLE001
            report_internal_error("prediction_ids", exc, telemetry)
        # Read before the call: the model may change its input in place.
        deferred = None
        for observer in bind.before:
            try:
                work = observer.before(self)
            except Exception as exc:  # noqa: BLE001
                report_internal_error(observer.site, exc, telemetry)
                continue
            if work is not None:
                if deferred is None:
                    deferred = [work]
                else:
                    deferred.append(work)
        self._deferred = deferred
        self._ctx_token = otel_context.attach(trace.set_span_in_context(span))
        self._phase_token = set_phase(PREDICTING)
        # Started last so the timing covers the model call only, not modeltel's own work.
        self._start = time.perf_counter()

    # --- what observers read, once per call ---------------------------------------------

    def one_row(self) -> Any:
        """``single_row(x, True)`` read once for every concern; ``NOT_READ`` when reading
        failed, so each reads again and reports the failure under its own site."""
        row = self._row
        if row is _UNREAD:
            try:
                row = single_row(self.x, True)
            except Exception:  # noqa: BLE001
                row = NOT_READ
            self._row = row
        return row

    def feature_names(self) -> Any:
        """Registered names, else the estimator's ``feature_names_in_`` (None when neither)."""
        names = self._names
        if names is _UNREAD:
            names = self.bind.feature_names
            if names is None:
                names = self._fitted("feature_names_in_")
            self._names = names
        return names

    def classes(self) -> Any:
        """The estimator's ``classes_``, or None."""
        classes = self._classes
        if classes is _UNREAD:
            classes = self._classes = self._fitted("classes_")
        return classes

    def _fitted(self, name: str) -> Any:
        """A scikit-learn style fitted attribute, or None. Not looked up on torch modules: a
        miss goes through ``Module.__getattr__`` and raises internally, which costs more than
        the rest of the summary."""
        model = self.model
        if model is None or self.bind.framework == semconv.FRAMEWORK_PYTORCH:
            return None
        try:
            return getattr(model, name, None)
        except Exception as exc:  # noqa: BLE001 - a model whose attribute lookup fails has none
            report_internal_error("metrics", exc, self.telemetry)
            return None

    def usage_warning(self, site: str, message: str) -> None:
        report_usage_warning(site, self.bind.name, message, self.telemetry)

    # --- the end of the call -------------------------------------------------------------

    def _close_context(self) -> float:
        end = time.perf_counter()
        duration = self.duration = end - self._start
        reset_phase(self._phase_token)
        otel_context.detach(self._ctx_token)
        self.bind.state.last_used = end
        return duration

    def _finish_deferred(self) -> None:
        for work in self._deferred or ():
            try:
                work.finish(self)
            except Exception as exc:  # noqa: BLE001
                report_internal_error(work.site, exc, self.telemetry)

    def ok(self, result: Any) -> None:
        duration = self._close_context()
        bind, span, telemetry = self.bind, self.span, self.telemetry
        try:
            try:
                meter = bind.meter
                meter.duration.record(duration)
                if self.rows:
                    meter.tally.add(self.rows)
            except Exception as exc:  # noqa: BLE001
                report_internal_error("metrics", exc, telemetry)
            if self._deferred is not None:
                self._finish_deferred()
            # Each concern is guarded on its own: a failure in one (counted under its site)
            # must not silently switch off the others for this call.
            for observer in bind.after:
                try:
                    observer.after(self, result)
                except Exception as exc:  # noqa: BLE001
                    report_internal_error(observer.site, exc, telemetry)
        finally:
            if self.attrs:
                set_prevalidated(span, self.attrs)
            span.end()

    def failed(self, error: BaseException) -> None:
        duration = self._close_context()
        span, telemetry = self.span, self.telemetry
        try:
            error_type = type(error).__qualname__
            try:
                attrs = self.bind.error_metric_attributes(error_type)
                meter = self.bind.state.meter(telemetry, attrs)
                meter.duration.record(duration)
                if self.rows:
                    meter.tally.add(self.rows)
            except Exception as exc:  # noqa: BLE001
                report_internal_error("error_path", exc, telemetry)
            if self._deferred is not None:
                self._finish_deferred()
            for observer in self.bind.failed:
                try:
                    observer.failed(self, error)
                except Exception as exc:  # noqa: BLE001
                    report_internal_error(observer.site, exc, telemetry)
            if span.is_recording():
                span_attrs = self.attrs if self.attrs is not None else dict(self.bind.attributes)
                span_attrs[semconv.ERROR_TYPE] = error_type
                set_prevalidated(span, span_attrs)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{error_type}: {error}"))
        except Exception as internal:  # noqa: BLE001
            report_internal_error("error_path", internal, telemetry)
        finally:
            span.end()


def _assign_ids(rows: int, telemetry: Telemetry) -> PredictionIds:
    """Ids for this call: the caller's (``prediction_ids``) when they fit, else generated."""
    supplied = current_supplied_ids()
    if supplied is not None and len(supplied) != rows:
        report_usage_warning(
            "prediction_ids",
            "",
            f"prediction_ids() gave {len(supplied)} ids for a call with {rows} rows; ids were generated instead",
            telemetry,
        )
        supplied = None
    ids = PredictionIds(store().next_batch(), rows, supplied)
    set_last_ids(ids)
    return ids


def begin(telemetry: Telemetry, bind: Binding, model: Any, x: Any) -> Call | None:
    """Start observing a prediction; None when modeltel itself failed (then just call through)."""
    try:
        return Call(telemetry, bind, model, x)
    except Exception as exc:  # noqa: BLE001
        report_internal_error("span_start", exc, telemetry)
        return None


def observe(
    telemetry: Telemetry,
    bind: Binding,
    model: Any,
    x: Any,
    wrapped: Any,
    args: Any,
    kwargs: Any,
    unwrap: Any = None,
) -> Any:
    """Run ``wrapped(*args, **kwargs)`` as an observed prediction and return its result;
    ``unwrap(result)`` is what the concerns see of it when given (the framework table's)."""
    call = begin(telemetry, bind, model, x)
    if call is None:
        # modeltel failed to observe this prediction; its inner calls must stay inner.
        with phase_scope(PREDICTING):
            return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    call.ok(result if unwrap is None else _unwrapped(unwrap, result, telemetry))
    return result


def _unwrapped(unwrap: Any, result: Any, telemetry: Telemetry) -> Any:
    try:
        return unwrap(result)
    except Exception as exc:  # noqa: BLE001 - the caller gets its result whatever happens here
        report_internal_error("output_summary", exc, telemetry)
        return result


async def observe_async(
    telemetry: Telemetry, bind: Binding, model: Any, x: Any, wrapped: Any, args: Any, kwargs: Any
) -> Any:
    """``observe`` for coroutine functions: the span covers the awaited call."""
    call = begin(telemetry, bind, model, x)
    if call is None:
        # modeltel failed to observe this prediction; its inner calls must stay inner.
        with phase_scope(PREDICTING):
            return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    call.ok(result)
    return result
