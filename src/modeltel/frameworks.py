"""The frameworks modeltel instruments: one row each, read by everything that names one.

Option validation (``frameworks=``, ``MODELTEL_FRAMEWORKS``), ``instrument()`` and
``uninstrument()``, ``wrap()``'s framework attribute and the ``opentelemetry_instrumentor``
entry points (checked against this table by the tests) take a framework's name, the module
an application imports, its ``ml.model.framework`` value, its instrumentor, and how a call's
input is found and its output unwrapped from here. A new framework is a module under
``modeltel/instrumentation/``, one row here and one entry point.

>>> FRAMEWORKS["sklearn"].semconv
'sklearn'
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modeltel import semconv


def first_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The argument that holds the model input: the first positional one, else the first
    keyword argument with a conventional name, else the first keyword argument.

    >>> first_input((), {"X": [[1.0]]})
    [[1.0]]
    """
    if args:
        return args[0]
    for key in ("X", "x", "input", "inputs", "features", "data"):
        if key in kwargs:
            return kwargs[key]
    return next(iter(kwargs.values()), None)


@dataclass(frozen=True)
class Framework:
    """One instrumented framework."""

    name: str  # the name in frameworks= and MODELTEL_FRAMEWORKS, and the entry point's
    module: str  # the module an application imports; patched when it is imported
    semconv: str  # ml.model.framework
    instrumentor: str  # "module:Class" of its BaseInstrumentor
    find_input: Callable[[tuple[Any, ...], dict[str, Any]], Any] = first_input
    # The prediction in what the call returns, for the concerns (None: the return value itself).
    unwrap_output: Callable[[Any], Any] | None = None

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def instrumentor_class(self) -> Any:
        module, _, name = self.instrumentor.partition(":")
        return getattr(importlib.import_module(module), name)


FRAMEWORKS: dict[str, Framework] = {
    f.name: f
    for f in (
        Framework(
            "sklearn", "sklearn", semconv.FRAMEWORK_SKLEARN, "modeltel.instrumentation.sklearn:SklearnInstrumentor"
        ),
        Framework("torch", "torch", semconv.FRAMEWORK_PYTORCH, "modeltel.instrumentation.torch:TorchInstrumentor"),
    )
}
NAMES: tuple[str, ...] = tuple(FRAMEWORKS)


def framework_of(obj: Any) -> str:
    """``ml.model.framework`` of a model object: its framework's by the module its class comes
    from, ``python`` for anything else.

    >>> framework_of(object())
    'python'
    """
    module = type(obj).__module__ or ""
    for framework in FRAMEWORKS.values():
        if module == framework.module or module.startswith(framework.module + "."):
            return framework.semconv
    return semconv.FRAMEWORK_PYTHON
