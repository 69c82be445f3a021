"""The papers' phenomena, softmax codes, and the ``keatingcore dynamics`` CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import dynamics as dyn
from keatingcore.cli import main


def _gf2_rank(indices):
    """Rank over GF(2) of Walsh indices viewed as bit vectors."""
    rows, rank = [int(i) for i in indices], 0
    for bit in range(max(rows).bit_length()):
        pivot = next((r for r in rows if r >> bit & 1), None)
        if pivot is None:
            continue
        rows = [r ^ pivot if r >> bit & 1 else r for r in rows if r != pivot]
        rank += 1
    return rank


def test_nc_convergence_tracks_the_exact_curve(tmp_path):
    res = dyn.nc_convergence(K=8, depth=2, t_max=1e9, num=80)
    assert res.max_rel_error < 1e-9
    assert np.max(np.diff(res.V)) < 1e-10 and res.V[-1] < 0.15 * res.V[0]
    assert_allclose(res.loss[-1], res.loss_exact[-1], rtol=0.05)
    fig = res.plot(tmp_path / "nc")
    assert (tmp_path / "nc.png").stat().st_size > 0 and (tmp_path / "nc.pdf").exists()
    assert len(fig.axes) == 3


def test_repulsion_only_at_depth_three_and_more():
    res = dyn.repulsion(K=8, depths=(2, 3, 4), t_max=1e5, num=80)
    assert res.peak[0] <= 1 + 1e-9  # depth 2: the gaps only shrink
    assert np.all(res.peak[1:] > 2.0)  # deeper: they widen several-fold
    assert res.spread[0, -1] < 0.5


def test_low_rank_limits_span_the_walsh_group():
    res = dyn.low_rank(K=8, depths=(2, 6), starts=12, t_max=1e12)
    assert np.all(res.active[0] == 7)  # depth 2: neural collapse, rank K-1
    assert np.all(res.active[1] == 3)  # depth 6: rank log2 K
    for s in res.s_final[1]:
        active = np.flatnonzero(s / s.max() > res.threshold) + 1
        assert _gf2_rank(active) == 3  # every pair of classes keeps a margin


def test_basin_shrinks_with_depth_and_streams_csv(tmp_path):
    rho = np.linspace(0.02, 0.98, 49)
    out = tmp_path / "basin.csv"
    res = dyn.nc_basin(K=4, depths=(3, 5), sigma0=(0.5,), rho=rho, out=out)
    assert res.trajectories == 98
    flips = np.abs(np.diff(res.nc[0].astype(int), axis=1)).sum(axis=1)
    assert np.all(flips == 1)  # one boundary: NC exactly above rho*
    assert res.nc[0, :, -1].all() and not res.nc[0, :, 0].any()
    assert 0.6 < res.rho_star[0, 0] < res.rho_star[0, 1] < 0.99
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 98 and {r["depth"] for r in rows} == {"3", "5"}


def test_basin_default_grid_is_ten_thousand_starts_in_one_call():
    res = dyn.nc_basin()
    assert res.trajectories >= 10_000 and res.nc.shape == (2, 6, 1000)
    # The basin shrinks with depth: rho* never decreases, and rises towards 1.
    assert np.all(np.diff(res.rho_star, axis=1) >= -1e-12)
    assert np.all(res.rho_star[:, -1] > 0.99) and np.all(res.rho_star[:, 0] < 0.95)
    # A larger start is easier to pull into NC at every depth (digest 4, item 7).
    assert np.all(res.rho_star[1] <= res.rho_star[0])


@pytest.mark.parametrize(
    ("K", "rank", "ref"),
    [
        (4, 3, 4 / 3),  # simplex, K <= r + 1
        (5, 4, 5 / 4),
        (5, 2, 1 - np.cos(2 * np.pi / 5)),  # regular K-gon
        (7, 2, 1 - np.cos(2 * np.pi / 7)),
        (6, 3, 1.0),  # cross-polytope, K = 2r
    ],
)
def test_softmax_code_reference_values(K, rank, ref):
    code = dyn.softmax_code(K, rank, restarts=6)
    assert code.margin == pytest.approx(ref, rel=1e-7)
    assert_allclose(np.linalg.norm(code.vectors, axis=1), 1.0, rtol=1e-12)
    assert_allclose(dyn.code_margin(code.vectors)[0], code.margin, rtol=1e-12)


def test_walsh_cube_code_and_the_solver_beating_it():
    H = dyn.hadamard(8)
    cube = H[:, [1, 2, 4]]  # the 3-cube: Walsh modes 1, 2, 4
    rho, dist = dyn.code_margin(cube)
    assert rho == pytest.approx(2 / 3, rel=1e-12)
    assert_allclose(dist, 2 / 3, rtol=1e-12)
    assert dyn.softmax_code(8, 3, restarts=4).margin > 2 / 3 + 0.05


def test_min_norm_point_against_a_known_face():
    pts = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [3.0, 0.0, 1.0]])
    assert_allclose(dyn.min_norm_point(pts), [1.0, 0.0, 0.0], atol=1e-14)


def test_rank_grows_with_width_under_random_init():
    pytest.importorskip("torch")
    res = dyn.rank_vs_width(
        K=8, depth=4, widths=(8, 128), seeds=3, steps=1000, num_threads=1
    )
    assert res.rank.shape == (2, 3)
    assert res.rank[1].mean() >= res.rank[0].mean() + 1


def test_cli_integrate_writes_csv_json_and_figure(tmp_path):
    out, js, fig = tmp_path / "t.csv", tmp_path / "t.json", tmp_path / "t.png"
    argv = [
        "dynamics",
        "integrate",
        "--K",
        "4",
        "--depth",
        "3",
        "--batch",
        "2",
        "--num",
        "5",
        "--t-max",
        "1e6",
        "--out",
        str(out),
        "--json",
        str(js),
        "--plot",
        str(fig),
    ]
    assert main(argv) == 0
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + 2 * 5 and len(rows[0]) == 3 + 3 * 3
    start = dyn.perturbed_start(4, 3, 0.1, 0.1, 2, 1, 0)
    t = np.concatenate([[0.0], np.geomspace(1e-2, 1e6, 4)])
    ref = dyn.integrate(start, t=t)
    assert_allclose(
        [float(v) for v in rows[-1][3:]], ref.sigma[1, -1].ravel(), rtol=1e-12
    )
    assert json.loads(js.read_text())["status_names"] == ["success", "success"]
    assert fig.stat().st_size > 0


def test_cli_basin_code_and_closed_form(tmp_path):
    summary = tmp_path / "b.json"
    assert (
        main(
            [
                "dynamics",
                "basin",
                "--depths",
                "3",
                "--sigma0",
                "0.5",
                "--num-rho",
                "20",
                "--quiet",
                "--out",
                str(tmp_path / "b.csv"),
                "--summary",
                str(summary),
            ]
        )
        == 0
    )
    rho_star = json.loads(summary.read_text())["rho_star"]
    assert len(rho_star) == 1 and 0.5 < rho_star[0][2] < 0.95
    code = tmp_path / "c.json"
    assert (
        main(
            [
                "dynamics",
                "code",
                "--K",
                "4",
                "--rank",
                "2",
                "--restarts",
                "3",
                "--out",
                str(code),
            ]
        )
        == 0
    )
    assert json.loads(code.read_text())["margin"] == pytest.approx(1.0, rel=1e-7)
    cf = tmp_path / "cf.csv"
    assert main(["dynamics", "closed-form", "--num", "6", "--out", str(cf)]) == 0
    with cf.open() as fh:
        rows = list(csv.reader(fh))
    t, s = float(rows[-1][0]), float(rows[-1][1])
    assert_allclose(dyn.nc_time(s, 0.5, 8, 1, 2), t, rtol=1e-10)
