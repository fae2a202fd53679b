"""PyTorch: one span per top-level call of a module in eval mode.

``nn.Module.__call__`` is patched once on the base class, which covers every module type,
including ones defined later. Sub-module calls made inside an observed call are not spans of
their own, and modules in training mode are skipped by default so training loops are not
flooded. No device synchronisation is added: on an accelerator the measured latency is the
time to enqueue the work, which is what the caller waits for.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from modeltel import semconv
from modeltel.instrumentation.patching import Patcher, Switch
from modeltel.models import binding_for
from modeltel.recorder import first_input, in_model_call, observe, should_observe
from modeltel.telemetry import Telemetry, telemetry_for

_INSTRUMENTS = ("torch >= 2.0",)
OPERATION = "forward"


def _module_wrapper(switch: Switch, telemetry: Telemetry) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # Every sub-module call passes here: the nested check comes first and costs one
        # context-variable read.
        if in_model_call() or instance is None or not switch.on or not should_observe():
            return wrapped(*args, **kwargs)
        cls = type(instance)
        bind = binding_for(instance, semconv.FRAMEWORK_PYTORCH, OPERATION, cls.__name__, cls)
        if instance.training and not bind.settings.torch_training:
            return wrapped(*args, **kwargs)
        return observe(telemetry, bind, instance, first_input(args, kwargs), wrapped, args, kwargs)

    return wrapper


class TorchInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments ``torch.nn.Module`` calls.

    >>> TorchInstrumentor().instrument()   # or modeltel.instrument(frameworks=["torch"])
    """

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton whose __init__ runs on every construction: keep
        # the record of what was patched across them.
        if hasattr(self, "_patcher"):
            return
        self._patcher = Patcher()
        self._switch = Switch()

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        import torch

        telemetry = telemetry_for(kwargs)
        self._switch = Switch()
        self._patcher.wrap_attribute(torch.nn.Module, "__call__", _module_wrapper(self._switch, telemetry))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._switch.on = False
        self._patcher.restore_all()
