"""Failures inside modeltel, and calls whose input disagrees with what the caller said: counted,
logged once, never raised into the application."""

from __future__ import annotations

import logging

from modeltel import semconv
from modeltel._core.telemetry import Telemetry, default_telemetry

_logger = logging.getLogger("modeltel")

_logged_once: set[tuple[str, str]] = set()
# (site, subject) pairs already logged; bounded, since subjects are model names.
_warned_once: set[tuple[str, str]] = set()
_WARNED_ONCE_MAX = 1024


def report_internal_error(site: str, exc: BaseException, telemetry: Telemetry | None = None) -> None:
    """Count a failure inside modeltel (``modeltel.internal.errors``) and log it once per
    (site, exception type). Never raises: it sits on the prediction path.

    >>> report_internal_error("drift_update", ValueError("bad bin"))
    """
    try:
        error_type = type(exc).__qualname__
        (telemetry or default_telemetry()).internal_errors.add(
            1, {semconv.MODELTEL_SITE: site, semconv.ERROR_TYPE: error_type}
        )
        key = (site, error_type)
        if key not in _logged_once:
            _logged_once.add(key)
            _logger.warning(
                "modeltel: internal error in %s (counted in %s; further ones are not logged)",
                site,
                semconv.MODELTEL_INTERNAL_ERRORS,
                exc_info=exc,
            )
    except Exception:  # noqa: BLE001, S110 - the error reporter itself must not fail a prediction
        pass


def report_usage_warning(site: str, subject: str, message: str, telemetry: Telemetry | None = None) -> None:
    """Count a call whose input disagrees with what the caller told modeltel (two prediction
    ids for three rows, four feature names for thirty features) in ``modeltel.usage.warnings``
    and log ``message`` once per (site, subject). Never raises.

    >>> report_usage_warning("prediction_ids", "", "prediction_ids() gave 2 ids for 3 rows")
    """
    try:
        (telemetry or default_telemetry()).usage_warnings.add(1, {semconv.MODELTEL_SITE: site})
        key = (site, subject)
        if key not in _warned_once and len(_warned_once) < _WARNED_ONCE_MAX:
            _warned_once.add(key)
            _logger.warning(
                "modeltel: %s (counted in %s; further ones are not logged)", message, semconv.MODELTEL_USAGE_WARNINGS
            )
    except Exception:  # noqa: BLE001, S110 - the reporter itself must not fail a prediction
        pass


def _reset_for_tests() -> None:
    _logged_once.clear()
    _warned_once.clear()
