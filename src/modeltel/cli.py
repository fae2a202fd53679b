"""The ``modeltel`` command: ``modeltel reference build DATA -o ref.json``.

This is the step that goes into a training or deployment pipeline: profile the training data
once, ship the JSON beside the model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from modeltel.reference import Reference, ReferenceError


def _read_table(path: Path):
    try:
        import pandas as pd
    except ImportError:
        raise ReferenceError("reading CSV/Parquet needs pandas: pip install 'modeltel[pandas]'") from None
    suffix = path.suffix.lower()
    if not path.exists():
        raise ReferenceError(f"no such data file: {path}")
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ReferenceError(f"{path}: unsupported data file type {suffix!r} (use .csv or .parquet)")


def _names(raw: str | None) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()] if raw else []


def build(args: argparse.Namespace) -> int:
    frame = _read_table(Path(args.data))
    drop = _names(args.drop)
    missing = sorted(set(drop) - set(map(str, frame.columns)))
    if missing:
        raise ReferenceError(f"--drop names column(s) not in {args.data}: {', '.join(missing)}")
    predictions = None
    if args.predictions:
        if args.predictions not in frame.columns:
            raise ReferenceError(f"--predictions column {args.predictions!r} is not in {args.data}")
        predictions = frame[args.predictions].to_numpy()
        drop.append(args.predictions)
    features = frame.drop(columns=drop)
    reference = Reference.from_data(
        features,
        predictions=predictions,
        categorical=_names(args.categorical) or None,
        bins=args.bins,
        metadata={"source": Path(args.data).name},
    )
    reference.save(args.output)
    numeric = sum(f.kind == "numeric" for f in reference.features)
    print(
        f"wrote {args.output}: {reference.rows} rows, {len(reference.features)} features "
        f"({numeric} numeric, {len(reference.features) - numeric} categorical)"
        + (", predictions profiled" if predictions is not None else "")
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modeltel`` console script."""
    parser = argparse.ArgumentParser(prog="modeltel", description="modeltel command line")
    commands = parser.add_subparsers(dest="command", required=True)
    reference = commands.add_parser("reference", help="training-time reference profiles")
    ref_commands = reference.add_subparsers(dest="action", required=True)
    b = ref_commands.add_parser("build", help="profile a CSV or Parquet file into a reference JSON")
    b.add_argument("data", help="DATA.csv or DATA.parquet")
    b.add_argument("-o", "--output", required=True, help="where to write the reference JSON")
    b.add_argument("--categorical", help="comma-separated columns to profile as categories")
    b.add_argument("--drop", help="comma-separated columns to leave out (e.g. the target)")
    b.add_argument("--predictions", help="a column holding the model's predictions to profile")
    b.add_argument("--bins", type=int, default=10, help="quantile bins per numeric feature (default 10)")
    args = parser.parse_args(argv)
    try:
        return build(args)
    except ReferenceError as exc:
        print(f"modeltel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
