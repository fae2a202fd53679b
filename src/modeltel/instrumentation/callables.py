"""``monitor`` and ``wrap``: observe any Python callable or model object.

They use whatever providers exist (``instrument()`` or not) and pass calls straight through
after ``uninstrument()``.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any, SupportsIndex, TypeVar

import wrapt

from modeltel import semconv
from modeltel._core.call import observe, observe_async
from modeltel._core.phase import should_observe
from modeltel._core.registry import attach, binding_for, check_feature_count, lookup, make_info
from modeltel._core.telemetry import default_telemetry
from modeltel.errors import ModeltelTypeError
from modeltel.frameworks import first_input, framework_of
from modeltel.instrumentation.patching import MethodWrapper

F = TypeVar("F", bound=Callable[..., Any])

# Methods that count as the inference entry of a wrapped object.
ENTRY_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "run",
)
_NAMED_OPERATIONS = frozenset(ENTRY_METHODS)


def _model_input(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if operation == "run":
        # ONNX Runtime: session.run(output_names, input_feed); a single-input feed is that input.
        feed = args[1] if len(args) > 1 else kwargs.get("input_feed")
        if isinstance(feed, dict) and len(feed) == 1:
            return next(iter(feed.values()))
        if feed is not None:
            return feed
    return first_input(args, kwargs)


# (class, method name) -> whether that method is a coroutine function: inspect's check costs
# about a microsecond per call, and the answer is the class's.
_is_async: dict[tuple[type, str], bool] = {}


def _is_coroutine_method(model: Any, operation: str, method: Any) -> bool:
    key = (type(model), operation)
    found = _is_async.get(key)
    if found is not None and (operation == "__call__" or _from_class(model, operation, method)):
        return found
    found = inspect.iscoroutinefunction(method)
    # Cached only when the answer is the class's: calling an instance always goes through
    # its class's __call__, and a method bound from the class's own function. Anything else
    # (an instance attribute shadowing it, a staticmethod) is checked on every call.
    if (operation == "__call__" or _from_class(model, operation, method)) and len(_is_async) < 1024:
        _is_async[key] = found
    return found


def _from_class(model: Any, operation: str, method: Any) -> bool:
    return getattr(method, "__func__", None) is getattr(type(model), operation, None)


def _observed_call(
    handle: Any,
    model: Any,
    framework: str,
    operation: str,
    default_name: str,
    method: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    is_async: bool,
) -> Any:
    """Observe ``method(*args, **kwargs)`` as a prediction of the model ``handle`` names."""
    if not should_observe():
        return method(*args, **kwargs)
    telemetry = default_telemetry()
    bind = binding_for(handle, framework, operation, default_name, type(handle), telemetry)
    x = _model_input(operation, args, kwargs)
    if is_async:
        return observe_async(telemetry, bind, model, x, method, args, kwargs)
    return observe(telemetry, bind, model, x, method, args, kwargs)


def monitor(name: Any = None, version: Any = None, **options: Any) -> Any:
    """Decorate a sync or async function (or method) so every call is an observed prediction.

    The model is named ``name`` or, by default, the function's qualified name; options are
    those of ``register``. Works with or without ``instrument()``.

    >>> @modeltel.monitor("churn", version="3")
    ... def predict(features):
    ...     return model.predict(features)
    """
    if callable(name) and version is None and not options:
        return monitor()(name)  # bare @modeltel.monitor
    feature_names = options.pop("feature_names", None)
    info = make_info("modeltel.monitor()", name, version, feature_names, options)

    def decorate(fn: F) -> F:
        if not callable(fn):
            raise ModeltelTypeError(f"modeltel.monitor() decorates callables, got {fn!r}")
        operation = getattr(fn, "__name__", "")
        operation = operation if operation in _NAMED_OPERATIONS else "call"
        default_name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        handle: list[Any] = []
        is_async = inspect.iscoroutinefunction(fn)

        # For a coroutine function this returns the coroutine of observe_async, so the span
        # covers the awaited work.
        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return _observed_call(
                handle[0],
                instance,
                semconv.FRAMEWORK_PYTHON,
                operation,
                default_name,
                wrapped,
                args,
                kwargs,
                is_async,
            )

        wrapped_fn = MethodWrapper(fn, wrapper)
        handle.append(wrapped_fn)
        attach(wrapped_fn, info)
        return wrapped_fn  # type: ignore[return-value]

    return decorate


class _ObservedMethod:
    """``proxy.predict`` and the like: one observed call of the model's method.

    An object rather than a closure so it pickles and copies as the lookup it came from,
    ``getattr(proxy, operation)`` (the proxy pickles as the bare model).
    """

    __slots__ = ("_is_async", "_method", "_operation", "_proxy")

    def __init__(self, proxy: ModelProxy, operation: str, method: Any, is_async: bool) -> None:
        self._proxy = proxy
        self._operation = operation
        self._method = method
        self._is_async = is_async

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        proxy = self._proxy
        # wrapt keeps a proxy's own attributes under _self_ names: any other name is the model's.
        return _observed_call(
            proxy,
            proxy.__wrapped__,
            proxy._self_framework,  # noqa: SLF001
            self._operation,
            proxy._self_default_name,  # noqa: SLF001
            self._method,
            args,
            kwargs,
            self._is_async,
        )

    def __reduce__(self) -> Any:
        return getattr, (self._proxy, self._operation)

    def __getattr__(self, name: str) -> Any:
        # __name__, __doc__ and the like read as the model's own method's.
        return getattr(self._method, name)


def _entry_property(operation: str) -> property:
    def get(self: ModelProxy) -> Any:
        model = self.__wrapped__
        method = getattr(model, operation)  # AttributeError keeps hasattr() honest
        return _ObservedMethod(self, operation, method, _is_coroutine_method(model, operation, method))

    return property(get)


class ModelProxy(wrapt.ObjectProxy):
    """A model object whose inference methods are observed; everything else passes through."""

    def __init__(self, wrapped: Any, framework: str) -> None:
        super().__init__(wrapped)
        self._self_framework = framework
        self._self_default_name = type(wrapped).__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        model = self.__wrapped__
        return _observed_call(
            self,
            model,
            self._self_framework,
            "call",
            self._self_default_name,
            model,
            args,
            kwargs,
            _is_coroutine_method(model, "__call__", model),
        )

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        # Pickling a wrapped model saves the model itself, not the proxy.
        return self.__wrapped__.__reduce_ex__(protocol)

    def __copy__(self) -> ModelProxy:
        return self._rewrapped(copy.copy(self.__wrapped__))

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelProxy:
        return self._rewrapped(copy.deepcopy(self.__wrapped__, memo))

    def _rewrapped(self, model: Any) -> ModelProxy:
        """A proxy of ``model`` with this proxy's framework and registration."""
        proxy = ModelProxy(model, self._self_framework)
        info = lookup(self)
        if info is not None:
            attach(proxy, info)
        return proxy


