"""Training-time reference profiles: what "normal" inputs and predictions look like.

A ``Reference`` keeps, per numeric feature, quantile bin edges with the reference proportion in
each bin (plus an underflow and an overflow bin, empty in the reference), mean, std, min, max
and missing rate; per categorical feature, the proportions of its most frequent categories plus
an "other" bucket; the distribution of the model's predictions when given; and a PCA model of
the numeric features for multivariate drift. It is a small versioned JSON file (no pickle), so
it can be built in a training pipeline and shipped beside the model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from modeltel._json import read_json, write_atomically
from modeltel.drift.reference_checks import InvalidReference, check_reference
from modeltel.errors import InvalidReferenceError

SCHEMA = "modeltel.reference"
SCHEMA_VERSION = 1
# NannyML's default: keep the principal components that explain 65% of the variance.
PCA_VARIANCE = 0.65
# The largest reference file ``load`` reads: 1,000 numeric features at the 1,000-bin maximum,
# with the PCA of 1,000 uncorrelated features, come to ~55 MB (10 bins: ~10 MB).
MAX_REFERENCE_BYTES = 64 * 2**20


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


@dataclass
class Reference:
    """A reference profile; build it with ``Reference.from_data`` and ship it as JSON.

    >>> ref = modeltel.Reference.from_data(X_train, predictions=model.predict(X_train))
    >>> ref.save("fraud-reference.json")
    """

    features: list[FeatureProfile]
    predictions: FeatureProfile | None = None
    pca: PcaProfile | None = None
    rows: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    # Probability calibration learnt from reference labels, for CBPE estimates:
    # {"kind": "binary" | "top", "x": [...], "y": [...]} (a monotone piecewise-linear map).
    calibration: dict[str, Any] | None = None

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureProfile:
        for profile in self.features:
            if profile.name == name:
                return profile
        raise KeyError(f"reference has no feature {name!r}; it has {', '.join(self.feature_names)}")

    @classmethod
    def from_data(
        cls,
        X: Any,
        *,
        predictions: Any = None,
        feature_names: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        bins: int = 10,
        top_k: int = 50,
        pca_variance: float = PCA_VARIANCE,
        metadata: Mapping[str, Any] | None = None,
        labels: Any = None,
    ) -> Reference:
        """Profile training (or validation) data: the same input types predictions accept.

        Columns listed in ``categorical``, and every non-numeric column, are profiled as
        categories (the ``top_k`` most frequent plus "other"); the rest get ``bins`` quantile
        bins. With ``labels`` (the true classes of the rows) and probability ``predictions``,
        a calibration map for label-free estimates is learnt too. Raises ``InvalidReferenceError``
        naming the problem for unusable data or options.

        >>> ref = Reference.from_data(df, categorical=["country"], bins=10)
        """
        if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 1000:
            raise InvalidReferenceError(f"bins must be an int between 2 and 1000, got {bins!r}")
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise InvalidReferenceError(f"top_k must be a positive int, got {top_k!r}")
        if not 0.0 < pca_variance <= 1.0:
            raise InvalidReferenceError(f"pca_variance must be in (0, 1], got {pca_variance!r}")
        columns = table_columns(X, feature_names)
        if not columns:
            raise InvalidReferenceError("reference data has no features")
        rows = len(columns[0][1])
        if rows == 0:
            raise InvalidReferenceError("reference data has no rows")
        names = [name for name, _ in columns]
        unknown = sorted(set(categorical or ()) - set(names))
        if unknown:
            raise InvalidReferenceError(f"categorical names unknown feature(s) {unknown}; features are {names}")
        forced = set(categorical or ())
        profiles: list[FeatureProfile] = []
        numeric: dict[str, np.ndarray] = {}
        for name, values in columns:
            as_float = None if name in forced else numeric_column(values)
            if as_float is None:
                profiles.append(_categorical_profile(name, values, top_k))
            else:
                profiles.append(_numeric_profile(name, as_float, bins))
                numeric[name] = as_float
        return cls(
            features=profiles,
            predictions=_prediction_profile(predictions, bins, top_k),
            pca=_pca_profile(numeric, pca_variance),
            rows=rows,
            metadata=dict(metadata or {}),
            calibration=_calibration(predictions, labels, rows),
        )

    # --- persistence -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "rows": self.rows,
            "metadata": self.metadata,
            "features": [asdict(f) for f in self.features],
            "predictions": asdict(self.predictions) if self.predictions is not None else None,
            "pca": asdict(self.pca) if self.pca is not None else None,
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "reference") -> Reference:
        """Rebuild from ``to_dict`` output after checking every field; ``InvalidReferenceError``
        names ``source`` and the first field that is wrong."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise InvalidReferenceError(f"{source} is not a modeltel reference (no schema {SCHEMA!r})")
        version = data.get("version")
        if version != SCHEMA_VERSION:
            raise InvalidReferenceError(
                f"{source} has reference schema version {version!r}; this modeltel reads version "
                f"{SCHEMA_VERSION} (rebuild it with `modeltel reference build`)"
            )
        try:
            check_reference(data)
        except InvalidReference as exc:
            raise InvalidReferenceError(f"{source}: {exc}") from None
        predictions = data.get("predictions")
        return cls(
            features=[_profile_from_dict(f) for f in data["features"]],
            predictions=_profile_from_dict(predictions) if predictions is not None else None,
            pca=PcaProfile(**data["pca"]) if data.get("pca") is not None else None,
            rows=data.get("rows", 0),
            metadata=dict(data.get("metadata") or {}),
            calibration=data.get("calibration"),
        )

    def validate(self, source: str = "reference") -> None:
        """Check a reference built or changed in code as ``load`` checks a file:
        ``InvalidReferenceError`` naming ``source`` and the first field that is wrong."""
        profiles = (NumericProfile, CategoricalProfile)
        features = self.features
        data = {
            "rows": self.rows,
            "metadata": self.metadata,
            "features": [_view(f, profiles) for f in features] if isinstance(features, (list, tuple)) else _view(features, ()),
            "predictions": _view(self.predictions, profiles),
            "pca": _view(self.pca, (PcaProfile,)),
            "calibration": self.calibration,
        }
        try:
            check_reference(data)
        except InvalidReference as exc:
            raise InvalidReferenceError(f"{source}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the reference as JSON (atomically: a reader never sees half a file)."""
        write_atomically(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reference:
        """Read a reference written by ``save``; ``InvalidReferenceError`` for a missing, corrupt,
        incompatible or invalid file, or one larger than ``MAX_REFERENCE_BYTES``, naming the
        file and the field or problem."""
        data = read_json(path, "reference", InvalidReferenceError, max_bytes=MAX_REFERENCE_BYTES)
        return cls.from_dict(data, source=f"reference {path}")


def _profile_from_dict(data: dict[str, Any]) -> FeatureProfile:
    """A checked profile dict as its dataclass."""
    return NumericProfile(**data) if data["kind"] == "numeric" else CategoricalProfile(**data)


def _view(value: Any, kinds: tuple[type, ...]) -> Any:
    """A profile as a shallow dict for the checks (asdict would copy every list entry by
    entry); anything not of ``kinds`` as a description the checks reject."""
    if value is None:
        return None
    if isinstance(value, kinds):
        profile: Any = value
        return {f.name: getattr(profile, f.name) for f in fields(profile)}
    expected = " or ".join(k.__name__ for k in kinds) or "list"
    return f"a {type(value).__name__}, not a {expected}"


# --- columns ------------------------------------------------------------------------------


def table_columns(X: Any, feature_names: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """Every column of a tabular input as (name, 1-D array), for whole-data profiling.

    Accepts what predictions accept: numpy arrays, pandas DataFrames, lists of rows, a list of
    dict records, a dict of columns, scipy sparse matrices, torch tensors.
    """
    module = type(X).__module__ or ""
    if module.startswith("pandas") and type(X).__name__ == "DataFrame":
        # Categorical columns as plain objects: their categories, not pandas codes.
        columns = [
            (str(c), (X[c].astype(object) if getattr(X[c].dtype, "name", "") == "category" else X[c]).to_numpy())
            for c in X.columns
        ]
        return _named(columns, feature_names)
    if module.startswith("torch") and hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    if module.startswith("scipy.sparse"):
        X = X.toarray()
    if isinstance(X, Mapping):
        return _named([(str(k), np.asarray(v)) for k, v in X.items()], feature_names)
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], Mapping):
        keys: dict[Any, None] = {}
        for record in X:
            keys.update(dict.fromkeys(record))
        return _named([(str(k), np.array([r.get(k) for r in X], dtype=object)) for k in keys], feature_names)
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InvalidReferenceError(f"reference data must be 2-D (rows x features), got shape {array.shape}")
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise InvalidReferenceError(f"{len(names)} feature_names for {array.shape[1]} features")
    return [(str(n), array[:, i]) for i, n in enumerate(names)]


def _named(columns: list[tuple[str, np.ndarray]], names: Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    if names is None:
        return columns
    if len(names) != len(columns):
        raise InvalidReferenceError(f"{len(names)} feature_names for {len(columns)} features")
    return [(str(n), values) for n, (_, values) in zip(names, columns)]


def numeric_column(values: np.ndarray) -> np.ndarray | None:
    """The column as float64 (None/NaN missing), or None when it holds non-numbers."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    if values.dtype.kind != "O":
        return None
    present = [v for v in values if v is not None]
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in present):
        return None
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


# --- profiles -----------------------------------------------------------------------------


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
    module = type(predictions).__module__ or ""
    if module.startswith("torch") and hasattr(predictions, "detach"):
        predictions = predictions.detach().cpu().numpy()
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] > 1:
        values = values.argmax(axis=1)  # probability rows: the predicted class
    values = values.reshape(-1)
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
