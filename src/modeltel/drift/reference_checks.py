"""Complete validation of a reference in its JSON form, before anything uses it.

``check_reference`` walks the dict that ``Reference.to_dict`` writes (and ``Reference.load``
reads) and raises ``InvalidReference`` naming the first field that is wrong, e.g.
``features[2].edges must be sorted``; ``modeltel.reference`` turns that into a
``ReferenceError`` naming the file. Lists of numbers are checked with one numpy conversion
each, so a large reference costs about what parsing it did.

>>> check_reference({"features": [], "rows": -1})
Traceback (most recent call last):
...
modeltel.drift.reference_checks.InvalidReference: rows must be an int >= 0, got -1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# The fields of reference.NumericProfile, CategoricalProfile and PcaProfile, as written.
NUMERIC_FIELDS = frozenset(
    {"name", "edges", "proportions", "bin_means", "mean", "std", "min", "max", "missing_rate", "count", "kind"}
)
CATEGORICAL_FIELDS = frozenset({"name", "categories", "proportions", "missing_rate", "count", "kind"})
PCA_FIELDS = frozenset({"features", "mean", "scale", "components", "explained_variance", "reference_error"})
CALIBRATION_KINDS = ("binary", "top")
# Proportions are count ratios, whose float sum is 1 within rounding; hand-edited files
# written with three decimals still pass.
SUM_TOLERANCE = 1e-3


class InvalidReference(ValueError):
    """One field of a reference that is wrong; the message starts with the field's path."""


def check_reference(data: Mapping[str, Any]) -> None:
    """Check every field of a reference dict (schema and version are the caller's).

    Raises ``InvalidReference`` whose message names the field and the problem: types,
    finite sorted edges, proportions of the right length summing to 1, PCA shapes, the
    calibration map, unique feature names, ``metadata`` and ``rows``.
    """
    rows = data.get("rows", 0)
    if not _is_int(rows) or rows < 0:
        raise InvalidReference(f"rows must be an int >= 0, got {rows!r}")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidReference(f"metadata must be an object, got {type(metadata).__name__}")
    if "features" not in data:
        raise InvalidReference("features is missing")
    features = data["features"]
    if not isinstance(features, (list, tuple)):
        raise InvalidReference(f"features must be a list of feature profiles, got {_short(features)}")
    seen: set[str] = set()
    numeric_with_values: set[str] = set()
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        _check_profile(feature, where)
        name = feature["name"]
        if name in seen:
            raise InvalidReference(f"{where}.name {name!r} is a duplicate: feature names must be unique")
        seen.add(name)
        if feature["kind"] == "numeric" and len(feature["edges"]):
            numeric_with_values.add(name)
    predictions = data.get("predictions")
    if predictions is not None:
        _check_profile(predictions, "predictions")
    pca = data.get("pca")
    if pca is not None:
        _check_pca(pca, numeric_with_values)
    calibration = data.get("calibration")
    if calibration is not None:
        _check_calibration(calibration)


def _check_profile(profile: Any, where: str) -> None:
    """Check one feature (or the predictions) profile; the message ends with its name."""
    if not isinstance(profile, Mapping):
        raise InvalidReference(f"{where} must be an object (a feature profile), got {_short(profile)}")
    try:
        _check_profile_fields(profile, where)
    except InvalidReference as exc:
        name = profile.get("name")
        if not isinstance(name, str):
            raise
        raise InvalidReference(f"{exc} (feature {_short(name)})") from None


