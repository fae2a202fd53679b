"""Delayed labels: ids, the bounded store, the join, realized metrics and the label span."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics
from sklearn.linear_model import LinearRegression, LogisticRegression

import modeltel
from modeltel._core import label_store as ground_truth
from modeltel.labels.store import LabelStore
from tests.conftest import counter_value, histogram_count, metric_points

RNG = np.random.default_rng(21)
X = RNG.normal(size=(2000, 4))
Y = (X[:, 0] + 0.5 * RNG.normal(size=2000) > 0).astype(int)


def performance(name, metric):
    points = metric_points(
        "ml.performance", **{"ml.model.name": name, "ml.performance.metric": metric, "ml.performance.source": "labels"}
    )
    assert points, f"no ml.performance {metric} for {name}"
    return points[-1].value


@pytest.fixture
def small_store(monkeypatch):
    store = LabelStore(max_entries=50, max_age=3600)
    monkeypatch.setattr(ground_truth, "_store", store)
    return store


def test_generated_ids_join_out_of_order_and_partial_labels_match_sklearn(spans):
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="labels-clf")
    ids, predicted, proba = [], [], []
    for i in range(300):
        row = X[i : i + 1]
        p = clf.predict_proba(row)
        ids.append(modeltel.last_prediction_ids()[0])
        predicted.append(clf.classes_[p.argmax()])
        proba.append(p[0, 1])
    first = [s for s in spans() if s.name == "predict_proba labels-clf"][0]
    assert first.attributes["ml.prediction.id"] == ids[0]
    order = RNG.permutation(300)[:240]  # out of order, and 60 never labelled
    truth = Y[:300]
    summary = modeltel.record_labels([ids[i] for i in order], truth[order].tolist())
    assert (summary.matched, summary.unknown, summary.expired) == (240, 0, 0)
    labelled, pred = truth[order], np.array(predicted)[order]
    assert performance("labels-clf", "accuracy") == pytest.approx(metrics.accuracy_score(labelled, pred))
    assert performance("labels-clf", "f1") == pytest.approx(metrics.f1_score(labelled, pred))
    assert performance("labels-clf", "roc_auc") == pytest.approx(
        metrics.roc_auc_score(labelled, np.array(proba)[order])
    )
    assert counter_value("ml.labels", **{"ml.labels.outcome": "matched"}) >= 240
    assert histogram_count("ml.label.delay", **{"ml.model.name": "labels-clf"}) == 240


def test_supplied_ids_batch_attributes_and_regression_metrics(spans):
    reg = modeltel.register(LinearRegression().fit(X, X[:, 0] * 2.0), name="labels-reg")
    ids = [f"order-{i}" for i in range(100)]
    with modeltel.prediction_ids(ids):
        out = reg.predict(X[:100])
    assert modeltel.last_prediction_ids() == ids
    span = [s for s in spans() if s.name == "predict labels-reg"][0]
    assert span.attributes["ml.prediction.id"] == "order-0" and span.attributes["ml.prediction.id.count"] == 100
    truth = X[:100, 0] * 2.0 + RNG.normal(0, 0.1, 100)
    assert modeltel.record_labels(ids, truth, model="labels-reg").matched == 100
    assert performance("labels-reg", "mae") == pytest.approx(metrics.mean_absolute_error(truth, out))
    assert performance("labels-reg", "rmse") == pytest.approx(np.sqrt(metrics.mean_squared_error(truth, out)))
    assert performance("labels-reg", "mape") == pytest.approx(metrics.mean_absolute_percentage_error(truth, out))


def test_unknown_and_expired_ids_are_counted_never_raised(small_store):
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="labels-expiry")
    with modeltel.prediction_ids([f"old-{i}" for i in range(40)]):
        clf.predict(X[:40])
    clf.predict(X[40:80])  # 40 more rows: the store (50 rows) evicts the oldest batch
    recent = modeltel.last_prediction_ids()
    assert len(small_store) <= 50
    summary = modeltel.record_labels(["old-0", "never-seen", recent[0]], [1, 0, int(Y[40])])
    assert (summary.matched, summary.unknown, summary.expired) == (1, 1, 1)
    # Restricted to another (existing) model, the id does not match; a name no model has is refused.
    other = modeltel.register(LogisticRegression(), name="another-model")
    assert modeltel.record_labels(["old-1"], [1], model="another-model").matched == 0
    assert other is not None


def test_store_stays_bounded_under_a_stream_without_labels(small_store):
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="labels-stream")
    for i in range(500):
        clf.predict(X[i % 100 : i % 100 + 3])
        assert len(small_store) <= 50


@pytest.mark.parametrize("tuple_layout", [True, False])
def test_span_contexts_pack_and_unpack_the_same_on_both_paths(monkeypatch, tuple_layout):
    from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, TraceFlags

    from modeltel._sdk import span_context as labels

    monkeypatch.setattr(labels, "_TUPLE_LAYOUT", tuple_layout)
    ctx = SpanContext(trace_id=(1 << 127) + 12345, span_id=(1 << 63) + 7, is_remote=False, trace_flags=TraceFlags(1))
    packed = labels.pack_span_context(ctx)
    back = labels.unpack_span_context(packed)
    assert (back.trace_id, back.span_id, back.trace_flags) == (ctx.trace_id, ctx.span_id, ctx.trace_flags)
    unsampled = SpanContext(trace_id=5, span_id=6, is_remote=False, trace_flags=TraceFlags(0))
    assert labels.unpack_span_context(labels.pack_span_context(unsampled)).trace_flags == 0
    # an invalid context (a non-recording span's) and no context are both stored as none
    assert labels.pack_span_context(INVALID_SPAN_CONTEXT) == 0
    assert labels.pack_span_context(None) == 0
    assert labels.unpack_span_context(0) is None


def test_label_span_links_to_the_prediction_span(spans):
    clf = modeltel.register(LogisticRegression().fit(X, Y), name="labels-link")
    clf.predict(X[:1])
    pid = modeltel.last_prediction_ids()[0]
    prediction = [s for s in spans() if s.name == "predict labels-link"][-1]
    modeltel.record_labels([pid], [1])
    (label_span,) = [s for s in spans() if s.name == "label labels-link"]
    (link,) = label_span.links
    assert link.context.trace_id == prediction.context.trace_id
    assert link.context.span_id == prediction.context.span_id


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="2 ids but 1 labels"):
        modeltel.record_labels(["a", "b"], [1])
    with pytest.raises(TypeError, match="ids must be a sequence"):
        modeltel.record_labels("abc", [1, 2, 3])
    with pytest.raises(TypeError, match="prediction_ids"):
        modeltel.prediction_ids("order-1")
    with pytest.raises(ValueError, match="unique"):
        modeltel.prediction_ids(["a", "a"])
    with pytest.raises(ValueError, match="task"):
        modeltel.register(LogisticRegression(), task="ranking")


def test_oversized_batches_keep_their_newest_rows_and_the_count_stays_exact(small_store):
    reg = modeltel.register(LinearRegression().fit(X, X[:, 0]), name="labels-big")
    reg.predict(X[:120])  # more rows than the store holds (50)
    ids = modeltel.last_prediction_ids()
    assert len(small_store) == 50
    summary = modeltel.record_labels([ids[0], ids[-1]], [0.0, 0.0])
    assert (summary.matched, summary.expired + summary.unknown) == (1, 1)
    reg.predict(X[:30])
    reg.predict(X[:30])  # evicts the big batch: the count must not go below what is held
    assert len(small_store) == 30


def test_torch_logits_are_joined_by_argmax_without_probability_metrics():
    torch = pytest.importorskip("torch")
    net = modeltel.register(torch.nn.Linear(4, 3).eval(), name="labels-logits")
    with torch.no_grad():
        logits = net(torch.as_tensor(X[:40], dtype=torch.float32))
    truth = logits.argmax(dim=1).numpy().copy()
    truth[:10] = (truth[:10] + 1) % 3  # 10 of 40 wrong
    modeltel.record_labels(modeltel.last_prediction_ids(), truth.tolist())
    assert performance("labels-logits", "accuracy") == pytest.approx(0.75)
    assert not metric_points(
        "ml.performance", **{"ml.model.name": "labels-logits", "ml.performance.metric": "log_loss"}
    )


def test_large_cpu_tensor_outputs_are_stored_as_copies():
    # The store copies a large CPU output into numpy (holding the model's own tensor made its
    # next large call slower); a caller reusing the tensor in place cannot change what joins.
    rows = 600
    torch = pytest.importorskip("torch")
    net = modeltel.register(torch.nn.Linear(4, 3).eval(), name="labels-large-tensor")
    with torch.no_grad():
        logits = net(torch.as_tensor(X[:rows], dtype=torch.float32))
    ids = modeltel.last_prediction_ids()
    truth = logits.argmax(dim=1).numpy().copy()
    logits.neg_()  # the caller reuses the buffer: argmax now picks another class in every row
    assert (logits.argmax(dim=1).numpy() != truth).all()
    modeltel.record_labels(ids, truth.tolist())
    assert performance("labels-large-tensor", "accuracy") == pytest.approx(1.0)


def test_stored_predictions_are_not_tracked_by_the_garbage_collector():
    # A full store holds 100,000 entries; as tracked objects every full collection walked them.
    # (Small torch outputs stay tensors, which keeps their entries tracked: see _stored_tensor.)
    import gc

    reg = modeltel.register(LinearRegression().fit(X, X[:, 0]), name="labels-untracked-sk")
    for i in range(10):
        reg.predict(X[i : i + 3])
    with modeltel.prediction_ids(["u-1", "u-2"]):
        reg.predict(X[:2])
    modeltel.record_labels(["u-1"], [0.0])  # a resolved batch too
    # A tuple is untracked when a collection finds its items untracked; one whose items are
    # newer tuples (the ids) waits for the next collection.
    gc.collect()
    gc.collect()
    # This model's entries (other tests' calls file outputs that are objects: dicts, tensors).
    entries = [e for e in ground_truth.store()._batches.values() if e[1][0] == "labels-untracked-sk"]
    assert len(entries) == 11
    assert [e for e in entries if gc.is_tracked(e)] == []
    assert ground_truth.store()._resolved and not any(gc.is_tracked(r) for r in ground_truth.store()._resolved.values())


def test_a_store_size_of_zero_keeps_no_predictions_and_their_labels_read_unknown(small_store, monkeypatch):
    # Per model: this model's outputs are not copied or filed; another model's still are.
    off = modeltel.register(LogisticRegression().fit(X, Y), name="labels-off", label_store_max_entries=0)
    on = modeltel.register(LogisticRegression().fit(X, Y), name="labels-on")
    off.predict(X[:10])
    off_ids = modeltel.last_prediction_ids()
    on.predict(X[:10])
    on_ids = modeltel.last_prediction_ids()
    assert len(small_store) == 10
    summary = modeltel.record_labels([off_ids[0], on_ids[0]], [int(Y[0]), int(Y[0])])
    assert (summary.matched, summary.unknown, summary.expired) == (1, 1, 0)
    # Process-wide: a store of size 0 files nothing, even for a model registered with a size.
    empty = LabelStore(max_entries=0, max_age=3600)
    monkeypatch.setattr(ground_truth, "_store", empty)
    sized = modeltel.register(LogisticRegression().fit(X, Y), name="labels-sized", label_store_max_entries=10)
    sized.predict(X[:5])
    assert not empty._batches  # nothing held, not even an entry of no rows (it would keep the output)
    assert len(empty) == 0 and modeltel.record_labels(modeltel.last_prediction_ids()[:1], [1]).unknown == 1


def test_zero_is_the_only_size_below_one_the_store_accepts():
    from modeltel.config import settings_from_env

    assert settings_from_env({"MODELTEL_LABEL_STORE_MAX_ENTRIES": "0"}).label_store_max_entries == 0
    with pytest.raises(ValueError, match="MODELTEL_LABEL_STORE_MAX_ENTRIES='-1' must be >= 0"):
        settings_from_env({"MODELTEL_LABEL_STORE_MAX_ENTRIES": "-1"})
    with pytest.raises(ValueError, match="option 'label_store_max_entries' must be >= 0, got -1"):
        modeltel.register(LogisticRegression(), label_store_max_entries=-1)
    with pytest.raises(ValueError, match="option 'performance_window' must be >= 1, got 0"):
        modeltel.register(LogisticRegression(), performance_window=0)
