"""The lookup-table binning gives every value the slot the edge comparison gives it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from modeltel.drift.binning import GridBinner, exact_slots


def _layout(edge_lists: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(e) for e in edge_lists)
    edges = np.full((len(edge_lists), width), np.inf)
    for row, e in enumerate(edge_lists):
        edges[row, : len(e)] = sorted(e)
    return edges, np.array([len(e) - 1 for e in edge_lists], dtype=np.intp)


def _values_near(edges: np.ndarray, rng: np.random.Generator, rows: int) -> np.ndarray:
    """Values that stress the table: the edges themselves, their float neighbours, values
    across and beyond the range, NaN and infinities."""
    features = edges.shape[0]
    out = np.empty((rows, features))
    for f in range(features):
        e = edges[f][np.isfinite(edges[f])]
        lo, hi = (e.min(), e.max()) if e.size else (0.0, 1.0)
        span = max(hi - lo, 1.0)
        pool = np.concatenate(
            [
                e,
                np.nextafter(e, np.inf),
                np.nextafter(e, -np.inf),
                rng.uniform(lo - span, hi + span, 64),
                rng.normal(lo, span, 16),
                [np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, -0.0],
            ]
        )
        out[:, f] = rng.choice(pool, rows)
    return out


_edge_list = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0.0, 1.0, -1.0, 0.5])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_edge_list, min_size=1, max_size=6), st.sampled_from([64, 257, 4096]), st.integers(0, 2**32 - 1))
def test_grid_slots_equal_exact_slots(edge_lists, cells, seed):
    edges, last = _layout(edge_lists)
    values = _values_near(edges, np.random.default_rng(seed), 300)
    grid = GridBinner(edges, last, cells)
    slots, missing = grid.slots(values)
    expected = exact_slots(values, edges, last, grid.last_edge)
    assert np.array_equal(slots, expected)
    assert np.array_equal(missing, np.isnan(values))


def test_quantile_edges_of_real_data_bin_mostly_through_the_table():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(20_000, 20))
    edges = np.quantile(reference, np.linspace(0, 1, 11), axis=0).T
    last = np.full(20, 10, dtype=np.intp)
    grid = GridBinner(edges, last, 4096)
    values = rng.normal(size=(1024, 20))
    slots, _ = grid.slots(values)
    assert np.array_equal(slots, exact_slots(values, edges, last, grid.last_edge))
    cells = np.clip(((values - grid.low) * grid.scale + 1).astype(np.intp), 0, 4097) + grid.base
    assert not grid.any_ambiguous  # no value needs the comparison with every edge
    assert 0.005 < (~np.isnan(grid.compare[cells])).mean() < 0.05  # few need one comparison
