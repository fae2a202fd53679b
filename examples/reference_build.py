"""A training pipeline saves a reference profile beside the model; the server loads both.

The reference (quantile bins per feature, category shares, prediction distribution, PCA for
multivariate drift, a calibration map from validation labels) is what drift, data quality and
label-free accuracy estimates are measured against. Same thing from a shell:
``modeltel reference build validation.csv --predictions score -o fraud.json`` (``score``: a
column of the file holding the model's predictions).

Run: python examples/reference_build.py [--out DIR]
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path

import modeltel

FEATURES = ["amount", "country", "hour", "device_age_days"]


def training_job(out: Path) -> None:
    """Train, then write model.pkl and fraud.json (the reference) side by side."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(4, 1, n),
            "country": rng.choice(["DE", "FR", "US", "BR"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "hour": rng.integers(0, 24, n),
            "device_age_days": rng.exponential(200, n),
        }
    )
    y = ((frame["amount"] > 150) & (frame["device_age_days"] < 100)).astype(int)
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["country"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(frame[:2000], y[:2000])
    validation = frame[2000:]
    reference = modeltel.Reference.from_data(
        validation, categorical=["country"], predictions=model.predict_proba(validation), labels=y[2000:]
    )
    reference.save(out / "fraud.json")
    (out / "model.pkl").write_bytes(pickle.dumps(model))
    print(f"saved {out / 'model.pkl'} and its reference {out / 'fraud.json'}")


def serving(out: Path) -> None:
    """At server start-up: load the model, attach its reference (or set MODELTEL_REFERENCE_DIR
    to the folder and name the model after the file)."""
    import pandas as pd

    modeltel.instrument(service_name="fraud-api")  # the one line
    model = pickle.loads((out / "model.pkl").read_bytes())
    modeltel.register(model, name="fraud", version="1", reference=out / "fraud.json")
    request = pd.DataFrame(
        {"amount": [80.0, 900.0], "country": ["DE", "JP"], "hour": [3, 23], "device_age_days": [400.0, 2.0]}
    )
    print("fraud probability:", model.predict_proba(request)[:, 1].round(3).tolist())
    print("('JP' was never seen in training: counted as an unseen_category data-quality issue)")


def main() -> None:
    parser = argparse.ArgumentParser(description="build a reference in training, use it in serving")
    parser.add_argument("--out", type=Path, default=None, help="folder for model.pkl and fraud.json")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="modeltel-reference-"))
    out.mkdir(parents=True, exist_ok=True)
    training_job(out)
    serving(out)


if __name__ == "__main__":
    main()
