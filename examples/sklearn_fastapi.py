"""A fraud-scoring scikit-learn model served by FastAPI, instrumented with one line.

Every call to ``/predict`` becomes a prediction span under the HTTP request span, with
latency, row counts, drift against the training reference and data quality as metrics;
``/labels`` joins ground truth that arrives later, for realized accuracy. Telemetry goes
over OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4317``): run a
collector there (collector-config/), or see examples/demo.py for everything on one machine.

Run:  python examples/sklearn_fastapi.py --port 8000
Then: curl -s localhost:8000/predict -H 'content-type: application/json' \\
           -d '{"rows": [[120.0, 400, 3, 2.5, 14, 0.1]]}'
      curl -s localhost:8000/labels -H 'content-type: application/json' \\
           -d '{"ids": ["<id from /predict>"], "labels": [0]}'
``--smoke`` starts the server, sends a few requests to itself and exits (used by the tests).
"""

from __future__ import annotations

import argparse

import modeltel

modeltel.instrument(service_name="fraud-api")  # the one line

import numpy as np  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: E402
from opentelemetry.instrumentation.utils import suppress_instrumentation  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

FEATURES = ["amount", "account_age_days", "n_transactions_24h", "distance_km", "hour", "merchant_risk"]
# Scales that make the synthetic features look like what their names say.
_SCALE = np.array([80.0, 300.0, 4.0, 20.0, 5.0, 0.2])
_OFFSET = np.array([120.0, 600.0, 5.0, 30.0, 13.0, 0.5])


def transactions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic transactions and whether each is fraud (a noisy linear rule)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(FEATURES)))
    logit = 1.6 * z[:, 0] - 1.2 * z[:, 1] + 0.9 * z[:, 3] + 1.1 * z[:, 5]
    fraud = (logit + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return z * _SCALE + _OFFSET, fraud


def train(**options: object) -> Pipeline:
    """Fit the model and give it a training-time reference (drift, data quality, and the
    calibration that label-free accuracy estimates use); ``options`` go to ``register``
    (thresholds, on_alert, ...)."""
    X, y = transactions(6000, seed=0)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    with suppress_instrumentation():  # scoring the validation set is not serving traffic
        validation_proba = model.predict_proba(X_val)
    reference = modeltel.Reference.from_data(X_val, feature_names=FEATURES, predictions=validation_proba, labels=y_val)
    return modeltel.register(
        model, name="fraud", version="2026-11-01", feature_names=FEATURES, reference=reference, **options
    )


class PredictRequest(BaseModel):
    rows: list[list[float | None]]


class LabelsRequest(BaseModel):
    ids: list[str]
    labels: list[int]


def create_app(model: Pipeline | None = None, **options: object) -> FastAPI:
    model = model if model is not None else train(**options)
    app = FastAPI(title="fraud scoring")

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict:
        rows = np.array(request.rows, dtype=float)  # null -> NaN
        try:
            proba = model.predict_proba(rows)[:, 1]
        except ValueError as exc:  # a client sending the wrong number of features, NaNs...
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        # The ids let the client (or whoever learns the truth) send labels back later.
        return {"ids": modeltel.last_prediction_ids(), "fraud_probability": proba.round(4).tolist()}

    @app.post("/labels")
    def labels(request: LabelsRequest) -> dict:
        try:
            summary = modeltel.record_labels(request.ids, request.labels, model="fraud")
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return {"matched": summary.matched, "unknown": summary.unknown, "expired": summary.expired}

    FastAPIInstrumentor.instrument_app(app)
    return app


def _smoke(port: int) -> None:
    """Serve, send a few predictions and labels to ourselves, stop."""
    import threading
    import time

    import httpx
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    X, y = transactions(20, seed=1)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        scored = client.post("/predict", json={"rows": X.tolist()}).raise_for_status().json()
        matched = client.post("/labels", json={"ids": scored["ids"], "labels": y.tolist()}).raise_for_status().json()
    server.should_exit = True
    print(f"scored {len(scored['fraud_probability'])} transactions; labels matched: {matched['matched']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--smoke", action="store_true", help="serve, send a few requests, exit")
    args = parser.parse_args()
    if args.smoke:
        _smoke(args.port)
        return
    import uvicorn

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
