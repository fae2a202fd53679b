"""Experiment: would finishing prediction spans later, in batches or on another thread, make calls cheaper?

Everything modeltel does after the model returns (the output summary, the label store entry,
the duration and row metrics, setting the span's attributes and ending it) runs right after
the model call, when this code is out of the CPU's caches and predictors. This script
measures two alternatives. Deferred: the call's context is closed at once, the rest is
queued and run for K calls together, warm. Thread (``--thread``): the rest is handed to one
worker thread, which on a multi-core machine has a core (and caches) of its own while the
caller goes on. It patches ``recorder.Call`` for the experiment only (the thread variant reads
the output after the call has returned, which modeltel must not do: a caller may reuse it);
modeltel itself always completes a call before returning (docs/faq.md, "Why is modeltel's
work done in the call?", has the figures and the decision).

It prints, for a torch MLP and LogisticRegression.predict (one row; ``--rows`` for others):
  * the overhead ratio of overhead.py (interleaved rounds, lower quartile) for each variant;
  * the per-call latency distribution over a long run of instrumented calls, which shows
    what the mean hides: one call in K pays for the whole batch;
  * the process's CPU time per call over that run (all threads, the queued work included),
    which shows what moving work elsewhere costs.

Run: python benchmarks/deferred_completion.py [--batch 16 64] [--thread] [--rows 1 10000]
     [--rounds 31] [--calls 20000]
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import _providers, cases, measure

import modeltel
from modeltel._core import call as recorder

_SYNC_OK = recorder.Call.ok
_SYNC_CLOSE = recorder.Call._close_context


def _close_now(hand_off: Callable[[Any, Any], None]) -> None:
    """Make Call.ok close the call's context at once (its tokens belong to the calling thread
    and context) and pass (call, result) to ``hand_off``; completing it later with _SYNC_OK,
    its _close_context hands back the stored duration."""
    durations: dict[int, float] = {}

    def ok(self: Any, result: Any) -> None:
        durations[id(self)] = _SYNC_CLOSE(self)
        hand_off(self, result)

    recorder.Call.ok = ok
    recorder.Call._close_context = lambda self: durations.pop(id(self))


def _defer(batch: int) -> Callable[[], None]:
    """Complete calls ``batch`` at a time; returns the function that completes whatever is
    still queued."""
    pending: list[Any] = []

    def complete() -> None:
        work = pending[:]
        pending.clear()
        for call, value in work:
            _SYNC_OK(call, value)

    def queue_call(call: Any, result: Any) -> None:
        pending.append((call, result))
        if len(pending) >= batch:
            complete()

    _close_now(queue_call)
    return complete


def _on_thread() -> Callable[[], None]:
    """Complete calls on one worker thread; returns the function that waits for the worker to
    finish what is queued and stops it."""
    work: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def run() -> None:
        while (item := work.get()) is not None:
            _SYNC_OK(*item)

    worker = threading.Thread(target=run, name="completion-experiment", daemon=True)
    worker.start()

    def complete() -> None:
        if worker.is_alive():
            work.put(None)
            worker.join()

    _close_now(lambda call, result: work.put((call, result)))
    return complete


def _restore() -> None:
    recorder.Call.ok = _SYNC_OK
    recorder.Call._close_context = _SYNC_CLOSE


def _latencies(
    predict: Callable[[], object], calls: int, complete: Callable[[], None] | None
) -> tuple[np.ndarray, float]:
    """Per-call latencies of ``calls`` instrumented calls, and the process CPU seconds per
    call over them, the queued work finished (``complete``) inside the measurement."""
    modeltel.instrument()
    try:
        for _ in range(calls // 10):
            predict()
        out = np.empty(calls)
        clock = time.perf_counter
        cpu = time.process_time()
        for i in range(calls):
            start = clock()
            predict()
            out[i] = clock() - start
        if complete is not None:
            complete()
        return out, (time.process_time() - cpu) / calls
    finally:
        modeltel.uninstrument()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64], help="calls completed together")
    parser.add_argument("--thread", action="store_true", help="also complete calls on a worker thread")
    parser.add_argument("--rows", type=int, nargs="+", default=[1], help="rows per call")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=20_000, help="calls in the latency run")
    args = parser.parse_args(argv)
    _providers()
    variants: list[tuple[str, Callable[[], Callable[[], None]] | None]] = [("in the call", None)]
    variants += [(f"deferred, K={k}", lambda k=k: _defer(k)) for k in args.batch if k > 1]
    if args.thread:
        variants.append(("thread", _on_thread))
    print(
        f"{'case':<28} {'rows':>5} {'completion':<14} {'ratio':>6} {'mean us':>8} {'p50 us':>7} {'p99 us':>7} "
        f"{'p99.9 us':>9} {'cpu us':>7}"
    )
    for name, rows, predict in cases(args.rows):
        calls = args.calls if rows == 1 else max(1, args.calls // 10)
        for label, start in variants:
            complete = start() if start is not None else None
            try:
                m = measure(name, predict, args.rounds, 100 if rows == 1 else 10, {})
                lat, cpu = _latencies(predict, calls, complete)
            finally:
                if complete is not None:
                    complete()  # every deferred span still ends
                _restore()
            lat *= 1e6
            p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
            print(
                f"{name[:28]:<28} {rows:>5} {label:<14} {m['ratio']:>6.2f} {lat.mean():>8.1f} {p50:>7.1f} "
                f"{p99:>7.1f} {p999:>9.1f} {cpu * 1e6:>7.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
