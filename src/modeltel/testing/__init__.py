"""Helpers to check telemetry end to end: a recording OTLP backend and a rotel collector."""

from modeltel.testing.otlp import OtlpBackend, RotelCollector, attributes, free_port, stop_process, wait_for_port

__all__ = ["OtlpBackend", "RotelCollector", "attributes", "free_port", "stop_process", "wait_for_port"]
