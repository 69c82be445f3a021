"""The benchmark harness: discovery, failure recording, JSON output (no timings)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import textwrap
from pathlib import Path

import pytest

from keatingcore import _bench
from keatingcore._bench import Figure, run, run_cli, time_call, write_report

REPORT_KEYS = {
    "schema",
    "timestamp",
    "machine",
    "build_info",
    "git_commit",
    "git_dirty",
    "bench_dir",
    "only",
    "quick",
    "elapsed",
    "benchmarks",
    "figures",
    "failures",
}
FIGURE_KEYS = {
    "name",
    "value",
    "unit",
    "baseline",
    "baseline_value",
    "goal",
    "note",
    "extra",
    "ratio",
    "benchmark",
}

FAKE = """
from keatingcore._bench import Figure
from . import helper_fake


def bench_one():
    return [Figure(name="fake.one", value=0.5, unit="point", baseline="slow",
                   baseline_value=2.0, goal="< 1 s", note=helper_fake.NOTE,
                   extra={"n": 3})]


def bench_sized(quick=False):
    return [Figure(name="fake.sized", value=0.01 if quick else 0.1)]


def not_a_benchmark():
    raise AssertionError("must not be called")
"""

FAILING = """
import warnings

from keatingcore._bench import Figure


def bench_boom():
    warnings.warn("careful", RuntimeWarning)
    raise RuntimeError("boom")


def bench_wrong_type():
    return 42


def bench_fine():
    return [Figure(name="fine", value=1.0)]
