"""``instrument``, ``uninstrument`` and ``register``: the one line and its companions."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from modeltel import _forksafe as forksafe
from modeltel._core import runtime as state
from modeltel._core import shutdown
from modeltel._core.providers import (
    check_environment,
    flush_on_sigterm,
    install_providers,
    unconfigured_signals,
)
from modeltel._core.registry import attach, check_feature_count, check_model, make_info
from modeltel.config import enabled_from_env, frameworks_from_env, settings_from_env, shutdown_timeout_from
from modeltel.drift.reference import InvalidReferenceError, Reference
from modeltel.errors import ModeltelTypeError, ModeltelValueError
from modeltel.frameworks import FRAMEWORKS

_logger = logging.getLogger("modeltel")
_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_lock")


def _instrumentor(framework: str) -> BaseInstrumentor:
    return FRAMEWORKS[framework].instrumentor_class()()


def _installed(framework: str) -> bool:
    return FRAMEWORKS[framework].installed()


def instrument(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    frameworks: list[str] | None = None,
    shutdown_timeout: float | None = None,
    **options: Any,
) -> None:
    """Instrument every supported ML framework in this process; call once at start-up.

    Providers the application already configured are used as they are; the others get SDK
    providers exporting OTLP (``OTEL_*`` variables, ``service_name`` and ``endpoint``
    overriding). ``frameworks`` limits patching (default: every supported one installed);
    ``options`` are defaults for every model (see ``register``). At exit and on SIGTERM the
    providers it installed flush for at most ``shutdown_timeout`` seconds (default
    ``MODELTEL_SHUTDOWN_TIMEOUT``, else 5), so an unreachable collector cannot hold the exit
    past a pod's grace period. Calling it again changes only the options and the bound. Raises ``TypeError``/``ValueError`` naming any bad argument or
    ``MODELTEL_*``/``OTEL_*`` variable.

    >>> import modeltel
    >>> modeltel.instrument(service_name="fraud-api")
    """
    if not enabled_from_env():
        _logger.info("modeltel: MODELTEL_ENABLED is false; instrument() does nothing")
        return
    settings = settings_from_env().replace("modeltel.instrument()", options)
    if service_name is not None and (not isinstance(service_name, str) or not service_name):
        raise ModeltelTypeError(f"modeltel.instrument(): service_name must be a non-empty string, got {service_name!r}")
    if endpoint is not None and (not isinstance(endpoint, str) or "://" not in endpoint):
        raise ModeltelValueError(
            f"modeltel.instrument(): endpoint must be a URL such as http://localhost:4317, got {endpoint!r}"
        )
    bound = shutdown_timeout_from(shutdown_timeout)
    names = frameworks_from_env(frameworks)
    explicit = frameworks is not None
    for name in names:
        if explicit and not _installed(name):
            raise ModeltelValueError(f"modeltel.instrument(): frameworks includes {name!r} but it is not installed")
    check_environment()
    references = _directory_references()
    with _lock:
        state.set_directory_references(references)
        missing = unconfigured_signals()
        if missing:
            installed = install_providers(missing, service_name=service_name, endpoint=endpoint)
            shutdown.own(list(installed.values()), bound)
            flush_on_sigterm()
        elif service_name is not None or endpoint is not None:
            _logger.info(
                "modeltel: OpenTelemetry providers are already configured; "
                "service_name/endpoint are left to that configuration"
            )
        shutdown.set_timeout(bound)
        state.set_settings(settings)
        state.set_recording(True)
        for name in names:
            if not _installed(name):
                continue
            instrumentor = _instrumentor(name)
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument()


def _directory_references() -> dict[str, Reference]:
    """``MODELTEL_REFERENCE_DIR``: every ``NAME.json`` in it is the reference of model NAME.

    Loaded here so a missing directory or a bad file fails ``instrument()`` by name.
    """
    raw = os.environ.get("MODELTEL_REFERENCE_DIR", "").strip()
    if not raw:
        return {}
    directory = Path(raw)
    if not directory.is_dir():
        raise InvalidReferenceError(f"MODELTEL_REFERENCE_DIR={raw!r} is not a directory")
    return {path.stem: Reference.load(path) for path in sorted(directory.glob("*.json"))}


def uninstrument() -> None:
    """Restore every patched method; ``monitor``/``wrap`` wrappers then pass calls through.

    >>> modeltel.uninstrument()
    """
    with _lock:
        state.set_recording(False)
        for name in FRAMEWORKS:
            if not _installed(name):
                continue
            instrumentor = _instrumentor(name)
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()


def register(
    model: Any,
    *,
    name: str | None = None,
    version: str | None = None,
    feature_names: list[str] | None = None,
    **options: Any,
) -> Any:
    """Attach identity and per-model options to a model object and return the same object.

    Unregistered models are named by class (sklearn, torch) or qualified function name.
    ``reference=`` (a ``Reference`` or the path of its JSON) turns on drift and data quality
    metrics for the model. Registering again updates the fields given. The model itself is
    not modified.

    >>> clf = modeltel.register(clf, name="fraud", version="2024-06-01",
    ...                         feature_names=["amount", "age"])
    """
    check_model("modeltel.register()", model)
    info = make_info("modeltel.register()", name, version, feature_names, options)
    check_feature_count("modeltel.register()", model, info.feature_names)
    attach(model, info)
    return model
