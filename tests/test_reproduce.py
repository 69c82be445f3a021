"""keatingcore reproduce: resumable steps, sidecars, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keatingcore._plotting import new_figure
from keatingcore.cli import main
from keatingcore.reproduce import STEPS, Outcome, Step, reproduce


def _toy(calls, passed=True):
    def run(quick, data_dir):
        calls.append(quick)
        fig = new_figure()
        fig.add_subplot().plot([0, 1], [0, 1])
        return Outcome(
            fig, ["x", "y"], [[0, 0], [1, 1]], "toy check = 1.0", passed, {"seed": 0}
        )

    return run


def test_steps_write_figure_numbers_sidecar_and_index(tmp_path):
    calls = []
    steps = [
        Step("toy-a", "t", "Toy A", _toy(calls)),
        Step("toy-b", "t", "Toy B", _toy(calls, passed=False)),
    ]
    report = reproduce(steps, tmp_path, progress=False)
    assert report.computed == ["toy-a", "toy-b"] and not report.passed
    for name in ("toy-a", "toy-b"):
        for f in ("figure.png", "figure.pdf", "numbers.csv", "result.json"):
            assert (tmp_path / name / f).stat().st_size > 0
    record = json.loads((tmp_path / "toy-a" / "result.json").read_text())
    assert record["settings"] == {"seed": 0} and record["mode"] == "quick"
    assert "version" in record["build"]
    index = (tmp_path / "index.md").read_text()
    assert "toy-a/figure.png" in index and "**FAIL**" in index and "1 of 2" in index


def test_finished_steps_are_skipped_and_partial_ones_redone(tmp_path):
    calls = []
    steps = [
        Step("toy-a", "t", "Toy A", _toy(calls)),
        Step("toy-b", "t", "Toy B", _toy(calls)),
    ]
    reproduce(steps, tmp_path, progress=False)
    # A run killed inside toy-b leaves no sidecar (only a partial folder).
    (tmp_path / "toy-b" / "result.json").unlink()
    (tmp_path / "toy-c.partial").mkdir()
    report = reproduce(steps, tmp_path, progress=False)
    assert report.skipped == ["toy-a"] and report.computed == ["toy-b"]
    assert len(calls) == 3
    full = reproduce(steps, tmp_path, quick=False, progress=False)
    assert full.computed == ["toy-a", "toy-b"]  # another mode is another result


def test_data_steps_are_skipped_without_a_data_dir(tmp_path):
    calls = []
    steps = [Step("needs", "t", "Needs data", _toy(calls), needs_data_dir=True)]
    report = reproduce(steps, tmp_path, progress=False)
    assert report.records == [] and calls == []


def test_every_topic_has_steps():
    topics = {s.topic for s in STEPS}
    assert {"backdoor", "dynamics", "ufm", "landscape"} == topics
    assert len({s.name for s in STEPS}) == len(STEPS)


@pytest.mark.slow
def test_cli_reproduce_landscape_quick(tmp_path, capsys):
    assert main(["reproduce", "landscape", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("pass ") == 2 and "index.md" in out
    rows = np.loadtxt(
        tmp_path / "landscape-complexity" / "numbers.csv", delimiter=",", skiprows=1
    )
    assert abs(rows[0, 1] - 1.657) < 1e-3  # E_0 for p = 3
    assert main(["reproduce", "landscape", "--out", str(tmp_path)]) == 0
    assert "pass " in capsys.readouterr().out


def test_a_damaged_step_is_computed_again_and_the_table_escapes_pipes(tmp_path):
    calls = []

    def run(quick, data_dir):
        calls.append(1)
        fig = new_figure()
        fig.add_subplot().plot([0, 1])
        return Outcome(fig, ["x"], [[0]], "max |z| = 1.0", True, {})

    steps = [Step("toy", "t", "Toy", run)]
    reproduce(steps, tmp_path, progress=False)
    sidecar = tmp_path / "toy" / "result.json"
    sidecar.write_text(sidecar.read_text()[:50])  # truncated by a crash
    reproduce(steps, tmp_path, progress=False)
    (tmp_path / "toy" / "numbers.csv").unlink()  # a lost file
    reproduce(steps, tmp_path, progress=False)
    assert len(calls) == 3
    row = [
        line
        for line in (tmp_path / "index.md").read_text().splitlines()
        if line.startswith("| [Toy]")
    ][0]
    assert "max \\|z\\| = 1.0" in row and row.count(" | ") == 2


def test_index_covers_results_of_earlier_runs_in_the_folder(tmp_path):
    calls = []
    reproduce([Step("toy-a", "a", "Toy A", _toy(calls))], tmp_path, progress=False)
    report = reproduce(
        [Step("toy-b", "b", "Toy B", _toy(calls))], tmp_path, progress=False
    )
    assert [r["name"] for r in report.records] == ["toy-b"]
    index = (tmp_path / "index.md").read_text()
    assert "toy-a/figure.png" in index and "toy-b/figure.png" in index