"""


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def _args(folder: Path, out: Path | None = None, **kw) -> argparse.Namespace:
    values = {"bench_dir": str(folder), "only": None, "out": out, **kw}
    return argparse.Namespace(**values)


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    _write(folder, "bench_fake.py", FAKE)
    _write(folder, "helper_fake.py", 'NOTE = "from a sibling module"\n')
    return folder


def test_empty_folder_writes_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "empty.json"
    assert run_cli(_args(tmp_path, out)) == 0
    data = _load_json(out)
    assert set(data) == REPORT_KEYS
    assert data["figures"] == [] and data["failures"] == [] and data["benchmarks"] == []
    assert data["machine"]["cpu_count"] >= 1
    assert "version" in data["build_info"]
    assert data["timestamp"].endswith("Z")
    assert "(no figures)" in capsys.readouterr().out


def test_default_path_is_results_folder(tmp_path: Path) -> None:
    assert run_cli(_args(tmp_path)) == 0
    written = list((tmp_path / "results").glob("bench-*.json"))
    assert len(written) == 1
    assert set(_load_json(written[0])) == REPORT_KEYS


def test_fake_bench_figure(fake_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "fake.json"
    assert run_cli(_args(fake_dir, out)) == 0
    data = _load_json(out)
    names = [b["name"] for b in data["benchmarks"]]
    assert names == ["bench_fake.bench_one", "bench_fake.bench_sized"]
    one = data["figures"][0]
    assert set(one) == FIGURE_KEYS
    assert one["name"] == "fake.one" and one["benchmark"] == "bench_fake.bench_one"
    assert one["ratio"] == pytest.approx(4.0)
    assert one["note"] == "from a sibling module" and one["extra"] == {"n": 3}
    assert data["figures"][1]["ratio"] is None
    table = capsys.readouterr().out
    assert "fake.one" in table and "4x" in table and "< 1 s" in table


def test_quick_reaches_benchmarks(fake_dir: Path) -> None:
    full = {f["name"]: f["value"] for f in run(fake_dir)["figures"]}
    quick = {f["name"]: f["value"] for f in run(fake_dir, quick=True)["figures"]}
    assert full["fake.sized"] == 0.1 and quick["fake.sized"] == 0.01


def test_only_filters_by_name(fake_dir: Path) -> None:
    data = run(fake_dir, only="sized")
    assert [f["name"] for f in data["figures"]] == ["fake.sized"]
    assert run(fake_dir, only="nothing-matches")["benchmarks"] == []


def test_failures_are_recorded_not_raised(tmp_path: Path) -> None:
    _write(tmp_path, "bench_failing.py", FAILING)
    out = tmp_path / "failing.json"
    assert run_cli(_args(tmp_path, out)) == 1
    data = _load_json(out)
    failed = {f["benchmark"]: f for f in data["failures"]}
    assert set(failed) == {"bench_failing.bench_boom", "bench_failing.bench_wrong_type"}
    assert failed["bench_failing.bench_boom"]["error"] == "RuntimeError: boom"
    assert "raise RuntimeError" in failed["bench_failing.bench_boom"]["traceback"]
    assert "TypeError" in failed["bench_failing.bench_wrong_type"]["error"]
    assert [f["name"] for f in data["figures"]] == ["fine"]
    boom = next(b for b in data["benchmarks"] if b["name"].endswith("boom"))
    assert boom["status"] == "error"
    assert boom["warnings"] == ["RuntimeWarning: careful"]


def test_import_error_is_recorded(tmp_path: Path) -> None:
    _write(tmp_path, "bench_broken.py", "import not_a_module_anywhere_1234\n")
    data = run(tmp_path)
    assert [f["benchmark"] for f in data["failures"]] == ["bench_broken (import)"]
    assert "ModuleNotFoundError" in data["failures"][0]["error"]


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="bench folder not found"):
        run(tmp_path / "absent")


def test_non_finite_values_become_null(tmp_path: Path) -> None:
    report = {
        "timestamp": "2026-01-01T00:00:00Z",
        "bench_dir": str(tmp_path),
        "figures": [Figure("nan", math.nan, baseline_value=math.inf).to_dict()],
    }
    data = _load_json(write_report(report, tmp_path / "nan.json"))
    assert data["figures"][0]["value"] is None
    assert data["figures"][0]["baseline_value"] is None


def test_time_call_calls_and_returns_seconds() -> None:
    calls = []
    seconds = time_call(lambda: calls.append(1), min_time=0.0, repeat=3)
    assert len(calls) == 4  # a warm-up call, then one call per round
    assert seconds >= 0
    with pytest.raises(ValueError, match="repeat"):
        time_call(lambda: None, repeat=0)


def test_format_seconds() -> None:
    assert _bench.format_seconds(2.5e-3) == "2.50 ms"
    assert _bench.format_seconds(12.0) == "12.00 s"
    assert _bench.format_seconds(None) == "-"


def test_python_m_bench_entry(fake_dir: Path, tmp_path: Path) -> None:
    main_file = Path(__file__).resolve().parents[1] / "bench" / "__main__.py"
    spec = importlib.util.spec_from_file_location("_bench_main_under_test", main_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "main.json"
    code = module.main(["--bench-dir", str(fake_dir), "--out", str(out), "--quick"])
    assert code == 0
    data = _load_json(out)
    assert data["quick"] is True
    assert {f["name"] for f in data["figures"]} == {"fake.one", "fake.sized"}


def test_compare_flags_only_slowdowns_beyond_the_noise_band() -> None:
    def report(values: dict[str, float]) -> dict:
        return {"figures": [{"name": k, "value": v} for k, v in values.items()]}

    old = report({"a": 1.0, "b": 1.0, "c": 1.0, "gone": 1.0})
    new = report({"a": 1.2, "b": 1.5, "c": 0.5, "fresh": 9.0})
    rows = {r["name"]: r for r in _bench.compare(new, old, noise=0.25)}
    assert set(rows) == {"a", "b", "c"}
    assert not rows["a"]["regressed"] and rows["b"]["regressed"]
    assert not rows["c"]["regressed"] and rows["c"]["change"] == pytest.approx(-0.5)
    assert "REGRESSION" in _bench.format_comparison(list(rows.values()), 0.25)
    with pytest.raises(ValueError, match="noise"):
        _bench.compare(new, old, noise=-1.0)


def test_cli_compare_exit_status(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"figures": []}))
    args = argparse.Namespace(
        bench_dir=empty,
        only=None,
        out=tmp_path / "new.json",
        quick=True,
        compare=old,
        noise=0.25,
    )
    assert run_cli(args) == 0
    assert "noise band 25 %" in capsys.readouterr().out
