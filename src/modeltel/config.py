"""Settings: defaults, ``MODELTEL_*`` environment variables and keyword options, validated.

Precedence, highest first: options given to ``register``/``monitor``/``wrap`` for one model,
options given to ``instrument()``, environment variables, defaults. Bad values fail at the
call that supplies them (start-up), never in the middle of traffic.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

from modeltel.drift import methods as drift_methods

SUPPORTED_FRAMEWORKS: tuple[str, ...] = ("sklearn", "torch")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Effective configuration. Field names are the option names users pass."""

    # Compute input/output summaries on recording spans.
    summaries: bool = True
    # Row budget: summaries use at most this many rows, sampled evenly, so their cost does
    # not grow with batch size.
    summary_max_rows: int = 256
    # Feature budget: at most this many features are summarised on a span.
    summary_max_features: int = 64
    # Privacy: calls with fewer rows get no input summary (one row's mean/min/max are its raw
    # values). 1 summarises every call.
    summary_min_rows: int = 1
    # Privacy: features whose values never leave the process, in any signal: left out of span
    # summaries, prediction logs and the opt-in distribution export.
    features_deny: tuple[str, ...] = ()
    # Trace torch modules in training mode too (off: training loops would flood spans).
    torch_training: bool = False
    # Summarise tensors that live on an accelerator. Off by default: copying them to the
    # host synchronises the device on the prediction path.
    device_summaries: bool = False
    # Drift window: the last this-many rows (row-based; see drift_window_seconds).
    drift_window: int = 5000
    # Rows binned for drift of a call larger than summary_max_rows (evenly spaced; each stands
    # for rows / sampled rows; smaller calls are binned whole). The window keeps blocks until
    # it holds 1,000 sampled rows, so this trades how far back a window of large batches
    # reaches against what each large call pays (10,000 rows: drift update 122 -> 73 us).
    drift_sample_rows: int = 64
    # When > 0, the window is the last this-many seconds instead.
    drift_window_seconds: float = 0.0
    # Statistics exported per feature as ml.drift.score (docs/drift.md).
    drift_methods: tuple[str, ...] = ("psi",)
    # Opt-in fleet histogram ml.input.distribution (rows per feature and bin).
    export_distribution: bool = False
    # Cardinality cap of ml.input.distribution: at most this many features.
    distribution_max_features: int = 50
    # "classification" or "regression" for ml.performance; "" infers it from the outputs.
    task: str = ""
    # Labelled predictions ml.performance is computed over (per model).
    performance_window: int = 1000
    # Prediction store for record_labels (process-wide, read from instrument()'s settings).
    # 0 keeps no predictions (globally, or per model with register()): for models whose
    # labels never come back, it saves the per-call copy of the output.
    label_store_max_entries: int = 100_000
    label_store_max_age: float = 7 * 24 * 3600.0
    # Opt-in prediction logs: fraction of predictions logged (0 = off), record size cap,
    # whether inputs are included, and feature allow/deny lists for redaction.
    prediction_log_rate: float = 0.0
    prediction_log_max_bytes: int = 8192
    log_inputs: bool = True
    log_features_allow: tuple[str, ...] = ()
    log_features_deny: tuple[str, ...] = ()

    def replace(self, caller: str, options: Mapping[str, Any]) -> Settings:
        """Return a copy with ``options`` applied, checked by name and type."""
        if not options:
            return self
        return dataclasses.replace(self, **_validated(caller, options))


MODEL_OPTIONS: frozenset[str] = frozenset(f.name for f in dataclasses.fields(Settings))
# Integer options for which 0 means "off"; every other one must be at least 1.
_ZERO_MEANS_OFF = frozenset({"label_store_max_entries"})
# Float options with an upper bound (every float option is at least 0).
_FLOAT_MOST: dict[str, float] = {"prediction_log_rate": 1.0}


def _least(field: str) -> int:
    """The smallest value an integer option accepts."""
    return 0 if field in _ZERO_MEANS_OFF else 1


