"""``keatingcore ufm ...`` and the figures of keatingcore.ufm."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import ufm
from keatingcore.cli import main


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_cli_optimum_writes_the_closed_form(tmp_path):
    out = tmp_path / "opt.json"
    argv = [
        "ufm",
        "optimum",
        "--K",
        "3",
        "--n",
        "40",
        "--depth",
        "6",
        "--lam-W",
        "1e-2",
        "--lam-H",
        "1e-2",
        "--width",
        "60",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    opt = ufm.mse_optimum(3, 40, 6, 1e-2, 1e-2)
    assert_allclose(data["loss"], opt.loss, rtol=1e-15)
    assert_allclose(data["gain"], opt.gain, rtol=1e-15)
    assert [h["count"] for h in data["hessian"]] == [3 * 120] + [9] * 5
    assert data["hessian"][3]["bulk_count"] == 60 * 60 - 9


def test_cli_compare_point_and_map(tmp_path):
    out = tmp_path / "cmp.json"
    assert (
        main(
            [
                "ufm",
                "compare",
                "--K",
                "10",
                "--n",
                "5",
                "--depth",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert data["winner"] == "lowrank" and data["margin"] > 0
    csv_path, fig = tmp_path / "map.csv", tmp_path / "map"
    assert (
        main(
            [
                "ufm",
                "compare",
                "--Ks",
                "3:7",
                "--depths",
                "2:5",
                "--n",
                "5",
                "--out",
                str(csv_path),
                "--plot",
                str(fig),
            ]
        )
        == 0
    )
    rows = _rows(csv_path)
    assert len(rows) == 5 * 4
    wins = {(int(r["K"]), int(r["L"])) for r in rows if r["lowrank_wins"] == "True"}
    assert wins == {
        (K, L)
        for K in range(3, 8)
        for L in range(1, 5)
        if (K >= 4 and L >= 3) or (K >= 6 and L == 2)
    }
    assert (tmp_path / "map.png").stat().st_size > 0
    assert (tmp_path / "map.pdf").stat().st_size > 0


def test_cli_train_writes_history_summary_and_figures(tmp_path):
    pytest.importorskip("torch")
    argv = [
        "ufm",
        "train",
        "--K",
        "3",
        "--n",
        "4",
        "--depth",
        "4",
        "--width",
        "6",
        "--steps",
        "6000",
        "--lr",
        "0.5",
        "--tol",
        "1e-10",
        "--threads",
        "1",
        "--hessian-layer",
        "2",
        "--quiet",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    rows = _rows(tmp_path / "history.csv")
    opt = ufm.mse_optimum(3, 4, 4, 1e-2)
    assert_allclose(float(rows[-1]["loss"]), opt.loss, atol=1e-9)
    assert float(rows[0]["loss"]) > float(rows[-1]["loss"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["converged"] is True
    assert_allclose(summary["predicted_minima"]["mse_optimum"], opt.loss)
    assert summary["hessian"]["outlier_count"][-1] == 9
    for name in ("training", "singular_values", "hessian_track"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0


@pytest.mark.parametrize("method", ["kronecker", "autograd", "lanczos"])
def test_cli_hessian_counts_the_predicted_outliers(tmp_path, method):
    if method != "kronecker":
        pytest.importorskip("torch")
    argv = [
        "ufm",
        "hessian",
        "--K",
        "3",
        "--n",
        "2",
        "--depth",
        "4",
        "--width",
        "6",
        "--layer",
        "2",
        "--method",
        method,
        "--threads",
        "1",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    data = json.loads((tmp_path / "hessian.json").read_text())
    assert data["measured_count"] == data["predicted"]["count"] == 9
    assert_allclose(
        data["measured_outlier_mean"], data["predicted"]["outlier"], rtol=1e-10
    )
    evals = np.loadtxt(tmp_path / "spectrum.csv", skiprows=1)
    assert evals.size == (36 if method != "lanczos" else 12)
    assert (tmp_path / "spectrum.png").stat().st_size > 0


def test_cli_bad_input_exits_with_the_message(capsys):
    with pytest.raises(SystemExit) as info:
        main(["ufm", "optimum", "--K", "1"])
    assert info.value.code == 2
    assert "K must be >= 2" in capsys.readouterr().err


def test_figures_have_the_expected_panels(tmp_path):
    opt = ufm.mse_optimum(3, 2, 4, 1e-2)
    fs = ufm.construct(opt, 5, seed=0)
    e = ufm.layer_hessian(fs, 2).eigenvalues
    fig = ufm.plot_hessian_spectrum(e, opt.outliers[2], 9)
    assert len(fig.axes) == 2
    line = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "--"][0]
    assert_allclose(line.get_ydata()[0], opt.outliers[2])
    fig = ufm.plot_singular_values(fs, ufm.forward(fs))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3
    cmap = ufm.ce_map(range(2, 7), range(2, 6), 3, 1e-3)
    fig = ufm.plot_compare_map(cmap)
    assert len(fig.axes) == 2  # map and colour bar
    from keatingcore._plotting import save_figure

    paths = save_figure(fig, tmp_path / "m")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