for _operation in ENTRY_METHODS:
    setattr(ModelProxy, _operation, _entry_property(_operation))


def wrap(obj: Any, name: Any = None, version: Any = None, **options: Any) -> Any:
    """Return ``obj`` observed: a callable gets a wrapped callable, an object whose
    ``predict``/``predict_proba``/``run``/``__call__`` is its inference entry (an XGBoost
    booster, an ONNX session, a plain class) gets a proxy that behaves like it.

    >>> class Session:  # an ONNX Runtime session's shape: run(output_names, input_feed)
    ...     def run(self, output_names, feed):
    ...         return [feed["input"].sum(axis=1)]
    >>> session = modeltel.wrap(Session(), name="ranker")
    >>> session.run(None, {"input": X[:2]})[0].shape
    (2,)
    """
    feature_names = options.pop("feature_names", None)
    info = make_info("modeltel.wrap()", name, version, feature_names, options)
    if obj is None:
        raise ModeltelTypeError("modeltel.wrap() needs a model or a callable, got None")
    if inspect.isroutine(obj) or isinstance(obj, (functools.partial, type)):
        return monitor(name, version, feature_names=feature_names, **options)(obj)
    if not (callable(obj) or any(hasattr(obj, m) for m in ENTRY_METHODS)):
        raise ModeltelTypeError(
            f"modeltel.wrap() needs a callable or an object with one of "
            f"{', '.join(ENTRY_METHODS)} or __call__; {type(obj).__qualname__} has none"
        )
    check_feature_count("modeltel.wrap()", obj, info.feature_names)
    proxy = ModelProxy(obj, framework_of(obj))
    attach(proxy, info)
    return proxy
