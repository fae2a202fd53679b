"""Reference profiles: built from the input types predictions accept, saved as versioned JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modeltel import InvalidReferenceError, Reference
from modeltel.drift.reference import bin_counts, reconstruction_error

RNG = np.random.default_rng(7)


def test_numeric_bins_are_reference_quantiles_with_empty_out_of_range_bins():
    x = RNG.normal(10.0, 2.0, size=5000)
    ref = Reference.from_data(x.reshape(-1, 1), feature_names=["amount"], bins=10)
    (f,) = ref.features
    assert f.kind == "numeric" and f.name == "amount"
    np.testing.assert_allclose(f.edges, np.quantile(x, np.linspace(0, 1, 11)))
    assert len(f.proportions) == 12 and f.proportions[0] == 0.0 and f.proportions[-1] == 0.0
    np.testing.assert_allclose(f.proportions[1:-1], 0.1, atol=0.002)
    assert f.mean == pytest.approx(x.mean()) and f.std == pytest.approx(x.std())
    assert (f.min, f.max, f.missing_rate, f.count) == (x.min(), x.max(), 0.0, 5000)


def test_bin_counts_boundaries():
    edges = np.array([0.0, 1.0, 2.0])
    counts = bin_counts(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 2.5]), edges)
    # underflow, [0,1), [1,2], overflow
    assert counts.tolist() == [1, 2, 2, 1]


def test_dataframe_with_categories_missing_values_and_constant_column():
    df = pd.DataFrame(
        {
            "age": [20.0, None, 40.0, 50.0],
            "country": ["NO", "SE", "NO", None],
            "plan": pd.Categorical(["a", "b", "a", "a"]),
            "flag": [1, 1, 1, 1],
        }
    )
    ref = Reference.from_data(df, bins=4)
    age, country, plan, flag = ref.features
    assert age.kind == "numeric" and age.missing_rate == 0.25
    assert country.kind == "categorical" and country.categories == ["NO", "SE"]
    assert country.proportions == pytest.approx([2 / 3, 1 / 3, 0.0]) and country.missing_rate == 0.25
    assert plan.kind == "categorical" and plan.categories == ["a", "b"]
    assert flag.kind == "numeric" and flag.edges == [1.0, 1.0] and flag.proportions == [0.0, 1.0, 0.0]


def test_top_k_keeps_the_most_frequent_and_an_other_bucket():
    values = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 15 + ["d"] * 5, dtype=object)
    ref = Reference.from_data({"city": values}, top_k=2)
    (city,) = ref.features
    assert city.categories == ["a", "b"] and city.proportions == pytest.approx([0.5, 0.3, 0.2])


def test_forced_categorical_and_records_input():
    records = [{"zip": 1000 + i % 3, "amount": float(i)} for i in range(30)]
    ref = Reference.from_data(records, categorical=["zip"])
    assert [f.kind for f in ref.features] == ["categorical", "numeric"]
    with pytest.raises(InvalidReferenceError, match="unknown feature.*'nope'"):
        Reference.from_data(records, categorical=["nope"])


def test_prediction_profiles_for_labels_probabilities_and_numbers():
    X = RNG.normal(size=(100, 3))
    labels = Reference.from_data(X, predictions=np.array(["yes", "no"] * 50)).predictions
    assert labels.kind == "categorical" and labels.proportions[:2] == pytest.approx([0.5, 0.5])
    proba = np.column_stack([np.full(100, 0.2), np.full(100, 0.8)])
    assert Reference.from_data(X, predictions=proba).predictions.categories == ["1"]
    numeric = Reference.from_data(X, predictions=X[:, 0]).predictions
    assert numeric.kind == "numeric" and numeric.mean == pytest.approx(X[:, 0].mean())


def test_pca_keeps_65_percent_of_variance_and_flags_broken_correlation():
    a = RNG.normal(size=4000)
    X = np.column_stack([a, a + 0.1 * RNG.normal(size=4000), RNG.normal(size=4000)])
    pca = Reference.from_data(X).pca
    assert pca.explained_variance >= 0.65 and len(pca.components) < 3
    z_same = (X - np.array(pca.mean)) / np.array(pca.scale)
    flipped = X.copy()
    flipped[:, 1] = -flipped[:, 1] + 2 * flipped[:, 1].mean()  # same marginal, correlation flipped
    z_flip = (flipped - np.array(pca.mean)) / np.array(pca.scale)
    comps = np.array(pca.components)
    assert reconstruction_error(z_same, comps).mean() / pca.reference_error == pytest.approx(1.0, abs=0.01)
    assert reconstruction_error(z_flip, comps).mean() / pca.reference_error > 1.5  # measured 1.9


def test_save_load_roundtrip(tmp_path):
    df = pd.DataFrame({"a": RNG.normal(size=200), "b": RNG.normal(size=200), "c": ["x", "y"] * 100})
    ref = Reference.from_data(df, predictions=np.arange(200) % 2, metadata={"model": "fraud"})
    path = tmp_path / "ref.json"
    ref.save(path)
    loaded = Reference.load(path)
    # Compared as JSON: empty bins hold NaN means, and NaN != NaN.
    assert json.dumps(loaded.to_dict()) == json.dumps(ref.to_dict())
    assert loaded.feature("a").edges == ref.feature("a").edges
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"schema": "something-else"}', "is not a modeltel reference"),
        ('{"schema": "modeltel.reference", "version": 99, "features": []}', "schema version 99"),
        (
            '{"schema": "modeltel.reference", "version": 1, "features": [{"kind": "numeric"}]}',
            r"features\[0\] is missing field\(s\) bin_means",
        ),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidReferenceError, match=message) as caught:
        Reference.load(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_bad_data():
    with pytest.raises(InvalidReferenceError, match="cannot read reference /nonexistent/ref.json"):
        Reference.load("/nonexistent/ref.json")
    with pytest.raises(InvalidReferenceError, match="no rows"):
        Reference.from_data(np.empty((0, 3)))
    with pytest.raises(InvalidReferenceError, match="bins must be"):
        Reference.from_data(np.ones((3, 2)), bins=1)
    with pytest.raises(InvalidReferenceError, match="3 feature_names for 2 features"):
        Reference.from_data(np.ones((3, 2)), feature_names=["a", "b", "c"])


def test_empty_and_infinite_numeric_columns_are_profiled_without_breaking_the_pca():
    X = np.random.default_rng(3).normal(size=(200, 3))
    X[:, 1] = np.nan
    X[:5, 2] = np.inf
    ref = Reference.from_data(X, feature_names=["a", "empty", "c"])
    by_name = {f.name: f for f in ref.features}
    assert by_name["empty"].missing_rate == 1.0
    assert by_name["c"].missing_rate == pytest.approx(5 / 200) and np.isfinite(by_name["c"].max)
    assert ref.pca is not None and ref.pca.features == ["a", "c"]
    assert np.isfinite(ref.pca.reference_error)


def test_reconstruction_error_equals_the_distance_to_the_reconstruction():
    X = np.random.default_rng(4).normal(size=(300, 6)) @ np.random.default_rng(5).normal(size=(6, 6))
    ref = Reference.from_data(X)
    z = (X - np.asarray(ref.pca.mean)) / np.asarray(ref.pca.scale)
    components = np.asarray(ref.pca.components)
    direct = np.linalg.norm(z - z @ components.T @ components, axis=1)
    assert np.allclose(reconstruction_error(z, components), direct, atol=1e-9)
