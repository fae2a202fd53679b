"""Process-wide modeltel state: the active settings and whether recording is on.

Recording starts on (``monitor``/``wrap`` work without ``instrument()``), and
``uninstrument()`` turns it off so every wrapper passes straight through.
"""

from __future__ import annotations

import threading

from modeltel.config import Settings, settings_from_env

_lock = threading.Lock()
_settings: Settings | None = None
# Bumped whenever settings change, so cached per-model bindings know to rebuild.
generation = 0
recording = True


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


def set_recording(on: bool) -> None:
    global recording
    recording = on
