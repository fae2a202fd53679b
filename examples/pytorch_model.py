"""A PyTorch model instrumented with one line: each top-level forward call of a module in
eval mode is one prediction span (sub-modules are not), training steps emit nothing.

Run: python examples/pytorch_model.py
Telemetry goes over OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default http://localhost:4317).
"""

from __future__ import annotations

import modeltel

modeltel.instrument(service_name="churn-api")  # the one line

import torch  # noqa: E402
from torch import nn  # noqa: E402

FEATURES = ["tenure_months", "monthly_spend", "support_tickets", "logins_30d"]


def main() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(len(FEATURES), 32), nn.ReLU(), nn.Linear(32, 2), nn.Softmax(dim=1))
    modeltel.register(model, name="churn-mlp", version="7", feature_names=FEATURES)

    # Training: the module is in train mode, so these forward calls are not predictions.
    X = torch.randn(512, len(FEATURES))
    y = (X[:, 0] - X[:, 3] > 0).long()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(50):
        optimiser.zero_grad()
        loss = nn.functional.nll_loss(torch.log(model(X) + 1e-9), y)
        loss.backward()
        optimiser.step()

    # Serving: eval mode under inference_mode; each call is one span with input and output
    # summaries (class counts by argmax, mean confidence of the softmax rows).
    model.eval()
    with torch.inference_mode():
        for batch in (1, 16, 256):
            probabilities = model(torch.randn(batch, len(FEATURES)))
            churners = int(probabilities.argmax(dim=1).sum())
            print(f"batch of {batch}: {churners} predicted to churn")


if __name__ == "__main__":
    main()
