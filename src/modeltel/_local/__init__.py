"""A local OTLP pipeline (a recording receiver, a rotel collector process) for the demo and tests."""
