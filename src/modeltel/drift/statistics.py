"""Drift statistics between a reference and a current distribution over the same bins.

Everything works on binned proportions, which is what a reference profile stores and what a
streaming window accumulates, so the cost depends on the number of bins, never on traffic.
Numeric bins follow ``Reference`` layout: [underflow, bin 1 .. bin n, overflow] around n+1
sorted edges. Defaults and thresholds are discussed in docs/drift.md.

No scipy at run time: the chi-squared tail is computed here (tests check it against scipy).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

# Evidently fills empty bins with this before PSI/KL so a bin seen on one side only does not
# make the score infinite.
EMPTY_BIN = 1e-4


def _as_proportions(values: ArrayLike) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    total = a.sum()
    return a / total if total > 0 else a


def psi(reference: ArrayLike, current: ArrayLike, empty: float = EMPTY_BIN) -> float:
    """Population Stability Index: sum((q - p) * ln(q / p)), empty bins filled with ``empty``.

    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6)
    0.0
    """
    p = np.maximum(_as_proportions(reference), empty)
    q = np.maximum(_as_proportions(current), empty)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon distance (natural log; the square root of the divergence), in [0, sqrt(ln 2)].

    Same definition as ``scipy.spatial.distance.jensenshannon`` with its default base.
    """
    p = _as_proportions(reference)
    q = _as_proportions(current)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((kl_pm + kl_qm) / 2.0, 0.0)))


def hellinger_distance(reference: ArrayLike, current: ArrayLike) -> float:
    """Hellinger distance: sqrt(1 - sum(sqrt(p q))), in [0, 1]; 0 for equal distributions,
    1 for disjoint ones. Empty bins need no filling.

    >>> hellinger_distance([1.0, 0.0], [0.0, 1.0])
    1.0
    """
    p = _as_proportions(reference)
    q = _as_proportions(current)
    overlap = float(np.sum(np.sqrt(p * q)))
    return math.sqrt(max(0.0, 1.0 - overlap))


def ks_statistic(reference: ArrayLike, current: ArrayLike) -> float:
    """Kolmogorov-Smirnov statistic from binned CDFs: the largest gap between the two
    cumulative distributions at the bin edges (a lower bound of the exact statistic)."""
    p = np.cumsum(_as_proportions(reference))
    q = np.cumsum(_as_proportions(current))
    return float(np.max(np.abs(p - q))) if p.size else 0.0


def wasserstein_binned(
    reference_means: ArrayLike,
    reference: ArrayLike,
    current_means: ArrayLike,
    current: ArrayLike,
) -> float:
    """Earth mover's (Wasserstein-1) distance between two binned distributions, each bin's
    mass placed at the mean of the values that fell in it.

    Reference profiles store each bin's mean and a window tracks per-bin sums, so this costs
    O(bins); placing mass at the bin mean (rather than spreading it across the bin, which
    badly misplaces the wide tail bins of quantile binning) keeps the error to how values
    are spread inside a bin. Bins with no mass on a side are ignored on that side.
    """
    p = _as_proportions(reference)
    q = _as_proportions(current)
    xp = np.asarray(reference_means, dtype=np.float64)
    xq = np.asarray(current_means, dtype=np.float64)
    keep_p = (p > 0) & np.isfinite(xp)
    keep_q = (q > 0) & np.isfinite(xq)
    if not keep_p.any() or not keep_q.any():
        return 0.0
    positions = np.concatenate((xp[keep_p], xq[keep_q]))
    weights = np.concatenate((p[keep_p] / p[keep_p].sum(), -q[keep_q] / q[keep_q].sum()))
    order = np.argsort(positions, kind="stable")
    positions, gap = positions[order], np.cumsum(weights[order])
    return float(np.sum(np.abs(gap[:-1]) * np.diff(positions)))


def chi2_sf(statistic: float, dof: int) -> float:
    """Survival function of the chi-squared distribution (the p-value of ``statistic``)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof}")
    if statistic <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, statistic / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): a series below a+1, a continued
    fraction above (Numerical Recipes' split, which converges fast on both sides)."""
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_prefix) * h)


def chi2_pvalue(reference: ArrayLike, counts: ArrayLike) -> float:
    """Goodness-of-fit p-value of current category ``counts`` against reference proportions.

    Categories with no reference mass get ``EMPTY_BIN`` so an unseen category drives the
    p-value down instead of dividing by zero. Small p-values mean drift.
    """
    expected_p = np.maximum(_as_proportions(reference), EMPTY_BIN)
    expected_p = expected_p / expected_p.sum()
    observed = np.asarray(counts, dtype=np.float64)
    n = observed.sum()
    if n <= 0 or observed.size < 2:
        return 1.0
    expected = expected_p * n
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return chi2_sf(statistic, observed.size - 1)
