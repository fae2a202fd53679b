"""A fork while other threads hold modeltel's locks (the metric reader computing drift, a
request recording a prediction) must not leave the child with locks nobody will release."""

from __future__ import annotations

import textwrap

from tests.helpers import run_python

APP = textwrap.dedent(
    """
    import os, signal, sys, threading
    import numpy as np
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    import modeltel
    from modeltel import _forksafe as forksafe
    from sklearn.linear_model import LogisticRegression
    modeltel.instrument()
    X = np.random.default_rng(0).normal(size=(500, 3))
    y = (X[:, 0] > 0).astype(int)
    model = modeltel.register(LogisticRegression().fit(X, y), name="forking",
                              reference=modeltel.Reference.from_data(X, predictions=None))
    model.predict_proba(X[:50])
    reader.get_metrics_data()

    locks = [getattr(ref(), attr) for ref, attr in forksafe._owners if ref() is not None]
    print("locks", len(locks), flush=True)
    held, release = threading.Event(), threading.Event()
    def hold():
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait()
        for lock in locks:
            lock.release()
    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    parent_ids = modeltel.last_prediction_ids()
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)  # a deadlock ends the child with SIGALRM instead of hanging the test
        model.predict_proba(X[:50])
        ids = modeltel.last_prediction_ids()
        summary = modeltel.record_labels(ids, y[:50].tolist())
        reader.get_metrics_data()  # the drift and performance callbacks take their locks too
        if summary.matched != 50:
            os._exit(3)
        # The child's ids are its own: nothing it hands out can equal an id of the parent's
        # (or a sibling's), and the parent's predictions are not joined in the child.
        if set(ids) & set(parent_ids) or ids[0][:8] == parent_ids[0][:8]:
            os._exit(4)
        os._exit(5 if modeltel.record_labels(parent_ids, y[:50].tolist()).matched else 0)
    _, status = os.waitpid(pid, 0)
    release.set()
    print("child", os.waitstatus_to_exitcode(status), flush=True)
    """
)


def test_child_predicts_after_a_fork_taken_while_every_modeltel_lock_was_held():
    proc = run_python(APP, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split() for line in proc.stdout.split("\n") if line)
    assert int(lines["locks"]) >= 8  # the registry really holds the locks in use
    assert lines["child"] == "0", proc.stderr
