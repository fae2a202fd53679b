"""The shape of a drift window: its reference features' bins and categories as arrays (the
layout), the blocks of counts it moves in, and how category values are coded."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modeltel.drift.binning import GridBinner
from modeltel.drift.reference import CategoricalProfile, NumericProfile, category_key

# Buffers of at least this many rows are binned through the lookup tables (binning.py).
GRID_MIN_ROWS = 32


# Data quality kinds, in column order of the quality arrays.
QUALITY_KINDS = ("missing", "out_of_range", "unseen_category", "type_mismatch")


MISSING, OUT_OF_RANGE, UNSEEN, TYPE_MISMATCH = range(4)


@dataclass
class Block:
    """Counts for one slice of the window."""

    counts: np.ndarray  # (features, slots) weighted rows per bin
    sums: np.ndarray  # (features, slots) weighted sum of values per bin (numeric features)
    rows: float = 0.0
    sampled: int = 0  # rows actually binned (the others are represented by their weights)
    error_sum: float = 0.0  # multivariate: weighted sum of reconstruction errors
    error_rows: float = 0.0
    started: float = field(default_factory=lambda: time.monotonic())


class Layout:
    """How a reference's features map onto a (features, slots) count array.

    Numeric feature j with n+1 edges uses slots 0..n+1: underflow, n bins, overflow.
    Categorical feature j with k categories uses slots 0..k: one per category, then "other".
    """

    def __init__(self, profiles: list[Any]) -> None:
        self.names = [p.name for p in profiles]
        self.numeric = [i for i, p in enumerate(profiles) if isinstance(p, NumericProfile) and p.edges]
        self.categorical = [i for i, p in enumerate(profiles) if isinstance(p, CategoricalProfile)]
        widths = [len(p.proportions) for p in profiles]
        self.slots = max(widths) if widths else 1
        self.profiles = profiles
        # Padded edges for one vectorised comparison over all numeric features: +inf pads
        # never compare true, so each feature counts only its own edges.
        n_edges = max((len(profiles[i].edges) for i in self.numeric), default=0)
        self.edges = np.full((len(self.numeric), n_edges), np.inf)
        self.last_edge_index = np.zeros(len(self.numeric), dtype=np.intp)
        for row, i in enumerate(self.numeric):
            e = profiles[i].edges
            self.edges[row, : len(e)] = e
            self.last_edge_index[row] = len(e) - 1
        self.last_edge = self.edges[np.arange(len(self.numeric)), self.last_edge_index] if self.numeric else np.empty(0)
        # Lookup tables for buffers of many rows: 11 bytes per cell, within 64K cells per window
        # (~720 KB) but at least 64 per feature. Fewer, larger cells would stay in cache better
        # but leave skewed features' crowded edges to the exact comparison (lognormal data:
        # 71% of values at 819 cells per feature, 29% at 4,096).
        self.grid: GridBinner | None = None
        if self.numeric and n_edges < 250:
            try:
                self.grid = GridBinner(
                    self.edges, self.last_edge_index, max(64, min(4096, 65_536 // len(self.numeric)))
                )
            except (ValueError, FloatingPointError, OverflowError):  # odd edges: compare them directly
                self.grid = None
        # True when the numeric features are exactly columns 0..n-1 (no gather needed).
        self.numeric_is_prefix = self.numeric == list(range(len(self.numeric)))
        # The numeric features' rows in per-feature arrays: a slice when they lead (a view,
        # cheaper than gathering by a list of positions).
        self.numeric_rows: slice | list[int] = slice(0, len(self.numeric)) if self.numeric_is_prefix else self.numeric
        self.numeric_positions = np.arange(len(self.numeric))
        # Column 1 + slot of each numeric feature in a (features, 1 + slots) bincount.
        self.numeric_bases = 1 + np.arange(len(self.numeric), dtype=np.intp) * (self.slots + 1)
        self.category_index = [{c: k for k, c in enumerate(profiles[i].categories)} for i in self.categorical]

    def reference_proportions(self, position: int) -> np.ndarray:
        return np.asarray(self.profiles[position].proportions, dtype=np.float64)


def category_codes(values: np.ndarray, index: dict[str, int], other: int) -> tuple[np.ndarray, np.ndarray]:
    """(missing mask, code of every present value) for one categorical column: its position in
    the reference's categories, ``other`` for an unseen one.

    Typed arrays (numeric class labels, numpy strings) look up each distinct value once
    (np.unique) instead of every row: a buffer of class labels holds a handful of distinct
    values. Object arrays take the per-value path: equality would merge values whose names
    differ (``True == 1``).
    """
    kind = values.dtype.kind
    if kind == "O":
        missing = np.fromiter(
            (v is None or (isinstance(v, float) and math.isnan(v)) for v in values), bool, len(values)
        )
        present = values[~missing]
        return missing, np.fromiter((index.get(category_key(v), other) for v in present), np.intp, len(present))
    if kind in "iu" and values.size and values.ndim == 1:
        # Small non-negative integers (predicted classes, argmax indices): a bincount finds the
        # distinct values without np.unique's sort (~5x faster on a 256-row sample).
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < 4096:
            seen = np.flatnonzero(np.bincount(values, minlength=high + 1)).tolist()
            lookup = np.full(high + 1, other, dtype=np.intp)
            lookup[seen] = [index.get(category_key(u), other) for u in seen]
            return np.zeros(len(values), dtype=bool), lookup.take(values)
    missing = np.isnan(values) if kind in "fc" else np.zeros(len(values), dtype=bool)
    uniques, inverse = np.unique(values[~missing] if kind in "fc" else values, return_inverse=True)
    lookup = np.fromiter((index.get(category_key(u), other) for u in uniques), np.intp, len(uniques))
    return missing, lookup[inverse.reshape(-1)]
