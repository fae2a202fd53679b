"""One prediction call observed: the span, its summaries, the metrics, the error path.

Every wrapper (sklearn methods, torch modules, ``monitor``/``wrap``) funnels into
``begin``/``Call``. Whatever fails inside modeltel is reported and swallowed; whatever the
model raises is recorded and re-raised untouched.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from modeltel import semconv
from modeltel._core import runtime as state
from modeltel._core.registry import Binding
from modeltel._core.telemetry import Telemetry, report_internal_error, report_usage_warning
from modeltel._sdk.span_attributes import set_prevalidated
from modeltel.alerts.thresholds import watch_for
from modeltel.data.inputs import (
    NOT_READ,
    InputSample,
    InputSummary,
    batch_size,
    finish_input,
    sample_input,
    single_row,
)
from modeltel.drift.monitor import DriftSample
from modeltel.labels.join import remember
from modeltel.labels.join import store as ground_truth_store
from modeltel.labels.store import PredictionIds, current_supplied_ids, set_last_ids
from modeltel.prediction_logs.records import emit as emit_prediction_log
from modeltel.prediction_logs.records import should_log
from modeltel.summaries.outputs import summarize_output

IDLE, PREDICTING, TRAINING = 0, 1, 2

# What the current context is doing. Inner calls made while PREDICTING (a pipeline's steps,
# a module's sub-modules, predict_proba calling decision_function) or TRAINING (scoring
# inside fit) are not predictions of their own.
_phase: contextvars.ContextVar[int] = contextvars.ContextVar("modeltel_phase", default=IDLE)


# The phase of the current context, as a C call: the torch wrapper checks it first on every
# sub-module call (a ResNet makes over a hundred per prediction), where a Python frame counts.
current_phase = _phase.get

try:
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN
except ImportError:  # renamed in some later release: the public check does the same
    _suppressed_keys = None
else:
    _suppressed_keys = (_SUPPRESS_INSTRUMENTATION_KEY, _SUPPRESS_INSTRUMENTATION_KEY_PLAIN)


def _instrumentation_enabled() -> bool:
    """``is_instrumentation_enabled()`` with the current context looked up once, not once per
    key: it runs on every top-level call of every patched method."""
    if _suppressed_keys is None:
        return is_instrumentation_enabled()
    ctx = otel_context.get_current()
    return not (ctx.get(_suppressed_keys[0]) or ctx.get(_suppressed_keys[1]))


def in_model_call() -> bool:
    """True inside an observed prediction or a training call (inner calls are not spans)."""
    return _phase.get() != IDLE


def should_observe() -> bool:
    """True when a call here is a top-level prediction modeltel should record."""
    return state.recording and _phase.get() == IDLE and _instrumentation_enabled()


def observing() -> bool:
    """``should_observe()`` less the phase, for wrappers that checked ``current_phase()``."""
    return state.recording and _instrumentation_enabled()


class _phase_scope:
    """Sets what the current context is doing for the duration of a ``with`` block."""

    __slots__ = ("_token", "_value")

    def __init__(self, value: int) -> None:
        self._value = value

    def __enter__(self) -> None:
        self._token = _phase.set(self._value)

    def __exit__(self, *exc: object) -> None:
        _phase.reset(self._token)


def phase_scope(value: int) -> _phase_scope:
    """Sets the current context's phase (``IDLE``, ``PREDICTING``, ``TRAINING``) for a ``with`` block."""
    return _phase_scope(value)


def training() -> _phase_scope:
    """Marks a training call (``fit`` and friends): inference inside it is not observed."""
    return _phase_scope(TRAINING)


def _fitted_attribute(bind: Binding, model: Any, name: str) -> Any:
    """A scikit-learn style fitted attribute (``classes_``, ``feature_names_in_``) or None.

    Not looked up on torch modules: a miss goes through ``Module.__getattr__`` and raises
    an AttributeError internally, which costs more than the rest of the summary.
    """
    if model is None or bind.framework == semconv.FRAMEWORK_PYTORCH:
        return None
    return getattr(model, name, None)


def _feature_names(bind: Binding, model: Any) -> Any:
    """Registered names, else the estimator's ``feature_names_in_`` (None when neither)."""
    if bind.feature_names is not None:
        return bind.feature_names
    return _fitted_attribute(bind, model, "feature_names_in_")


def _summarizes(settings: Any, rows: int) -> bool:
    """Whether a recording span of a ``rows``-row call gets the input summary."""
    return settings.summaries and rows >= settings.summary_min_rows


