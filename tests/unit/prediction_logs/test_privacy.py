"""What leaves the process: by default only summaries; `summary_min_rows` keeps a single row's
values (its summary would equal them) off the span; `features_deny` keeps a feature's values
out of every signal (span summaries, prediction logs, the distribution export)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import modeltel
from modeltel import Reference
from modeltel._core import runtime as state
from tests.conftest import LOG_EXPORTER, metric_points

FRAME = pd.DataFrame({"age": [31.0, 47.0, 52.0, 64.0], "ssn": [123456789.0, 987654321.0, 555443333.0, 111223333.0]})


def test_a_single_row_summary_is_its_raw_values_unless_min_rows_is_set(spans):
    @modeltel.monitor("single-default")
    def score(frame):
        return np.zeros(len(frame))

    score(FRAME.iloc[:1])
    attrs = spans()[-1].attributes
    assert list(attrs["ml.input.feature.mean"]) == FRAME.iloc[0].tolist()  # why the option exists

    @modeltel.monitor("single-private", summary_min_rows=2)
    def private(frame):
        return np.zeros(len(frame))

    private(FRAME.iloc[:1])
    private(FRAME.iloc[:3])
    one, three = (s.attributes for s in spans() if s.name == "call single-private")
    assert one["ml.batch.size"] == 1
    assert not {
        "ml.input.feature.mean",
        "ml.input.feature.min",
        "ml.input.feature.max",
        "ml.input.feature.names",
        "ml.input.missing.count",
    } & set(one)
    assert list(three["ml.input.feature.names"]) == ["age", "ssn"]


def test_denied_features_leave_through_no_signal(spans):
    LOG_EXPORTER.clear()
    reference = Reference.from_data(FRAME.sample(200, replace=True, random_state=0))

    @modeltel.monitor(
        "denied", features_deny=["ssn"], prediction_log_rate=1.0, reference=reference, export_distribution=True
    )
    def score(frame):
        return np.zeros(len(frame))

    score(FRAME)
    attrs = spans()[-1].attributes
    assert list(attrs["ml.input.feature.names"]) == ["age"]
    assert list(attrs["ml.input.feature.mean"]) == [pytest.approx(FRAME.age.mean())]
    assert len(attrs["ml.input.feature.min"]) == len(attrs["ml.input.feature.max"]) == 1
    logs = [r for r in LOG_EXPORTER.get_finished_logs() if r.log_record.attributes.get("ml.model.name") == "denied"]
    body = json.loads(logs[-1].log_record.body)
    assert [set(row) for row in body["inputs"]] == [{"age"}] * 4
    features = {
        p.attributes["ml.feature.name"] for p in metric_points("ml.input.distribution", **{"ml.model.name": "denied"})
    }
    assert features == {"age"}
    reference_features = {
        p.attributes["ml.feature.name"]
        for p in metric_points("ml.reference.distribution", **{"ml.model.name": "denied"})
    }
    assert reference_features == {"age"}
    # Drift is still watched on the denied feature: a score describes a shift, not values.
    scores = {p.attributes["ml.feature.name"] for p in metric_points("ml.drift.score", **{"ml.model.name": "denied"})}
    assert scores == {"age", "ssn"}


def test_privacy_options_from_the_environment_are_validated():
    settings = state.settings_from_env({"MODELTEL_FEATURES_DENY": "ssn, email", "MODELTEL_SUMMARY_MIN_ROWS": "5"})
    assert settings.features_deny == ("ssn", "email") and settings.summary_min_rows == 5
    with pytest.raises(ValueError, match="MODELTEL_SUMMARY_MIN_ROWS"):
        state.settings_from_env({"MODELTEL_SUMMARY_MIN_ROWS": "none"})
    with pytest.raises(TypeError, match="features_deny"):
        modeltel.register(lambda x: x, features_deny="ssn")


METRIC_ATTRIBUTES = {
    "ml.model.name",
    "ml.model.version",
    "ml.model.framework",
    "ml.operation",
    "error.type",
    "modeltel.site",
    "ml.feature.name",
    "ml.drift.method",
    "ml.data_quality.kind",
    "ml.bin",
    "ml.performance.metric",
    "ml.performance.source",
    "ml.labels.outcome",
    "ml.alert.name",
    "ml.alert.state",
}


def test_metric_attributes_are_bounded_and_carry_no_ids_or_values():
    from tests.conftest import METRIC_READER

    rng = np.random.default_rng(5)
    wide = pd.DataFrame(rng.normal(size=(300, 120)), columns=[f"user-col-{i}" for i in range(120)])
    reference = Reference.from_data(wide)

    @modeltel.monitor("bounded", reference=reference, export_distribution=True, thresholds={"psi": 0.2})
    def score(frame):
        if len(frame) == 7:
            raise KeyError("boom")
        return (frame.iloc[:, 0] > 0).astype(int).to_numpy()

    ids: list[str] = []
    for i in range(300):
        batch = wide.iloc[i % 250 : i % 250 + 1 + i % 9] * (1 + i / 100)
        with modeltel.prediction_ids([f"customer-{i}-{j}" for j in range(len(batch))]):
            try:
                score(batch)
            except KeyError:
                pass
        ids += modeltel.last_prediction_ids()
    modeltel.record_labels(ids[:50] + ["never-seen"], [0] * 51, model="bounded")

    data = METRIC_READER.get_metrics_data()
    attribute_sets: dict[str, set] = {}
    values = set()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            if sm.scope.name != "modeltel":
                continue  # other instrumentations of the test process (FastAPI, ...)
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    attrs = dict(point.attributes)
                    if attrs.get("ml.model.name") not in (None, "bounded"):
                        continue
                    assert set(attrs) <= METRIC_ATTRIBUTES, (metric.name, attrs)
                    attribute_sets.setdefault(metric.name, set()).add(tuple(sorted(attrs.items())))
                    values |= {str(v) for v in attrs.values()}
    assert not values & set(ids) and not any(v.startswith("customer-") for v in values)
    assert not any(v.replace(".", "", 1).lstrip("-").isdigit() and "." in v for v in values)  # no raw numbers
    # One series per operation and outcome, whatever the traffic: 300 calls, 9 batch shapes.
    assert len(attribute_sets["ml.prediction.duration"]) == 2  # ok, error.type=KeyError
    # Per-feature metrics: one series per reference feature (x bins, capped) and no more.
    assert len(attribute_sets["ml.drift.score"]) == 120
    assert len({dict(a)["ml.feature.name"] for a in attribute_sets["ml.input.distribution"]}) == 50  # capped


# --- prediction logs: redaction at any depth and on any column level ---------------------

SECRET, OTHER_SECRET = 123456789, 987654321
DENY_OPTIONS = [{"log_features_deny": ["ssn"]}, {"features_deny": ["ssn"]}]


def _logged(name, x, **options):
    """Call a model named ``name`` with ``x`` and prediction logs on; return the record's body
    (parsed) and the record's whole emitted text (body and attributes)."""
    LOG_EXPORTER.clear()
    score = modeltel.monitor(name, prediction_log_rate=1.0, **options)(lambda batch: np.zeros(len(batch)))
    score(x)
    (record,) = [
        r.log_record for r in LOG_EXPORTER.get_finished_logs() if r.log_record.attributes.get("ml.model.name") == name
    ]
    text = str(record.body) + json.dumps({k: str(v) for k, v in record.attributes.items()})
    return json.loads(record.body), text


