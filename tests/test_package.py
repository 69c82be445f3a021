"""Package frame: configuration report, threads, warnings, result objects, CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import keatingcore
from keatingcore import _core
from keatingcore.cli import main
from keatingcore.warnings import ConvergenceWarning, KeatingcoreWarning


def test_build_info_reports_every_field():
    info = keatingcore.build_info()
    for key in (
        "version",
        "compiler",
        "cxx_flags",
        "cxx_standard",
        "openmp",
        "num_threads",
        "cuda_compiled",
        "cuda_devices",
        "numpy",
        "scipy",
        "torch",
    ):
        assert key in info
    assert info["version"] == keatingcore.__version__
    assert info["cxx_standard"] >= 201703
    assert info["numpy"] == np.__version__
    assert info["num_threads"] >= 1
    if not info["openmp"]:
        assert info["num_threads"] == 1


def test_show_config_prints_openmp_and_cuda_lines():
    buf = io.StringIO()
    keatingcore.show_config(file=buf)
    text = buf.getvalue()
    assert "OpenMP" in text and "CUDA" in text and "C++17" in text


def test_cuda_without_a_device_reports_no_device():
    info = keatingcore.build_info()
    if info["cuda_devices"] > 0:
        pytest.skip("a CUDA device is present")
    assert info["cuda_status"] in ("not compiled", "no device")
    assert _core.cuda_device_count() == 0


def test_warning_hierarchy():
    assert issubclass(ConvergenceWarning, KeatingcoreWarning)
    assert issubclass(KeatingcoreWarning, RuntimeWarning)


def test_result_repr_and_dict_of_a_subclass():
    @dataclasses.dataclass(frozen=True, repr=False)
    class Toy(keatingcore.SolverResult):
        value: float

    r = Toy(
        converged=False, n_iter=7, residual=1.5e-3, elapsed=0.25, value=np.float64(2)
    )
    assert r.to_dict() == {
        "converged": False,
        "n_iter": 7,
        "residual": 1.5e-3,
        "elapsed": 0.25,
        "value": 2.0,
    }
    assert type(r.to_dict()["value"]) is float
    assert "NOT converged in 7 iterations" in repr(r) and "value" in repr(r)


def test_cli_info_and_help(capsys):
    assert main(["info"]) == 0
    assert "OpenMP" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("info", "bench", "backdoor"):
        assert command in out


def test_console_script_runs():
    exe = shutil.which("keatingcore")
    if exe is None:
        pytest.skip("console script not on PATH")
    out = subprocess.run([exe, "info"], capture_output=True, text=True, check=True)
    assert "keatingcore" in out.stdout


def test_cli_reports_bad_input_as_an_error_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backdoor", "theory", "--kappa", "-1"])
    assert exc.value.code == 2
    assert "kappa must be finite and > 0" in capsys.readouterr().err


def test_module_runs_as_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "keatingcore.cli", "info"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "OpenMP" in out.stdout


def test_cli_backdoor_theory_writes_json(tmp_path):
    path = tmp_path / "t.json"
    assert (
        main(
            [
                "backdoor",
                "theory",
                "--loss",
                "logistic",
                "--kappa",
                "0.5",
                "--alpha",
                "2",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    data = json.loads(path.read_text())
    assert data["converged"] and 0.5 < data["clean_accuracy"] < 1
    assert data["setup"]["kappa"] == 0.5 and data["loss"] == "logistic"


def test_cli_backdoor_sweep_writes_csv(tmp_path):
    path = tmp_path / "s.csv"
    assert (
        main(
            [
                "backdoor",
                "sweep",
                "--kappa",
                "0.5,2",
                "--alpha",
                "0:4:5",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    rows = path.read_text().strip().splitlines()
    assert rows[0].startswith("kappa,alpha,clean_accuracy")
    assert len(rows) == 1 + 10


def test_negative_ranges_are_read_as_values(tmp_path):
    from keatingcore._cliutil import join_negative_values

    assert join_negative_values(["landscape", "complexity", "--u", "-2:0:5"]) == [
        "landscape",
        "complexity",
        "--u=-2:0:5",
    ]
    assert join_negative_values(["--x", "-.5,1", "-v"]) == ["--x=-.5,1", "-v"]
    out = tmp_path / "c.csv"
    assert (
        main(
            ["landscape", "complexity", "--p", "3", "--u", "-2:0:5", "--out", str(out)]
        )
        == 0
    )
    assert len(out.read_text().strip().splitlines()) == 6


def test_cli_positive_arguments_are_checked(capsys):
    with pytest.raises(SystemExit):
        main(["dynamics", "integrate", "--batch", "0"])
    assert "expected an integer >= 1" in capsys.readouterr().err


def test_cli_os_errors_and_empty_ranges_are_clean(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["backdoor", "theory", "--out", str(tmp_path)])  # a directory
    assert "keatingcore: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["backdoor", "sweep", "--alpha", "0:8:0", "--out", str(tmp_path / "s")])
    assert "range 'start:stop:count'" in capsys.readouterr().err
