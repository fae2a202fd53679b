"""Telemetry names modeltel emits: the single place they are spelled.

Every name here is documented in docs/semantic-conventions.md; keep the two in step.
"""

from __future__ import annotations

# --- span attributes -------------------------------------------------------------------
ML_MODEL_NAME = "ml.model.name"
ML_MODEL_VERSION = "ml.model.version"
ML_MODEL_FRAMEWORK = "ml.model.framework"
ML_OPERATION = "ml.operation"

ML_BATCH_SIZE = "ml.batch.size"
ML_INPUT_SUMMARY_ROWS = "ml.input.summary.rows"
ML_INPUT_FEATURE_COUNT = "ml.input.feature.count"
ML_INPUT_FEATURE_NAMES = "ml.input.feature.names"
ML_INPUT_FEATURE_MEAN = "ml.input.feature.mean"
ML_INPUT_FEATURE_MIN = "ml.input.feature.min"
ML_INPUT_FEATURE_MAX = "ml.input.feature.max"
ML_INPUT_MISSING_COUNT = "ml.input.missing.count"

ML_OUTPUT_CLASS_LABELS = "ml.output.class.labels"
ML_OUTPUT_CLASS_COUNTS = "ml.output.class.counts"
ML_OUTPUT_CONFIDENCE_MEAN = "ml.output.confidence.mean"
ML_OUTPUT_MEAN = "ml.output.mean"
ML_OUTPUT_MIN = "ml.output.min"
ML_OUTPUT_MAX = "ml.output.max"

ML_INPUT_OUT_OF_RANGE_COUNT = "ml.input.out_of_range.count"

ML_PREDICTION_ID = "ml.prediction.id"
ML_PREDICTION_ID_COUNT = "ml.prediction.id.count"
ML_PERFORMANCE_METRIC = "ml.performance.metric"
ML_PERFORMANCE_SOURCE = "ml.performance.source"
ML_LABELS_OUTCOME = "ml.labels.outcome"
ML_ALERT_NAME = "ml.alert.name"
ML_ALERT_STATE = "ml.alert.state"
ML_ALERT_VALUE = "ml.alert.value"
ML_ALERT_THRESHOLD = "ml.alert.threshold"
# Span event emitted when a threshold is crossed or recovers.
ML_ALERT_EVENT = "ml.alert"

# Drift and data quality metric attributes.
ML_FEATURE_NAME = "ml.feature.name"
ML_DRIFT_METHOD = "ml.drift.method"
ML_DATA_QUALITY_KIND = "ml.data_quality.kind"
ML_BIN = "ml.bin"

# From the general OpenTelemetry semantic conventions.
ERROR_TYPE = "error.type"

# Where inside modeltel an internal failure happened (a small fixed set of code sites).
MODELTEL_SITE = "modeltel.site"

# --- framework values --------------------------------------------------------------------
FRAMEWORK_SKLEARN = "sklearn"
FRAMEWORK_PYTORCH = "pytorch"
FRAMEWORK_PYTHON = "python"

# --- metrics -------------------------------------------------------------------------------
METER_NAME = "modeltel"
TRACER_NAME = "modeltel"

ML_PREDICTION_DURATION = "ml.prediction.duration"
ML_PREDICTION_ROWS = "ml.prediction.rows"
MODELTEL_INTERNAL_ERRORS = "modeltel.internal.errors"
# Calls whose input disagreed with what the caller told modeltel (not modeltel failures).
MODELTEL_USAGE_WARNINGS = "modeltel.usage.warnings"

ML_DRIFT_SCORE = "ml.drift.score"
ML_PREDICTION_DRIFT_SCORE = "ml.prediction.drift.score"
ML_DRIFT_MULTIVARIATE_SCORE = "ml.drift.multivariate.score"
ML_DRIFT_WINDOW_ROWS = "ml.drift.window.rows"
ML_DATA_QUALITY_ISSUES = "ml.data_quality.issues"
ML_INPUT_DISTRIBUTION = "ml.input.distribution"
# Opt-in with ml.input.distribution: the reference proportions of the same bins, so a backend
# can compute fleet-wide PSI (collector-config/prometheus/recording-rules.yml).
ML_REFERENCE_DISTRIBUTION = "ml.reference.distribution"

ML_PERFORMANCE = "ml.performance"
ML_LABELS = "ml.labels"
ML_LABEL_DELAY = "ml.label.delay"
ML_ALERTS = "ml.alerts"

# Label delays run from seconds to weeks.
LABEL_DELAY_BUCKETS_S: tuple[float, ...] = (
    1.0,
    10.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    4 * 3600.0,
    12 * 3600.0,
    86400.0,
    3 * 86400.0,
    7 * 86400.0,
    30 * 86400.0,
)

# Inference latency spans ~50 us (a linear model on one row) to ~10 s (a large batch on a
# big network); the SDK default buckets (0, 5, 10 ... 10000) are meant for milliseconds and
# would put every prediction in the first bucket.
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
