"""What the current context is doing: idle, predicting or training.

Inner calls made while PREDICTING (a pipeline's steps, a module's sub-modules, predict_proba
calling decision_function) or TRAINING (scoring inside fit) are not predictions of their own.
"""

from __future__ import annotations

import contextvars

from modeltel._core import runtime
from modeltel._sdk.suppression import instrumentation_enabled

IDLE, PREDICTING, TRAINING = 0, 1, 2

_phase: contextvars.ContextVar[int] = contextvars.ContextVar("modeltel_phase", default=IDLE)

# The phase of the current context, as a C call: the torch wrapper checks it first on every
# sub-module call (a ResNet makes over a hundred per prediction), where a Python frame counts.
current_phase = _phase.get
set_phase = _phase.set
reset_phase = _phase.reset


def in_model_call() -> bool:
    """True inside an observed prediction or a training call (inner calls are not spans)."""
    return _phase.get() != IDLE


def should_observe() -> bool:
    """True when a call here is a top-level prediction modeltel should record."""
    return runtime.recording and _phase.get() == IDLE and instrumentation_enabled()


def observing() -> bool:
    """``should_observe()`` less the phase, for wrappers that checked ``current_phase()``."""
    return runtime.recording and instrumentation_enabled()


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
    """Sets the current context's phase (``IDLE``, ``PREDICTING``, ``TRAINING``) for a ``with`` block.

    >>> with phase_scope(TRAINING):
    ...     pass
    """
    return _phase_scope(value)


def training() -> _phase_scope:
    """Marks a training call (``fit`` and friends): inference inside it is not observed.

    >>> with training():
    ...     pass
    """
    return _phase_scope(TRAINING)