def _check_profile_fields(profile: Mapping[str, Any], where: str) -> None:
    kind = profile.get("kind")
    if kind == "numeric":
        _check_fields(profile, NUMERIC_FIELDS, where)
    elif kind == "categorical":
        _check_fields(profile, CATEGORICAL_FIELDS, where)
    else:
        raise InvalidReference(f"{where}.kind must be 'numeric' or 'categorical', got {kind!r}")
    name = profile["name"]
    if not isinstance(name, str):
        raise InvalidReference(f"{where}.name must be a string, got {_short(name)}")
    if kind == "numeric":
        edges = _numbers(profile["edges"], f"{where}.edges", finite=True)
        if edges.size == 1:
            raise InvalidReference(f"{where}.edges must have no entry or at least 2 (n + 1 edges for n bins)")
        if edges.size and not bool(np.all(edges[1:] >= edges[:-1])):
            raise InvalidReference(f"{where}.edges must be sorted")
        slots = edges.size + 1
        _number(profile["mean"], f"{where}.mean")
        _number(profile["min"], f"{where}.min")
        _number(profile["max"], f"{where}.max")
        std = _number(profile["std"], f"{where}.std")
        if edges.size and not (np.isfinite(std) and std >= 0):
            raise InvalidReference(f"{where}.std must be a finite number >= 0, got {std!r}")
        means = _numbers(profile["bin_means"], f"{where}.bin_means")
        if means.size != slots:
            raise InvalidReference(f"{where}.bin_means must have len(edges) + 1 = {slots} entries, got {means.size}")
    else:
        categories = profile["categories"]
        if not isinstance(categories, (list, tuple)) or not all(isinstance(c, str) for c in categories):
            raise InvalidReference(f"{where}.categories must be a list of strings")
        if len(set(categories)) != len(categories):
            raise InvalidReference(f"{where}.categories must not repeat a category")
        slots = len(categories) + 1
    proportions = _numbers(profile["proportions"], f"{where}.proportions", finite=True)
    if proportions.size != slots:
        length = "len(edges) + 1" if kind == "numeric" else "len(categories) + 1"
        raise InvalidReference(f"{where}.proportions must have {length} = {slots} entries, got {proportions.size}")
    if proportions.size and proportions.min() < 0:
        raise InvalidReference(f"{where}.proportions must not be negative")
    # A feature without any present value has no bins or categories, and all-zero proportions.
    if slots > 1 and abs(float(proportions.sum()) - 1.0) > SUM_TOLERANCE:
        raise InvalidReference(f"{where}.proportions must sum to 1, got {float(proportions.sum())!r}")
    missing_rate = _number(profile["missing_rate"], f"{where}.missing_rate")
    if not 0.0 <= missing_rate <= 1.0:
        raise InvalidReference(f"{where}.missing_rate must be between 0 and 1, got {missing_rate!r}")
    count = profile["count"]
    if not _is_int(count) or count < 0:
        raise InvalidReference(f"{where}.count must be an int >= 0, got {_short(count)}")


def _check_pca(pca: Any, numeric_with_values: set[str]) -> None:
    if not isinstance(pca, Mapping):
        raise InvalidReference(f"pca must be an object, got {_short(pca)}")
    _check_fields(pca, PCA_FIELDS, "pca")
    features = pca["features"]
    if not isinstance(features, (list, tuple)) or not features or not all(isinstance(f, str) for f in features):
        raise InvalidReference("pca.features must be a non-empty list of feature names")
    if len(set(features)) != len(features):
        raise InvalidReference("pca.features must not repeat a feature")
    unknown = [f for f in features if f not in numeric_with_values]
    if unknown:
        raise InvalidReference(
            f"pca.features names {unknown[0]!r}, which is not a numeric feature (with values) of the reference"
        )
    n = len(features)
    mean = _numbers(pca["mean"], "pca.mean", finite=True)
    scale = _numbers(pca["scale"], "pca.scale", finite=True)
    for label, values in (("mean", mean), ("scale", scale)):
        if values.size != n:
            raise InvalidReference(f"pca.{label} must have one entry per pca feature ({n}), got {values.size}")
    if not bool(np.all(scale > 0)):
        raise InvalidReference("pca.scale must be > 0")
    components = _matrix(pca["components"], "pca.components")
    if components.shape[0] < 1 or components.shape[1] != n:
        raise InvalidReference(
            f"pca.components must be k x {n} (k >= 1 rows of one entry per pca feature), got shape "
            f"{components.shape[0]} x {components.shape[1]}"
        )
    explained = _number(pca["explained_variance"], "pca.explained_variance")
    if not 0.0 <= explained <= 1.0 + SUM_TOLERANCE:
        raise InvalidReference(f"pca.explained_variance must be between 0 and 1, got {explained!r}")
    error = _number(pca["reference_error"], "pca.reference_error")
    if not (np.isfinite(error) and error >= 0):
        raise InvalidReference(f"pca.reference_error must be a finite number >= 0, got {error!r}")


