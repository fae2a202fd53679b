"""Input and output summaries as observers of a model's calls (spans that are recording only).

The input summary reads the input before the model call, which may change it in place; for a
batch larger than the row budget only the row sample is copied then, and its statistics are
finished after the call, next to the output summary's, whose numpy code is then warm.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

from modeltel import semconv
from modeltel._observer import CallView
from modeltel.summaries.inputs import InputSample, InputSummary, finish_input, sample_input
from modeltel.summaries.outputs import summarize_output


class InputSummaryObserver:
    """Batch statistics of the input on the span: per-feature mean, min, max, missing count."""

    __slots__ = ()
    site = "input_summary"

    def before(self, call: CallView) -> PendingInputSummary | None:
        attrs = call.attrs
        settings = call.bind.settings
        if attrs is None or call.rows < settings.summary_min_rows:
            return None
        summary = sample_input(
            call.x,
            max_rows=settings.summary_max_rows,
            max_features=settings.summary_max_features,
            feature_names=call.feature_names(),
            device_summaries=settings.device_summaries,
            row=call.one_row(),
        )
        if isinstance(summary, InputSample):
            if call.rows > settings.summary_max_rows:
                return PendingInputSummary(summary)  # a copy: its statistics can wait
            summary = finish_input(summary)  # the table may be a view of the input: now
        if summary is not None:
            add_input_summary(call, summary, attrs)
        return None


class PendingInputSummary:
    """A batch's row sample (a copy), taken before the call, summarised after it."""

    __slots__ = ("sample",)
    site = "input_summary"

    def __init__(self, sample: InputSample) -> None:
        self.sample = sample

    def finish(self, call: CallView) -> None:
        if call.attrs is not None:
            add_input_summary(call, finish_input(self.sample), call.attrs)


def add_input_summary(call: CallView, summary: InputSummary, attrs: dict[str, Any]) -> None:
    bind = call.bind
    if bind.feature_names is not None and summary.feature_count != len(bind.feature_names):
        call.usage_warning(
            "feature_names",
            f"model {bind.name!r} was registered with {len(bind.feature_names)} feature_names but was called "
            f"with {summary.feature_count} features; its summaries name them x0, x1, ... instead",
        )
    attrs[semconv.ML_INPUT_SUMMARY_ROWS] = summary.summary_rows
    attrs[semconv.ML_INPUT_FEATURE_COUNT] = summary.feature_count
    attrs[semconv.ML_INPUT_MISSING_COUNT] = summary.missing
    deny = bind.settings.features_deny
    if deny:
        summary = without_denied(summary, deny)
    if summary.names:
        attrs[semconv.ML_INPUT_FEATURE_NAMES] = summary.names
        attrs[semconv.ML_INPUT_FEATURE_MEAN] = summary.mean
        attrs[semconv.ML_INPUT_FEATURE_MIN] = summary.min
        attrs[semconv.ML_INPUT_FEATURE_MAX] = summary.max


def without_denied(summary: InputSummary, deny: tuple[str, ...]) -> InputSummary:
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


class OutputSummaryObserver:
    """Class counts, mean confidence of probability rows, or numeric mean/min/max on the span."""

    __slots__ = ()
    site = "output_summary"

    def after(self, call: CallView, result: Any) -> None:
        attrs = call.attrs
        if attrs is None:
            return
        settings = call.bind.settings
        classes = call.classes()
        attrs.update(
            summarize_output(
                result,
                operation=call.bind.operation,
                classes=classes,
                is_classifier=classes is not None,
                max_rows=settings.summary_max_rows,
                max_columns=settings.summary_max_features,
                device_summaries=settings.device_summaries,
            )
        )
