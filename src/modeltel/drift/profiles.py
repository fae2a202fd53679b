"""Reference profiles: one feature's (or the predictions') bins or categories, the PCA of the
numeric features and the calibration map, and how each is built from training data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from modeltel.data.probabilities import one_value_per_row
from modeltel.data.values import to_numpy
from modeltel.errors import InvalidReferenceError


@dataclass
class NumericProfile:
    """Quantile bins of one numeric feature. ``proportions`` has ``len(edges) + 1`` entries:
    underflow (below the reference minimum), one per bin, overflow (above the maximum)."""

    name: str
    edges: list[float]
    proportions: list[float]
    # Mean of the reference values in each bin (NaN for an empty bin), same layout as
    # proportions: lets Wasserstein distance place each bin's mass where it really is.
    bin_means: list[float]
    mean: float
    std: float
    min: float
    max: float
    missing_rate: float
    count: int
    kind: str = "numeric"


@dataclass
class CategoricalProfile:
    """Proportions of the most frequent categories; the last entry is "other"."""

    name: str
    categories: list[str]
    proportions: list[float]
    missing_rate: float
    count: int
    kind: str = "categorical"


@dataclass
class PcaProfile:
    """Standardise with ``mean``/``scale``, project on ``components``; ``reference_error`` is
    the mean reconstruction error of the reference rows (the multivariate score's unit)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    components: list[list[float]]
    explained_variance: float
    reference_error: float


FeatureProfile = NumericProfile | CategoricalProfile


def _numeric_profile(name: str, values: np.ndarray, bins: int) -> NumericProfile:
    count = int(values.shape[0])
    # +-inf is a data error, not part of the distribution: profiled like a missing value.
    present = values[np.isfinite(values)]
    missing_rate = 1.0 - present.shape[0] / count
    if present.size == 0:
        return NumericProfile(name, [], [0.0], [math.nan], math.nan, math.nan, math.nan, math.nan, missing_rate, count)
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size == 1:  # a constant feature: one degenerate bin [c, c]
        edges = np.repeat(edges, 2)
    return NumericProfile(
        name=name,
        edges=edges.tolist(),
        proportions=bin_proportions(present, edges).tolist(),
        bin_means=bin_means(present, edges).tolist(),
        mean=float(present.mean()),
        std=float(present.std()),
        min=float(present.min()),
        max=float(present.max()),
        missing_rate=missing_rate,
        count=count,
    )


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in [underflow, bin 1 .. bin n, overflow] for sorted ``edges`` (n+1 of them).

    Bins are closed on the left, the last one on both sides, so the reference minimum and
    maximum fall inside; values below ``edges[0]`` or above ``edges[-1]`` are out of range.
    """
    if edges.size == 0:
        return np.zeros(1, dtype=np.int64)
    return np.bincount(bin_index(values, edges), minlength=edges.size + 1)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value in the [underflow, bins..., overflow] layout of ``bin_counts``:
    searchsorted gives 0 below the first edge and len(edges) at or past the last; the
    maximum itself belongs to the last bin."""
    positions = np.searchsorted(edges, values, side="right")
    positions[values == edges[-1]] = edges.size - 1
    return positions


def bin_means(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of the values in each bin (NaN where a bin is empty)."""
    index = bin_index(values, edges)
    sums = np.bincount(index, weights=values, minlength=edges.size + 1)
    counts = np.bincount(index, minlength=edges.size + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def bin_proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = bin_counts(values, edges).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def category_key(value: Any) -> str:
    """A category's name: ``str`` of the value, with whole floats written as integers so
    zip code 1000 reads the same from an int column and from a float matrix."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _categorical_profile(name: str, values: np.ndarray, top_k: int) -> CategoricalProfile:
    count = int(values.shape[0])
    missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)
    present = np.array([category_key(v) for v in values[~missing]], dtype=object)
    missing_rate = float(missing.mean()) if count else 0.0
    if present.size == 0:
        return CategoricalProfile(name, [], [0.0], missing_rate, count)
    categories, counts = np.unique(present.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top_k]
    kept = counts[order].astype(np.float64)
    other = float(counts.sum() - kept.sum())
    proportions = np.append(kept, other) / counts.sum()
    return CategoricalProfile(name, [str(c) for c in categories[order]], proportions.tolist(), missing_rate, count)


def _prediction_profile(predictions: Any, bins: int, top_k: int) -> FeatureProfile | None:
    if predictions is None:
        return None
    values = one_value_per_row(to_numpy(predictions))  # probability rows: the predicted class
    if values.dtype.kind == "f":
        return _numeric_profile("prediction", values.astype(np.float64), bins)
    return _categorical_profile("prediction", values.astype(object), top_k)


def _calibration(predictions: Any, labels: Any, rows: int, bins: int = 20) -> dict[str, Any] | None:
    """A monotone map from predicted to observed probability, learnt on the reference.

    Binary models map P(positive); others map the top probability to the chance that the
    top class is right. Quantile bins, then a running maximum so the map never decreases
    (a cheap stand-in for isotonic regression).
    """
    if predictions is None or labels is None:
        return None
    proba = np.asarray(predictions, dtype=np.float64)
    truth = np.asarray(labels)
    if proba.ndim != 2 or proba.shape[1] < 2 or truth.shape[0] != rows or proba.shape[0] != rows:
        raise InvalidReferenceError("labels need probability predictions (rows x classes) with one label per row")
    if proba.shape[1] == 2:
        classes = np.unique(truth)
        score = proba[:, 1]
        outcome = (truth == classes[-1]).astype(np.float64)
        kind = "binary"
    else:
        score = proba.max(axis=1)
        outcome = (proba.argmax(axis=1) == np.searchsorted(np.unique(truth), truth)).astype(np.float64)
        kind = "top"
    order = np.argsort(score, kind="stable")
    groups = np.array_split(order, min(bins, rows))
    x = np.array([score[g].mean() for g in groups if g.size])
    y = np.maximum.accumulate(np.array([outcome[g].mean() for g in groups if g.size]))
    return {"kind": kind, "x": x.tolist(), "y": y.tolist()}


def _pca_profile(numeric: dict[str, np.ndarray], variance: float) -> PcaProfile | None:
    # A column with no finite value carries no direction (and would make the SVD fail).
    names = [n for n in numeric if np.isfinite(numeric[n]).any()]
    if len(names) < 2:
        return None
    data = np.column_stack([numeric[n] for n in names])
    finite = np.isfinite(data)
    mean = np.where(finite, data, 0.0).sum(axis=0) / finite.sum(axis=0)
    data = np.where(finite, data, mean)  # impute NaN and +-inf with the reference mean
    scale = data.std(axis=0)
    scale[scale == 0] = 1.0
    z = (data - mean) / scale
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    explained = singular**2 / max((singular**2).sum(), 1e-300)
    k = int(np.searchsorted(np.cumsum(explained), variance) + 1)
    k = min(k, len(names) - 1) if len(names) > 1 else 1
    components = vt[:k]
    error = reconstruction_error(z, components)
    return PcaProfile(
        features=names,
        mean=mean.tolist(),
        scale=scale.tolist(),
        components=components.tolist(),
        explained_variance=float(explained[:k].sum()),
        reference_error=float(error.mean()),
    )


def reconstruction_error(z: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Per-row Euclidean distance between standardised rows and their PCA reconstruction.

    The components are orthonormal, so the squared distance is |z|^2 - |z C^T|^2: one
    projection instead of projecting and reconstructing (half the multiply-adds).
    """
    # Huge inputs overflow to inf (inf - inf is NaN): the row's error is then not finite,
    # which the multivariate score handles; no warning for what the user's data holds.
    with np.errstate(over="ignore", invalid="ignore"):
        scores = z @ components.T
        squared = _row_dots(z) - _row_dots(scores)
        return np.sqrt(np.maximum(squared, 0.0))  # rounding can leave a tiny negative


# numpy 2's vecdot costs ~30% less than einsum; numpy 1 has only einsum.
_VECDOT = getattr(np, "vecdot", None)


def _row_dots(a: np.ndarray) -> np.ndarray:
    """Each row's dot product with itself."""
    return _VECDOT(a, a) if _VECDOT is not None else np.einsum("ij,ij->i", a, a)