def _read_row(x: Any) -> Any:
    """``single_row(x, True)`` for the summary and drift to share; NOT_READ if reading
    failed, so each reads again and reports the failure under its own site as before."""
    try:
        return single_row(x, True)
    except Exception:  # noqa: BLE001
        return NOT_READ


def _input_attributes(
    x: Any, rows: int, bind: Binding, names: Any, attrs: dict[str, Any], row: Any
) -> InputSample | None:
    """Add the batch size and input summary to ``attrs`` (``row``: see sample_input).

    A batch larger than the row budget returns its row sample instead (a copy, so the model
    cannot change it) for ``Call._finish_input_summary`` to finish after the call: only the copy
    sits between the model's calls. With the statistics before a large CPU torch call, more
    processes fell into glibc's heap-trim cycle (every call faulting its activations back in,
    1.7 -> 4.5 ms; deployment.md, benchmarks/heap_trim.py), and after it they run next to the
    output summary's, whose numpy code is then warm."""
    attrs[semconv.ML_BATCH_SIZE] = rows
    settings = bind.settings
    if not _summarizes(settings, rows):
        return None
    summary = sample_input(
        x,
        max_rows=settings.summary_max_rows,
        max_features=settings.summary_max_features,
        feature_names=names,
        device_summaries=settings.device_summaries,
        row=row,
    )
    if type(summary) is InputSample:
        if rows > settings.summary_max_rows:
            return summary
        summary = finish_input(summary)  # the table may be a view of the input: now
    if summary is not None:
        _add_input_summary(summary, bind, attrs)
    return None


def _add_input_summary(summary: InputSummary, bind: Binding, attrs: dict[str, Any]) -> None:
    settings = bind.settings
    if bind.feature_names is not None and summary.feature_count != len(bind.feature_names):
        _feature_count_differs(bind, summary.feature_count)
    attrs[semconv.ML_INPUT_SUMMARY_ROWS] = summary.summary_rows
    attrs[semconv.ML_INPUT_FEATURE_COUNT] = summary.feature_count
    attrs[semconv.ML_INPUT_MISSING_COUNT] = summary.missing
    if settings.features_deny:
        summary = _without_denied(summary, settings.features_deny)
    if summary.names:
        attrs[semconv.ML_INPUT_FEATURE_NAMES] = summary.names
        attrs[semconv.ML_INPUT_FEATURE_MEAN] = summary.mean
        attrs[semconv.ML_INPUT_FEATURE_MIN] = summary.min
        attrs[semconv.ML_INPUT_FEATURE_MAX] = summary.max


def _feature_count_differs(bind: Binding, count: int) -> None:
    report_usage_warning(
        "feature_names", bind.name,
        f"model {bind.name!r} was registered with {len(bind.feature_names or ())} feature_names but was called "
        f"with {count} features; its summaries name them x0, x1, ... instead",
    )


def _without_denied(summary: InputSummary, deny: tuple[str, ...]) -> InputSummary:
    """The summary less the denied features (names and their aligned statistics)."""
    keep = [i for i, name in enumerate(summary.names) if not _denied(name, deny)]
    if len(keep) == len(summary.names):
        return summary
    return summary._replace(
        names=tuple(summary.names[i] for i in keep),
        mean=tuple(summary.mean[i] for i in keep),
        min=tuple(summary.min[i] for i in keep),
        max=tuple(summary.max[i] for i in keep),
    )


def _denied(name: str, deny: tuple[str, ...]) -> bool:
    """Whether a summarised feature is denied: by its name or, for a pandas MultiIndex column
    (named by its tuple's text, ``"('ssn', '')"``), by any of its levels."""
    return name in deny or (name[:1] == "(" and any(level in deny for level in _column_levels(name)))


@functools.lru_cache(maxsize=1024)
def _column_levels(name: str) -> tuple[str, ...]:
    try:
        levels = ast.literal_eval(name)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ()
    return tuple(str(level) for level in levels) if isinstance(levels, tuple) else ()


