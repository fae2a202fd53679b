"""Whether a global provider is still the API's default proxy (nothing configured it yet)."""

from __future__ import annotations

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider


def _is_proxy(provider: object) -> bool:
    # The API's proxies are ProxyTracerProvider, _ProxyMeterProvider and ProxyLoggerProvider;
    # matched by name so a renamed private module does not break the import.
    return type(provider).__name__ in {"ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider"}


def unconfigured_signals() -> list[str]:
    """Signals whose global provider is still the API's default proxy.

    >>> unconfigured_signals()  # a process whose providers are set (these doctests')
    []
    """
    missing = []
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        missing.append("traces")
    if _is_proxy(metrics.get_meter_provider()):
        missing.append("metrics")
    if _is_proxy(get_logger_provider()):
        missing.append("logs")
    return missing
