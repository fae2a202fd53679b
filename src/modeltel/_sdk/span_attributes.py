"""Setting modeltel's own span attributes without paying the SDK's per-element validation.

The SDK re-validates every element of every array attribute (~0.3 us each in
opentelemetry-sdk 1.45: 80+ elements for a 20-feature summary, more than the span itself
costs). modeltel builds these values itself from str/int/float and homogeneous tuples of
them, so when the span is the SDK's own and its limits cannot be exceeded, they are stored
directly under the span's locks. Any other span (another SDK, custom limits, an ended
span) goes through the public ``set_attributes``. tests/unit/sdk/test_span_attributes.py checks the
two paths store the same thing, so an SDK change that breaks the shortcut fails CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes

from modeltel._sdk import FAST_PATHS

try:
    from opentelemetry.sdk.trace import Span as _SdkSpan

    # The concrete class the SDK tracer creates (a private subclass of sdk.trace.Span).
    _SDK_SPAN_TYPES: frozenset[type] = frozenset({_SdkSpan, *_SdkSpan.__subclasses__()})
except ImportError:  # pragma: no cover - the SDK is a dependency
    _SDK_SPAN_TYPES = frozenset()


def _has_private_layout() -> bool:
    # Checked once: every BoundedAttributes of this SDK version has the same layout.
    probe = BoundedAttributes(immutable=False)
    return isinstance(getattr(probe, "_dict", None), dict) and hasattr(probe, "_lock")


_LAYOUT_OK = FAST_PATHS and _has_private_layout()


def _fast_target(span: Any, count: int) -> BoundedAttributes | None:
    if not _LAYOUT_OK or type(span) not in _SDK_SPAN_TYPES:
        return None
    bounded = getattr(span, "_attributes", None)
    if type(bounded) is not BoundedAttributes or bounded.max_value_len is not None:
        return None
    if bounded.maxlen is not None and len(bounded._dict) + count > bounded.maxlen:
        return None
    return bounded


def set_prevalidated(span: Any, attributes: Mapping[str, Any]) -> None:
    """Set attributes whose values are str/bool/int/float or tuples of one of those.

    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> span = TracerProvider().get_tracer("example").start_span("predict fraud")
    >>> set_prevalidated(span, {"ml.batch.size": 3, "ml.input.feature.names": ("a", "b")})
    >>> span.attributes["ml.input.feature.names"]
    ('a', 'b')
    """
    bounded = _fast_target(span, len(attributes))
    if bounded is None:
        span.set_attributes(attributes)
        return
    with span._lock:
        if span._end_time is None:
            with bounded._lock:
                target = bounded._dict
                if not target:
                    target.update(attributes)
                    return
                for key, value in attributes.items():
                    target.pop(key, None)  # keep insertion order like the SDK does on update
                    target[key] = value
            return
    # Ended (the span lock is not reentrant, so outside it): the SDK warns and ignores it.
    span.set_attributes(attributes)
