"""Reversible monkey-patching of class attributes with wrapt wrappers."""

from __future__ import annotations

from typing import Any

import wrapt

_MISSING = object()


class Switch:
    """On while its instrumentor is instrumented; wrappers left behind check it and pass
    calls straight through once it is off."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


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
        self.set_attribute(owner, name, wrapt.FunctionWrapper(original, wrapper))

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
