"""Opt-in prediction logs: a sampled fraction of predictions as OpenTelemetry log records.

Each record carries the prediction ids, the model's outputs and its inputs (after the
feature allowlist/denylist), is correlated with the prediction span (trace and span ids),
and is capped in size. Off by default (``prediction_log_rate=0``): inputs are personal data
more often than not. Records go out through the global logger provider, which
``instrument()`` sets up with the OTLP log exporter when the application has none.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber, get_logger

from modeltel import semconv
from modeltel._version import __version__
from modeltel.config import Settings
from modeltel.inputs import take_rows
from modeltel.reference import table_columns

# Rows of a batch written into one record.
MAX_ROWS = 10
EVENT_NAME = "ml.prediction"

_logger = get_logger("modeltel", __version__)
_random = random.Random()


def should_log(settings: Settings) -> bool:
    rate = settings.prediction_log_rate
    return rate > 0 and (rate >= 1 or _random.random() < rate)


def _allowed(name: str, settings: Settings) -> bool:
    if name in settings.log_features_deny or name in settings.features_deny:
        return False
    return not settings.log_features_allow or name in settings.log_features_allow


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _inputs(x: Any, names: Any, settings: Settings) -> list[dict[str, Any]]:
    sample = x
    if hasattr(x, "detach"):
        sample = x.detach().cpu().numpy()
    if isinstance(sample, np.ndarray) and sample.ndim == 1:
        sample = sample.reshape(1, -1)
    if isinstance(sample, (np.ndarray, list)) or hasattr(sample, "iloc"):
        sample = sample[:MAX_ROWS] if not hasattr(sample, "iloc") else sample.iloc[:MAX_ROWS]
    elif isinstance(sample, dict):
        sample = [sample]
    columns = table_columns(sample)
    if names is not None and len(names) == len(columns) and all(n == f"x{i}" for i, (n, _) in enumerate(columns)):
        columns = [(str(n), values) for n, (_, values) in zip(names, columns)]
    kept = [(name, values) for name, values in columns if _allowed(name, settings)]
    rows = len(kept[0][1]) if kept else 0
    return [{name: _jsonable(values[i]) for name, values in kept} for i in range(rows)]


def _outputs(result: Any) -> list[Any]:
    values = result.detach().cpu().numpy() if hasattr(result, "detach") else np.asarray(result)
    values = take_rows(values, MAX_ROWS)[:MAX_ROWS] if values.ndim else values.reshape(1)
    return np.round(values.astype(np.float64), 6).tolist() if values.dtype.kind == "f" else [_jsonable(v) for v in values.tolist()]


def emit(bind: Any, prediction_ids: Any, x: Any, result: Any, names: Any, span: Any) -> None:
    """Write one prediction record (called only for sampled predictions)."""
    settings = bind.settings
    ids = prediction_ids.as_list(MAX_ROWS)
    body: dict[str, Any] = {
        "prediction_ids": ids,
        "rows": prediction_ids.rows,
        "outputs": _outputs(result),
    }
    if settings.log_inputs:
        body["inputs"] = _inputs(x, names, settings)
    text = json.dumps(body, default=str, separators=(",", ":"))
    truncated = len(text.encode()) > settings.prediction_log_max_bytes
    if truncated:
        text = text.encode()[: settings.prediction_log_max_bytes].decode(errors="ignore")
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
