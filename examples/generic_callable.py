"""Any Python callable as a model: a decorated function, and an object whose ``predict`` is
the inference entry (an XGBoost booster, an ONNX session, your own class) wrapped once.

Run: python examples/generic_callable.py
Telemetry goes over OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default http://localhost:4317).
"""

from __future__ import annotations

import modeltel

modeltel.instrument(service_name="pricing-api")  # the one line

import numpy as np  # noqa: E402


@modeltel.monitor("price-quote", version="2026.11", feature_names=["distance_km", "weight_kg", "express"])
def quote(rows: np.ndarray) -> np.ndarray:
    """A hand-written pricing rule: modeltel treats it like any model (span, latency, rows)."""
    return 4.0 + 0.8 * rows[:, 0] + 0.3 * rows[:, 1] + 6.0 * rows[:, 2]


class Ranker:
    """Stands in for a model object from a library modeltel does not patch."""

    def predict(self, rows: list[dict[str, float]]) -> list[float]:
        return [r["clicks"] / (1.0 + r["impressions"]) for r in rows]


def main() -> None:
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.uniform(1, 50, 8), rng.uniform(0.1, 20, 8), rng.integers(0, 2, 8)])
    print("quotes:", quote(rows).round(2).tolist())

    ranker = modeltel.wrap(Ranker(), name="ranker", version="1")
    scores = ranker.predict([{"clicks": 3, "impressions": 40}, {"clicks": 9, "impressions": 50}])
    print("ranking scores:", [round(s, 3) for s in scores])


if __name__ == "__main__":
    main()
