"""Reversible monkey-patching of class attributes with wrapt wrappers."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any, SupportsIndex

import wrapt

from modeltel._core.internal_errors import report_internal_error

_MISSING = object()


class BoundMethodWrapper(wrapt.BoundFunctionWrapper):
    """A wrapped method bound to an instance (or looked up on a class) that pickles and
    copies as the attribute lookup it came from.

    joblib's process backends pickle ``estimator.predict`` and ``clone`` deep-copies
    callables held as parameters; reduced to ``getattr(instance, name)``, the copy is the
    plain method in a process where modeltel is not active and the wrapped one where it is.
    """

    def _lookup(self) -> tuple[Any, str]:
        target = self._self_instance if self._self_instance is not None else self._self_owner
        parent = self._self_parent
        name = getattr(parent, "_self_attribute", None) or parent.__name__
        return target, name

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return getattr, self._lookup()

    def __reduce__(self) -> Any:
        return getattr, self._lookup()

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        target, name = self._lookup()
        return getattr(copy.deepcopy(target, memo), name)


class MethodWrapper(wrapt.FunctionWrapper):
    """``wrapt.FunctionWrapper`` whose bound methods pickle and copy (``BoundMethodWrapper``).

    Unbound, it pickles by its qualified name like the function it wraps (for a function
    decorated at module level that name is the wrapper itself) and copies as itself, as
    functions do.
    """

    __bound_function_wrapper__ = BoundMethodWrapper

    def __init__(self, wrapped: Any, wrapper: Any, attribute: str | None = None) -> None:
        super().__init__(wrapped, wrapper)
        self._self_attribute = attribute

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return self.__qualname__

    def __reduce__(self) -> Any:
        return self.__qualname__

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self


class Switch:
    """On while its instrumentor is instrumented; wrappers left behind check it and pass
    calls straight through once it is off."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


def when_imported(module: str, switch: Switch, patch: Callable[[], None]) -> None:
    """Run ``patch`` now if ``module`` is imported, else right after the application imports it.

    Importing a framework only to patch it costs an application that never uses it: torch
    alone adds some 135,000 objects that every later full garbage collection walks, inside
    whatever prediction triggers it. A hook that runs after ``switch`` went off does nothing,
    and a failure in it is counted, never raised into the application's import.
    """
    if module in sys.modules:
        patch()
        return

    def hook(_module: Any) -> None:
        if not switch.on:
            return
        try:
            patch()
        except Exception as exc:  # noqa: BLE001 - an import must not fail because of modeltel
            report_internal_error("instrument", exc)

    wrapt.register_post_import_hook(hook, module)


class Patcher:
    """Remembers every attribute it replaced so ``restore_all`` can put the originals back.

    A replaced attribute that someone else has since wrapped again (scikit-learn's
    ``set_output`` wraps ``transform`` of new classes) is left alone on restore: restoring
    it would drop their wrapper. The modeltel wrapper inside it passes calls straight
    through once its instrumentor is off.
    """

    def __init__(self) -> None:
        self._patched: list[tuple[type, str, Any, Any]] = []
        self._seen: set[tuple[type, str]] = set()

    def wrap_attribute(self, owner: type, name: str, wrapper: Any) -> None:
        """Wrap ``owner.__dict__[name]`` (a function or descriptor) with ``wrapper``, once."""
        if (owner, name) in self._seen:
            return
        original = owner.__dict__[name]
        self.set_attribute(owner, name, MethodWrapper(original, wrapper, name))

    def set_attribute(self, owner: type, name: str, value: Any) -> None:
        original = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, value)
        self._seen.add((owner, name))
        self._patched.append((owner, name, original, value))

    def restore_all(self) -> None:
        while self._patched:
            owner, name, original, value = self._patched.pop()
            self._seen.discard((owner, name))
            if owner.__dict__.get(name, _MISSING) is not value:
                continue
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

    def __len__(self) -> int:
        return len(self._patched)
