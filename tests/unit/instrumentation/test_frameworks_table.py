"""The framework table is what every consumer reads (issue 19: one vocabulary)."""

from __future__ import annotations

import tomllib

import pytest
import torch
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel.config import check_frameworks
from modeltel.frameworks import FRAMEWORKS, NAMES, framework_of
from tests.helpers import ROOT_DIR

ROOT = ROOT_DIR


def test_the_entry_points_are_the_table_rows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entry_points = project["entry-points"]["opentelemetry_instrumentor"]
    assert entry_points == {f.name: f.instrumentor for f in FRAMEWORKS.values()}
    for framework in FRAMEWORKS.values():
        assert framework.instrumentor_class().__name__ == framework.instrumentor.partition(":")[2]


def test_option_validation_names_the_table():
    assert check_frameworks(list(NAMES), "here") == list(NAMES)
    with pytest.raises(ValueError, match="supported: " + ", ".join(NAMES)):
        check_frameworks(["xgb"], "here")


def test_wrap_names_the_framework_from_the_table(spans):
    assert framework_of(LogisticRegression()) == FRAMEWORKS["sklearn"].semconv
    assert framework_of(torch.nn.Linear(2, 1)) == FRAMEWORKS["torch"].semconv
    assert framework_of(object()) == "python"

    class Model:
        def predict(self, x):
            return x

    modeltel.wrap(Model(), name="table-python").predict([1.0])
    assert spans()[-1].attributes["ml.model.framework"] == "python"


def test_semconv_documents_every_framework_value():
    text = (ROOT / "docs" / "semantic-conventions.md").read_text()
    for framework in FRAMEWORKS.values():
        assert f"`{framework.semconv}`" in text
