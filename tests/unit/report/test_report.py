"""Window snapshots and the static HTML drift report: from data, from a live process, in a browser."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modeltel
from modeltel import Reference, WindowError, WindowSnapshot
from modeltel.drift import statistics as stats
from modeltel.report.html import THRESHOLDS, compare, feature_scores, render_report
from tests.helpers import ROOT_DIR

SCRIPT = Path(sys.executable).parent / "modeltel"
CHROMIUM = Path("/usr/bin/chromium")
# Screenshots and rendered reports are kept here for a person to look at (git-ignored).
ARTIFACTS = ROOT_DIR / "test-artifacts"
RNG = np.random.default_rng(11)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)


# --- a small example counted by hand ------------------------------------------------------


def small_reference() -> Reference:
    # x: 0..9 in 2 quantile bins -> edges [0, 4.5, 9]; c: c x4, a x3, b x3 with top_k=2 -> [c, a] + other.
    train = pd.DataFrame({"x": np.arange(10.0), "c": list("aaabbbcccc")})
    return Reference.from_data(train, bins=2, top_k=2)


def test_snapshot_from_data_equals_counts_by_hand():
    ref = small_reference()
    assert ref.feature("x").edges == [0.0, 4.5, 9.0]
    assert ref.feature("c").categories == ["c", "a"]
    live = pd.DataFrame(
        {
            "x": [-1.0, 0.0, 4.4, 4.5, 9.0, 10.0, np.nan, 3.0],
            "c": ["a", "b", "z", None, "c", "c", "a", np.nan],
            "extra": range(8),
        }
    )
    window = WindowSnapshot.from_data(live, ref)
    x, c = window.feature("x"), window.feature("c")
    # underflow: -1 | [0, 4.5): 0, 4.4, 3 | [4.5, 9]: 4.5, 9 (the maximum is in the last bin) | overflow: 10
    assert x.counts == [1, 3, 2, 1]
    assert x.sums == pytest.approx([-1.0, 7.4, 13.5, 10.0])
    assert x.quality == {"missing": 1, "out_of_range": 2, "unseen_category": 0, "type_mismatch": 0}
    # c: 2, a: 2, other: b and z (outside the top-K, as the live window counts them)
    assert c.counts == [2, 2, 2]
    assert c.quality == {"missing": 2, "out_of_range": 0, "unseen_category": 2, "type_mismatch": 0}
    assert window.rows == 8 and window.unexpected_columns == 8  # one extra column x 8 rows
    assert window.source == "data"


def test_mixed_numeric_column_counts_type_mismatches_and_absent_features():
    ref = small_reference()
    window = WindowSnapshot.from_data({"x": np.array([1.0, "oops", None, 7], dtype=object)}, ref)
    x = window.feature("x")
    assert x.counts == [0, 1, 1, 0]
    assert x.quality["type_mismatch"] == 1 and x.quality["missing"] == 1
    # c is absent: missing in every row
    assert window.feature("c").quality["missing"] == 4 and window.feature("c").counts == [0, 0, 0]


def test_snapshot_round_trips_through_json(tmp_path):
    ref = small_reference()
    window = WindowSnapshot.from_data(pd.DataFrame({"x": [1.0, np.inf], "c": ["a", "c"]}), ref)
    window.save(tmp_path / "w.json")
    loaded = WindowSnapshot.load(tmp_path / "w.json")
    assert json.loads((tmp_path / "w.json").read_text())["schema"] == "modeltel.window/v1"
    assert loaded.to_dict() == window.to_dict()
    assert loaded.feature("x").sums[-1] == np.inf  # an infinite value's bin sum survives
    loaded.check_against(ref)


def valid_snapshot() -> dict:
    ref = small_reference()
    return WindowSnapshot.from_data(pd.DataFrame({"x": [1.0, 5.0], "c": ["a", "c"]}), ref).to_dict()


def _set(path: list, value):
    def mutate(data: dict) -> dict:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data

    return mutate


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: {"rows": 3}, "is not a modeltel window snapshot (no schema 'modeltel.window/v1')"),
        (_set(["schema"], "modeltel.reference"), "is not a modeltel window snapshot (schema 'modeltel.reference'"),
        (_set(["schema"], "modeltel.window/v2"), "has window schema 'modeltel.window/v2'; this modeltel reads"),
        (_set(["rows"], -1), "rows must be a non-negative number, got -1"),
        (_set(["features"], {"x": []}), "features must be a list, got dict"),
        (_set(["features", 0, "kind"], "ordinal"), "feature #0 ('x'): kind must be one of"),
        (_set(["features", 0, "name"], ""), "feature #0: name must be a non-empty string"),
        (_set(["features", 0, "counts", 1], "7"), "feature #0 ('x'): counts[1] must be a finite number, got '7'"),
        (_set(["features", 0, "counts", 1], -2), "feature #0 ('x'): counts must not be negative"),
        (_set(["features", 0, "sums"], [1.0, 2.0]), "feature #0 ('x'): sums has 2 entries for 4 counts"),
        (_set(["features", 1, "quality", "stale"], 1), "feature #1 ('c'): unknown quality kind(s) ['stale']"),
        (
            _set(["features", 1, "quality", "missing"], None),
            "feature #1 ('c'): quality.missing must be a non-negative number",
        ),
        (_set(["features", 1, "name"], "x"), "feature 'x' appears twice"),
        (_set(["predictions"], "yes"), "predictions must be an object, got str"),
    ],
)
def test_load_rejects_malformed_snapshots(tmp_path, mutate, message):
    path = tmp_path / "w.json"
    path.write_text(json.dumps(mutate(valid_snapshot())))
    with pytest.raises(WindowError) as caught:
        WindowSnapshot.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_load_rejects_missing_and_non_json_files(tmp_path):
    with pytest.raises(WindowError, match="cannot read window .*nope.json"):
        WindowSnapshot.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(WindowError, match="bad.json is not valid JSON"):
        WindowSnapshot.load(tmp_path / "bad.json")


def test_window_of_another_reference_is_refused():
    ref = small_reference()
    window = WindowSnapshot.from_dict(valid_snapshot())
    other_bins = Reference.from_data(pd.DataFrame({"x": np.arange(10.0), "c": list("aaabbbcccc")}), bins=3, top_k=2)
    with pytest.raises(WindowError, match="feature 'x' has 4 bins, the reference has 5"):
        window.check_against(other_bins)
    shifted = Reference.from_data(pd.DataFrame({"x": np.arange(10.0) + 1, "c": list("aaabbbcccc")}), bins=2, top_k=2)
    with pytest.raises(WindowError, match="built against a different reference"):
        window.check_against(shifted)
    with pytest.raises(WindowError, match="has no feature 'amount' of the reference"):
        window.check_against(Reference.from_data(pd.DataFrame({"amount": np.arange(10.0)})))
    window.check_against(ref)  # its own reference is fine


# --- the live process gives the same snapshot -----------------------------------------------


def test_live_window_equals_snapshot_built_from_the_same_data(tmp_path):
    x_train = RNG.normal(size=(3000, 3))
    model = LogisticRegression().fit(x_train, (x_train[:, 0] > 0).astype(int))
    ref = Reference.from_data(x_train, predictions=model.predict(x_train))
    modeltel.register(model, name="report-live", reference=ref)
    live = RNG.normal(size=(1000, 3))
    live[:, 1] += 1.5
    live[::97, 2] = 50.0  # far above the reference maximum: overflow bin, out of range
    # Batches of at most summary_max_rows (256): every row is binned, none is weighted.
    predictions = np.concatenate([model.predict(live[i : i + 200]) for i in range(0, 1000, 200)])

    saved = modeltel.save_window(model, tmp_path / "live.json")
    by_name = WindowSnapshot.from_model("report-live")
    expected = WindowSnapshot.from_data(live, ref, predictions=predictions)
    assert saved.source == "live" and saved.metadata["model"] == "report-live"
    for snapshot in (saved, by_name, WindowSnapshot.load(tmp_path / "live.json")):
        assert snapshot.rows == expected.rows == 1000
        assert snapshot.reference_digest == expected.reference_digest
        for got, want in zip(snapshot.features, expected.features, strict=True):
            assert got.name == want.name
            assert got.counts == want.counts
            assert got.sums == pytest.approx(want.sums)
            assert got.quality == want.quality
        assert snapshot.predictions.counts == expected.predictions.counts
    assert saved.feature("x2").counts[-1] >= 11 and saved.feature("x2").quality["out_of_range"] >= 11
    # and so the report's scores are the same either way
    live_results, _ = compare(ref, saved)
    data_results, _ = compare(ref, expected)
    assert [r.profile.name for r in live_results] == [r.profile.name for r in data_results]
    assert [r.score for r in live_results] == pytest.approx([r.score for r in data_results])


def test_live_window_with_categories_and_data_quality_matches_data(tmp_path):
    train = pd.DataFrame({"amount": RNG.normal(100, 10, 2000), "country": RNG.choice(["NO", "SE", "DK"], 2000)})
    ref = Reference.from_data(train)

    @modeltel.monitor("report-dq", reference=ref)
    def score(frame):
        return np.zeros(len(frame))

    live = pd.DataFrame(
        {
            "amount": RNG.normal(110, 10, 150).astype(object),
            "country": RNG.choice(["NO", "SE", "IS"], 150).astype(object),
        }
    )
    live.loc[3, "amount"] = None
    live.loc[4, "amount"] = "oops"
    live.loc[5, "amount"] = 1e6
    live.loc[6, "country"] = None
    score(live)
    path = modeltel.write_report(tmp_path / "live.html", model="report-dq")
    got = WindowSnapshot.from_model("report-dq")
    want = WindowSnapshot.from_data(live, ref)
    for g, w in zip(got.features, want.features, strict=True):
        assert g.counts == w.counts
        assert g.quality == w.quality
    amount = got.feature("amount").quality
    assert amount["missing"] == 1 and amount["type_mismatch"] == 1 and amount["out_of_range"] >= 1  # None, "oops", 1e6
    assert got.feature("country").quality["unseen_category"] == want.feature("country").counts[-1] > 0
    page = path.read_text()
    assert page.count('<svg class="chart" data-role="feature"') == 2
    assert "data quality (since start)" in page


def test_live_errors_say_what_to_do():
    with pytest.raises(WindowError, match="no live drift window for model 'never-called'"):
        modeltel.save_window("never-called", "unused.json")
    with pytest.raises(WindowError, match="has no reference: register it"):
        modeltel.save_window(LogisticRegression(), "unused.json")
    with pytest.raises(TypeError, match="not both"):
        modeltel.write_report("unused.html", model="x", window="w.json")


# --- the report ---------------------------------------------------------------------------


TRICKY = "amount <b>\"&'</b>"


def drifted_example() -> tuple[Reference, WindowSnapshot]:
    """Four features (one with a name full of markup, one categorical with a script
    category), predictions, one feature clearly shifted."""
    n = 4000
    train = pd.DataFrame(
        {
            TRICKY: RNG.lognormal(3, 1, n),
            "age": RNG.integers(18, 90, n).astype(float),
            "country": RNG.choice(["NO", "SE", "DK", "<script>alert(1)</script>"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "score": RNG.normal(size=n),
        }
    )
    ref = Reference.from_data(
        train, predictions=RNG.choice(["fraud", "ok"], n, p=[0.1, 0.9]), metadata={"source": "train.csv"}
    )
    live = train.sample(1500, random_state=3).reset_index(drop=True)
    live[TRICKY] = live[TRICKY] * 2.0
    live.loc[:29, "age"] = np.nan
    live["country"] = RNG.choice(["NO", "SE", "DK", "IS"], 1500)
    window = WindowSnapshot.from_data(
        live, ref, predictions=RNG.choice(["fraud", "ok"], 1500, p=[0.35, 0.65]), metadata={"data": "today.csv"}
    )
    return ref, window


def test_report_has_one_chart_per_feature_escaped_names_and_no_urls():
    ref, window = drifted_example()
    page = render_report(ref, window)
    assert page.count('<svg class="chart" data-role="feature"') == len(ref.features) == 4
    assert page.count('<svg class="chart" data-role="prediction"') == 1
    # user strings are escaped everywhere: no raw markup from names or categories
    assert TRICKY not in page and "<script>" not in page and '<b>"' not in page
    assert "amount &lt;b&gt;&quot;&amp;&#x27;&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # self-contained: no URL at all, so nothing is fetched
    assert "http://" not in page and "https://" not in page
    links = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    assert links and all(link.startswith("#") or link == "data:," for link in links), links
    assert "<script" not in page.lower()


def test_report_scores_equal_drift_statistics_and_sort_by_drift():
    ref, window = drifted_example()
    results, prediction = compare(ref, window)
    for r in results:
        reference = np.asarray(r.profile.proportions)
        counts = np.asarray(r.window.counts)
        assert r.scores["psi"] == stats.psi(reference, counts)
        assert r.scores["js"] == stats.js_distance(reference, counts)
        if r.profile.kind == "numeric":
            assert r.scores["ks"] == stats.ks_statistic(reference, counts)
            means = np.where(counts > 0, np.asarray(r.window.sums) / np.maximum(counts, 1), np.nan)
            expected = stats.wasserstein_binned(r.profile.bin_means, reference, means, counts) / r.profile.std
            assert r.scores["wasserstein"] == pytest.approx(expected)
        else:
            assert r.scores["chi2_pvalue"] == stats.chi2_pvalue(reference, counts)
        assert r.drifted == (r.scores["psi"] > THRESHOLDS["psi"])
    psis = [r.scores["psi"] for r in results]
    assert psis == sorted(psis, reverse=True)
    assert {r.profile.name for r in results if r.drifted} == {TRICKY, "country"}
    assert prediction is not None and prediction.drifted
    # the summary table lists them in that order, with those scores
    page = render_report(ref, window)
    summary = page.split("<h2>Summary</h2>")[1].split("</table>")[0]
    names = re.findall(r'<a href="#[^"]+">([^<]*)</a>', summary)
    import html as html_module

    assert [html_module.unescape(n) for n in names] == ["predictions", *[r.profile.name for r in results]]
    assert f"{results[0].scores['psi']:.4f}".rstrip("0") in summary


def test_method_and_threshold_choose_the_verdict():
    ref, window = drifted_example()
    results, _ = compare(ref, window, method="psi", threshold=100.0)
    assert not any(r.drifted for r in results)
    results, _ = compare(ref, window, method="chi2_pvalue")
    assert [r.drifted for r in results if r.profile.kind == "numeric"] == [None] * 3  # n/a for numeric
    with pytest.raises(ValueError, match="unknown drift method 'auc'"):
        compare(ref, window, method="auc")


def test_feature_scores_are_empty_without_values():
    ref = small_reference()
    window = WindowSnapshot.from_data(pd.DataFrame({"x": [np.nan], "c": [None]}), ref)
    assert feature_scores(ref.feature("x"), window.feature("x")) == {}
    page = render_report(ref, window)
    assert page.count('<svg class="chart" data-role="feature"') == 2 and "No values in the window" in page


# --- CLI ----------------------------------------------------------------------------------


def write_csvs(tmp_path: Path) -> tuple[Path, Path]:
    train = pd.DataFrame(
        {
            "amount": RNG.normal(size=500),
            "city": RNG.choice(["Oslo", "Bergen"], 500),
            "pred": RNG.choice([0, 1], 500),
            "target": RNG.integers(0, 2, 500),
        }
    )
    today = train.copy()
    today["amount"] += 2.0
    train.to_csv(tmp_path / "train.csv", index=False)
    today.to_csv(tmp_path / "today.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "today.csv"


def test_cli_window_build_then_report(tmp_path):
    train, today = write_csvs(tmp_path)
    ref, win, out = tmp_path / "ref.json", tmp_path / "window.json", tmp_path / "report.html"
    assert (
        run("reference", "build", str(train), "-o", str(ref), "--drop", "target", "--predictions", "pred").returncode
        == 0
    )
    proc = run(
        "window",
        "build",
        str(today),
        "--reference",
        str(ref),
        "-o",
        str(win),
        "--drop",
        "target",
        "--predictions",
        "pred",
    )
    assert proc.returncode == 0, proc.stderr
    assert "500 rows, 2 features, predictions profiled" in proc.stdout
    snapshot = WindowSnapshot.load(win)
    assert snapshot.feature("amount").quality["out_of_range"] > 0 and snapshot.unexpected_columns == 0
    proc = run("report", "--reference", str(ref), "--window", str(win), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "2 features, 1 drifted (amount)" in proc.stdout
    page = out.read_text()
    assert page.count('<svg class="chart" data-role="feature"') == 2
    assert page.count('<svg class="chart" data-role="prediction"') == 1
    # --window also takes the data file itself, profiled on the fly: same page body
    direct = tmp_path / "direct.html"
    proc = run(
        "report",
        "--reference",
        str(ref),
        "--window",
        str(today),
        "-o",
        str(direct),
        "--drop",
        "target",
        "--predictions",
        "pred",
    )
    assert proc.returncode == 0, proc.stderr

    def strip(text: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z", "", text)

    assert strip(direct.read_text()) == strip(page)


def test_cli_errors_are_clear(tmp_path):
    train, today = write_csvs(tmp_path)
    ref = tmp_path / "ref.json"
    assert run("reference", "build", str(train), "-o", str(ref)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "modeltel.window/v1", "rows": 1, "features": "none"}))
    proc = run("report", "--reference", str(ref), "--window", str(bad), "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 2 and "features must be a list" in proc.stderr and str(bad) in proc.stderr
    proc = run("window", "build", str(today), "--reference", str(ref), "-o", str(tmp_path / "w.json"), "--drop", "nope")
    assert proc.returncode == 2 and "--drop names column(s) not in" in proc.stderr
    other = tmp_path / "other.json"
    Reference.from_data(pd.DataFrame({"amount": RNG.normal(size=50)})).save(other)
    assert run("window", "build", str(today), "--reference", str(ref), "-o", str(tmp_path / "w.json")).returncode == 0
    proc = run(
        "report", "--reference", str(other), "--window", str(tmp_path / "w.json"), "-o", str(tmp_path / "r.html")
    )
    assert proc.returncode == 2 and "the reference does not have" in proc.stderr
    assert not (tmp_path / "r.html").exists()


# --- in a real browser --------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (make system)")


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Headless chromium with no network, sync or first-run side effects; console messages
    are logged to stderr as ``...:INFO:CONSOLE...`` lines."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def console_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_console_check_catches_errors(tmp_path):
    """The no-console-errors check below can fail: a broken SVG attribute is reported."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><svg><rect width="-3" height="nan"/></svg></body></html>')
    proc = chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert any("A negative value is not valid" in line for line in console_lines(proc)), proc.stderr[-2000:]


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    ref, window = drifted_example()
    report = modeltel.write_report(tmp_path / "report.html", reference=ref, window=window)
    proc = chromium(tmp_path, report.as_uri(), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # The rendered DOM, not the file: the browser parsed every chart as SVG.
    assert len(re.findall(r'<svg class="chart" data-role="feature"', dom)) == len(ref.features)
    assert len(re.findall(r"<rect class=\"cur\"", dom)) >= 4 * 3
    assert "</main>" in dom
    assert console_lines(proc) == []  # the page writes nothing to the console: no error at all

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "drift-report.png"
    shot.unlink(missing_ok=True)
    proc = chromium(tmp_path, report.as_uri(), f"--screenshot={shot}", "--window-size=1200,2000")
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    shutil.copy(report, ARTIFACTS / "drift-report.html")
    assert console_lines(proc) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 2000)
    # Not a blank page: the decompressed pixels hold many distinct values.
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    assert len(set(zlib.decompress(idat))) > 50
