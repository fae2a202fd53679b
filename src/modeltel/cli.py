"""The ``modeltel`` command: ``modeltel reference build DATA -o ref.json``.

This is the step that goes into a training or deployment pipeline: profile the training data
once, ship the JSON beside the model. Later, ``modeltel window build DATA --reference ref.json
-o window.json`` profiles current data in the reference's bins and ``modeltel report
--reference ref.json --window window.json -o report.html`` draws the comparison.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from modeltel.drift.reference import InvalidReferenceError, Reference
from modeltel.drift.snapshot import read_table as _read_table
from modeltel.errors import WindowError


def _names(raw: str | None) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()] if raw else []


def build(args: argparse.Namespace) -> int:
    frame = _read_table(Path(args.data))
    drop = _names(args.drop)
    missing = sorted(set(drop) - set(map(str, frame.columns)))
    if missing:
        raise InvalidReferenceError(f"--drop names column(s) not in {args.data}: {', '.join(missing)}")
    predictions = None
    if args.predictions:
        if args.predictions not in frame.columns:
            raise InvalidReferenceError(f"--predictions column {args.predictions!r} is not in {args.data}")
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


def window_build(args: argparse.Namespace) -> int:
    from modeltel.report.html import load_window

    reference = Reference.load(args.reference)
    data = Path(args.data)
    if data.suffix.lower() == ".json":
        raise WindowError(f"{data}: window build reads a CSV or Parquet data file, not JSON")
    window = load_window(data, reference, drop=_names(args.drop), predictions=args.predictions)
    window.save(args.output)
    print(
        f"wrote {args.output}: {window.rows:.0f} rows, {len(window.features)} features"
        + (", predictions profiled" if window.predictions is not None else "")
    )
    return 0


def report(args: argparse.Namespace) -> int:
    from modeltel.report.html import compare, load_window, render_report

    reference = Reference.load(args.reference)
    window = load_window(args.window, reference, drop=_names(args.drop), predictions=args.predictions)
    results, _ = compare(reference, window, method=args.method, threshold=args.threshold)
    text = render_report(reference, window, method=args.method, threshold=args.threshold, title=args.title)
    Path(args.output).write_text(text, encoding="utf-8")
    drifted = [r.profile.name for r in results if r.drifted]
    print(
        f"wrote {args.output}: {len(results)} features, {len(drifted)} drifted"
        + (f" ({', '.join(drifted)})" if drifted else "")
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
    b.set_defaults(run=build)

    window = commands.add_parser("window", help="current data in a reference's bins (window snapshots)")
    window_commands = window.add_subparsers(dest="action", required=True)
    w = window_commands.add_parser("build", help="profile a CSV or Parquet file into a window snapshot JSON")
    w.add_argument("data", help="DATA.csv or DATA.parquet (current traffic)")
    w.add_argument("--reference", required=True, help="the reference JSON whose bins to use")
    w.add_argument("-o", "--output", required=True, help="where to write the window JSON")
    w.add_argument("--drop", help="comma-separated columns to leave out (e.g. the target)")
    w.add_argument("--predictions", help="a column holding the model's predictions to profile")
    w.set_defaults(run=window_build)

    from modeltel.report.html import THRESHOLDS

    r = commands.add_parser("report", help="a self-contained HTML drift report: reference vs window")
    r.add_argument("--reference", required=True, help="the reference JSON")
    r.add_argument("--window", required=True, help="a window JSON, or a CSV/Parquet file profiled on the fly")
    r.add_argument("-o", "--output", required=True, help="where to write the HTML report")
    r.add_argument("--method", default="psi", choices=list(THRESHOLDS), help="score of the summary (default psi)")
    r.add_argument("--threshold", type=float, help="drift threshold of --method (default: docs/drift.md, psi 0.2)")
    r.add_argument("--title", help="page title (default: 'Drift report')")
    r.add_argument("--drop", help="with a data --window: comma-separated columns to leave out")
    r.add_argument("--predictions", help="with a data --window: the column holding the model's predictions")
    r.set_defaults(run=report)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (InvalidReferenceError, WindowError) as exc:
        print(f"modeltel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