class Call:
    """An observed prediction in flight: created by ``begin``, closed by ``ok`` or ``failed``.

    Span attributes are gathered into one dict and set once when the call ends: the SDK
    validates and locks per ``set_attributes`` call, and this is the hot path.
    """

    __slots__ = (
        "_attrs",
        "_bind",
        "_ctx_token",
        "_drift",
        "_ids",
        "_model",
        "_phase_token",
        "_rows",
        "_sample",
        "_span",
        "_start",
        "_telemetry",
        "_x",
    )

    def __init__(self, telemetry: Telemetry, bind: Binding, model: Any, x: Any) -> None:
        self._telemetry = telemetry
        self._bind = bind
        self._model = model
        self._x = x
        # Identity attributes are set with the others, past the SDK's per-value validation;
        # head samplers see the span name, which carries the operation and model name.
        span = telemetry.tracer.start_span(bind.span_name, kind=SpanKind.INTERNAL)
        self._span = span
        self._rows = 0
        self._attrs: dict[str, Any] | None = None
        self._sample: InputSample | None = None
        names = None
        # A one-row input both the summary and drift read is read once (one tolist()).
        row = NOT_READ
        try:
            self._rows = batch_size(x)
            names = _feature_names(bind, model)
            recording = span.is_recording()
            if self._rows == 1 and bind.drift is not None and recording and _summarizes(bind.settings, 1):
                row = _read_row(x)
            if recording:
                self._attrs = dict(bind.attributes)
                # Read before the call: the model may mutate its input.
                self._sample = _input_attributes(x, self._rows, bind, names, self._attrs, row)
        except Exception as exc:  # noqa: BLE001 - modeltel must not break the prediction
            report_internal_error("input_summary", exc, telemetry)
        self._ids: PredictionIds | None = None
        try:
            self._ids = _assign_ids(self._rows)
            if self._attrs is not None:
                self._attrs[semconv.ML_PREDICTION_ID] = self._ids.first()
                if self._rows > 1:
                    self._attrs[semconv.ML_PREDICTION_ID_COUNT] = self._rows
        except Exception as exc:  # noqa: BLE001
            report_internal_error("prediction_ids", exc, telemetry)
        self._drift: tuple[DriftSample, Any] | None = None
        if bind.drift is not None:
            # Drift is a metric: it is updated whether or not the span is sampled.
            try:
                pending = bind.drift.sample_inputs(x, self._rows, row)
                if type(pending) is int:
                    self._out_of_range(pending)
                else:
                    self._drift = (pending, names)
                    # A copied sample is binned after the call, like a sampled batch's input
                    # statistics (see _input_attributes); one that may be a view, now.
                    if not pending.copied:
                        self._add_drift_inputs()
            except Exception as exc:  # noqa: BLE001
                report_internal_error("drift_update", exc, telemetry)
        self._ctx_token = otel_context.attach(trace.set_span_in_context(span))
        self._phase_token = _phase.set(PREDICTING)
        # Started last so the timing covers the model call only, not modeltel's own work.
        self._start = time.perf_counter()

    def _out_of_range(self, count: int) -> None:
        if count and self._attrs is not None:
            self._attrs[semconv.ML_INPUT_OUT_OF_RANGE_COUNT] = count

    def _add_drift_inputs(self) -> None:
        """Bin the drift sample taken before the call (see __init__)."""
        pending, names = self._drift
        self._drift = None
        try:
            self._out_of_range(self._bind.drift.add_inputs(pending, names))
        except Exception as exc:  # noqa: BLE001
            report_internal_error("drift_update", exc, self._telemetry)

    def _close_context(self) -> float:
        duration = time.perf_counter() - self._start
        _phase.reset(self._phase_token)
        otel_context.detach(self._ctx_token)
        return duration

    def ok(self, result: Any) -> None:
        duration = self._close_context()
        bind, span, attrs, telemetry = self._bind, self._span, self._attrs, self._telemetry
        try:
            telemetry.record_duration(bind.metric_key, bind.attributes, duration)
            if self._rows:
                telemetry.tally(bind.metric_key, bind.attributes).add(self._rows)
            classes = _fitted_attribute(bind, self._model, "classes_")
        except Exception as exc:  # noqa: BLE001
            report_internal_error("metrics", exc, telemetry)
            classes = None
        # Each concern is guarded on its own: a failure in one (counted under its site)
        # must not silently switch off the others for this call.
        if bind.drift is not None:
            if self._drift is not None:
                self._add_drift_inputs()
            _guarded("drift_update", telemetry, bind.drift.observe_outputs, result, self._rows)
        if bind.thresholds:
            watch = watch_for(bind.model_key, bind.thresholds, bind.on_alert)
            _guarded("alerts", telemetry, watch.after_call, duration, bind.drift, span, telemetry.alerts)
        if self._ids is not None:
            if bind.settings.prediction_log_rate > 0 and should_log(bind.settings):
                names = _feature_names(bind, self._model)
                _guarded("prediction_log", telemetry, emit_prediction_log, bind, self._ids, self._x, result, names, span)
            if self._rows:
                # An invalid context (a non-recording span's) is stored as none.
                _guarded("labels", telemetry, remember, bind, self._ids, span.get_span_context(), result, classes)
        try:
            if attrs is not None and bind.settings.summaries:
                if self._sample is not None:
                    self._finish_input_summary(attrs)
                attrs.update(self._output_attributes(result, classes))
        except Exception as exc:  # noqa: BLE001
            report_internal_error("output_summary", exc, telemetry)
        finally:
            if attrs:
                set_prevalidated(span, attrs)
            span.end()

    def _finish_input_summary(self, attrs: dict[str, Any]) -> None:
        """The statistics of a batch's row sample taken before the call (see _input_attributes)."""
        try:
            _add_input_summary(finish_input(self._sample), self._bind, attrs)
        except Exception as exc:  # noqa: BLE001
            report_internal_error("input_summary", exc, self._telemetry)

    def _output_attributes(self, result: Any, classes: Any) -> dict[str, Any]:
        settings = self._bind.settings
        return summarize_output(
            result,
            operation=self._bind.operation,
            classes=classes,
            is_classifier=classes is not None,
            max_rows=settings.summary_max_rows,
            max_columns=settings.summary_max_features,
            device_summaries=settings.device_summaries,
        )

    def failed(self, exc: BaseException) -> None:
        duration = self._close_context()
        span = self._span
        if self._drift is not None:
            self._add_drift_inputs()
        try:
            error_type = type(exc).__qualname__
            attrs = self._bind.error_metric_attributes(error_type)
            self._telemetry.duration.record(duration, attrs)
            if self._rows:
                key = (*self._bind.metric_key, (semconv.ERROR_TYPE, error_type))
                self._telemetry.tally(key, attrs).add(self._rows)
            if span.is_recording():
                attrs = self._attrs if self._attrs is not None else dict(self._bind.attributes)
                if self._sample is not None:
                    self._finish_input_summary(attrs)
                attrs[semconv.ERROR_TYPE] = error_type
                set_prevalidated(span, attrs)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{error_type}: {exc}"))
        except Exception as internal:  # noqa: BLE001
            report_internal_error("error_path", internal, self._telemetry)
        finally:
            span.end()


