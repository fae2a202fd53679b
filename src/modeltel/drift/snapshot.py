"""Window snapshots: the current traffic's bin counts, aligned with a reference's bins.

A ``WindowSnapshot`` is what a drift report compares with the reference: per feature, the
count of rows in each of the reference's bins (numeric: underflow, the reference bins,
overflow; categorical: the reference categories in order, then "other"), per-bin sums of
numeric values (for the Wasserstein distance), and data quality counts. It comes from a file
of current data (``WindowSnapshot.from_data``, ``modeltel window build``) or from a running
process's drift window (``modeltel.save_window``), and is a small JSON file with the schema
tag ``modeltel.window/v1``. The bins are those ``DriftWindow`` uses, so a snapshot built from
data equals the live window that saw the same rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modeltel._json import read_json, write_atomically
from modeltel.drift.reference import (
    CategoricalProfile,
    FeatureProfile,
    InvalidReferenceError,
    NumericProfile,
    Reference,
    bin_index,
    category_key,
    numeric_column,
    table_columns,
)
from modeltel.errors import WindowError

SCHEMA = "modeltel.window/v1"
# Same kinds, same order as the live window's data quality counters (drift_window.QUALITY_KINDS).
QUALITY_KINDS = ("missing", "out_of_range", "unseen_category", "type_mismatch")
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


@dataclass
class WindowSnapshot:
    """A window of current traffic in a reference's bins; compare it with ``modeltel report``.

    >>> window = WindowSnapshot.from_data(live_df, Reference.load("fraud.json"))
    >>> window.save("fraud-window.json")
    """

    rows: float
    features: list[FeatureWindow]
    predictions: FeatureWindow | None = None
    # Identity of the reference the bins come from: a report refuses another reference.
    reference_digest: str = ""
    # "data" (profiled from a file: quality counts cover the file) or "live" (a process's
    # drift window: quality counts are counters since the process started).
    source: str = "data"
    # Cells of columns the reference does not have (the live "_unexpected" quality row).
    unexpected_columns: float = 0.0
    created: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def feature(self, name: str) -> FeatureWindow:
        for window in self.features:
            if window.name == name:
                return window
        raise KeyError(f"window has no feature {name!r}")

    # --- building ------------------------------------------------------------------------

    @classmethod
    def from_data(
        cls,
        X: Any,
        reference: Reference,
        *,
        predictions: Any = None,
        feature_names: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> WindowSnapshot:
        """Profile current data (anything ``Reference.from_data`` accepts) in ``reference``'s
        bins, counting data quality issues as the live window does: NaN/None missing, values
        outside the reference range, categories outside the reference's top-K, non-numbers in
        numeric columns; a reference feature absent from the data is missing in every row and
        an extra column counts as ``unexpected_columns``. ``predictions`` (one per row) are
        profiled against the reference's prediction profile.

        >>> window = WindowSnapshot.from_data(pd.read_csv("today.csv"), ref, predictions=preds)
        """
        columns = table_columns(X, feature_names)
        rows = len(columns[0][1]) if columns else 0
        by_name = dict(columns)
        features = []
        for profile in reference.features:
            values = by_name.get(profile.name)
            if values is None:
                features.append(_absent(profile, rows))
            else:
                features.append(_profile_values(profile, values))
        unexpected = sum(1 for name in by_name if name not in {p.name for p in reference.features})
        window_predictions = None
        if predictions is not None:
            if reference.predictions is None:
                raise WindowError("predictions given but the reference has no prediction profile")
            window_predictions = _profile_values(reference.predictions, _prediction_values(predictions))
        return cls(
            rows=float(rows),
            features=features,
            predictions=window_predictions,
            reference_digest=reference_digest(reference),
            source="data",
            unexpected_columns=float(unexpected * rows),
            created=_now(),
            metadata=dict(metadata or {}),
        )

    @classmethod
    def from_model(cls, model: Any, *, version: str | None = None) -> WindowSnapshot:
        """The live drift window of a model in this process: pass the registered model object
        or its name (``version`` picks among several versions of one name). Counts are the
        window's (the last ``drift_window`` rows or seconds, weighted as the metrics are);
        data quality counts are since the process started, as ``ml.data_quality.issues``.

        >>> window = WindowSnapshot.from_model("fraud")
        """
        return live_window(model, version=version)[1]

    # --- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def feature(w: FeatureWindow) -> dict[str, Any]:
            return {"name": w.name, "kind": w.kind, "counts": w.counts, "sums": w.sums, "quality": w.quality}

        return {
            "schema": SCHEMA,
            "rows": self.rows,
            "reference_digest": self.reference_digest,
            "source": self.source,
            "unexpected_columns": self.unexpected_columns,
            "created": self.created,
            "metadata": self.metadata,
            "features": [feature(w) for w in self.features],
            "predictions": feature(self.predictions) if self.predictions is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "window") -> WindowSnapshot:
        """Rebuild from ``to_dict`` output, checking every field; ``WindowError`` names the
        field and what is wrong with it."""
        if not isinstance(data, dict) or "schema" not in data:
            raise WindowError(f"{source} is not a modeltel window snapshot (no schema {SCHEMA!r})")
        schema = data["schema"]
        if schema != SCHEMA:
            if isinstance(schema, str) and schema.startswith("modeltel.window/"):
                raise WindowError(
                    f"{source} has window schema {schema!r}; this modeltel reads {SCHEMA!r} "
                    "(rebuild it with `modeltel window build`)"
                )
            raise WindowError(f"{source} is not a modeltel window snapshot (schema {schema!r}, expected {SCHEMA!r})")
        rows = _number(data.get("rows"), f"{source}: rows")
        features_data = data.get("features")
        if not isinstance(features_data, list):
            raise WindowError(f"{source}: features must be a list, got {_type(features_data)}")
        features = [_feature_from_dict(f, f"{source}: feature #{i}") for i, f in enumerate(features_data)]
        seen: set[str] = set()
        for window in features:
            if window.name in seen:
                raise WindowError(f"{source}: feature {window.name!r} appears twice")
            seen.add(window.name)
        raw_predictions = data.get("predictions")
        predictions = (
            _feature_from_dict(raw_predictions, f"{source}: predictions") if raw_predictions is not None else None
        )
        metadata = data.get("metadata", {})
        if not isinstance(metadata, dict):
            raise WindowError(f"{source}: metadata must be an object, got {_type(metadata)}")
        for key in ("reference_digest", "source", "created"):
            if not isinstance(data.get(key, ""), str):
                raise WindowError(f"{source}: {key} must be a string, got {_type(data.get(key))}")
        return cls(
            rows=rows,
            features=features,
            predictions=predictions,
            reference_digest=data.get("reference_digest", ""),
            source=data.get("source", "data"),
            unexpected_columns=_number(data.get("unexpected_columns", 0.0), f"{source}: unexpected_columns"),
            created=data.get("created", ""),
            metadata=metadata,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the snapshot as JSON (atomically, as ``Reference.save``)."""
        write_atomically(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WindowSnapshot:
        """Read a snapshot written by ``save``; ``WindowError`` for a missing, corrupt or
        malformed file, naming the file and the problem."""
        return cls.from_dict(read_json(path, "window", WindowError), source=f"window {path}")

    # --- matching ------------------------------------------------------------------------

    def check_against(self, reference: Reference, source: str = "window") -> None:
        """Raise ``WindowError`` unless every reference feature has a window of the same kind
        and number of bins, and the bins are the reference's own (same digest)."""
        by_name = {w.name: w for w in self.features}
        for profile in reference.features:
            window = by_name.get(profile.name)
            if window is None:
                raise WindowError(
                    f"{source} has no feature {profile.name!r} of the reference: was it built against another reference?"
                )
            _check_shape(window, profile, source)
        extra = sorted(set(by_name) - set(reference.feature_names))
        if extra:
            raise WindowError(f"{source} has feature(s) {extra} the reference does not have")
        if self.predictions is not None and reference.predictions is not None:
            _check_shape(self.predictions, reference.predictions, f"{source} predictions")
        if self.reference_digest and self.reference_digest != reference_digest(reference):
            raise WindowError(
                f"{source} was built against a different reference (same features and bin counts, "
                "other bin edges or categories): rebuild it with this reference"
            )


def live_window(model: Any, *, version: str | None = None) -> tuple[Reference, WindowSnapshot]:
    """The reference and the current window of a model's live DriftMonitor (see
    ``WindowSnapshot.from_model``); ``WindowError`` when the model has none yet."""
    monitor = _find_monitor(model, version)
    inputs, outputs, quality = monitor.window_counts()
    reference = monitor.reference
    features = [
        _from_counts(profile, inputs.counts[i], inputs.sums[i], quality[i])
        for i, profile in enumerate(reference.features)
    ]
    window_predictions = None
    if outputs is not None and reference.predictions is not None and outputs.rows > 0:
        window_predictions = _from_counts(reference.predictions, outputs.counts[0], outputs.sums[0], None)
    snapshot = WindowSnapshot(
        rows=float(inputs.rows),
        features=features,
        predictions=window_predictions,
        reference_digest=reference_digest(reference),
        source="live",
        unexpected_columns=float(quality[-1].sum()),
        created=_now(),
        metadata={"model": monitor.name, "version": monitor.version},
    )
    return reference, snapshot


def read_table(path: str | os.PathLike[str]) -> Any:
    """A CSV or Parquet file as a pandas DataFrame (the files the CLI profiles);
    ``ReferenceError`` naming the problem."""
    path = Path(path)
    try:
        import pandas as pd
    except ImportError:
        raise InvalidReferenceError("reading CSV/Parquet needs pandas: pip install 'modeltel[pandas]'") from None
    suffix = path.suffix.lower()
    if not path.exists():
        raise InvalidReferenceError(f"no such data file: {path}")
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise InvalidReferenceError(f"{path}: unsupported data file type {suffix!r} (use .csv or .parquet)")


def reference_digest(reference: Reference) -> str:
    """A short hash of what a window's bins depend on: names, kinds, edges, categories."""

    def key(p: FeatureProfile) -> list[Any]:
        return [p.name, p.kind, p.edges if isinstance(p, NumericProfile) else p.categories]

    parts = [key(p) for p in reference.features]
    parts.append(key(reference.predictions) if reference.predictions is not None else None)
    text = json.dumps(parts, separators=(",", ":"), allow_nan=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


# --- profiling ----------------------------------------------------------------------------

# Elementwise tests over object columns: numpy runs them in its C loop, not a Python one.
_is_missing = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and math.isnan(v)), 1, 1)
_is_number = np.frompyfunc(
    lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)), 1, 1
)
_category_keys = np.frompyfunc(category_key, 1, 1)


