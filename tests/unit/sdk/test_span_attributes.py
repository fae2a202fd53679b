"""The prevalidated attribute path stores exactly what the SDK's public path stores."""

from __future__ import annotations

from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from modeltel._sdk.span_attributes import set_prevalidated

ATTRS = {
    "ml.model.name": "fraud",
    "ml.batch.size": 3,
    "ml.input.feature.names": ("a", "b"),
    "ml.input.feature.mean": (1.0, float("nan")),
    "ml.output.class.counts": (2, 1),
    "ml.output.confidence.mean": 0.75,
    "flag": True,
}


def _spans(limits: SpanLimits | None = None):
    tracer = TracerProvider(span_limits=limits).get_tracer("t")
    return tracer.start_span("fast"), tracer.start_span("public")


def _same(a, b):
    assert list(a) == list(b)
    for key in a:
        x, y = a[key], b[key]
        assert type(x) is type(y), key
        assert repr(x) == repr(y), key  # repr: NaN compares unequal to itself


def test_fast_path_matches_public_set_attributes():
    fast, public = _spans()
    fast.set_attribute("existing", 1)
    public.set_attribute("existing", 1)
    set_prevalidated(fast, ATTRS)
    public.set_attributes(ATTRS)
    _same(fast.attributes, public.attributes)
    fast.end()
    public.end()
    _same(fast.attributes, public.attributes)


def test_limits_that_could_be_exceeded_use_the_public_path():
    fast, public = _spans(SpanLimits(max_span_attributes=3, max_attribute_length=4))
    set_prevalidated(fast, ATTRS)
    public.set_attributes(ATTRS)
    assert len(fast.attributes) == 3
    _same(fast.attributes, public.attributes)
    assert fast.dropped_attributes == public.dropped_attributes > 0


def test_ended_span_is_not_modified():
    fast, _ = _spans()
    fast.end()
    set_prevalidated(fast, ATTRS)
    assert dict(fast.attributes) == {}
