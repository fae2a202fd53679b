"""Process-wide modeltel state: the active settings and whether recording is on.

Recording starts on (``monitor``/``wrap`` work without ``instrument()``), unless
``MODELTEL_ENABLED=false`` (the ops kill switch: then every wrapper passes straight through
and ``instrument()`` does nothing); ``uninstrument()`` turns it off too.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from modeltel import _forksafe as forksafe
from modeltel.config import Settings, enabled_from_env, settings_from_env

_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_lock")
_settings: Settings | None = None
# Bumped whenever settings change, so cached per-model bindings know to rebuild.
generation = 0


def _enabled_at_start() -> bool:
    try:
        return enabled_from_env()
    except ValueError:
        return True  # a bad value is reported by instrument(), not at import


recording = _enabled_at_start()


def current_settings() -> Settings:
    """The global settings (from ``MODELTEL_*`` env vars until ``instrument()`` sets them)."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = settings_from_env()
    return _settings


def set_settings(settings: Settings) -> None:
    global _settings, generation
    with _lock:
        _settings = settings
        generation += 1


# MODELTEL_REFERENCE_DIR: model name -> Reference, loaded (and so checked) by instrument().
_directory_references: dict[str, Any] = {}


def set_directory_references(references: dict[str, Any]) -> None:
    global _directory_references, generation
    with _lock:
        _directory_references = dict(references)
        generation += 1


def directory_reference(model_name: str) -> Any:
    return _directory_references.get(model_name)


def bump() -> None:
    """Make every cached binding rebuild on its next call (its model's state is checked again)."""
    global generation
    with _lock:
        generation += 1


def set_recording(on: bool) -> None:
    global recording
    recording = on
