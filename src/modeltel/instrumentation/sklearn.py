"""scikit-learn: one span per top-level inference call on any estimator.

Inference methods are defined all over the class hierarchy (``predict`` of a logistic
regression lives on ``LinearClassifierMixin``; ``Pipeline.predict_proba`` is an
``available_if`` descriptor), so the instrumentor walks every loaded ``BaseEstimator``
subclass and wraps each inference method where it is defined, once. Classes defined later
(user subclasses, third-party estimators, sklearn modules imported after ``instrument()``)
are caught by a ``BaseEstimator.__init_subclass__`` hook.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from modeltel._core.call import observe
from modeltel._core.phase import should_observe, training
from modeltel._core.registry import binding_for
from modeltel._core.telemetry import Telemetry, telemetry_for
from modeltel.frameworks import FRAMEWORKS
from modeltel.instrumentation.joblib_threads import patch_joblib
from modeltel.instrumentation.patching import Patcher, Switch, when_imported

_INSTRUMENTS = ("scikit-learn >= 1.0",)
FRAMEWORK = FRAMEWORKS["sklearn"]
find_input, unwrap = FRAMEWORK.find_input, FRAMEWORK.unwrap_output

INFERENCE_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "score_samples",
)
# Inference calls made inside these (scoring during a grid search, a transformer's transform
# during a pipeline's fit) are part of training, not predictions.
TRAINING_METHODS = ("fit", "fit_transform", "fit_predict", "partial_fit")


def _inference_wrapper(switch: Switch, telemetry: Telemetry, operation: str) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if instance is None or not switch.on or not should_observe():
            return wrapped(*args, **kwargs)
        cls = type(instance)
        bind = binding_for(instance, FRAMEWORK.semconv, operation, cls.__name__, cls, telemetry)
        return observe(telemetry, bind, instance, find_input(args, kwargs), wrapped, args, kwargs, unwrap)

    return wrapper


def _training_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    with training():
        return wrapped(*args, **kwargs)


class SklearnInstrumentor(BaseInstrumentor):
    """Instruments every scikit-learn estimator's inference methods.

    >>> SklearnInstrumentor().instrument()   # or modeltel.instrument(frameworks=["sklearn"])
    """

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton whose __init__ runs on every construction: keep
        # the record of what was patched across them.
        if hasattr(self, "_patcher"):
            return
        self._patcher = Patcher()
        self._switch = Switch()
        self._wrappers: dict[str, Any] = {}

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = telemetry_for(kwargs)
        switch = self._switch = Switch()
        self._wrappers = {name: _inference_wrapper(switch, telemetry, name) for name in INFERENCE_METHODS}
        self._wrappers.update(dict.fromkeys(TRAINING_METHODS, _training_wrapper))
        when_imported("sklearn", switch, self._patch)

    def _patch(self) -> None:
        from sklearn.base import BaseEstimator

        for cls in _all_subclasses(BaseEstimator):
            self._patch_class(cls)
        self._hook_subclasses(BaseEstimator)
        patch_joblib(self._patcher)

    def _patch_class(self, cls: type) -> None:
        for klass in cls.__mro__:
            if klass is object:
                continue
            for name, wrapper in self._wrappers.items():
                if name in klass.__dict__:
                    self._patcher.wrap_attribute(klass, name, wrapper)

    def _hook_subclasses(self, base: type) -> None:
        instrumentor = self
        own = base.__dict__.get("__init_subclass__")

        def __init_subclass__(cls: type, **kwargs: Any) -> None:
            if own is not None:
                own.__get__(None, cls)(**kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
            instrumentor._patch_class(cls)

        self._patcher.set_attribute(base, "__init_subclass__", classmethod(__init_subclass__))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._switch.on = False
        self._patcher.restore_all()


def _all_subclasses(base: type) -> list[type]:
    seen: dict[type, None] = {}
    stack = [base]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen[cls] = None
        stack.extend(cls.__subclasses__())
    return list(seen)


def is_patched(cls: type, name: str) -> bool:
    """True when calling ``cls.name`` runs a modeltel wrapper (for tests and diagnostics).

    The wrapper may sit inside another decorator: scikit-learn's ``set_output`` wraps the
    ``transform`` of classes created after ``instrument()`` around ours.
    """
    for klass in cls.__mro__:
        if name in klass.__dict__:
            attr = klass.__dict__[name]
            while attr is not None:
                if isinstance(attr, (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper)):
                    return True
                attr = getattr(attr, "__wrapped__", None)
            return False
    return False
