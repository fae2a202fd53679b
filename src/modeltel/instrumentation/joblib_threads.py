"""joblib's thread backends: the worker threads carry on what the calling thread is doing.

A forest's ``predict_proba`` (and any ``n_jobs`` meta-estimator) hands its inner estimators'
calls to joblib worker threads, which do not inherit context variables: without this, each
inner call looks top-level and becomes a span of its own, its rows counted again. Process
backends are left alone: their workers are not instrumented.
"""

from __future__ import annotations

from typing import Any

from modeltel._core.phase import IDLE, current_phase, phase_scope
from modeltel.instrumentation.patching import Patcher


class InPhase:
    """A joblib task function run in the phase (predicting, training) of the call that
    dispatched it."""

    __slots__ = ("_function", "_phase")

    def __init__(self, function: Any, phase: int) -> None:
        self._function = function
        self._phase = phase

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with phase_scope(self._phase):
            return self._function(*args, **kwargs)


def _parallel_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    phase = current_phase()
    if phase == IDLE or instance is None or not getattr(getattr(instance, "_backend", None), "uses_threads", False):
        return wrapped(*args, **kwargs)
    if args:
        iterable, rest = args[0], args[1:]
    else:
        iterable, rest = kwargs.pop("iterable"), ()
    tasks = ((InPhase(function, phase), task_args, task_kwargs) for function, task_args, task_kwargs in iterable)
    return wrapped(tasks, *rest, **kwargs)


def patch_joblib(patcher: Patcher) -> None:
    """Make ``joblib.Parallel`` run thread-backend tasks in the dispatching call's phase."""
    import joblib

    patcher.wrap_attribute(joblib.Parallel, "__call__", _parallel_call)
