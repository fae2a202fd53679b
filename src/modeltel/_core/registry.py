"""Model identity: what ``register()`` attaches to a model object, and the binding each of its
operations gets (identity attributes, settings, its model's state and observer hooks), built
once and reused on every call."""

from __future__ import annotations

import functools
import itertools
import os
import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._core import runtime, states
from modeltel._core.states import Meter, ModelState
from modeltel._core.telemetry import Telemetry
from modeltel.alerts.thresholds import check_callback, check_thresholds
from modeltel.config import Settings, _validated
from modeltel.drift.reference import Reference
from modeltel.drift.snapshot import use_finder
from modeltel.errors import ModeltelTypeError, ModeltelValueError, WindowError

_revisions = itertools.count(1)


@dataclass
class ModelInfo:
    """What the user told modeltel about one model object."""

    name: str | None = None
    version: str | None = None
    feature_names: tuple[str, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reference: Reference | None = None
    thresholds: dict[str, float] | None = None
    on_alert: Any = None
    # (framework, operation, default name) -> Binding; rebuilt when settings change.
    bindings: dict[tuple[str, str, str], Binding] = field(default_factory=dict, repr=False)
    # Which registration is newer: a model's state follows its latest one.
    revision: int = field(default_factory=lambda: next(_revisions))

    def merged(self, other: ModelInfo) -> ModelInfo:
        """This identity updated with the non-empty fields of ``other``."""
        return ModelInfo(
            name=other.name if other.name is not None else self.name,
            version=other.version if other.version is not None else self.version,
            feature_names=other.feature_names if other.feature_names is not None else self.feature_names,
            options={**self.options, **other.options},
            reference=other.reference if other.reference is not None else self.reference,
            thresholds=other.thresholds if other.thresholds is not None else self.thresholds,
            on_alert=other.on_alert if other.on_alert is not None else self.on_alert,
        )


@dataclass(frozen=True, slots=True)
class Binding:
    """Everything a prediction call needs that does not depend on its arguments."""

    name: str
    framework: str
    operation: str
    span_name: str
    # Identity attributes: on the span and on every metric point (never mutated).
    attributes: dict[str, Any]
    # (name, version): the model as its state, labels and alerts key it.
    model_key: tuple[str, str | None]
    settings: Settings
    feature_names: tuple[str, ...] | None
    generation: int
    state: ModelState
    telemetry: Telemetry
    meter: Meter
    # The observer hooks of the model's concerns, in order (the state's).
    before: tuple[Any, ...]
    after: tuple[Any, ...]
    failed: tuple[Any, ...]

    def error_metric_attributes(self, error_type: str) -> dict[str, Any]:
        return {**self.attributes, semconv.ERROR_TYPE: error_type}


def make_info(
    caller: str,
    name: Any = None,
    version: Any = None,
    feature_names: Any = None,
    options: dict[str, Any] | None = None,
) -> ModelInfo:
    """Validate user-supplied identity and options; errors name the offending argument.

    A ``reference`` option (a ``Reference`` or the path of its JSON file) is loaded here, so
    an unreadable file fails at registration, never in the middle of traffic.
    """
    options = dict(options or {})
    reference = _load_reference(caller, options.pop("reference", None))
    thresholds = check_thresholds(caller, options.pop("thresholds", None)) or None
    on_alert = check_callback(caller, options.pop("on_alert", None))
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ModeltelTypeError(f"{caller}: name must be a non-empty string, got {name!r}")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, (str, int, float)):
            raise ModeltelTypeError(f"{caller}: version must be a string or number, got {version!r}")
        version = str(version)
    if feature_names is not None:
        if isinstance(feature_names, (str, bytes)) or not hasattr(feature_names, "__iter__"):
            raise ModeltelTypeError(f"{caller}: feature_names must be a sequence of strings, got {feature_names!r}")
        feature_names = tuple(str(n) for n in feature_names)
        if len(set(feature_names)) != len(feature_names):
            raise ModeltelValueError(f"{caller}: feature_names contains duplicates")
    return ModelInfo(name, version, feature_names, _validated(caller, options), reference, thresholds, on_alert)


# Methods that make an object a model modeltel can observe (sklearn's, torch's, ONNX's, wrap's).
MODEL_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "score_samples",
    "run",
)


def check_model(caller: str, model: Any) -> None:
    """Refuse what is not a model: ``register(42)`` or ``register("model.pkl")`` would
    otherwise attach options that no prediction ever reads."""
    if (
        model is None
        or isinstance(model, (str, bytes, os.PathLike, int, float, complex, bool))
        or not (callable(model) or any(hasattr(model, m) for m in MODEL_METHODS))
    ):
        hint = (
            " (load the model first: register the object, not its path)"
            if isinstance(model, (str, bytes, os.PathLike))
            else ""
        )
        raise ModeltelTypeError(
            f"{caller} needs a model: an estimator, a torch module, or an object that is callable or has one of "
            f"{', '.join(MODEL_METHODS)}; got {type(model).__qualname__} {model!r:.80}{hint}"
        )


def check_feature_count(caller: str, model: Any, feature_names: tuple[str, ...] | None) -> None:
    """``feature_names`` must match the feature count a fitted model knows (``n_features_in_``);
    models that do not say are checked on their first call instead."""
    if feature_names is None:
        return
    try:
        known = getattr(model, "n_features_in_", None)
    except Exception:  # noqa: BLE001 - a model whose attribute lookup fails does not say
        known = None
    if isinstance(known, int) and not isinstance(known, bool) and known != len(feature_names):
        raise ModeltelValueError(f"{caller}: {len(feature_names)} feature_names for a model fitted on {known} features")


