"""Training-time reference profiles: what "normal" inputs and predictions look like.

A ``Reference`` keeps, per numeric feature, quantile bin edges with the reference proportion in
each bin (plus an underflow and an overflow bin, empty in the reference), mean, std, min, max
and missing rate; per categorical feature, the proportions of its most frequent categories plus
an "other" bucket; the distribution of the model's predictions when given; and a PCA model of
the numeric features for multivariate drift. It is a small versioned JSON file (no pickle), so
it can be built in a training pipeline and shipped beside the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from modeltel._json import read_json, write_atomically
from modeltel.data.columns import numeric_column, table_columns
from modeltel.drift.profiles import (
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PcaProfile,
    _calibration,
    _categorical_profile,
    _numeric_profile,
    _pca_profile,
    _prediction_profile,
    bin_counts,
    bin_means,
    category_key,
    reconstruction_error,
)
from modeltel.drift.reference_checks import InvalidReference, check_reference
from modeltel.errors import InvalidReferenceError

__all__ = [
    "MAX_REFERENCE_BYTES",
    "CategoricalProfile",
    "FeatureProfile",
    "NumericProfile",
    "PcaProfile",
    "Reference",
    "bin_counts",
    "bin_means",
    "category_key",
    "reconstruction_error",
]

SCHEMA = "modeltel.reference"
SCHEMA_VERSION = 1
# NannyML's default: keep the principal components that explain 65% of the variance.
PCA_VARIANCE = 0.65
# The largest reference file ``load`` reads: 1,000 numeric features at the 1,000-bin maximum,
# with the PCA of 1,000 uncorrelated features, come to ~55 MB (10 bins: ~10 MB).
MAX_REFERENCE_BYTES = 64 * 2**20


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
            "features": [_view(f, profiles) for f in features]
            if isinstance(features, (list, tuple))
            else _view(features, ()),
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