# Environment variable -> Settings field.
_ENV_FIELDS: dict[str, str] = {
    "MODELTEL_SUMMARIES": "summaries",
    "MODELTEL_SUMMARY_MAX_ROWS": "summary_max_rows",
    "MODELTEL_SUMMARY_MAX_FEATURES": "summary_max_features",
    "MODELTEL_SUMMARY_MIN_ROWS": "summary_min_rows",
    "MODELTEL_FEATURES_DENY": "features_deny",
    "MODELTEL_TORCH_TRAINING": "torch_training",
    "MODELTEL_DEVICE_SUMMARIES": "device_summaries",
    "MODELTEL_DRIFT_WINDOW": "drift_window",
    "MODELTEL_DRIFT_SAMPLE_ROWS": "drift_sample_rows",
    "MODELTEL_DRIFT_WINDOW_SECONDS": "drift_window_seconds",
    "MODELTEL_DRIFT_METHODS": "drift_methods",
    "MODELTEL_EXPORT_DISTRIBUTION": "export_distribution",
    "MODELTEL_DISTRIBUTION_MAX_FEATURES": "distribution_max_features",
    "MODELTEL_TASK": "task",
    "MODELTEL_PERFORMANCE_WINDOW": "performance_window",
    "MODELTEL_LABEL_STORE_MAX_ENTRIES": "label_store_max_entries",
    "MODELTEL_LABEL_STORE_MAX_AGE": "label_store_max_age",
    "MODELTEL_PREDICTION_LOG_RATE": "prediction_log_rate",
    "MODELTEL_PREDICTION_LOG_MAX_BYTES": "prediction_log_max_bytes",
    "MODELTEL_LOG_INPUTS": "log_inputs",
    "MODELTEL_LOG_FEATURES_ALLOW": "log_features_allow",
    "MODELTEL_LOG_FEATURES_DENY": "log_features_deny",
}

DRIFT_METHODS: tuple[str, ...] = drift_methods.NAMES
TASKS: tuple[str, ...] = ("classification", "regression", "")


def _field_types() -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(Settings)}


def _check_value(name: str, value: Any, where: str, *, env_raw: str | None = None) -> Any:
    """Check one option's value, the bounds every way of setting it shares.

    ``where`` is the caller (``modeltel.register()``) for an option, or the variable's name for
    a ``MODELTEL_*`` value parsed from ``env_raw``: the error then names the variable and the
    text it held instead of the option and the Python value.
    """
    expected = _field_types()[name]
    if env_raw is None:
        subject, got = f"{where}: option {name!r}", f", got {value!r}"
    else:
        subject, got = f"{where}={env_raw!r}", ""
    if expected is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{subject} must be True or False{got}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{subject} must be an int{got}")
        least = _least(name)
        if value < least:
            raise ValueError(f"{subject} must be >= {least}{got}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise TypeError(f"{subject} must be a number{got}")
        most = _FLOAT_MOST.get(name)
        if value < 0 or (most is not None and value > most):
            bound = ">= 0" if most is None else f">= 0 and <= {most:g}"
            raise ValueError(f"{subject} must be {bound}{got}")
        return float(value)
    if expected is tuple:
        if name == "drift_methods":
            return _check_methods(value, subject)
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"{subject} must be a list of feature names{got}")
        return tuple(value)
    if expected is str:
        if value not in TASKS:
            raise ValueError(f"{subject} must be one of {', '.join(map(repr, TASKS))}{got}")
        return value
    return value


