"""A/B of a benchmark between two commits, interleaved in one run.

Checks the base commit out into a temporary worktree, then runs the benchmark alternately
against the base's ``src/`` and this checkout's (``PYTHONPATH``), ``--repeat`` times each, so
both sides see the same machine phases. Prints every figure of each run, then per row the
median of each side and the change. Rows are the benchmark's own (``overhead.py``: the added
time and ratio columns and the tail run's p50/p99/worst; ``matrix.py``: added time and ratio).

Run: python benchmarks/ab.py --base HEAD~1 [--new HEAD] [--bench overhead] [--repeat 3] [-- ARGS...]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


# Where the added time and the ratio stand among a row's numbers, counted from its first
# (rows, or features). The added time is the steadier of the two: the ratio divides by the
# floor, which moves with the machine.
_ADDED_AT = {"overhead": 3, "matrix": 4}
_RATIO_AT = {"overhead": 4, "matrix": 5}


def figures(output: str, bench: str) -> dict[str, float]:
    """Row label -> figure from a benchmark's printed table: the added time and ratio columns
    of overhead and matrix rows, and p50/p99/worst of overhead's tail rows."""
    out: dict[str, float] = {}
    tail = False
    for line in output.splitlines():
        if line.startswith("single-row tail"):
            tail = True
            continue
        fields = line.split()
        if tail and len(fields) >= 4 and all(_NUMBER.match(f) for f in fields[-3:]):
            label = " ".join(fields[:-3])
            for name, value in zip(("p50", "p99", "worst"), fields[-3:]):
                out[f"{label} {name} us"] = float(value)
        elif "ratio" not in line and len(fields) >= 6:
            positions = [i for i, f in enumerate(fields) if _NUMBER.match(f)]
            at = _RATIO_AT[bench]
            if len(positions) > at:
                label = " ".join(fields[: positions[1 if bench == "matrix" else 0] + 1])
                out[f"{label} added us"] = float(fields[positions[_ADDED_AT[bench]]])
                out[f"{label} ratio"] = float(fields[positions[at]])
    return out


def _worktree(path: Path, commit: str) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against (e.g. HEAD~1)")
    parser.add_argument("--new", default=None, help="the commit to measure (default: this working tree)")
    parser.add_argument("--bench", default="overhead", choices=["overhead", "matrix"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="after --: the benchmark's own arguments")
    args = parser.parse_args()
    extra = [a for a in args.args if a != "--"]
    script = ROOT / "benchmarks" / f"{args.bench}.py"
    with tempfile.TemporaryDirectory(prefix="modeltel-ab-") as tmp:
        base = Path(tmp) / "base"
        _worktree(base, args.base)
        new = ROOT
        if args.new is not None:
            new = Path(tmp) / "new"
            _worktree(new, args.new)
        try:
            runs: dict[str, list[dict[str, float]]] = {"base": [], "new": []}
            for i in range(args.repeat):
                for side, src in (("base", base / "src"), ("new", new / "src")):
                    env = {**os.environ, "PYTHONPATH": str(src)}
                    proc = subprocess.run(
                        [sys.executable, str(script), *extra], env=env, capture_output=True, text=True
                    )
                    label = args.base if side == "base" else (args.new or "working tree")
                    print(f"--- {side} run {i + 1} ({label})")
                    print(proc.stdout.strip())
                    if proc.returncode not in (0, 1):  # overhead.py exits 1 when a target is missed
                        print(f"(exit {proc.returncode}) " + "\n".join(proc.stderr.strip().splitlines()[-5:]))
                    runs[side].append(figures(proc.stdout, args.bench))
        finally:
            for tree in {base, new} - {ROOT}:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True
                )
    print(f"\n{'row':<62} {'base':>9} {'new':>9} {'change':>8}   (medians of {args.repeat} runs each)")
    for label in runs["new"][0] if runs["new"] else []:
        old = [r[label] for r in runs["base"] if label in r]
        new = [r[label] for r in runs["new"] if label in r]
        if not old or not new:
            continue
        a, b = statistics.median(old), statistics.median(new)
        change = f"{(b - a) / a * 100:+.1f}%" if a else "n/a"
        print(f"{label:<62} {a:>9.2f} {b:>9.2f} {change:>8}")


if __name__ == "__main__":
    main()