@pytest.mark.parametrize("deny", DENY_OPTIONS, ids=lambda d: next(iter(d)))
def test_a_denied_feature_is_removed_from_nested_records(deny):
    records = [
        {
            "user": {"ssn": SECRET, "age": 41, "contact": {"ssn": OTHER_SECRET, "city": "Lyon"}},
            "history": [{"ssn": SECRET, "amount": 3.5}],
            "ssn": OTHER_SECRET,
        },
        {"user": {"ssn": OTHER_SECRET, "age": 52}, "history": []},
    ]
    body, text = _logged(f"nested-{next(iter(deny))}", records, **deny)
    assert str(SECRET) not in text and str(OTHER_SECRET) not in text
    assert body["inputs"] == [
        {"user": {"age": 41, "contact": {"city": "Lyon"}}, "history": [{"amount": 3.5}]},
        {"user": {"age": 52}, "history": []},
    ]


@pytest.mark.parametrize("deny", DENY_OPTIONS, ids=lambda d: next(iter(d)))
def test_a_denied_feature_is_removed_on_any_multiindex_level(deny):
    columns = pd.MultiIndex.from_tuples([("ssn", ""), ("age", "years"), ("contact", "ssn"), ("contact", "city")])
    frame = pd.DataFrame([[SECRET, 41, OTHER_SECRET, "Lyon"], [OTHER_SECRET, 52, SECRET, "Nice"]], columns=columns)
    assert isinstance(frame.columns, pd.MultiIndex)
    body, text = _logged(f"multiindex-{next(iter(deny))}", frame, **deny)
    assert str(SECRET) not in text and str(OTHER_SECRET) not in text
    assert body["inputs"] == [
        {"('age', 'years')": 41, "('contact', 'city')": "Lyon"},
        {"('age', 'years')": 52, "('contact', 'city')": "Nice"},
    ]


def test_an_allow_list_keeps_only_allowed_names_at_every_level():
    records = [{"user": {"age": 41, "ssn": SECRET, "contact": {"city": "Lyon"}}, "age": 41, "ssn": OTHER_SECRET}]
    body, text = _logged("allow-nested", records, log_features_allow=["user", "age"])
    # An allowed key does not let the fields under it through: each must be allowed itself.
    assert body["inputs"] == [{"user": {"age": 41}, "age": 41}]
    assert str(SECRET) not in text and str(OTHER_SECRET) not in text

    columns = pd.MultiIndex.from_tuples([("age", ""), ("age", "ssn"), ("user", "age"), ("ssn", "")])
    frame = pd.DataFrame([[41, SECRET, 7, OTHER_SECRET]], columns=columns)
    body, text = _logged("allow-multiindex", frame, log_features_allow=["age"])
    # ("age", "") is pandas' padding of a one-level name: allowed; ("user", "age") needs "user" too.
    assert body["inputs"] == [{"('age', '')": 41}]
    assert str(SECRET) not in text and str(OTHER_SECRET) not in text


def test_values_that_cannot_be_inspected_are_not_logged_as_text_under_a_deny_list():
    class Customer:
        def __str__(self):
            return f"Customer(ssn={SECRET})"

    body, text = _logged("opaque", [{"customer": Customer(), "age": 41}], log_features_deny=["ssn"])
    assert body["inputs"] == [{"customer": "<Customer>", "age": 41}]
    assert str(SECRET) not in text


def test_features_deny_removes_a_multiindex_column_from_the_span_summary(spans):
    frame = pd.DataFrame(
        [[123456789.0, 41.0], [987654321.0, 52.0]],
        columns=pd.MultiIndex.from_tuples([("ssn", ""), ("age", "years")]),
    )
    modeltel.wrap(lambda df: [0] * len(df), name="denied-multiindex", features_deny=["ssn"])(frame)
    attrs = spans()[-1].attributes
    assert attrs["ml.input.feature.names"] == ("('age', 'years')",)
    assert attrs["ml.input.feature.max"] == (52.0,)
    assert 987654321.0 not in attrs["ml.input.feature.max"] + attrs["ml.input.feature.min"]
