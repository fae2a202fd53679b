"""Drift and data quality for one model: its reference, its windows, and what they export.

A ``DriftMonitor`` exists per (model name, version) that has a reference (its model's state
holds it). On every call it bins a bounded row sample of the inputs (and the outputs) into
its windows; statistics are computed only when metrics are collected, from the windows'
counts (drift/points.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from modeltel.config import Settings
from modeltel.data.columns import numeric_column, table_columns
from modeltel.data.probabilities import predicted_class
from modeltel.data.rows import NOT_READ, single_row
from modeltel.drift import methods
from modeltel.drift.layout import MISSING, QUALITY_KINDS, TYPE_MISMATCH
from modeltel.drift.reference import (
    NumericProfile,
    Reference,
    reconstruction_error,
)
from modeltel.drift.sampling import (
    numbers_or_nan,
    numeric_row,
    one_prediction,
    output_sample,
    pick,
    row_sample,
    sample_length,
)
from modeltel.drift.window import DriftWindow

_logger = logging.getLogger("modeltel")

# Values binned per call at most (rows x features), and multiply-adds of the multivariate
# projection per binning at most: wide models would otherwise pay milliseconds per call.
DRIFT_SAMPLE_CELLS = 16_384
PCA_MULTIPLY_ADDS = 1_000_000
# A row's reconstruction error at most: huge inputs overflow to inf, which would make the
# window's mean (ml.drift.multivariate.score) inf or NaN, values the SDK drops; summed over
# any window this stays finite.
ERROR_CAP = 1e100

# Rows whose reconstruction error is computed per binning at most (evenly spaced): the mean
# over 256 of a full 1,024-row buffer moves the score by ~3% at most, against an alert
# threshold of 1.5x, and costs a quarter (the projection was a third of a binning).
ERROR_ROWS = 256


class DriftSample(NamedTuple):
    """A call's input sample between ``DriftMonitor.sample_inputs`` and ``add_inputs``."""

    sample: Any
    rows: int
    copied: bool