def _quality(**counts: float) -> dict[str, float]:
    return {kind: float(counts.get(kind, 0.0)) for kind in QUALITY_KINDS}


def _absent(profile: FeatureProfile, rows: int) -> FeatureWindow:
    """A reference feature the data lacks: every row missing, as the live window counts it.
    (A numeric feature without edges is not tracked live at all, so it counts nothing.)"""
    tracked = not (isinstance(profile, NumericProfile) and not profile.edges)
    width = len(profile.proportions)
    return FeatureWindow(
        profile.name, profile.kind, [0.0] * width,
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
        missing = _is_missing(objects).astype(bool)
        numbers = _is_number(objects).astype(bool) & ~missing
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
        profile.name, profile.kind, counts.tolist(), sums.tolist(),
        _quality(missing=missing_count, out_of_range=counts[0] + counts[-1], type_mismatch=mismatched),
    )


def _categorical_window(profile: CategoricalProfile, values: np.ndarray) -> FeatureWindow:
    objects = values.astype(object)
    missing = _is_missing(objects).astype(bool) if objects.size else np.zeros(0, dtype=bool)
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
        profile.name, profile.kind, counts.tolist(), None,
        _quality(missing=missing.sum(), unseen_category=counts[other]),
    )


def _prediction_values(predictions: Any) -> np.ndarray:
    """Predictions as one value per row, as the reference profiled them (argmax of
    probability rows)."""
    module = type(predictions).__module__ or ""
    if module.startswith("torch") and hasattr(predictions, "detach"):
        predictions = predictions.detach().cpu().numpy()
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] > 1:
        values = values.argmax(axis=1)
    return values.reshape(-1)


def _from_counts(profile: FeatureProfile, counts: np.ndarray, sums: np.ndarray, quality: np.ndarray | None) -> FeatureWindow:
    """A feature of a live window: the layout pads every feature to the widest, so cut to
    this profile's own bins."""
    width = len(profile.proportions)
    numeric = isinstance(profile, NumericProfile)
    q = dict(zip(QUALITY_KINDS, (float(v) for v in quality))) if quality is not None else _quality()
    return FeatureWindow(
        profile.name, profile.kind, counts[:width].astype(np.float64).tolist(),
        sums[:width].astype(np.float64).tolist() if numeric else None, q,
    )


def _no_models(model: Any, version: str | None) -> Any:
    raise WindowError("no model has made predictions in this process")


# (model object or name, version) -> its live DriftMonitor, or WindowError saying what to do.
# Handed in by the core, which knows the models (this package does not import it).
_find_monitor: Callable[[Any, str | None], Any] = _no_models


def use_finder(find: Callable[[Any, str | None], Any]) -> None:
    global _find_monitor
    _find_monitor = find


# --- validation ---------------------------------------------------------------------------


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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