def _check_methods(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{where} must be a list of method names such as ['psi', 'js']")
    methods = tuple(value)
    unknown = sorted(set(methods) - set(DRIFT_METHODS))
    if unknown or not methods:
        raise ValueError(f"{where}: unknown or no drift method(s) {unknown}; choose from {', '.join(DRIFT_METHODS)}")
    return methods


def _validated(caller: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - MODEL_OPTIONS)
    if unknown:
        raise TypeError(
            f"{caller} got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"known options: {', '.join(sorted(MODEL_OPTIONS))}"
        )
    return {name: _check_value(name, value, caller) for name, value in options.items()}


def parse_bool(env_name: str, raw: str) -> bool:
    """Parse a boolean environment variable, naming it in the error."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{env_name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _parse_env_value(env_name: str, field: str, raw: str) -> Any:
    """Parse a ``MODELTEL_*`` value into its option's type, then check it as the option is.

    Only the parsing (text to bool, int, float or list) is the environment's own; the bounds
    are ``_check_value``'s, so a value refused as an option is refused from its variable too.
    """
    expected = _field_types()[field]
    text = raw.strip()
    value: Any
    if expected is bool:
        value = parse_bool(env_name, raw)
    elif expected is tuple:
        value = [p.strip() for p in raw.split(",") if p.strip()]
    elif expected is str:
        value = text
    elif expected is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{env_name}={raw!r} is not a number") from None
    else:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{env_name}={raw!r} is not an integer") from None
    try:
        return _check_value(field, value, env_name, env_raw=raw)
    except TypeError as exc:
        # NaN parses as a float but is no number: a bad value like any other from the env.
        raise ValueError(str(exc)) from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from defaults and ``MODELTEL_*`` variables; bad values raise ValueError."""
    environ = os.environ if environ is None else environ
    values = {
        field: _parse_env_value(env_name, field, environ[env_name])
        for env_name, field in _ENV_FIELDS.items()
        if environ.get(env_name, "").strip()
    }
    return Settings(**values)


# Seconds the flush at exit and on SIGTERM may take (modeltel.shutdown).
DEFAULT_SHUTDOWN_TIMEOUT = 5.0


def shutdown_timeout_from(value: Any, environ: Mapping[str, str] | None = None) -> float:
    """``instrument()``'s ``shutdown_timeout``, else ``MODELTEL_SHUTDOWN_TIMEOUT``, else 5:
    seconds, a number >= 0 (0 exits without flushing)."""
    environ = os.environ if environ is None else environ
    if value is None:
        raw = environ.get("MODELTEL_SHUTDOWN_TIMEOUT", "").strip()
        if not raw:
            return DEFAULT_SHUTDOWN_TIMEOUT
        try:
            parsed = float(raw)
        except ValueError:
            raise ValueError(f"MODELTEL_SHUTDOWN_TIMEOUT={raw!r} is not a number of seconds") from None
        if not parsed >= 0 or math.isinf(parsed):
            raise ValueError(f"MODELTEL_SHUTDOWN_TIMEOUT={raw!r} must be a finite number of seconds >= 0")
        return parsed
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"modeltel.instrument(): shutdown_timeout must be a number of seconds, got {value!r}")
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"modeltel.instrument(): shutdown_timeout must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def enabled_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """``MODELTEL_ENABLED=false`` turns ``instrument()`` into a no-op (a kill switch for ops)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("MODELTEL_ENABLED", "").strip()
    return parse_bool("MODELTEL_ENABLED", raw) if raw else True


def _framework_list(env_name: str, raw: str) -> list[str]:
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    check_frameworks(names, env_name)
    return names


def check_frameworks(names: Any, where: str) -> list[str]:
    """Validate a list of framework names (``sklearn``, ``torch``)."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{where}: frameworks must be a list of names such as ['sklearn', 'torch']")
    unknown = sorted(set(names) - set(SUPPORTED_FRAMEWORKS))
    if unknown:
        raise ValueError(
            f"{where}: unknown framework(s) {', '.join(map(repr, unknown))}; "
            f"supported: {', '.join(SUPPORTED_FRAMEWORKS)}"
        )
    return list(names)


def frameworks_from_env(
    requested: Any, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Frameworks to patch: the argument, else ``MODELTEL_FRAMEWORKS``, else all; minus
    ``MODELTEL_DISABLED_FRAMEWORKS``."""
    environ = os.environ if environ is None else environ
    if requested is not None:
        chosen = check_frameworks(list(requested) if not isinstance(requested, str) else requested,
                                  "modeltel.instrument()")
    elif environ.get("MODELTEL_FRAMEWORKS", "").strip():
        chosen = _framework_list("MODELTEL_FRAMEWORKS", environ["MODELTEL_FRAMEWORKS"])
    else:
        chosen = list(SUPPORTED_FRAMEWORKS)
    disabled_raw = environ.get("MODELTEL_DISABLED_FRAMEWORKS", "")
    disabled = set(_framework_list("MODELTEL_DISABLED_FRAMEWORKS", disabled_raw)) if disabled_raw.strip() else set()
    return [name for name in chosen if name not in disabled]
