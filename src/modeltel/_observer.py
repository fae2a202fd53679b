"""The protocol between an observed prediction call and the concerns that watch it.

Each concern (input and output summaries, drift, labels, alerts, prediction logs) is an
``Observer`` bound once per model; the call runs the hooks of those that have them (tuples
built once per model) and names no concern.
An observer's ``before`` may hand back ``Deferred`` work, which the call finishes right after
the model returns or raises (work that must read the input before the model can change it,
but is cheaper done after). Whatever an observer raises is counted under its ``site`` and
never reaches the caller. Features implement these protocols without importing the core.
"""

from __future__ import annotations

from typing import Any, Protocol

from modeltel.config import Settings


class BindingView(Protocol):
    """What a call knows about the model before its arguments: identity and settings."""

    name: str
    framework: str
    operation: str
    settings: Settings
    feature_names: tuple[str, ...] | None
    model_key: tuple[str, str | None]


class CallView(Protocol):
    """One prediction in flight, as observers see it."""

    bind: BindingView
    model: Any
    x: Any
    rows: int
    span: Any
    # The span's attributes, set when the call ends; None when the span is not recording.
    attrs: dict[str, Any] | None
    ids: Any
    duration: float
    telemetry: Any

    def one_row(self) -> Any:
        """``data.rows.single_row(x, True)``, read once per call (``NOT_READ`` if it failed)."""

    def feature_names(self) -> Any:
        """Registered feature names, else the estimator's ``feature_names_in_`` (or None)."""

    def classes(self) -> Any:
        """The estimator's ``classes_`` (None for torch modules and models without)."""

    def usage_warning(self, site: str, message: str) -> None:
        """Count a call whose input disagrees with what the caller told modeltel; log once."""


class Deferred(Protocol):
    """Work an observer took on before the model call, finished after it."""

    site: str

    def finish(self, call: CallView) -> None: ...


class Observer(Protocol):
    """One concern of a model's calls: a ``site`` (where its failures are counted) and any of
    the hooks below; the call runs each hook only for the observers that have it."""

    site: str


class Before(Observer, Protocol):
    def before(self, call: CallView) -> Deferred | None: ...


class After(Observer, Protocol):
    def after(self, call: CallView, result: Any) -> None: ...


class Failed(Observer, Protocol):
    def failed(self, call: CallView, error: BaseException) -> None: ...
