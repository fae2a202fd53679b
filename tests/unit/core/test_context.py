"""Parenting across threads, asyncio and a real FastAPI server over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry import context, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import SpanKind
from sklearn.linear_model import LogisticRegression

import modeltel

X = np.random.default_rng(1).normal(size=(100, 4))
MODEL = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
tracer = trace.get_tracer("test-app")


def test_threads_with_propagated_context_nest_under_the_parent(spans):
    with tracer.start_as_current_span("batch-job") as parent:
        ctx = context.get_current()

        def work(i):
            token = context.attach(ctx)
            try:
                return MODEL.predict(X[i : i + 1])
            finally:
                context.detach(token)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(16)))
    predictions = [s for s in spans() if s.name == "predict LogisticRegression"]
    assert len(predictions) == 16
    assert {s.parent.span_id for s in predictions} == {parent.get_span_context().span_id}


def test_asyncio_tasks_each_get_their_own_parent(spans):
    @modeltel.monitor("async-scorer")
    async def score(x):
        await asyncio.sleep(0.001)
        return MODEL.predict(x)  # nested: not a span of its own

    async def handle(i):
        with tracer.start_as_current_span(f"req-{i}"):
            await score(X[i : i + 2])

    async def main():
        await asyncio.gather(*(handle(i) for i in range(5)))

    asyncio.run(main())
    by_id = {s.context.span_id: s for s in spans()}
    scored = [s for s in spans() if s.name == "call async-scorer"]
    assert len(scored) == 5
    assert not [s for s in spans() if s.name == "predict LogisticRegression"]
    assert sorted(by_id[s.parent.span_id].name for s in scored) == [f"req-{i}" for i in range(5)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fastapi_server():
    app = FastAPI()

    @app.post("/predict")
    def predict(payload: dict):
        rows = np.asarray(payload["rows"], dtype=float)
        return {"labels": MODEL.predict(rows).tolist()}

    FastAPIInstrumentor.instrument_app(app)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    FastAPIInstrumentor.uninstrument_app(app)


def test_fastapi_request_span_is_the_parent_over_real_http(fastapi_server, spans):
    response = httpx.post(f"{fastapi_server}/predict", json={"rows": X[:3].tolist()})
    assert response.status_code == 200
    assert response.json()["labels"] == MODEL.predict(X[:3]).tolist()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(s.kind is SpanKind.SERVER for s in spans()):
        time.sleep(0.01)
    server_span = next(s for s in spans() if s.kind is SpanKind.SERVER)
    prediction = next(s for s in spans() if s.name == "predict LogisticRegression")
    assert prediction.parent.span_id == server_span.context.span_id
    assert prediction.context.trace_id == server_span.context.trace_id
    assert prediction.attributes["ml.batch.size"] == 3
