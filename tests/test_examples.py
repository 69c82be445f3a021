"""Every example script runs and writes its figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


def test_there_is_an_example_per_topic():
    names = " ".join(p.name for p in EXAMPLES)
    for topic in (
        "backdoor",
        "nc_convergence",
        "depth",
        "ufm_hessian",
        "low_rank",
        "spin_glass",
    ):
        assert topic in names


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_writes_its_figure(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip().splitlines()[-1])
    assert written.parent == tmp_path and written.stat().st_size > 10_000
