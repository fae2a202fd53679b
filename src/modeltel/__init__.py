"""modeltel: OpenTelemetry traces and metrics for ML model predictions, in one line.

>>> import modeltel
>>> modeltel.instrument()
"""

from modeltel._core.labels import record_labels
from modeltel._version import __version__
from modeltel.api import instrument, register, uninstrument
from modeltel.drift.reference import Reference
from modeltel.drift.snapshot import WindowSnapshot
from modeltel.errors import InvalidReferenceError, ModeltelError, WindowError
from modeltel.instrumentation.callables import monitor, wrap
from modeltel.labels.ids import last_prediction_ids, prediction_ids
from modeltel.labels.matching import LabelSummary
from modeltel.report.html import save_window, write_report

__all__ = [
    "InvalidReferenceError",
    "LabelSummary",
    "ModeltelError",
    "Reference",
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


def __getattr__(name: str) -> object:
    # ReferenceError shadowed Python's builtin; the old name still works, with a warning.
    if name == "ReferenceError":
        import warnings

        warnings.warn(
            "modeltel.ReferenceError is deprecated: use modeltel.InvalidReferenceError "
            "(or modeltel.ModeltelError, the base of every modeltel error)",
            DeprecationWarning,
            stacklevel=2,
        )
        return InvalidReferenceError
    raise AttributeError(f"module 'modeltel' has no attribute {name!r}")
