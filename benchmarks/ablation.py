"""Where the per-call overhead goes: each concern of an observed call switched off in turn.

Runs overhead.py's interleaved rounds (same warm-up, same lower quartile) over the bare call,
the instrumented call, and the instrumented call with one concern's observer left out:
  no input summary    the batch size is still set; no row sample, no feature statistics
  no output summary   no output attributes
  no label store      predictions are not kept for ground truth arriving later (nor
                      probabilities for the label-free estimate)
  none of the three   the base machinery alone: span, identity attributes, duration and
                      rows metrics, prediction ids, context, inner-call checks
It prints the time each variant adds to the bare call and what the switched-off concern
saved against the full call. The savings do not add up to the "none" row: after a large
model call each concern pays for the caches the model evicted, and whichever runs first pays
most. Leaving a concern out (``modeltel._core.states.omitting``) is for measurements and
tests; users switch summaries off with ``summaries=False`` and the label store with
``label_store_max_entries=0``.

Run: python benchmarks/ablation.py [--model torch|lr] [--rows 10000] [--rounds 41]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import WARMUP_CALLS, _providers, _time, cases

import modeltel
from modeltel._core.states import omitting

# variant -> the concerns its calls leave out (the state is built without their observers)
VARIANTS: dict[str, tuple[str, ...]] = {
    "full": (),
    "no input summary": ("input_summary",),
    "no output summary": ("output_summary",),
    "no label store": ("labels",),
    "none of the three": ("input_summary", "output_summary", "labels"),
}


def use(variant: str) -> omitting:
    """The calls made inside ``with use(variant):`` run without the variant's concerns."""
    return omitting(*VARIANTS[variant])


def measure(predict: Callable[[], object], rounds: int, calls: int) -> dict[str, float]:
    """Lower quartile of each variant's per-round mean call time, in seconds ("bare" too)."""
    samples: dict[str, list[float]] = {"bare": [], **{v: [] for v in VARIANTS}}
    warmup = max(WARMUP_CALLS, calls // 2)
    for _ in range(rounds):
        order = list(samples)
        random.shuffle(order)
        for variant in order:
            if variant == "bare":
                _time(predict, warmup)
                samples[variant].append(_time(predict, calls))
                continue
            with use(variant):
                modeltel.instrument()
                _time(predict, warmup)
                samples[variant].append(_time(predict, calls))
                modeltel.uninstrument()
    return {k: statistics.quantiles(v, n=4)[0] if len(v) > 1 else v[0] for k, v in samples.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["torch", "lr"], default="torch")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--calls", type=int, default=None, help="timed calls a round (default 100 at 1 row, else 10)")
    args = parser.parse_args(argv)
    _providers()
    prefix = "torch" if args.model == "torch" else "LogisticRegression"
    found = [case for case in cases([args.rows]) if case[0].startswith(prefix)]
    if not found:
        print(f"no {args.model} case (is torch installed?)", file=sys.stderr)
        return 1
    name, rows, predict = found[0]
    calls = args.calls or (100 if rows == 1 else 10)
    q = measure(predict, args.rounds, calls)
    bare = q["bare"]
    print(f"{name}, {rows} rows: bare call {bare * 1e6:.1f} us")
    print(f"{'variant':<20} {'added us':>9} {'saved us':>9}")
    for variant in VARIANTS:
        added = (q[variant] - bare) * 1e6
        saved = (q["full"] - q[variant]) * 1e6
        print(f"{variant:<20} {added:>9.1f} {'' if variant == 'full' else f'{saved:.1f}':>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
