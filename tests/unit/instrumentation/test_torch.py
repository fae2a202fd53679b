"""PyTorch instrumentation: eval-mode modules only, one span per top-level call."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import modeltel  # noqa: E402 - after the skip
from modeltel._core import runtime as state  # noqa: E402
from tests.conftest import counter_value  # noqa: E402


class MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(x), dim=1)


@pytest.fixture
def mlp() -> MLP:
    torch.manual_seed(0)
    return MLP().eval()


def test_eval_module_emits_one_span_for_nested_submodules(mlp, spans):
    x = torch.rand(12, 5)
    out = mlp(x)
    (span,) = spans()
    assert span.name == "forward MLP"
    a = span.attributes
    assert a["ml.model.framework"] == "pytorch"
    assert a["ml.operation"] == "forward"
    assert a["ml.batch.size"] == 12
    assert a["ml.input.feature.count"] == 5
    assert list(a["ml.input.feature.mean"]) == pytest.approx(x.mean(dim=0).tolist(), rel=1e-6)
    # softmax rows are recognised as probabilities
    assert sum(a["ml.output.class.counts"]) == 12
    assert a["ml.output.confidence.mean"] == pytest.approx(out.max(dim=1).values.mean().item(), rel=1e-6)


@pytest.mark.parametrize("key", ["suppress_instrumentation()", "plain string key"])
def test_suppression_is_honoured_for_both_keys(mlp, spans, key):
    # modeltel reads both suppression keys itself (one context lookup): each must still work.
    from opentelemetry import context
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    if key == "suppress_instrumentation()":
        with suppress_instrumentation():
            mlp(torch.rand(2, 5))
    else:
        token = context.attach(context.set_value("suppress_instrumentation", True))
        try:
            mlp(torch.rand(2, 5))
        finally:
            context.detach(token)
    assert spans() == []
    mlp(torch.rand(2, 5))
    assert len(spans()) == 1


def test_training_mode_is_not_traced_by_default(mlp, spans):
    mlp.train()
    mlp(torch.rand(4, 5))
    assert spans() == []


def test_torch_training_option_traces_training_mode(spans):
    model = modeltel.register(MLP().train(), name="trainee", torch_training=True)
    model(torch.rand(4, 5))
    assert [s.name for s in spans()] == ["forward trainee"]


@pytest.mark.parametrize("guard", [torch.no_grad, torch.inference_mode])
def test_works_under_no_grad_and_inference_mode(mlp, spans, guard):
    with guard():
        mlp(torch.rand(3, 5))
    assert [s.name for s in spans()] == ["forward MLP"]


def test_rows_counter_counts_rows(mlp):
    modeltel.register(mlp, name="rows-mlp")
    for n in (1, 2, 30):
        mlp(torch.rand(n, 5))
    assert counter_value("ml.prediction.rows", **{"ml.model.name": "rows-mlp"}) == 33


def test_model_exception_passes_through_unchanged(mlp, spans):
    bad = torch.rand(2, 7)
    with pytest.raises(RuntimeError) as caught:
        mlp(bad)
    modeltel.uninstrument()
    try:
        with pytest.raises(RuntimeError) as bare:
            mlp(bad)
    finally:
        modeltel.instrument()
    assert str(caught.value) == str(bare.value)
    (span,) = spans()
    assert span.attributes["error.type"] == "RuntimeError"


def test_output_identical_and_uninstrument_restores_module_call(mlp):
    x = torch.rand(6, 5)
    from modeltel.instrumentation.torch import is_patched

    wrapped_call = torch.nn.Module.__dict__["__call__"]
    assert is_patched()
    instrumented = mlp(x)
    modeltel.uninstrument()
    try:
        assert torch.nn.Module.__dict__["__call__"] is wrapped_call.__wrapped__
        assert not is_patched()
        bare = mlp(x)
    finally:
        modeltel.instrument()
    assert torch.equal(instrumented, bare)


def test_summaries_can_be_turned_off(mlp, spans):
    state.set_settings(state.current_settings().replace("test", {"summaries": False}))
    mlp(torch.rand(3, 5))
    (span,) = spans()
    assert span.attributes["ml.batch.size"] == 3
    assert "ml.input.feature.mean" not in span.attributes
    assert "ml.output.class.counts" not in span.attributes
