"""The drift methods: one registry entry each, read by everything that names a method.

Scoring (``ml.drift.score``), option validation (``drift_methods``), threshold alerts, the
HTML report and the table in docs/drift.md all take the method's name, the feature kinds it
applies to, which direction means drift, its default threshold, its label and its score from
here, so a method is added in one place.

>>> round(METHODS["psi"].score(profile, reference_proportions, window_counts, None), 3)
0.383
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from modeltel.drift import statistics as stats
from modeltel.errors import ModeltelValueError

NUMERIC = "numeric"
CATEGORICAL = "categorical"

# (profile, reference proportions, window counts, window per-bin sums or None) -> score or None
Score = Callable[[Any, np.ndarray, np.ndarray, "np.ndarray | None"], "float | None"]


@dataclass(frozen=True)
class DriftMethod:
    """One drift statistic. ``higher_is_drift`` False means small values mean drift (a p-value)."""

    name: str
    label: str
    kinds: frozenset[str]
    higher_is_drift: bool
    threshold: float
    score: Score
    definition: str

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds

    def crossed(self, value: float, threshold: float) -> bool:
        """Whether ``value`` is past ``threshold`` in this method's direction of drift."""
        return value > threshold if self.higher_is_drift else value < threshold

    def worst(self, values: list[float]) -> float:
        """The value of the most drifted feature among ``values``."""
        return max(values) if self.higher_is_drift else min(values)


def _psi(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float:
    return stats.psi(reference, counts)


def _js(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float:
    return stats.js_distance(reference, counts)


def _hellinger(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float:
    return stats.hellinger_distance(reference, counts)


def _ks(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float:
    return stats.ks_statistic(reference, counts)


def _wasserstein(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float | None:
    if sums is None or not profile.std > 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return stats.wasserstein_binned(profile.bin_means, reference, means, counts) / profile.std


def _chi2_pvalue(profile: Any, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None) -> float:
    return stats.chi2_pvalue(reference, counts)


_BOTH = frozenset({NUMERIC, CATEGORICAL})

METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        DriftMethod(
            "psi",
            "PSI",
            _BOTH,
            True,
            0.2,
            _psi,
            "sum((q - p) ln(q / p)), empty bins filled with 1e-4 (as Evidently); 0.1 moderate, 0.2 significant",
        ),
        DriftMethod(
            "js",
            "Jensen-Shannon",
            _BOTH,
            True,
            0.1,
            _js,
            "Jensen-Shannon distance, natural log (= scipy.spatial.distance.jensenshannon)",
        ),
        DriftMethod(
            "hellinger",
            "Hellinger",
            _BOTH,
            True,
            0.1,
            _hellinger,
            "Hellinger distance sqrt(1 - sum(sqrt(p q))), in [0, 1]",
        ),
        DriftMethod(
            "wasserstein",
            "Wasserstein / std",
            frozenset({NUMERIC}),
            True,
            0.1,
            _wasserstein,
            "Wasserstein-1 with each bin's mass at the mean of its values, divided by the reference std",
        ),
        DriftMethod(
            "ks",
            "KS (binned)",
            frozenset({NUMERIC}),
            True,
            0.1,
            _ks,
            "largest gap between the binned CDFs (a lower bound of the exact statistic)",
        ),
        DriftMethod(
            "chi2_pvalue",
            "chi² p-value",
            frozenset({CATEGORICAL}),
            False,
            0.05,
            _chi2_pvalue,
            "chi-squared goodness of fit of the window's counts to the reference proportions",
        ),
    )
}

NAMES: tuple[str, ...] = tuple(METHODS)


def method(name: str) -> DriftMethod:
    """The method called ``name``; ``ValueError`` naming the known ones otherwise."""
    found = METHODS.get(name)
    if found is None:
        raise ModeltelValueError(f"unknown drift method {name!r}; choose from {', '.join(NAMES)}")
    return found


def scores(
    profile: Any, kind: str, reference: np.ndarray, counts: np.ndarray, sums: np.ndarray | None, names: tuple[str, ...]
) -> dict[str, float]:
    """The scores of ``names`` that apply to a feature of ``kind`` (empty without counts).

    >>> found = scores(profile, "numeric", reference_proportions, window_counts, None, ("psi", "ks", "chi2_pvalue"))
    >>> sorted(found)  # chi2_pvalue is for categorical features
    ['ks', 'psi']
    """
    if counts.sum() <= 0:
        return {}
    out = {}
    for name in names:
        entry = METHODS[name]
        if kind in entry.kinds:
            value = entry.score(profile, reference, counts, sums)
            if value is not None:
                out[name] = value
    return out