def _load_reference(caller: str, reference: Any) -> Reference | None:
    if reference is None:
        return None
    if isinstance(reference, Reference):
        # Checked here as a file is on load: a bad one must fail registration, not predictions.
        reference.validate(f"{caller}: reference")
        return reference
    if isinstance(reference, (str, os.PathLike)):
        return Reference.load(reference)
    raise ModeltelTypeError(f"{caller}: reference must be a modeltel.Reference or the path of one, got {reference!r}")


_registry: dict[int, tuple[Any, ModelInfo]] = {}
_registry_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_registry_lock")


def _forget_ref(key: int, _ref: Any) -> None:
    _forget(key)


def _forget(key: int) -> None:
    _registry.pop(key, None)


def attach(model: Any, info: ModelInfo) -> None:
    """Associate ``info`` with ``model`` (merging with an earlier registration).

    Kept beside the model, not on it, so a registered model pickles exactly as before.
    Objects that cannot be weakly referenced are held strongly.
    """
    key = id(model)
    with _registry_lock:
        previous = _registry.get(key)
        if previous is not None:
            info = previous[1].merged(info)
        try:
            ref: Any = weakref.ref(model, functools.partial(_forget_ref, key))
        except TypeError:
            ref = model
        _registry[key] = (ref, info)


def registered_names() -> set[str]:
    """The names models were registered (or wrapped, or monitored) with."""
    return {info.name for _, info in list(_registry.values()) if info.name is not None}


def lookup(model: Any) -> ModelInfo | None:
    entry = _registry.get(id(model))
    return None if entry is None else entry[1]


def binding(
    info: ModelInfo | None,
    cache: dict[tuple[str, str, str], Binding],
    framework: str,
    operation: str,
    default_name: str,
    telemetry: Telemetry,
) -> Binding:
    """The cached Binding for (model, operation), rebuilt after a settings change, when its
    model's state was replaced or retired, or for another Telemetry."""
    key = (framework, operation, default_name)
    found = cache.get(key)
    if (
        found is not None
        and found.generation == runtime.generation
        and not found.state.retired
        and found.telemetry is telemetry
    ):
        return found
    generation = runtime.generation
    settings = runtime.current_settings()
    name, version, feature_names, reference = default_name, None, None, None
    thresholds, on_alert, revision = None, None, 0
    if info is not None:
        name = info.name or default_name
        version = info.version
        feature_names = info.feature_names
        settings = settings.replace("modeltel.register()", info.options)
        reference = info.reference
        thresholds, on_alert, revision = info.thresholds, info.on_alert, info.revision
    if reference is None:
        reference = runtime.directory_reference(name)
    model_key = (name, version)
    config = (settings, reference, thresholds, on_alert)
    state = states.state_for(
        model_key,
        (generation, revision),
        config,
        lambda: ModelState(model_key, (generation, revision), settings, reference, thresholds, on_alert),
    )
    attrs: dict[str, Any] = {
        semconv.ML_MODEL_NAME: name,
        semconv.ML_MODEL_FRAMEWORK: framework,
        semconv.ML_OPERATION: operation,
    }
    if version is not None:
        attrs[semconv.ML_MODEL_VERSION] = version
    made = Binding(
        name=name,
        framework=framework,
        operation=operation,
        span_name=f"{operation} {name}",
        attributes=attrs,
        model_key=model_key,
        settings=state.settings,
        feature_names=feature_names,
        generation=generation,
        state=state,
        telemetry=telemetry,
        meter=state.meter(telemetry, attrs),
        before=state.before,
        after=state.after,
        failed=state.failed,
    )
    cache[key] = made
    return made


# Bindings for models nobody registered, keyed by their class (or function).
_class_bindings: dict[Any, dict[tuple[str, str, str], Binding]] = {}


def binding_for(
    model: Any, framework: str, operation: str, default_name: str, cache_key: Any, telemetry: Telemetry
) -> Binding:
    """Binding for a model object: its registration if any, else one shared per class."""
    info = lookup(model)
    if info is not None:
        return binding(info, info.bindings, framework, operation, default_name, telemetry)
    cache = _class_bindings.get(cache_key)
    if cache is None:
        cache = _class_bindings.setdefault(cache_key, {})
    return binding(None, cache, framework, operation, default_name, telemetry)


def find_monitor(model: Any, version: str | None) -> Any:
    """The live DriftMonitor of a model object or name, with errors that say what to do
    (``WindowSnapshot.from_model``, ``save_window``)."""
    live = [state.drift for state in states.live() if state.drift is not None]
    if isinstance(model, str):
        found = [m for m in live if m.name == model and (version is None or m.version == version)]
        what = f"model {model!r}" + (f" version {version!r}" if version is not None else "")
    else:
        info = lookup(model)
        if info is None or info.reference is None:
            raise WindowError(
                f"{type(model).__name__} object has no reference: register it with "
                "modeltel.register(model, reference=...) or pass the model's name"
            )
        found = [
            m
            for m in live
            if m.reference is info.reference
            and (info.name is None or m.name == info.name)
            and (version is None or m.version == version)
        ]
        what = f"model {info.name or type(model).__name__!r}"
    if not found:
        raise WindowError(
            f"no live drift window for {what}: it needs a reference and at least one prediction in this process"
        )
    if len(found) > 1:
        versions = sorted(str(m.version) for m in found)
        raise WindowError(f"{what} has several live windows (versions {versions}): pass version=")
    return found[0]


use_finder(find_monitor)
