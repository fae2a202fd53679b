"""The errors modeltel raises for what it is given: one base, ``ModeltelError``.

Each is also the builtin error of its kind (``ValueError``, ``TypeError``), so code that
catches those keeps working. They are raised at the call that supplies the bad value
(``instrument``, ``register``, ``Reference.load``, ...), never from inside a prediction.

>>> try:
...     modeltel.register(42)
... except modeltel.ModeltelError as exc:
...     print(type(exc).__name__)
ModeltelTypeError
"""

from __future__ import annotations


class ModeltelError(Exception):
    """Base of every error modeltel raises for an argument, option, variable or file."""


class ModeltelValueError(ModeltelError, ValueError):
    """A value modeltel cannot use; the message names the argument and the problem."""


class ModeltelTypeError(ModeltelError, TypeError):
    """A value of the wrong type; the message names the argument and what it must be."""


class InvalidReferenceError(ModeltelValueError):
    """A reference that cannot be built, read or used; the message names the file and field.
    Called ``modeltel.ReferenceError`` before, a name that shadowed Python's builtin."""


class WindowError(ModeltelValueError):
    """A window snapshot that cannot be built, read or matched with its reference; the
    message names the problem."""
