"""modeltel: OpenTelemetry traces and metrics for ML model predictions, in one line.

>>> import modeltel
>>> modeltel.instrument()
"""

from modeltel._version import __version__
from modeltel.api import instrument, register, uninstrument
from modeltel.reference import Reference, ReferenceError
from modeltel.wrappers import monitor, wrap

__all__ = [
    "Reference",
    "ReferenceError",
    "__version__",
    "instrument",
    "monitor",
    "register",
    "uninstrument",
    "wrap",
]
