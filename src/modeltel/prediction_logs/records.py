"""Opt-in prediction logs: a sampled fraction of predictions as OpenTelemetry log records.

Each record carries the prediction ids, the model's outputs and its inputs (after the
feature allowlist/denylist), is correlated with the prediction span (trace and span ids),
and is capped in size. Off by default (``prediction_log_rate=0``): inputs are personal data
more often than not. Records go out through the global logger provider, which
``instrument()`` sets up with the OTLP log exporter when the application has none.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import itertools
import json
import math
import random
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber, get_logger

from modeltel import semconv
from modeltel._version import __version__
from modeltel.config import Settings
from modeltel.data.columns import table_columns
from modeltel.data.kinds import is_columnar
from modeltel.data.rows import take_rows
from modeltel.data.values import to_numpy

# Rows of a batch written into one record.
MAX_ROWS = 10
# Inside a row: items of one nested list or dict, and levels of nesting, written at most.
MAX_ITEMS = 100
MAX_DEPTH = 8
EVENT_NAME = "ml.prediction"

_logger = get_logger("modeltel", __version__)
_random = random.Random()


def should_log(settings: Settings) -> bool:
    rate = settings.prediction_log_rate
    return rate > 0 and (rate >= 1 or _random.random() < rate)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


# Values written as their text: they hold no field names a deny list could be about.
_PLAIN = (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal, uuid.UUID)


class _Redactor:
    """Applies the allow and deny lists to one record's inputs, at every depth.

    A label is a column name, a record or nested dict key, or a pandas MultiIndex column
    (a tuple: each level is one name; pandas pads short labels with ``""``, which is skipped).
    A label is dropped when any of its names is denied (``log_features_deny`` or
    ``features_deny``); when ``log_features_allow`` is set, it is kept only when every one of
    its names is allowed, and a nested key must be allowed itself: allowing ``"user"`` keeps
    ``{"user": {...}}`` but only the fields under it that are allowed too. While either list
    is set, a value whose contents cannot be inspected (an arbitrary object) is written as its
    type name, never as its text, which could hold a denied field.
    """

    def __init__(self, settings: Settings) -> None:
        self.deny = frozenset(settings.log_features_deny) | frozenset(settings.features_deny)
        self.allow = frozenset(settings.log_features_allow)
        self.hide_opaque = bool(self.deny or self.allow)
        # Set when a nested container was cut to MAX_ITEMS items or MAX_DEPTH levels.
        self.truncated = False

    def keeps(self, label: Any) -> bool:
        """Whether the column or key ``label`` may be logged."""
        if isinstance(label, tuple):
            names = [str(part) for part in label if str(part) != ""]
        else:
            names = [str(label)]
        if self.deny.intersection(names):
            return False
        return not self.allow or (bool(names) and self.allow.issuperset(names))

    def value(self, value: Any, depth: int = 0) -> Any:
        """``value`` as JSON-ready data, with the keys the lists refuse removed at any depth."""
        if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
            value = value.item()
        if value is None or type(value).__name__ == "NAType":  # pandas.NA, a missing value
            return None
        if isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            return None if math.isnan(value) else value
        if isinstance(value, _PLAIN):
            return str(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, (Mapping, list, tuple, np.ndarray)):
            if depth >= MAX_DEPTH:
                self.truncated = True
                return "<nested too deep>"
            if len(value) > MAX_ITEMS:
                self.truncated = True
            if isinstance(value, Mapping):
                items = itertools.islice(value.items(), MAX_ITEMS)
                return {str(k): self.value(v, depth + 1) for k, v in items if self.keeps(k)}
            elements = value[:MAX_ITEMS].tolist() if isinstance(value, np.ndarray) else value[:MAX_ITEMS]
            return [self.value(v, depth + 1) for v in elements]
        return f"<{type(value).__name__}>" if self.hide_opaque else str(value)

    def rows(self, columns: list[tuple[Any, np.ndarray]]) -> list[dict[str, Any]]:
        """Records from (label, values) columns, keeping only the columns the lists allow."""
        kept = [(str(label), values) for label, values in columns if self.keeps(label)]
        rows = min(len(kept[0][1]), MAX_ROWS) if kept else 0
        return [{name: self.value(values[i], 1) for name, values in kept} for i in range(rows)]


def _inputs(x: Any, names: Any, redactor: _Redactor) -> list[dict[str, Any]]:
    sample = x
    if hasattr(x, "detach"):
        sample = to_numpy(x)
    if isinstance(sample, np.ndarray) and sample.ndim == 1:
        sample = sample.reshape(1, -1)
    if hasattr(sample, "iloc") and hasattr(sample, "columns"):
        # Labels straight from the frame: a MultiIndex column is a tuple of names, each checked.
        part = sample.iloc[:MAX_ROWS]
        return redactor.rows([(label, part.iloc[:, i].to_numpy()) for i, label in enumerate(part.columns)])
    if isinstance(sample, Mapping):
        if not is_columnar(sample):
            return [redactor.value(sample)]
        # Lists as object arrays: rows of nested lists or dicts stay whole, ragged ones too.
        return redactor.rows(
            [
                (
                    label,
                    np.asarray(values[:MAX_ROWS], dtype=object)
                    if isinstance(values, (list, tuple))
                    else np.asarray(values)[:MAX_ROWS],
                )
                for label, values in sample.items()
            ]
        )
    if isinstance(sample, (list, tuple)) and sample and isinstance(sample[0], Mapping):
        return [redactor.value(record) for record in sample[:MAX_ROWS]]
    if isinstance(sample, (np.ndarray, list)) or hasattr(sample, "iloc"):
        sample = sample[:MAX_ROWS] if not hasattr(sample, "iloc") else sample.iloc[:MAX_ROWS]
    elif hasattr(sample, "tocsr"):  # scipy sparse: densify the logged rows only
        sample = sample.tocsr()[:MAX_ROWS]
    columns = table_columns(sample)
    if names is not None and len(names) == len(columns) and all(n == f"x{i}" for i, (n, _) in enumerate(columns)):
        columns = [(str(n), values) for n, (_, values) in zip(names, columns)]
    return redactor.rows(list(columns))


def _outputs(result: Any) -> list[Any]:
    values = to_numpy(result)
    values = take_rows(values, MAX_ROWS)[:MAX_ROWS] if values.ndim else values.reshape(1)
    return (
        np.round(values.astype(np.float64), 6).tolist()
        if values.dtype.kind == "f"
        else [_jsonable(v) for v in values.tolist()]
    )


def emit(bind: Any, prediction_ids: Any, x: Any, result: Any, names: Any, span: Any) -> None:
    """Write one prediction record (called only for sampled predictions)."""
    settings = bind.settings
    ids = prediction_ids.as_list(MAX_ROWS)
    body: dict[str, Any] = {
        "prediction_ids": ids,
        "rows": prediction_ids.rows,
        "outputs": _outputs(result),
    }
    redactor = _Redactor(settings)
    if settings.log_inputs:
        body["inputs"] = _inputs(x, names, redactor)
    text = json.dumps(body, default=str, separators=(",", ":"))
    encoded = text.encode()
    cut = len(encoded) > settings.prediction_log_max_bytes
    if cut:
        text = encoded[: settings.prediction_log_max_bytes].decode(errors="ignore")
    truncated = cut or redactor.truncated
    _logger.emit(
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body=text,
        event_name=EVENT_NAME,
        context=trace.set_span_in_context(span),
        attributes={
            **bind.attributes,
            semconv.ML_PREDICTION_ID: ids[0] if ids else "",
            "modeltel.log.truncated": truncated,
        },
    )