def _check_calibration(calibration: Any) -> None:
    if not isinstance(calibration, Mapping):
        raise InvalidReference(f"calibration must be an object, got {_short(calibration)}")
    kind = calibration.get("kind")
    if kind not in CALIBRATION_KINDS:
        raise InvalidReference(f"calibration.kind must be 'binary' or 'top', got {_short(kind)}")
    for key in ("x", "y"):
        if key not in calibration:
            raise InvalidReference(f"calibration.{key} is missing")
    x = _numbers(calibration["x"], "calibration.x", finite=True)
    y = _numbers(calibration["y"], "calibration.y", finite=True)
    if x.size == 0 or x.size != y.size:
        raise InvalidReference(
            f"calibration.x and calibration.y must be non-empty and of equal length, got {x.size} and {y.size}"
        )
    if not bool(np.all(x[1:] >= x[:-1])):
        raise InvalidReference("calibration.x must be sorted")
    if y.min() < 0 or y.max() > 1:
        raise InvalidReference("calibration.y must be probabilities (between 0 and 1)")


def _check_fields(data: Mapping[str, Any], expected: frozenset[str], where: str) -> None:
    missing = sorted(expected - data.keys())
    if missing:
        raise InvalidReference(f"{where} is missing field(s) {', '.join(missing)}")
    unknown = sorted(str(k) for k in data.keys() - expected)
    if unknown:
        raise InvalidReference(f"{where} has unknown field(s) {', '.join(unknown)}")


def _numbers(value: Any, where: str, *, finite: bool = False) -> np.ndarray:
    """``value`` as a 1-D float array, if it is a list of numbers (NaN and infinities only
    when not ``finite``); one numpy conversion, no loop over the entries."""
    if not isinstance(value, (list, tuple)):
        raise InvalidReference(f"{where} must be a list of numbers, got {_short(value)}")
    try:
        array = np.array(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise InvalidReference(f"{where} must be a list of numbers") from None
    # Strings, None, nested lists and bools do not come out as a 1-D int or float array.
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iuf"):
        raise InvalidReference(f"{where} must be a list of numbers")
    array = array.astype(np.float64, copy=False)
    if finite and not bool(np.isfinite(array).all()):
        raise InvalidReference(f"{where} must be finite numbers (no NaN or infinity)")
    return array


def _matrix(value: Any, where: str) -> np.ndarray:
    """``value`` as a 2-D finite float array, if it is a list of equal-length lists of numbers."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(row, (list, tuple)) for row in value):
        raise InvalidReference(f"{where} must be a list of lists of numbers")
    try:
        array = np.array(value)
    except (ValueError, TypeError):
        raise InvalidReference(f"{where} must be a list of equal-length lists of numbers") from None
    if array.size == 0:
        return array.reshape(len(value), 0)
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise InvalidReference(f"{where} must be a list of equal-length lists of numbers")
    array = array.astype(np.float64, copy=False)
    if not bool(np.isfinite(array).all()):
        raise InvalidReference(f"{where} must be finite numbers (no NaN or infinity)")
    return array


def _number(value: Any, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidReference(f"{where} must be a number, got {_short(value)}")
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        raise InvalidReference(f"{where} must be a number a float can hold") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _short(value: Any) -> str:
    """A value for a message: its repr, cut short (a corrupt field can be huge)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
