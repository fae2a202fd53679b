"""Every use of OpenTelemetry SDK and API internals, in one place, behind one version check.

The fast paths here (recording a histogram for a fixed attribute set, setting prevalidated
span attributes, writing OTLP span bytes directly, one context lookup for suppression, the
API's proxy classes) read private parts of the SDK that change without notice. They are on
only for the SDK versions in ``SUPPORTED``, which CI tests (each fast path against the
public one); with any other version every module takes the public path, slower and correct.
Nothing outside this package reads an SDK private.
"""

from __future__ import annotations

from opentelemetry.sdk.version import __version__ as SDK_VERSION

# Inclusive (major, minor) range of opentelemetry-sdk whose internals these modules read.
SUPPORTED = ((1, 39), (1, 45))


def _minor(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


FAST_PATHS = SUPPORTED[0] <= _minor(SDK_VERSION) <= SUPPORTED[1]
