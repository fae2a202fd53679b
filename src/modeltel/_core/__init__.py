"""The core: model registry and state, the observed call, telemetry, internal errors."""
