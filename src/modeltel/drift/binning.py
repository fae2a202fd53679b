"""Which reference bin each value falls in, for many values and features at once.

The slot of a value is the number of its feature's edges at or below it (0 = underflow), the
maximum edge itself belonging to the last bin and NaN to none (-1). ``exact_slots`` counts
edges with one comparison per edge position (~30 array passes for 11 edges); ``GridBinner``
gets the same answer in ~10 passes: each feature's edge range is cut into G equal cells, and
tables give, per cell, the edges certainly below it and the one edge that may be near it (a
value in a cell where several edges crowd is compared with all of them). tests/unit/drift/test_binning.py
checks both against each other on edges, ties, NaN, infinities and constant features.
"""

from __future__ import annotations

import numpy as np


def exact_slots(
    values: np.ndarray, edges: np.ndarray, last_edge_index: np.ndarray, last_edge: np.ndarray
) -> np.ndarray:
    """Slots of a (rows, features) float array; ``edges`` is (features, n) padded with +inf.

    >>> exact_slots(np.array([[0.5]]), np.array([[0.0, 1.0]]), np.array([1]), np.array([1.0]))
    array([[1]])
    """
    with np.errstate(invalid="ignore"):
        if values.size * edges.shape[1] <= 4096:
            # Small samples (online calls): one broadcast comparison beats a loop.
            slots = (values[..., None] >= edges).sum(axis=-1)
        else:
            # uint8 counters and a reused comparison buffer: ~2x faster than int sums.
            slots = np.zeros(values.shape, dtype=np.uint8)
            above = np.empty(values.shape, dtype=bool)
            for edge in np.ascontiguousarray(edges.T):
                np.greater_equal(values, edge, out=above)
                slots += above.view(np.uint8)
            slots = slots.astype(np.intp)
    slots = np.where(values == last_edge, last_edge_index, np.minimum(slots, last_edge_index + 1))
    return np.where(np.isnan(values), -1, slots)


class GridBinner:
    """Slots through per-feature lookup tables; falls back to ``exact_slots`` per value."""

    def __init__(self, edges: np.ndarray, last_edge_index: np.ndarray, cells: int) -> None:
        self.edges = edges
        self.last_edge_index = last_edge_index
        features = edges.shape[0]
        self.last_edge = edges[np.arange(features), last_edge_index] if features else np.empty(0)
        self.cells = cells
        low = edges[:, 0] if features else np.empty(0)
        span = self.last_edge - low
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            scale = cells / span
        usable = np.isfinite(low) & np.isfinite(self.last_edge) & (span > 0) & np.isfinite(scale)
        self.all_usable = bool(usable.all())
        self.low = np.where(usable, low, 0.0)
        self.scale = np.where(usable, scale, 0.0)
        width = cells + 2  # cell 0: below the first edge; cells + 1: at or above the last
        self.base = np.arange(features, dtype=np.intp) * width
        # Per cell: the edges certainly at or below any value landing there (``below``), the
        # one edge that may or may not be (``compare``; NaN, which compares false, when none),
        # and whether two or more may be (``ambiguous``: compare exactly). A value's slot is
        # then below + (value >= compare): three passes instead of gathering the values near
        # an edge and comparing them with every edge.
        below = np.zeros((features, width), dtype=np.int16)  # at most 250 edges (drift_window)
        compare = np.full((features, width), np.nan)
        ambiguous = np.ones((features, width), dtype=bool)
        cell = np.arange(width)
        for f in np.flatnonzero(usable):
            e = edges[f, : last_edge_index[f] + 1]
            # The cell each edge maps to; rounding can move a value one cell either way, so an
            # edge is in doubt for its cell and both neighbours.
            home = np.clip(np.floor((e - self.low[f]) * self.scale[f]).astype(np.intp) + 1, 0, cells + 1)
            certain = np.searchsorted(home + 1, cell, side="left")  # edges with home + 1 < cell
            doubtful = np.searchsorted(home - 1, cell, side="right") - certain
            # The last edge belongs to the last bin: a value is past it only when greater.
            past = e.copy()
            past[-1] = np.nextafter(past[-1], np.inf)
            one = doubtful == 1
            below[f] = certain
            compare[f, one] = past[certain[one]]
            ambiguous[f] = doubtful > 1
        self.below = below.reshape(-1)
        self.compare = compare.reshape(-1)
        self.ambiguous = ambiguous.reshape(-1)
        self.any_ambiguous = bool(self.ambiguous.any())

    def slots(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slots, NaN mask) of a (rows, features) float array; slots as ``exact_slots``."""
        with np.errstate(invalid="ignore", over="ignore"):
            grid = values - self.low
            grid *= self.scale
            grid += 1.0
            if self.all_usable:
                # NaN stays NaN: a meaningless cell, clipped into range below.
                np.clip(grid, 0.0, self.cells + 1, out=grid)
            else:
                # An unusable feature (scale 0) makes inf * 0 = NaN of an infinite value, which
                # must land in one of its own (ambiguous) cells: fmax/fmin send NaN to cell 0.
                np.fmax(grid, 0.0, out=grid)
                np.fmin(grid, self.cells + 1, out=grid)
            cell = grid.astype(np.intp)
        cell += self.base
        # mode="clip" only matters for NaN, whose slot is overwritten with -1 at the end.
        slots = self.below.take(cell, mode="clip")
        slots += values >= self.compare.take(cell, mode="clip")  # NaN compares false
        if self.any_ambiguous:
            rows, cols = np.nonzero(self.ambiguous.take(cell, mode="clip"))
            if rows.size:
                # The few values where edges crowd, as one row whose "features" are their columns.
                slots[rows, cols] = exact_slots(
                    values[rows, cols][None, :], self.edges[cols], self.last_edge_index[cols], self.last_edge[cols]
                )[0]
        missing = np.isnan(values)
        slots[missing] = -1
        return slots, missing
