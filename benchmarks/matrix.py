"""Overhead across models, batch sizes and widths, with drift, data quality and labels on.

The ratio is overhead.py's: (instrumented - bare) / (bare OTel span + histogram record), the
lower quartile of interleaved rounds. Every model is registered with a training reference
(drift, prediction drift, multivariate drift, data quality) and every call goes to the label
store. Also prints the growth of each model's overhead from 1 to 10,000 rows (added time at
10,000 rows / added time at 1 row). Targets (issue 7): single-row ratio <= 1.5, growth <= 1.5.

Run: python benchmarks/matrix.py [--rounds 15] [--features 20 500] [--rows 1 100 10000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import _providers, measure

import modeltel


def models(features: int) -> list[tuple[str, Callable[[np.ndarray], object], np.ndarray]]:
    """(name, predict on a numpy batch, training data) per model kind, registered with a reference."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    out: list[tuple[str, Callable[[np.ndarray], object], np.ndarray]] = []
    with suppress_instrumentation():
        fitted = [
            ("LogisticRegression", LogisticRegression(max_iter=200).fit(X[:5000], y[:5000])),
            (
                "RandomForest(20 trees)",
                RandomForestClassifier(20, max_depth=8, random_state=0, n_jobs=1).fit(X[:5000], y[:5000]),
            ),
            (
                "Pipeline(scaler, LR)",
                make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X[:5000], y[:5000]),
            ),
        ]
        for name, model in fitted:
            reference = modeltel.Reference.from_data(
                X[5000:10000], predictions=model.predict_proba(X[5000:10000]), labels=y[5000:10000]
            )
            modeltel.register(model, name=name, reference=reference)
            # Looked up at each call: a method bound before instrument() stays unpatched (its
            # inner calls, a forest's trees, would be observed instead).
            out.append((name, lambda batch, m=model: m.predict_proba(batch), X))
    try:
        import torch
    except ImportError:
        return out
    torch.manual_seed(0)
    torch.set_num_threads(1)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(features, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 2),
        torch.nn.Softmax(dim=1),
    ).eval()
    with torch.inference_mode(), suppress_instrumentation():
        probabilities = mlp(torch.from_numpy(X[5000:10000].astype(np.float32))).numpy()
    modeltel.register(
        mlp, name="torch MLP", reference=modeltel.Reference.from_data(X[5000:10000], predictions=probabilities)
    )
    Xf = X.astype(np.float32)

    def run(batch: np.ndarray) -> object:
        with torch.inference_mode():
            return mlp(torch.from_numpy(batch))

    out.append(("torch MLP", run, Xf))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--features", type=int, nargs="+", default=[20, 500])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100, 10_000])
    args = parser.parse_args(argv)
    _providers()
    print(f"{'model':<24} {'feat':>5} {'rows':>6} {'bare us':>9} {'floor+us':>9} {'added us':>9} {'ratio':>6}")
    growth: list[tuple[str, int, float]] = []
    for features in args.features:
        for name, predict, X in models(features):
            added: dict[int, float] = {}
            for rows in args.rows:
                batch = np.ascontiguousarray(X[:rows])
                calls = max(3, args.calls // max(1, rows // 500))
                m = measure(name, lambda b=batch, f=predict: f(b), args.rounds, calls, {})
                added[rows] = m["added"]
                print(
                    f"{name:<24} {features:>5} {rows:>6} {m['bare'] * 1e6:>9.1f} {m['floor_added'] * 1e6:>9.1f} "
                    f"{m['added'] * 1e6:>9.1f} {m['ratio']:>6.2f}",
                    flush=True,
                )
            if min(args.rows) in added and max(args.rows) in added and added[min(args.rows)] > 0:
                growth.append((name, features, added[max(args.rows)] / added[min(args.rows)]))
    if growth:
        print(f"\ngrowth: added time at {max(args.rows)} rows / added time at {min(args.rows)} row")
        for name, features, g in growth:
            print(f"{name:<24} {features:>5} {g:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
