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
from modeltel.errors import ModeltelTypeError, ModeltelValueError
from modeltel.frameworks import NAMES as FRAMEWORK_NAMES

SUPPORTED_FRAMEWORKS: tuple[str, ...] = FRAMEWORK_NAMES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


TASKS: tuple[str, ...] = ("classification", "regression", "")
DRIFT_METHODS: tuple[str, ...] = drift_methods.NAMES
ENV_PREFIX = "MODELTEL_"


def _option(
    default: Any,
    doc: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    items: str | None = None,
) -> Any:
    """One option: its default, what it does, and the bounds every way of setting it shares
    (keyword option, ``instrument()`` default, ``MODELTEL_<NAME>`` variable). ``items`` names
    what a list option holds ("feature names", "drift methods")."""
    return dataclasses.field(
        default=default,
        metadata={"doc": doc, "minimum": minimum, "maximum": maximum, "choices": choices, "items": items},
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """Effective configuration. Field names are the option names users pass; each field's
    definition holds its bounds, and its variable is ``MODELTEL_`` + its name in capitals."""

    summaries: bool = _option(True, "compute input/output summaries on recording spans")
    summary_max_rows: int = _option(
        256,
        "row budget: summaries use at most this many rows, sampled evenly, so their cost does not grow with batch size",
        minimum=1,
    )
    summary_max_features: int = _option(64, "feature budget: at most this many features on a span", minimum=1)
    summary_min_rows: int = _option(
        1,
        "privacy: calls with fewer rows get no input summary (one row's mean/min/max are its raw values)",
        minimum=1,
    )
    features_deny: tuple[str, ...] = _option(
        (), "privacy: features whose values leave through no signal", items="feature names"
    )
    torch_training: bool = _option(False, "also trace torch modules in training mode")
    device_summaries: bool = _option(
        False, "summarise tensors on an accelerator (copying them synchronises the device)"
    )
    drift_window: int = _option(5000, "drift window length in rows", minimum=1)
    drift_sample_rows: int = _option(
        64,
        "rows binned for drift of a call larger than summary_max_rows (each stands for rows / sampled rows)",
        minimum=1,
    )
    drift_window_seconds: float = _option(0.0, "when > 0, the drift window is the last this-many seconds", minimum=0)
    drift_methods: tuple[str, ...] = _option(
        ("psi",), "statistics exported per feature as ml.drift.score (docs/drift.md)", items="drift methods"
    )
    export_distribution: bool = _option(False, "opt-in fleet histogram ml.input.distribution")
    distribution_max_features: int = _option(50, "at most this many features in ml.input.distribution", minimum=1)
    task: str = _option("", "classification or regression for ml.performance; empty infers it", choices=TASKS)
    performance_window: int = _option(1000, "labelled predictions ml.performance is computed over", minimum=1)
    label_store_max_entries: int = _option(
        100_000, "predictions kept for record_labels; 0 keeps none (no copy of the output)", minimum=0
    )
    label_store_max_age: float = _option(7 * 24 * 3600.0, "seconds a prediction is kept for record_labels", minimum=0)
    prediction_log_rate: float = _option(0.0, "fraction of predictions logged (0 = off)", minimum=0, maximum=1)
    prediction_log_max_bytes: int = _option(8192, "size cap of one prediction log record", minimum=1)
    log_inputs: bool = _option(True, "include inputs in prediction logs")
    log_features_allow: tuple[str, ...] = _option((), "only these features in prediction logs", items="feature names")
    log_features_deny: tuple[str, ...] = _option((), "features never in prediction logs", items="feature names")

    def replace(self, caller: str, options: Mapping[str, Any]) -> Settings:
        """Return a copy with ``options`` applied, checked by name and type."""
        if not options:
            return self
        return dataclasses.replace(self, **_validated(caller, options))


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(Settings)}
MODEL_OPTIONS: frozenset[str] = frozenset(_FIELDS)


def env_name(option: str) -> str:
    """The variable that sets ``option``.

    >>> env_name("prediction_log_rate")
    'MODELTEL_PREDICTION_LOG_RATE'
    """
    return ENV_PREFIX + option.upper()


# Environment variable -> Settings field.
_ENV_FIELDS: dict[str, str] = {env_name(name): name for name in _FIELDS}


def _field_types() -> dict[str, type]:
    return {name: type(f.default) for name, f in _FIELDS.items()}


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if maximum is None:
        return f">= {minimum:g}"
    return f">= {minimum:g} and <= {maximum:g}"


