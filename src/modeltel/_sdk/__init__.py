"""Every use of OpenTelemetry SDK internals, in one place."""
