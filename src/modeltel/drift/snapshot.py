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
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeltel._json import read_json, write_atomically
from modeltel.data.columns import table_columns
from modeltel.drift.feature_window import (
    FeatureWindow,
    _absent,
    _check_shape,
    _feature_from_dict,
    _from_counts,
    _number,
    _prediction_values,
    _profile_values,
    _type,
)
from modeltel.drift.profiles import FeatureProfile, NumericProfile
from modeltel.drift.reference import Reference
from modeltel.errors import InvalidReferenceError, WindowError

SCHEMA = "modeltel.window/v1"


@dataclass
class WindowSnapshot:
    """A window of current traffic in a reference's bins; compare it with ``modeltel report``.

    >>> reference.save("fraud.json")
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

        >>> live_df.to_csv("today.csv", index=False)
        >>> window = WindowSnapshot.from_data(pd.read_csv("today.csv"), ref, predictions=clf.predict_proba(X))
        >>> window.rows
        1000.0
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

        >>> fraud = modeltel.register(clf, name="fraud", reference=reference)
        >>> _ = fraud.predict_proba(X[:10])
        >>> WindowSnapshot.from_model("fraud").rows
        10.0
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

    parts: list[Any] = [key(p) for p in reference.features]
    parts.append(key(reference.predictions) if reference.predictions is not None else None)
    text = json.dumps(parts, separators=(",", ":"), allow_nan=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


# --- profiling ----------------------------------------------------------------------------


def _no_models(model: Any, version: str | None) -> Any:
    raise WindowError("no model has made predictions in this process")


# (model object or name, version) -> its live DriftMonitor, or WindowError saying what to do.
# Handed in by the core, which knows the models (this package does not import it).
_find_monitor: Callable[[Any, str | None], Any] = _no_models


def use_finder(find: Callable[[Any, str | None], Any]) -> None:
    global _find_monitor
    _find_monitor = find


# --- validation ---------------------------------------------------------------------------


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