def _check_value(name: str, value: Any, where: str, *, env_raw: str | None = None) -> Any:
    """Check one option's value against its definition, the bounds every way of setting it shares.

    ``where`` is the caller (``modeltel.register()``) for an option, or the variable's name for
    a ``MODELTEL_*`` value parsed from ``env_raw``: the error then names the variable and the
    text it held instead of the option and the Python value.
    """
    field = _FIELDS[name]
    meta = field.metadata
    expected = type(field.default)
    if env_raw is None:
        subject, got = f"{where}: option {name!r}", f", got {value!r}"
    else:
        subject, got = f"{where}={env_raw!r}", ""
    minimum, maximum = meta["minimum"], meta["maximum"]
    if expected is bool:
        if not isinstance(value, bool):
            raise ModeltelTypeError(f"{subject} must be True or False{got}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModeltelTypeError(f"{subject} must be an int{got}")
    elif expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ModeltelTypeError(f"{subject} must be a number{got}")
        value = float(value)
    if expected in (int, float):
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ModeltelValueError(f"{subject} must be {_bounds(minimum, maximum)}{got}")
        return value
    if expected is tuple:
        if meta["items"] == "drift methods":
            return _check_methods(value, subject)
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ModeltelTypeError(f"{subject} must be a list of {meta['items']}{got}")
        return tuple(value)
    choices = meta["choices"]
    if choices is not None and value not in choices:
        raise ModeltelValueError(f"{subject} must be one of {', '.join(map(repr, choices))}{got}")
    return value


def _check_methods(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ModeltelTypeError(f"{where} must be a list of method names such as ['psi', 'js']")
    methods = tuple(value)
    unknown = sorted(set(methods) - set(DRIFT_METHODS))
    if unknown or not methods:
        raise ModeltelValueError(
            f"{where}: unknown or no drift method(s) {unknown}; choose from {', '.join(DRIFT_METHODS)}"
        )
    return methods


def _validated(caller: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - MODEL_OPTIONS)
    if unknown:
        raise ModeltelTypeError(
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
    raise ModeltelValueError(f"{env_name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


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
            raise ModeltelValueError(f"{env_name}={raw!r} is not a number") from None
    else:
        try:
            value = int(text)
        except ValueError:
            raise ModeltelValueError(f"{env_name}={raw!r} is not an integer") from None
    try:
        return _check_value(field, value, env_name, env_raw=raw)
    except TypeError as exc:
        # NaN parses as a float but is no number: a bad value like any other from the env.
        raise ModeltelValueError(str(exc)) from None


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
            raise ModeltelValueError(f"MODELTEL_SHUTDOWN_TIMEOUT={raw!r} is not a number of seconds") from None
        if not parsed >= 0 or math.isinf(parsed):
            raise ModeltelValueError(f"MODELTEL_SHUTDOWN_TIMEOUT={raw!r} must be a finite number of seconds >= 0")
        return parsed
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModeltelTypeError(f"modeltel.instrument(): shutdown_timeout must be a number of seconds, got {value!r}")
    if not value >= 0 or math.isinf(value):
        raise ModeltelValueError(
            f"modeltel.instrument(): shutdown_timeout must be a finite number of seconds >= 0, got {value!r}"
        )
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
        raise ModeltelTypeError(f"{where}: frameworks must be a list of names such as ['sklearn', 'torch']")
    unknown = sorted(set(names) - set(SUPPORTED_FRAMEWORKS))
    if unknown:
        raise ModeltelValueError(
            f"{where}: unknown framework(s) {', '.join(map(repr, unknown))}; "
            f"supported: {', '.join(SUPPORTED_FRAMEWORKS)}"
        )
    return list(names)


def frameworks_from_env(requested: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """Frameworks to patch: the argument, else ``MODELTEL_FRAMEWORKS``, else all; minus
    ``MODELTEL_DISABLED_FRAMEWORKS``."""
    environ = os.environ if environ is None else environ
    if requested is not None:
        chosen = check_frameworks(
            list(requested) if not isinstance(requested, str) else requested, "modeltel.instrument()"
        )
    elif environ.get("MODELTEL_FRAMEWORKS", "").strip():
        chosen = _framework_list("MODELTEL_FRAMEWORKS", environ["MODELTEL_FRAMEWORKS"])
    else:
        chosen = list(SUPPORTED_FRAMEWORKS)
    disabled_raw = environ.get("MODELTEL_DISABLED_FRAMEWORKS", "")
    disabled = set(_framework_list("MODELTEL_DISABLED_FRAMEWORKS", disabled_raw)) if disabled_raw.strip() else set()
    return [name for name in chosen if name not in disabled]
