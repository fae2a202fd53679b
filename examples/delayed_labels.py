"""Ground truth that arrives later: predictions carry ids, labels are joined when they come,
and modeltel exports realized accuracy (``ml.performance{source="labels"}``) beside the
label-free estimate it keeps while labels are missing (``source="estimated"``).

Run: python examples/delayed_labels.py
Telemetry goes over OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default http://localhost:4317).
"""

from __future__ import annotations

import modeltel

modeltel.instrument(service_name="loan-api")  # the one line

import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def main() -> None:
    X, y = make_classification(n_samples=4000, n_features=8, n_informative=5, random_state=0)
    X_train, X_live, y_train, y_live = train_test_split(X, y, test_size=0.5, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=0.4, random_state=0)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X_train, y_train)
    # Validation labels calibrate the estimate modeltel reports before any label arrives.
    reference = modeltel.Reference.from_data(X_val, predictions=model.predict_proba(X_val), labels=y_val)
    modeltel.register(model, name="loan-default", version="5", reference=reference)

    # Serving: your own ids (application numbers) tie each prediction to its future label.
    applications = [f"application-{i}" for i in range(len(X_live))]
    for start in range(0, len(X_live), 100):
        with modeltel.prediction_ids(applications[start : start + 100]):
            model.predict_proba(X_live[start : start + 100])

    # Weeks later, a batch job learns the outcomes of the first 600 applications.
    summary = modeltel.record_labels(applications[:600], y_live[:600], model="loan-default")
    late = modeltel.record_labels(["application-unknown"], [1], model="loan-default")
    print(f"labels joined: {summary}; an id never predicted: {late}")
    accuracy = float(np.mean(model.predict(X_live[:600]) == y_live[:600]))
    print(f"realized accuracy on the labelled 600: {accuracy:.3f} (exported as ml.performance)")


if __name__ == "__main__":
    main()