class DriftMonitor:
    """Windows and scores of one model against its reference."""

    def __init__(self, name: str, version: str | None, reference: Reference, settings: Settings) -> None:
        self.name = name
        self.version = version
        self.reference = reference
        self.settings = settings
        pca = reference.pca
        self.inputs = DriftWindow(
            reference.features,
            settings.drift_window,
            settings.drift_window_seconds,
            track_distribution=settings.export_distribution,
            errors=self._reconstruction_errors,
            errors_max_rows=min(ERROR_ROWS, PCA_MULTIPLY_ADDS // max(1, len(pca.features) * len(pca.components)))
            if pca
            else 1,
        )
        # Rows of a call binned for drift: all of a call within the summaries' row budget (the
        # window is then exact), drift_sample_rows of a larger one; fewer for wide models so
        # that one call bins at most DRIFT_SAMPLE_CELLS values (weights keep counts unbiased).
        widest = DRIFT_SAMPLE_CELLS // max(1, len(reference.features))
        self._whole_rows = max(1, min(settings.summary_max_rows, widest))
        self._sample_rows = max(1, min(settings.drift_sample_rows, widest))
        self.outputs = (
            DriftWindow(
                [reference.predictions],
                settings.drift_window,
                settings.drift_window_seconds,
                track_distribution=False,
            )
            if reference.predictions is not None
            else None
        )
        self._numeric_predictions = isinstance(reference.predictions, NumericProfile)
        # A numeric prediction the output window bins as its one numeric feature.
        self._numeric_output_row = self.outputs is not None and self.outputs.layout.numeric == [0]
        self._warned: set[str] = set()
        layout = self.inputs.layout
        self._width = len(layout.names)
        self._all_numeric = layout.numeric_is_prefix and len(layout.numeric) == self._width
        self._numeric_names = [layout.names[i] for i in layout.numeric]
        self._position = {n: i for i, n in enumerate(layout.names)}
        self._pca_columns: np.ndarray | None = None
        if pca is not None and set(pca.features) <= set(self._numeric_names):
            order = {n: k for k, n in enumerate(self._numeric_names)}
            self._pca_columns = np.array([order[f] for f in pca.features], dtype=np.intp)
            self._pca_mean = np.asarray(pca.mean)
            self._pca_inverse_scale = 1.0 / np.asarray(pca.scale)
            # Every numeric column, in order: no gather.
            self._pca_takes_all = np.array_equal(self._pca_columns, np.arange(len(self._numeric_names)))
            self._pca_components = np.asarray(pca.components)

    @property
    def attributes(self) -> dict[str, str]:
        attrs = {"ml.model.name": self.name}
        if self.version is not None:
            attrs["ml.model.version"] = self.version
        return attrs

    # --- hot path ------------------------------------------------------------------------

    def observe_inputs(self, x: Any, rows: int, names_hint: Sequence[str] | None, row: Any = NOT_READ) -> int:
        """Bin a sample of ``x`` into the input window; returns sampled out-of-range values.
        ``row`` is ``single_row(x, True)`` when the caller has read it already."""
        pending = self.sample_inputs(x, rows, row)
        return pending if isinstance(pending, int) else self.add_inputs(pending, names_hint)

    def sample_inputs(self, x: Any, rows: int, row: Any = NOT_READ) -> int | DriftSample:
        """The first half of ``observe_inputs``: a call's row sample for ``add_inputs``, or,
        when there is nothing to defer (one row of numbers, no sample), the call already
        added and its out-of-range count. A sample with ``copied`` set was gathered into a
        new array, so the caller may add it after the model call."""
        if rows <= 0:
            return 0
        if rows == 1 and self._all_numeric:
            values = numeric_row(single_row(x, True) if row is NOT_READ else row, self._width)
            if values is not None:
                return self.inputs.add_row(values)
        budget = self._rows_binned(rows)
        sample = row_sample(x, budget, self.settings.device_summaries)
        if sample is None:
            return 0
        # take_rows gathers an array's sample into a new one only when it samples.
        return DriftSample(sample, rows, type(sample) is np.ndarray and rows > budget and sample.ndim > 1)

    def add_inputs(self, pending: DriftSample, names_hint: Sequence[str] | None) -> int:
        """The second half of ``observe_inputs``: bin the sample into the input window."""
        sample, rows, _ = pending
        sampled_rows = sample_length(sample)
        if sampled_rows == 0:
            return 0
        weight = rows / sampled_rows
        fast = self._fast_columns(sample)
        if fast is not None:
            return self.inputs.add(fast, [], rows, weight)
        # One row per reference feature, plus one for columns the reference does not have.
        quality = np.zeros((len(self._position) + 1, len(QUALITY_KINDS)))
        numeric, accounted, categorical = self._columns(sample, sampled_rows, names_hint, quality)
        return self.inputs.add(numeric, categorical, rows, weight, quality if quality.any() else None, accounted)

    def _rows_binned(self, rows: int) -> int:
        return self._whole_rows if rows <= self._whole_rows else self._sample_rows

    def _fast_columns(self, sample: Any) -> np.ndarray | None:
        """The numeric matrix of the common case, with nothing to count as a schema issue:
        an all-numeric reference and a float or integer matrix of its width (1-D: one row)."""
        if type(sample) is not np.ndarray or sample.dtype.kind not in "fiu" or not self._all_numeric:
            return None
        if sample.ndim == 1:
            sample = sample.reshape(1, -1)
        if sample.ndim != 2 or sample.shape[1] != self._width:
            return None
        return sample if sample.dtype == np.float64 else sample.astype(np.float64)

    def observe_outputs(self, y: Any, rows: int) -> None:
        if self.outputs is None or rows <= 0:
            return
        if rows == 1:
            value = one_prediction(y)
            if value is not None:
                if not self._numeric_predictions:
                    # A class label, or the predicted class of a row of scores: coded by value.
                    self.outputs.add(None, [np.array([value])], 1, 1.0)
                    return
                if self._numeric_output_row:
                    self.outputs.add_row([value])
                    return
        values = output_sample(y, self._rows_binned(rows), self.settings.device_summaries)
        if values is None:
            return
        if values.ndim == 2 and values.shape[1] > 1:
            values = predicted_class(values)  # probability rows: the predicted class, as in the reference
        values = values.reshape(-1)
        if values.size == 0:
            return
        weight = rows / values.size
        if self._numeric_predictions:
            numeric = numeric_column(values)
            if numeric is None:
                return
            self.outputs.add(numeric.reshape(-1, 1), [], rows, weight)
        else:
            # Numeric class labels stay numeric: the window codes them by distinct value.
            self.outputs.add(None, [values if values.dtype.kind in "iufb" else values.astype(object)], rows, weight)

    def _columns(
        self, sample: Any, sampled_rows: int, names_hint: Sequence[str] | None, quality: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None, list[np.ndarray]]:
        """Numeric matrix and categorical columns in layout order, plus a mask of numeric
        cells that are NaN because of an issue already counted (absent, wrong type)."""
        layout = self.inputs.layout
        if (
            isinstance(sample, np.ndarray)
            and sample.ndim == 2
            and sample.dtype.kind in "fiub"
            and sample.shape[1] == len(layout.names)
        ):
            # The common case: a numeric matrix in reference column order.
            matrix = sample.astype(np.float64, copy=False)
            if layout.numeric_is_prefix and len(layout.numeric) == matrix.shape[1]:
                numeric = np.ascontiguousarray(matrix)
            else:
                # Column gathers come out Fortran-ordered; the binning loop wants rows.
                numeric = np.ascontiguousarray(matrix[:, layout.numeric])
            categorical = [matrix[:, i].astype(object) for i in layout.categorical]
            return numeric, None, categorical
        if isinstance(sample, np.ndarray) and sample.ndim == 1:
            sample = sample.reshape(1, -1)
        columns = table_columns(sample)
        by_name = dict(columns)
        use_names = not all(name == f"x{i}" for i, (name, _) in enumerate(columns))
        if not use_names and names_hint is not None and len(names_hint) == len(columns):
            by_name = {str(n): values for n, (_, values) in zip(names_hint, columns)}
            use_names = True
        positional = [values for _, values in columns]
        expected = set(layout.names)
        unexpected = (
            sum(1 for name in by_name if name not in expected)
            if use_names
            else max(0, len(columns) - len(layout.names))
        )
        if unexpected:
            # A batch wider than the reference: its extra cells are a schema mismatch.
            quality[-1, TYPE_MISMATCH] += unexpected * sampled_rows
            self._warn_once("columns the reference does not have", unexpected)
        numeric = np.full((sampled_rows, len(layout.numeric)), np.nan)
        accounted = np.zeros(numeric.shape, dtype=bool)
        absent = 0
        for k, position in enumerate(layout.numeric):
            values = pick(layout.names[position], position, by_name, positional, use_names)
            if values is None:
                quality[position, MISSING] += sampled_rows  # an absent feature is missing
                accounted[:, k] = True
                absent += 1
                continue
            as_float = numeric_column(values)
            if as_float is None:
                as_float, mismatched = numbers_or_nan(values)
                quality[position, TYPE_MISMATCH] += mismatched.sum()
                accounted[:, k] = mismatched
            numeric[:, k] = as_float
        categorical = []
        for position in layout.categorical:
            values = pick(layout.names[position], position, by_name, positional, use_names)
            if values is None:  # counted as missing by the window, like any None
                values = np.full(sampled_rows, None, dtype=object)
                absent += 1
            categorical.append(np.asarray(values, dtype=object))
        if absent:
            self._warn_once("reference features absent from the input", absent)
        return numeric, accounted, categorical

    def _warn_once(self, what: str, count: int) -> None:
        if what in self._warned:
            return
        self._warned.add(what)
        _logger.warning(
            "modeltel: model %r: %d %s (counted in ml.data_quality.issues; logged once)",
            self.name,
            count,
            what,
        )

    def _reconstruction_errors(self, numeric: np.ndarray) -> np.ndarray | None:
        """Per-row PCA reconstruction errors of binned rows (the window calls it in bulk)."""
        if self._pca_columns is None:
            return None
        values = numeric if self._pca_takes_all else numeric[:, self._pca_columns]
        # Huge values overflow (their rows' errors are then inf): no warning for user data.
        with np.errstate(invalid="ignore", over="ignore"):
            z = values - self._pca_mean
            if not np.isfinite(z.sum()):  # rare: impute as the reference did (z = 0 at the mean)
                z = np.where(np.isfinite(z), z, 0.0)
            z *= self._pca_inverse_scale
            errors = reconstruction_error(z, self._pca_components)
            if not np.isfinite(errors.sum()):
                # A row too far out to measure (inf - inf): as far as the score can say, not NaN.
                errors = np.minimum(np.nan_to_num(errors, nan=ERROR_CAP, posinf=ERROR_CAP), ERROR_CAP)
            return errors

    # --- collection time -----------------------------------------------------------------

    def feature_scores(self) -> Iterator[tuple[str, str, float]]:
        """(feature, method, score) for every feature and configured method."""
        window = self.inputs.snapshot()
        if window.rows <= 0:
            return
        yield from _scores(self.inputs, window, self.settings.drift_methods)

    def worst_score(self, method: str) -> float | None:
        """The score of ``method`` of the most drifted feature (the largest distance, the
        smallest p-value); None before any data or where the method applies to no feature."""
        window = self.inputs.snapshot()
        if window.rows <= 0:
            return None
        scores = [score for _, _, score in _scores(self.inputs, window, (method,))]
        return methods.METHODS[method].worst(scores) if scores else None

    def prediction_scores(self) -> Iterator[tuple[str, float]]:
        if self.outputs is None:
            return
        window = self.outputs.snapshot()
        if window.rows <= 0:
            return
        for _, method, score in _scores(self.outputs, window, self.settings.drift_methods):
            yield method, score

    def multivariate_score(self) -> float | None:
        """Mean reconstruction error in the window relative to the reference's (1.0 = same)."""
        if self._pca_columns is None or self.reference.pca is None:
            return None
        window = self.inputs.snapshot()
        if window.error_rows <= 0 or not self.reference.pca.reference_error > 0:
            return None
        return window.error_sum / window.error_rows / self.reference.pca.reference_error

    def window_rows(self) -> float:
        return self.inputs.snapshot().rows

    def window_counts(self) -> tuple[Any, Any | None, np.ndarray]:
        """The summed input window, the prediction window (None without a prediction
        profile) and the input data quality counts since start: what a window snapshot
        (modeltel.drift.snapshot) is made of, read through this one accessor."""
        outputs = self.outputs.snapshot() if self.outputs is not None else None
        return self.inputs.snapshot(), outputs, self.inputs.quality


def _scores(window: DriftWindow, snapshot: Any, names: Sequence[str]) -> Iterator[tuple[str, str, float]]:
    layout = window.layout
    names = tuple(names)
    for position, name in enumerate(layout.names):
        profile = layout.profiles[position]
        width = len(profile.proportions)
        kind = methods.NUMERIC if isinstance(profile, NumericProfile) else methods.CATEGORICAL
        found = methods.scores(
            profile,
            kind,
            np.asarray(profile.proportions),
            snapshot.counts[position, :width],
            snapshot.sums[position, :width],
            names,
        )
        for method, score in found.items():
            yield name, method, score
