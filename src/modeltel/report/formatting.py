"""Number formatting shared by the report's tables and charts: scores, weighted row counts
and shares, as short text.
"""

from __future__ import annotations

import math

__all__ = ["count", "number", "percent"]


def number(value: float | None) -> str:
    """A score or statistic in at most four decimals (three significant digits below 0.001),
    or a dash when there is none.

    >>> number(0.031250), number(0.0000123), number(None)
    ('0.0312', '1.23e-05', '–')
    """
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) < 1e-3 else f"{value:.4f}".rstrip("0").rstrip(".")


def count(value: float) -> str:
    """A row count with thousands separators; live counts are weighted (a 10,000-row batch
    sampled to 256 rows weighs 10,000), so a small fractional count keeps one decimal.

    >>> count(12345.0), count(2.5)
    ('12,345', '2.5')
    """
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 or value >= 100 else f"{value:,.1f}"


def percent(share: float) -> str:
    """A share of rows as a percentage with one decimal.

    >>> percent(0.1234)
    '12.3%'
    """
    return f"{100 * share:.1f}%"
