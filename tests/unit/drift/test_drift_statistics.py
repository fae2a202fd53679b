"""Drift statistics against independent implementations (scipy) on the same samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modeltel.drift.reference import Reference, bin_counts, bin_means
from modeltel.drift.statistics import (
    EMPTY_BIN,
    chi2_pvalue,
    chi2_sf,
    js_distance,
    ks_statistic,
    psi,
    wasserstein_binned,
)

RNG = np.random.default_rng(11)


def binned(reference_sample, current_sample, bins=10):
    ref = Reference.from_data(reference_sample.reshape(-1, 1), bins=bins).features[0]
    edges = np.asarray(ref.edges)
    return ref, edges, np.asarray(ref.proportions), bin_counts(current_sample, edges)


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 1.0])
def test_ks_and_wasserstein_agree_with_scipy_within_binning_tolerance(shift):
    ref_sample = RNG.normal(0.0, 1.0, 20_000)
    cur_sample = RNG.normal(shift, 1.0, 5_000)
    ref, edges, p, counts = binned(ref_sample, cur_sample, bins=20)
    ks = ks_statistic(p, counts)
    exact_ks = stats.ks_2samp(ref_sample, cur_sample).statistic
    # Binned CDFs only see the edges: a lower bound, within one bin's mass (1/20) of the exact.
    assert ks <= exact_ks + 1e-9 and exact_ks - ks <= 0.05
    w = wasserstein_binned(ref.bin_means, p, bin_means(cur_sample, edges), counts)
    exact_w = stats.wasserstein_distance(ref_sample, cur_sample)
    assert w == pytest.approx(exact_w, abs=0.05)  # tolerance in units of the reference std (1.0)


def test_psi_and_js_match_direct_computation_on_the_same_bins():
    p = np.array([0.0, 0.2, 0.3, 0.5, 0.0])
    q_counts = np.array([5, 10, 40, 45, 0])
    q = q_counts / q_counts.sum()
    pf, qf = np.maximum(p, EMPTY_BIN), np.maximum(q, EMPTY_BIN)
    assert psi(p, q_counts) == pytest.approx(np.sum((qf - pf) * np.log(qf / pf)))
    assert js_distance(p, q_counts) == pytest.approx(jensenshannon(p, q))
    assert psi(p, p) == 0.0 and js_distance(p, p) == 0.0


@pytest.mark.parametrize(("statistic", "dof"), [(0.5, 1), (3.84, 1), (10.0, 4), (50.0, 30), (200.0, 150), (1e-3, 2)])
def test_chi2_survival_matches_scipy(statistic, dof):
    assert chi2_sf(statistic, dof) == pytest.approx(stats.chi2.sf(statistic, dof), rel=1e-9, abs=1e-300)


def test_chi2_pvalue_matches_scipy_chisquare_and_flags_unseen_categories():
    p = np.array([0.5, 0.3, 0.2])
    counts = np.array([480, 330, 190])
    expected = p * counts.sum()
    assert chi2_pvalue(p, counts) == pytest.approx(stats.chisquare(counts, expected).pvalue)
    with_unseen = np.array([400, 300, 200, 100])  # a fourth category the reference never saw
    assert chi2_pvalue(np.append(p, 0.0), with_unseen) < 1e-6


def test_half_std_shift_crosses_default_psi_threshold_and_no_shift_stays_below():
    ref_sample = RNG.normal(0.0, 1.0, 10_000)
    ref = Reference.from_data(ref_sample.reshape(-1, 1)).features[0]
    edges, p = np.asarray(ref.edges), np.asarray(ref.proportions)
    shifted = [psi(p, bin_counts(RNG.normal(0.5, 1.0, 1000), edges)) for _ in range(20)]
    steady = [psi(p, bin_counts(RNG.normal(0.0, 1.0, 1000), edges)) for _ in range(20)]
    assert min(shifted) > 0.1  # the default threshold (docs/drift.md)
    assert max(steady) < 0.1  # no false alarm in 20 windows of 1,000 rows
