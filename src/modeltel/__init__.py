"""modeltel: OpenTelemetry traces and metrics for ML model predictions, in one line.

>>> import modeltel
>>> modeltel.instrument()
"""

from modeltel._core.labels import record_labels
from modeltel._version import __version__
from modeltel.api import instrument, register, uninstrument
from modeltel.drift.reference import Reference, ReferenceError
from modeltel.drift.snapshot import WindowError, WindowSnapshot
from modeltel.instrumentation.callables import monitor, wrap
from modeltel.labels.store import LabelSummary, last_prediction_ids, prediction_ids
from modeltel.report.html import save_window, write_report

__all__ = [
    "LabelSummary",
    "Reference",
    "ReferenceError",
    "WindowError",
    "WindowSnapshot",
    "__version__",
    "instrument",
    "last_prediction_ids",
    "monitor",
    "prediction_ids",
    "record_labels",
    "register",
    "save_window",
    "uninstrument",
    "wrap",
    "write_report",
]