def _guarded(site: str, telemetry: Telemetry, fn: Any, *args: Any) -> None:
    """Run one optional concern of a finished call; its failure is counted, never raised."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        report_internal_error(site, exc, telemetry)


def _assign_ids(rows: int) -> PredictionIds:
    """Ids for this call: the caller's (``prediction_ids``) when they fit, else generated."""
    supplied = current_supplied_ids()
    if supplied is not None and len(supplied) != rows:
        report_usage_warning(
            "prediction_ids", "",
            f"prediction_ids() gave {len(supplied)} ids for a call with {rows} rows; ids were generated instead",
        )
        supplied = None
    ids = PredictionIds(ground_truth_store().next_batch(), rows, supplied)
    set_last_ids(ids)
    return ids


def begin(telemetry: Telemetry, bind: Binding, model: Any, x: Any) -> Call | None:
    """Start observing a prediction; None when modeltel itself failed (then just call through)."""
    try:
        return Call(telemetry, bind, model, x)
    except Exception as exc:  # noqa: BLE001
        report_internal_error("span_start", exc, telemetry)
        return None


def observe(telemetry: Telemetry, bind: Binding, model: Any, x: Any, wrapped: Any, args: Any, kwargs: Any) -> Any:
    """Run ``wrapped(*args, **kwargs)`` as an observed prediction and return its result."""
    call = begin(telemetry, bind, model, x)
    if call is None:
        # modeltel failed to observe this prediction; its inner calls must stay inner.
        with _phase_scope(PREDICTING):
            return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    call.ok(result)
    return result


async def observe_async(telemetry: Telemetry, bind: Binding, model: Any, x: Any, wrapped: Any, args: Any, kwargs: Any) -> Any:
    """``observe`` for coroutine functions: the span covers the awaited call."""
    call = begin(telemetry, bind, model, x)
    if call is None:
        # modeltel failed to observe this prediction; its inner calls must stay inner.
        with _phase_scope(PREDICTING):
            return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    call.ok(result)
    return result


def first_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The argument that holds the model input: the first positional one, else the first
    keyword argument with a conventional name, else the first keyword argument."""
    if args:
        return args[0]
    for key in ("X", "x", "input", "inputs", "features", "data"):
        if key in kwargs:
            return kwargs[key]
    return next(iter(kwargs.values()), None)
