"""Output summaries: labels, probability rows, numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modeltel.outputs import MAX_CLASSES, summarize_output


def out(y, operation="predict", classes=None, is_classifier=False, **kw):
    return summarize_output(y, operation=operation, classes=classes, is_classifier=is_classifier,
                            max_rows=kw.get("max_rows", 256), max_columns=64)


def test_string_labels_are_counted_most_frequent_first():
    a = out(np.array(["cat", "dog", "dog"]))
    assert a == {"ml.output.class.labels": ("dog", "cat"), "ml.output.class.counts": (2, 1)}


def test_probabilities_use_classes_and_confidence():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    a = out(p, "predict_proba", classes=np.array(["no", "yes"]))
    assert dict(zip(a["ml.output.class.labels"], a["ml.output.class.counts"])) == {"yes": 2, "no": 1}
    assert a["ml.output.confidence.mean"] == pytest.approx((0.9 + 0.8 + 0.7) / 3)


def test_log_probabilities_are_exponentiated():
    p = np.array([[0.6, 0.4]])
    a = out(np.log(p), "predict_log_proba")
    assert a["ml.output.confidence.mean"] == pytest.approx(0.6)


def test_numeric_single_and_multi_column():
    a = out(np.array([1.0, 3.0]))
    assert (a["ml.output.mean"], a["ml.output.min"], a["ml.output.max"]) == (2.0, 1.0, 3.0)
    m = out(np.array([[1.0, 10.0], [3.0, 30.0]]), "transform")
    assert m["ml.output.mean"] == (2.0, 20.0)


def test_many_integer_values_are_numbers_not_classes():
    a = out(np.arange(MAX_CLASSES * 2))
    assert "ml.output.class.labels" not in a and a["ml.output.max"] == MAX_CLASSES * 2 - 1


def test_softmax_tensor_and_unknown_outputs():
    t = torch.softmax(torch.rand(5, 4), dim=1)
    a = out(t, "forward")
    assert sum(a["ml.output.class.counts"]) == 5
    assert out({"logits": 1}, "forward") == {}
    assert out(None) == {}
