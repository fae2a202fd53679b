"""The import rule of docs/architecture.md, checked on the source: features never import the
core or the instrumentation, telemetry imports no feature, ``_sdk`` imports nothing of
modeltel's but itself, the base imports only the base, and there are no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT_DIR

SRC = ROOT_DIR / "src"
PACKAGE = SRC / "modeltel"

FEATURES = {"data", "summaries", "drift", "labels", "alerts", "prediction_logs", "report"}
BASE = {"semconv", "config", "errors", "frameworks", "_observer", "_forksafe", "_json", "_version"}
# The base may read the drift method registry (config validates drift_methods against it).
BASE_MAY_IMPORT = {"modeltel.drift.methods", "modeltel.drift.statistics", "modeltel.drift"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """Import statements that run when the module is imported: at module level, also inside
    module-level ``try``/``if`` blocks, but not under ``if TYPE_CHECKING`` or in functions."""
    found: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                visit(node.body)
                visit(node.orelse)

    visit(tree.body)
    return found


def _imports(module: str, *, all_levels: bool = False) -> set[str]:
    """modeltel modules that ``module`` imports (a package import counts as its __init__)."""
    tree = ast.parse(MODULES[module].read_text())
    nodes = (
        [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        if all_levels
        else _top_level_imports(tree)
    )
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "modeltel"}
        elif node.module and node.module.split(".")[0] == "modeltel" and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                out.add(candidate if candidate in MODULES else node.module)
    return {m for m in out if m in MODULES}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    head = parts[1]
    if head in FEATURES:
        return "feature"
    if head in BASE:
        return "base"
    return head  # _core, _sdk, _local, instrumentation, testing, api, cli


def test_every_module_is_in_a_known_layer():
    layers = {_layer(m) for m in MODULES}
    assert layers <= {
        "package",
        "feature",
        "base",
        "_core",
        "_sdk",
        "_local",
        "instrumentation",
        "testing",
        "api",
        "cli",
    }, layers


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "feature"))
def test_features_never_import_the_core_or_the_instrumentation(module: str):
    bad = {m for m in _imports(module, all_levels=True) if _layer(m) not in {"feature", "base", "_sdk"}}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_telemetry_imports_no_feature():
    bad = {m for m in _imports("modeltel._core.telemetry", all_levels=True) if _layer(m) == "feature"}
    assert not bad, bad


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "_sdk"))
def test_sdk_imports_nothing_of_modeltel_but_itself(module: str):
    bad = {m for m in _imports(module, all_levels=True) if _layer(m) != "_sdk"}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "base"))
def test_the_base_imports_only_the_base(module: str):
    bad = {m for m in _imports(module, all_levels=True) if _layer(m) != "base" and m not in BASE_MAY_IMPORT}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_there_are_no_import_cycles():
    graph = {m: _imports(m) for m in MODULES}
    # A module importing its own package's __init__ is how Python loads it, not a cycle.
    for module, deps in graph.items():
        deps -= {p for p in deps if module.startswith(p + ".")}
    visiting: set[str] = set()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        visiting.add(node)
        for dep in sorted(graph[node]):
            if dep in visiting:
                cycles.append([*path[path.index(dep) :], dep] if dep in path else [*path, dep])
            elif dep not in done:
                walk(dep, [*path, dep])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        if module not in done:
            walk(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_the_checker_sees_a_violation():
    # Guard against a checker that passes everything: the instrumentation does import the core.
    assert any(_layer(m) == "_core" for m in _imports("modeltel.instrumentation.sklearn"))
    assert "modeltel.drift.methods" in _imports("modeltel.config")
