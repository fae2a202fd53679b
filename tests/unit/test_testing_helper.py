"""``modeltel.testing``: the in-memory helper users' own tests import, dependency-free."""

from __future__ import annotations

import textwrap

from tests.helpers import run_python


def test_the_helper_reads_spans_and_metrics_and_its_assertion_says_what_it_found() -> None:
    proc = run_python(
        textwrap.dedent(
            """
            from modeltel.testing import InMemoryTelemetry
            telemetry = InMemoryTelemetry.install()
            assert InMemoryTelemetry.install() is telemetry
            import modeltel
            modeltel.instrument(frameworks=[])
            model = modeltel.wrap(lambda rows: [0] * len(rows), name="fraud")
            model([[1.0], [2.0]]); model([[3.0]])
            telemetry.assert_predicted("fraud", rows=3, calls=2)
            print("rows", telemetry.counter("ml.prediction.rows", **{"ml.model.name": "fraud"}))
            print("durations", telemetry.histogram_count("ml.prediction.duration", **{"ml.model.name": "fraud"}))
            for kwargs in ({"rows": 4}, {"calls": 1}):
                try:
                    telemetry.assert_predicted("fraud", **kwargs)
                except AssertionError as exc:
                    print("failed:", exc)
            try:
                telemetry.assert_predicted("churn")
            except AssertionError as exc:
                print("failed:", exc)
            telemetry.clear()
            print("after clear", len(telemetry.spans()))
            """
        )
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "rows 3" in out and "durations 2" in out
    assert "failed: model 'fraud' predicted 3 rows in 2 spans, expected 4" in out
    assert "failed: model 'fraud' made 2 prediction spans, expected 1" in out
    assert "failed: no prediction span of model 'churn'; models seen: ['fraud']" in out
    assert "after clear 0" in out


def test_install_after_providers_are_set_says_so() -> None:
    proc = run_python(
        textwrap.dedent(
            """
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            trace.set_tracer_provider(TracerProvider())
            from modeltel.testing import InMemoryTelemetry
            try:
                InMemoryTelemetry.install()
            except RuntimeError as exc:
                print(exc)
            """
        )
    )
    assert "the global tracer provider(s) are already set" in proc.stdout, proc.stderr


def test_modeltel_and_its_testing_helper_import_without_test_dependencies() -> None:
    """A production install has no pyyaml, grpc test servers or pytest."""
    proc = run_python(
        textwrap.dedent(
            """
            import sys
            for name in ("yaml", "pytest", "hypothesis", "sklearn", "torch", "pandas", "rotel"):
                sys.modules[name] = None  # importing it now raises ImportError
            import modeltel, modeltel.testing, modeltel.cli
            print("ok")
            """
        )
    )
    assert proc.stdout.strip() == "ok", proc.stderr
