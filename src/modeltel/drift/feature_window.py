"""One feature of a window snapshot: its counts in the reference's bins, built from data or a
live window's counts, and read back from a file with every field checked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modeltel.data.columns import numeric_column
from modeltel.data.probabilities import one_value_per_row
from modeltel.data.values import missing_mask, number_mask, to_numpy
from modeltel.drift.layout import QUALITY_KINDS
from modeltel.drift.profiles import CategoricalProfile, FeatureProfile, NumericProfile, bin_index, category_key
from modeltel.errors import WindowError

KINDS = ("numeric", "categorical")


@dataclass
class FeatureWindow:
    """Current counts of one feature in its reference's bins (``len(counts)`` equals the
    length of the reference profile's ``proportions``)."""

    name: str
    kind: str
    counts: list[float]
    # Sum of the values in each bin (numeric features): the current bin means for the
    # Wasserstein distance. None when unknown.
    sums: list[float] | None = None
    quality: dict[str, float] = field(default_factory=lambda: dict.fromkeys(QUALITY_KINDS, 0.0))

    @property
    def total(self) -> float:
        """Rows with a value in some bin (missing values are in ``quality``, not here)."""
        return float(sum(self.counts))


# Elementwise tests over object columns: numpy runs them in its C loop, not a Python one.
_category_keys = np.frompyfunc(category_key, 1, 1)


def _quality(**counts: float) -> dict[str, float]:
    return {kind: float(counts.get(kind, 0.0)) for kind in QUALITY_KINDS}


def _absent(profile: FeatureProfile, rows: int) -> FeatureWindow:
    """A reference feature the data lacks: every row missing, as the live window counts it.
    (A numeric feature without edges is not tracked live at all, so it counts nothing.)"""
    tracked = not (isinstance(profile, NumericProfile) and not profile.edges)
    width = len(profile.proportions)
    return FeatureWindow(
        profile.name,
        profile.kind,
        [0.0] * width,
        [0.0] * width if isinstance(profile, NumericProfile) else None,
        _quality(missing=rows if tracked else 0),
    )


def _profile_values(profile: FeatureProfile, values: np.ndarray) -> FeatureWindow:
    if isinstance(profile, NumericProfile):
        return _numeric_window(profile, np.asarray(values))
    return _categorical_window(profile, np.asarray(values))


def _numeric_window(profile: NumericProfile, values: np.ndarray) -> FeatureWindow:
    width = len(profile.proportions)
    if not profile.edges:
        # The reference saw no values, so the live window does not track this feature.
        return FeatureWindow(profile.name, profile.kind, [0.0] * width, [0.0] * width, _quality())
    as_float = numeric_column(values)
    mismatched = 0
    if as_float is None:
        # Mixed column: numbers kept, anything else is a type mismatch (as the live window).
        objects = values.astype(object)
        missing = missing_mask(objects)
        numbers = number_mask(objects) & ~missing
        mismatched = int((~missing & ~numbers).sum())
        as_float = np.full(values.shape[0], np.nan)
        as_float[numbers] = objects[numbers].astype(np.float64)
    present = ~np.isnan(as_float)
    # NaN among the numbers is missing; type mismatches are counted once, as mismatches.
    missing_count = int((~present).sum()) - mismatched
    edges = np.asarray(profile.edges, dtype=np.float64)
    index = bin_index(as_float[present], edges)
    counts = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    sums = np.bincount(index, weights=as_float[present], minlength=edges.size + 1)
    return FeatureWindow(
        profile.name,
        profile.kind,
        counts.tolist(),
        sums.tolist(),
        _quality(missing=missing_count, out_of_range=counts[0] + counts[-1], type_mismatch=mismatched),
    )


