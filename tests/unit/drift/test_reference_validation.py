"""A reference is checked completely when it is loaded, and a monitor that still fails to
build from one never breaks a prediction."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel import InvalidReferenceError, Reference
from modeltel._core import states as states_module
from modeltel._core.internal_errors import _reset_for_tests
from modeltel.drift import reference as reference_module
from modeltel.drift.reference import MAX_REFERENCE_BYTES, NumericProfile
from tests.conftest import counter_value

RNG = np.random.default_rng(11)
ROWS = 400
FRAME = pd.DataFrame(
    {
        "a": RNG.normal(size=ROWS),
        "b": RNG.normal(size=ROWS),
        "c": RNG.normal(size=ROWS),
        "country": RNG.choice(["NO", "SE", "DK"], size=ROWS),
    }
)
LABELS = (FRAME["a"] + 0.5 * RNG.normal(size=ROWS) > 0).astype(int).to_numpy()
P1 = 1.0 / (1.0 + np.exp(-2.0 * FRAME["a"].to_numpy()))
PROBA = np.column_stack([1.0 - P1, P1])


def full_reference() -> Reference:
    """Numeric and categorical features, predictions, PCA and calibration: every section."""
    ref = Reference.from_data(FRAME, predictions=PROBA, labels=LABELS, metadata={"model": "fraud"})
    assert ref.predictions is not None and ref.pca is not None and ref.calibration is not None
    return ref


def load_error(tmp_path: Any, data: Any) -> str:
    path = tmp_path / "fraud.json"
    path.write_text(json.dumps(data, allow_nan=True))
    with pytest.raises(InvalidReferenceError) as caught:
        Reference.load(path)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert f"reference {path}" in message  # names the file
    return message


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(full_reference().to_dict())
    change(data)
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting the field at dotted ``path`` (list indices as numbers)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value(target[last]) if callable(value) else value

    return change


def test_a_full_reference_round_trips_and_validates(tmp_path):
    ref = full_reference()
    ref.validate()
    path = tmp_path / "fraud.json"
    ref.save(path)
    loaded = Reference.load(path)
    assert json.dumps(loaded.to_dict()) == json.dumps(ref.to_dict())
    assert [f.kind for f in loaded.features] == ["numeric", "numeric", "numeric", "categorical"]


def test_string_edges_are_refused_at_load(tmp_path):
    message = load_error(tmp_path, mutated(_set("features.0.edges", lambda e: [str(v) for v in e])))
    assert "features[0].edges must be a list of numbers" in message and "'a'" in message


def test_unsorted_edges_are_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("features.1.edges", lambda e: e[::-1])))
    assert "features[1].edges must be sorted" in message


def test_nan_edges_are_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("features.0.edges", lambda e: [math.nan, *e[1:]])))
    assert "features[0].edges must be finite" in message


def test_short_proportions_are_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("features.0.proportions", lambda p: p[:-1])))
    assert "features[0].proportions must have len(edges) + 1" in message


def test_duplicate_feature_names_are_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("features.1.name", "a")))
    assert "features[1].name 'a' is a duplicate" in message


def test_features_that_are_not_profiles_are_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("features", ["a", "b"])))
    assert "features[0] must be an object" in message


def test_a_non_utf8_file_is_a_reference_error(tmp_path):
    path = tmp_path / "fraud.json"
    path.write_bytes(b'{"schema": "modeltel.reference", "metadata": {"owner": "J\xf8rgen"}}')
    with pytest.raises(InvalidReferenceError, match="is not UTF-8") as caught:
        Reference.load(path)
    assert str(path) in str(caught.value)


def test_deeply_nested_json_is_a_reference_error(tmp_path):
    path = tmp_path / "fraud.json"
    path.write_text('{"schema": "modeltel.reference", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidReferenceError, match="nested too deeply") as caught:
        Reference.load(path)
    assert str(path) in str(caught.value)


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(MAX_REFERENCE_BYTES + 1)  # sparse: no disk use, and never read
    with pytest.raises(InvalidReferenceError, match="is larger than 64 MB") as caught:
        Reference.load(path)
    assert str(path) in str(caught.value)
    # The limit is the file's size, not its content: a real reference above a lower limit.
    full_reference().save(path)
    monkeypatch.setattr(reference_module, "MAX_REFERENCE_BYTES", 1000)
    assert path.stat().st_size > 1000
    with pytest.raises(InvalidReferenceError, match="is larger than 1,000 bytes"):
        Reference.load(path)


def test_a_bad_pca_shape_is_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("pca.components.0", lambda row: row[:-1])))
    assert "pca.components must be a list of equal-length lists" in message


def test_a_bad_calibration_is_refused(tmp_path):
    message = load_error(tmp_path, mutated(_set("calibration.x", lambda x: x[::-1])))
    assert "calibration.x must be sorted" in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("rows", -1), "rows must be an int >= 0"),
        (_set("rows", "400"), "rows must be an int >= 0"),
        (_set("metadata", ["model", "fraud"]), "metadata must be an object"),
        (_set("features", {"a": 1}), "features must be a list"),
        (_set("features.0.edges", lambda e: e[:1]), "features[0].edges must have no entry or at least 2"),
        (_set("features.0.proportions", lambda p: [-x for x in p]), "features[0].proportions must not be negative"),
        (_set("features.0.proportions", lambda p: [2 * x for x in p]), "features[0].proportions must sum to 1"),
        (_set("features.0.bin_means", lambda m: m[:-1]), "features[0].bin_means must have"),
        (_set("features.0.bin_means", lambda m: [None] * len(m)), "features[0].bin_means must be a list of numbers"),
        (_set("features.0.std", -1.0), "features[0].std must be a finite number >= 0"),
        (_set("features.0.std", math.inf), "features[0].std must be a finite number >= 0"),
        (_set("features.0.mean", "0.1"), "features[0].mean must be a number"),
        (_set("features.0.missing_rate", 2.0), "features[0].missing_rate must be between 0 and 1"),
        (_set("features.0.count", True), "features[0].count must be an int"),
        (_set("features.0.kind", "ordinal"), "features[0].kind must be 'numeric' or 'categorical'"),
        (_set("features.3.categories", lambda c: [c[0], c[0], *c[2:]]), "features[3].categories must not repeat"),
        (_set("features.3.categories", lambda c: [1, *c[1:]]), "features[3].categories must be a list of strings"),
        (_set("features.3.proportions", lambda p: p[1:]), "features[3].proportions must have len(categories) + 1"),
        (_set("features.2.name", 7), "features[2].name must be a string"),
        (lambda d: d["features"][0].pop("edges"), "features[0] is missing field(s) edges"),
        (lambda d: d["features"][0].update(extra=1), "features[0] has unknown field(s) extra"),
        (_set("predictions.proportions", lambda p: p[:-1]), "predictions.proportions must have"),
        (_set("pca.features", lambda f: [*f[:-1], "country"]), "pca.features names 'country'"),
        (_set("pca.features", lambda f: [f[0]] * len(f)), "pca.features must not repeat"),
        (_set("pca.mean", lambda m: m[:-1]), "pca.mean must have one entry per pca feature"),
        (_set("pca.scale", lambda s: [0.0] * len(s)), "pca.scale must be > 0"),
        (_set("pca.components", []), "pca.components must be k x 3"),
        (_set("pca.components.0.0", math.inf), "pca.components must be finite"),
        (_set("pca.reference_error", math.nan), "pca.reference_error must be a finite number"),
        (_set("calibration.kind", "multiclass"), "calibration.kind must be 'binary' or 'top'"),
        (_set("calibration.y", lambda y: y[:-1]), "calibration.x and calibration.y must be non-empty and of equal"),
        (_set("calibration.y", lambda y: [math.nan] * len(y)), "calibration.y must be finite"),
        (_set("calibration.y", lambda y: [2.0] * len(y)), "calibration.y must be probabilities"),
    ],
)
def test_every_field_is_checked_and_named(tmp_path, change, field):
    assert field in load_error(tmp_path, mutated(change))


def test_a_feature_without_values_needs_no_proportions_summing_to_one(tmp_path):
    X = RNG.normal(size=(50, 2))
    X[:, 1] = np.nan
    ref = Reference.from_data(X, feature_names=["a", "empty"])
    assert ref.feature("empty").proportions == [0.0]
    path = tmp_path / "ref.json"
    ref.save(path)
    assert Reference.load(path).feature("empty").edges == []


def test_validate_checks_a_reference_built_in_code():
    ref = full_reference()
    numeric = ref.features[0]
    assert isinstance(numeric, NumericProfile)
    numeric.edges = [str(e) for e in numeric.edges]
    with pytest.raises(InvalidReferenceError, match=r"^fraud-ref: features\[0\]\.edges must be a list of numbers"):
        ref.validate("fraud-ref")
    ref.features = ["a", "b"]  # type: ignore[list-item]
    with pytest.raises(InvalidReferenceError, match=r"features\[0\] must be an object"):
        ref.validate()
    ref = full_reference()
    ref.pca = {"features": ["a"]}  # type: ignore[assignment]
    with pytest.raises(
        InvalidReferenceError, match=r"^reference: pca must be an object, got 'a dict, not a PcaProfile'"
    ):
        ref.validate()


def test_a_monitor_that_fails_to_build_leaves_predictions_alone_and_is_not_retried(monkeypatch):
    _reset_for_tests()
    X = FRAME[["a", "b", "c"]].to_numpy()
    model = LogisticRegression().fit(X, LABELS)
    batch = RNG.normal(size=(20, 3))
    modeltel.uninstrument()
    expected = model.predict(batch)
    modeltel.instrument()
    calls = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise ValueError("could not convert string to float: '0.5'")

    monkeypatch.setattr(states_module, "DriftMonitor", broken)
    model = modeltel.register(model, name="drift-setup", reference=Reference.from_data(X))
    site = {"modeltel.site": "drift_setup", "error.type": "ValueError"}
    before = counter_value("modeltel.internal.errors", **site)
    for _ in range(3):
        np.testing.assert_array_equal(model.predict(batch), expected)
    assert counter_value("modeltel.internal.errors", **site) == before + 1
    assert len(calls) == 1  # the state is kept with drift off: no retry per call
    assert counter_value("ml.drift.window.rows", **{"ml.model.name": "drift-setup"}) == 0
