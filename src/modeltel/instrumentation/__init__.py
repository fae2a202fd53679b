"""Framework instrumentors (registered under the ``opentelemetry_instrumentor`` entry point)."""