def _categorical_window(profile: CategoricalProfile, values: np.ndarray) -> FeatureWindow:
    objects = values.astype(object)
    missing = missing_mask(objects)
    other = len(profile.categories)
    present = objects[~missing]
    if present.size:
        # Map each distinct key once (a loop over categories, not rows), then index.
        keys, inverse = np.unique(_category_keys(present).astype(str), return_inverse=True)
        lookup = {c: k for k, c in enumerate(profile.categories)}
        codes = np.array([lookup.get(k, other) for k in keys], dtype=np.intp)[inverse.reshape(-1)]
    else:
        codes = np.zeros(0, dtype=np.intp)
    counts = np.bincount(codes, minlength=other + 1).astype(np.float64)
    return FeatureWindow(
        profile.name,
        profile.kind,
        counts.tolist(),
        None,
        _quality(missing=missing.sum(), unseen_category=counts[other]),
    )


def _prediction_values(predictions: Any) -> np.ndarray:
    """Predictions as one value per row, as the reference profiled them (argmax of
    probability rows)."""
    return one_value_per_row(to_numpy(predictions))


def _from_counts(
    profile: FeatureProfile, counts: np.ndarray, sums: np.ndarray, quality: np.ndarray | None
) -> FeatureWindow:
    """A feature of a live window: the layout pads every feature to the widest, so cut to
    this profile's own bins."""
    width = len(profile.proportions)
    numeric = isinstance(profile, NumericProfile)
    q = dict(zip(QUALITY_KINDS, (float(v) for v in quality))) if quality is not None else _quality()
    return FeatureWindow(
        profile.name,
        profile.kind,
        counts[:width].astype(np.float64).tolist(),
        sums[:width].astype(np.float64).tolist() if numeric else None,
        q,
    )


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise WindowError(f"{where} must be a non-negative number, got {value!r}")
    return float(value)


def _numbers(value: Any, where: str, finite: bool = True) -> list[float]:
    if not isinstance(value, list) or not value:
        raise WindowError(f"{where} must be a non-empty list of numbers, got {_type(value)}")
    for k, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (finite and not math.isfinite(v)):
            raise WindowError(f"{where}[{k}] must be a {'finite ' if finite else ''}number, got {v!r}")
    return [float(v) for v in value]


def _feature_from_dict(data: Any, where: str) -> FeatureWindow:
    if not isinstance(data, dict):
        raise WindowError(f"{where} must be an object, got {_type(data)}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise WindowError(f"{where}: name must be a non-empty string, got {name!r}")
    where = f"{where} ({name!r})"
    kind = data.get("kind")
    if kind not in KINDS:
        raise WindowError(f"{where}: kind must be one of {list(KINDS)}, got {kind!r}")
    counts = _numbers(data.get("counts"), f"{where}: counts")
    if any(c < 0 for c in counts):
        raise WindowError(f"{where}: counts must not be negative")
    sums = data.get("sums")
    if sums is not None:
        # Infinite values land in the overflow/underflow bins, so their sums may be infinite.
        sums = _numbers(sums, f"{where}: sums", finite=False)
        if len(sums) != len(counts):
            raise WindowError(f"{where}: sums has {len(sums)} entries for {len(counts)} counts")
    quality = data.get("quality", {})
    if not isinstance(quality, dict):
        raise WindowError(f"{where}: quality must be an object, got {_type(quality)}")
    unknown = sorted(set(quality) - set(QUALITY_KINDS))
    if unknown:
        raise WindowError(f"{where}: unknown quality kind(s) {unknown}; known: {list(QUALITY_KINDS)}")
    checked = {k: _number(quality.get(k, 0.0), f"{where}: quality.{k}") for k in QUALITY_KINDS}
    return FeatureWindow(name, kind, counts, sums, checked)


def _check_shape(window: FeatureWindow, profile: FeatureProfile, source: str) -> None:
    if window.kind != profile.kind:
        raise WindowError(
            f"{source}: feature {profile.name!r} is {window.kind} in the window but {profile.kind} in the reference"
        )
    if len(window.counts) != len(profile.proportions):
        raise WindowError(
            f"{source}: feature {profile.name!r} has {len(window.counts)} bins, the reference has "
            f"{len(profile.proportions)}: was it built against another reference?"
        )
