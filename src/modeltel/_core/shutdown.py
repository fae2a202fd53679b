"""The flush at exit and on SIGTERM of the providers modeltel installed, bounded in time.

The SDK's providers flush at exit on their own, one after the other, each waiting on its
exporter's retries: with the collector unreachable a process took 14-40 s to exit, past a
pod's 30 s grace period, and was killed with everything unsent. Here the providers modeltel
installed shut down side by side, and after ``shutdown_timeout`` seconds (``instrument()``'s
argument, ``MODELTEL_SHUTDOWN_TIMEOUT``, default 5) the process exits without what is still
unsent, saying so once. Providers an application configured itself are its business.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Any

from modeltel.config import DEFAULT_SHUTDOWN_TIMEOUT

_logger = logging.getLogger("modeltel")

_owned: list[Any] = []
_timeout = DEFAULT_SHUTDOWN_TIMEOUT
_at_exit = False


def own(providers: list[Any], timeout: float) -> None:
    """Flush and shut ``providers`` down at exit (and on ``shutdown()``) within ``timeout`` s.

    >>> own([], 5.0)
    """
    global _at_exit
    _owned.extend(providers)
    set_timeout(timeout)
    if not _at_exit:
        atexit.register(shutdown)
        _at_exit = True


def set_timeout(timeout: float) -> None:
    global _timeout
    _timeout = timeout


def timeout() -> float:
    """The bound in seconds on ``shutdown()``."""
    return _timeout


def _quietly(provider: Any) -> None:
    try:
        provider.shutdown()
    except Exception:
        _logger.debug("modeltel: shutting down %r failed", provider, exc_info=True)


def shutdown(timeout: float | None = None) -> bool:
    """Shut down every provider modeltel installed, side by side, within ``timeout`` seconds
    (default: the configured bound). Returns whether all finished in time; what did not is
    left to the daemon threads the interpreter drops at exit.

    >>> shutdown(timeout=2.0)
    True
    """
    budget = _timeout if timeout is None else timeout
    providers, _owned[:] = list(_owned), []
    deadline = time.monotonic() + budget
    threads = [threading.Thread(target=_quietly, args=(p,), name="modeltel-shutdown", daemon=True) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    late = sum(thread.is_alive() for thread in threads)
    if late:
        _logger.warning(
            "modeltel: %d telemetry provider(s) did not flush within %.3g s (shutdown_timeout); exiting without "
            "what they still held",
            late,
            budget,
        )
    return not late
