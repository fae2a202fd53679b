"""Counting a buffer of sampled rows into a window's bins: one bincount over every row, feature
and block at once, with data quality and the multivariate reconstruction errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from modeltel.drift.layout import MISSING, OUT_OF_RANGE, UNSEEN, Layout, category_codes


class Counted(NamedTuple):
    """Per segment (block): counts and per-bin sums (features x slots), reconstruction errors."""

    counts: np.ndarray
    sums: np.ndarray | None
    error_sum: np.ndarray
    error_rows: np.ndarray


def count_rows(
    layout: Layout,
    numeric: np.ndarray | None,
    categorical: list[np.ndarray],
    weights: np.ndarray,
    accounted: np.ndarray | None,
    n_segments: int,
    segment_of_row: np.ndarray | None,
    bin_numeric: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    quality: np.ndarray,
    track_sums: bool,
    errors: Callable[[np.ndarray], np.ndarray | None] | None,
    errors_max_rows: int,
) -> Counted:
    """The weighted counts of a buffer's rows per segment; data quality is added to ``quality``
    in place. ``errors`` maps numeric rows to their reconstruction errors (None: no
    multivariate score), for at most ``errors_max_rows`` of them (evenly spaced)."""
    d, slots = len(layout.names), layout.slots
    counts = np.zeros((n_segments, d, slots))
    sums = np.zeros((n_segments, d, slots)) if track_sums else None
    error_sum = np.zeros(n_segments)
    error_rows = np.zeros(n_segments)
    if numeric is not None and numeric.size:
        bins, missing = bin_numeric(numeric)
        # One bincount over (segment, feature, 1 + slot): NaN's slot -1 lands in column 0,
        # so counts, missing and out-of-range weights all come out of the same pass.
        n_numeric, width = numeric.shape[1], slots + 1
        cells = n_numeric * width
        cell_of = bins + layout.numeric_bases
        if segment_of_row is not None:
            cell_of += (segment_of_row * cells)[:, None]
        index = cell_of.ravel()
        # A buffer of rows of one weight (a few calls' samples of the same size, or
        # single-row calls) counts rows and scales once: cheaper than a weight per cell.
        weight = float(weights[0])
        uniform = not (weights != weight).any()
        shape = (n_segments, n_numeric, width)
        binned: np.ndarray
        if uniform:
            binned = np.bincount(index, minlength=n_segments * cells).reshape(shape) * weight
        else:
            cell_weights = np.repeat(weights, n_numeric)
            binned = np.bincount(index, weights=cell_weights, minlength=n_segments * cells).reshape(shape)
        numeric_rows = layout.numeric_rows
        counts[:, numeric_rows] += binned[:, :, 1:]
        if sums is not None:
            with np.errstate(invalid="ignore"):
                summed: np.ndarray
                if uniform:
                    summed = np.bincount(index, weights=numeric.ravel(), minlength=n_segments * cells) * weight
                else:
                    summed = np.bincount(index, weights=numeric.ravel() * cell_weights, minlength=n_segments * cells)
            sums[:, numeric_rows] += summed.reshape(shape)[:, :, 1:]
        total = binned[0] if n_segments == 1 else binned.sum(axis=0)
        missing_weight = total[:, 0]
        if accounted is not None:  # NaN because of an issue already counted: not missing
            missing_weight = missing_weight - ((missing & accounted) * weights[:, None]).sum(axis=0)
        quality[numeric_rows, MISSING] += missing_weight
        quality[numeric_rows, OUT_OF_RANGE] += total[:, 1] + total[layout.numeric_positions, layout.last_edge_index + 2]
        _add_errors(errors, errors_max_rows, numeric, weights, segment_of_row, error_sum, error_rows)
    for position, values, categories in zip(layout.categorical, categorical, layout.category_index):
        other = len(categories)
        absent, codes = category_codes(values, categories, other)
        present = weights[~absent]
        if segment_of_row is not None:
            codes = codes + segment_of_row[~absent] * (other + 1)
        counts[:, position, : other + 1] += np.bincount(
            codes, weights=present, minlength=n_segments * (other + 1)
        ).reshape(n_segments, other + 1)
        quality[position, MISSING] += weights[absent].sum()
        quality[position, UNSEEN] += present[codes % (other + 1) == other].sum()
    return Counted(counts, sums, error_sum, error_rows)


def _add_errors(
    errors_of: Callable[[np.ndarray], np.ndarray | None] | None,
    errors_max_rows: int,
    numeric: np.ndarray,
    weights: np.ndarray,
    segment_of_row: np.ndarray | None,
    error_sum: np.ndarray,
    error_rows: np.ndarray,
) -> None:
    """Multivariate reconstruction errors of (at most errors_max_rows of) the binned rows:
    each segment's picked rows' weighted mean error stands for all its rows."""
    if errors_of is None:
        return
    rows = len(numeric)
    picked = slice(None) if rows <= errors_max_rows else np.linspace(0, rows - 1, errors_max_rows).astype(np.intp)
    errors = errors_of(numeric[picked])
    if errors is None or not errors.size:
        return
    chosen = weights[picked]
    if segment_of_row is None:
        all_rows = float(weights.sum())
        error_sum[0] += float(errors @ chosen) / float(chosen.sum()) * all_rows
        error_rows[0] += all_rows
        return
    n = len(error_sum)
    picked_segments = segment_of_row[picked]
    weighted = np.bincount(picked_segments, weights=errors * chosen, minlength=n)
    chosen_weight = np.bincount(picked_segments, weights=chosen, minlength=n)
    total = np.bincount(segment_of_row, weights=weights, minlength=n)
    has = chosen_weight > 0  # a segment none of whose rows were picked adds no error
    error_sum[has] += weighted[has] / chosen_weight[has] * total[has]
    error_rows[has] += total[has]
