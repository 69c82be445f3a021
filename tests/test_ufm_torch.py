"""keatingcore.ufm with torch: training reaches the predicted minima, autograd and
Lanczos Hessians agree with the Kronecker form and with the closed form."""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import ufm
from keatingcore.warnings import ConvergenceWarning

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # Tiny models: one thread avoids oversubscription on shared cores.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _random_factors(shapes, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in shapes]


MSE_CASES = [
    # K, n, depth, width, lam_W, lam_H
    (3, 4, 4, 6, [1e-2, 2e-2, 5e-3], 8e-3),
    (2, 3, 2, 3, 3e-3, 1e-2),
    (4, 2, 3, [5, 7], 1e-2, 1e-2),
]


@pytest.mark.parametrize(("K", "n", "depth", "width", "lam_W", "lam_H"), MSE_CASES)
def test_gradient_descent_reaches_the_closed_form_mse_optimum(
    K, n, depth, width, lam_W, lam_H
):
    opt = ufm.mse_optimum(K, n, depth, lam_W, lam_H)
    res = ufm.train(
        K,
        n,
        depth,
        width,
        lam_W=lam_W,
        lam_H=lam_H,
        lr=0.5,
        steps=30000,
        tol=1e-11,
        device="cpu",
    )
    assert res.converged and res.residual <= 1e-11
    assert_allclose(res.final_loss, opt.loss, rtol=0, atol=1e-8)
    assert_allclose([res.fit[-1], res.reg[-1]], [opt.fit, opt.reg], atol=1e-8)
    for l in range(depth - 1):
        s = res.weight_svals[-1, l]
        s = s[np.isfinite(s)]
        assert_allclose(s[:K], opt.singular_values[l + 1], rtol=1e-6)
        assert_allclose(s[K:], 0, atol=1e-6)
    assert_allclose(res.mean_logits, opt.mean_logits, atol=1e-6)
    assert np.all(res.nc1[-1] < 1e-12) and np.all(res.nc2_orth[-1] < 1e-6)
    assert res.time[-1] == pytest.approx(0.5 * res.step[-1])


def test_gradient_descent_finds_the_zero_solution_above_the_threshold():
    opt = ufm.mse_optimum(3, 2, 2, 0.3)
    assert not opt.nonzero
    res = ufm.train(3, 2, 2, 3, lam_W=0.3, lr=0.5, steps=5000, tol=1e-12)
    assert_allclose(res.final_loss, 0.5, atol=1e-10)


def test_cross_entropy_training_ends_at_a_predicted_minimum():
    K, n, depth, width, lam = 4, 1, 3, 6, 1e-2
    cmp = ufm.ce_compare(K, n, depth, lam)
    minima = np.array([cmp.dnc.loss, cmp.lowrank.loss])
    assert abs(minima[0] - minima[1]) > 1e-4  # distinguishable
    for seed in range(3):
        res = ufm.train(
            K,
            n,
            depth,
            width,
            loss="ce",
            lam_W=lam,
            lr=0.5,
            steps=20000,
            tol=1e-10,
            seed=seed,
        )
        gap = np.abs(res.final_loss - minima)
        assert gap.min() < 1e-8, (seed, gap)
        which = cmp.dnc if gap.argmin() == 0 else cmp.lowrank
        # The mean logits have the frame's singular values (multiplicities too).
        s = np.linalg.svd(which.mean_logits, compute_uv=False)
        assert_allclose(res.logit_svals[-1], s, atol=1e-5)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_kronecker_hessian_equals_the_autograd_hessian(loss):
    fs = _random_factors([(5, 6), (6, 5), (4, 6), (3, 4)], seed=3)
    for layer in range(4):
        H = ufm.autograd_hessian(fs, 2, params=layer, loss=loss)
        lh = ufm.layer_hessian(fs, layer, loss)
        assert_allclose(np.sort(lh.eigenvalues), np.linalg.eigvalsh(H), atol=1e-12)
        if loss == "mse" and layer > 0:
            A = functools.reduce(np.matmul, [np.eye(3)] + fs[:layer:-1])
            X = ufm.forward(fs)[layer - 1]
            assert_allclose(H, np.kron(A.T @ A, X @ X.T / 6), atol=1e-13)


def test_paper_b_critical_points_have_no_negative_curvature():
    K, n, depth, lam = 4, 2, 3, 1e-3
    cmp = ufm.ce_compare(K, n, depth, lam)
    for res in (cmp.dnc, cmp.lowrank):
        fs = ufm.construct(res, 6, seed=0)
        assert ufm.gradient_norm(ufm.gradient(fs, n, res.lams, "ce")) < 1e-12
        e = np.linalg.eigvalsh(ufm.autograd_hessian(fs, n, loss="ce", lams=res.lams))
        assert e.min() > -1e-12 * e.max()  # Theorem 4 (ii): no negative eigenvalue
        assert np.sum(e > 1e-9 * e.max()) < e.size  # flat symmetry directions
    # The origin: a local minimum for depth >= 3 (Hessian = diag(lam)), a strict
    # saddle for depth 2 (the plain UFM).
    for d, sign in ((3, 1), (2, -1)):
        zero = [np.zeros(s) for s in [(4, 8), (4, 4), (4, 4)][:d]]
        zero[-1] = np.zeros((K, 4))
        lams = np.full(d, lam)
        e = np.linalg.eigvalsh(ufm.autograd_hessian(zero, n, loss="ce", lams=lams))
        if sign > 0:
            assert_allclose(e, lam, rtol=1e-12)
        else:
            assert e.min() < -10 * lam


def test_autograd_blocks_and_regulariser():
    fs = _random_factors([(4, 6), (4, 4), (3, 4)], seed=5)
    lams = np.array([1e-2, 2e-2, 3e-2])
    full = ufm.autograd_hessian(fs, 2, loss="ce", lams=lams)
    sizes = np.cumsum([0] + [f.size for f in fs])
    for j in range(3):
        block = full[sizes[j] : sizes[j + 1], sizes[j] : sizes[j + 1]]
        lh = ufm.layer_hessian(fs, j, "ce", lam=lams[j])
        assert_allclose(np.sort(lh.eigenvalues), np.linalg.eigvalsh(block), atol=1e-12)


def test_autograd_gradient_equals_the_numpy_gradient():
    fs = _random_factors([(4, 6), (5, 4), (5, 5), (3, 5)], seed=6)
    lams = np.array([1e-2, 2e-2, 3e-2, 4e-2])
    for loss in ("mse", "ce"):
        for act in ("linear", "relu"):
            f, theta = ufm._autograd.loss_closure(
                fs, 2, loss=loss, activation=act, lams=lams
            )
            theta.requires_grad_(True)
            (g,) = torch.autograd.grad(f(theta), theta)
            g = g.numpy()
            ref = np.concatenate(
                [x.ravel() for x in ufm.gradient(fs, 2, lams, loss, act)]
            )
            assert_allclose(g, ref, atol=1e-14)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_lanczos_matches_the_dense_spectrum(activation):
    fs = _random_factors([(6, 8), (7, 6), (6, 7), (4, 6)], seed=7)
    H = ufm.autograd_hessian(fs, 2, loss="ce", activation=activation)
    e = np.linalg.eigvalsh(H)
    top = ufm.lanczos(
        fs, 2, 6, loss="ce", activation=activation, block_size=6, max_iter=40, tol=1e-10
    )
    assert top.converged and top.n_params == H.shape[0]
    assert_allclose(top.eigenvalues, e[::-1][:6], rtol=1e-8, atol=1e-12)
    low = ufm.lanczos(
        fs,
        2,
        3,
        loss="ce",
        activation=activation,
        which="smallest",
        block_size=3,
        max_iter=80,
        tol=1e-9,
    )
    assert_allclose(low.eigenvalues, e[:3], atol=1e-8)


def test_lanczos_finds_the_degenerate_outliers_of_a_large_layer():
    K, n, depth, d = 4, 2, 4, 320
    opt = ufm.mse_optimum(K, n, depth, 1e-2)
    fs = ufm.construct(opt, d, seed=0)
    assert fs[2].size == d * d >= 10**5
    res = ufm.lanczos(fs, n, K * K + 4, params=2, tol=1e-10)
    assert res.converged
    assert ufm.count_outliers(res.eigenvalues) == K * K
    assert_allclose(res.eigenvalues[: K * K], opt.outliers[2], rtol=1e-10)
    assert np.all(np.abs(res.eigenvalues[K * K :]) < 1e-12)


def test_training_tracks_the_hessian_metrics_of_paper_a():
    K, n, depth, d, lam = 3, 40, 6, 60, 1e-2  # the digest's Figs 3-4 setting
    opt = ufm.mse_optimum(K, n, depth, lam)
    res = ufm.train(
        K,
        n,
        depth,
        d,
        lam_W=lam,
        lr=0.5,
        steps=8000,
        tol=1e-10,
        hessian_layer=3,
        record_every=100,
    )
    h = res.hessian
    assert h.alignment.shape == (res.step.size, K, K)
    assert h.alignment[0].max() < 0.5  # random start: far from the eigenvectors
    assert_allclose(h.alignment[-1], 1.0, atol=1e-8)
    assert_allclose(h.grad_coefficients[-1], np.eye(K) / K, atol=1e-8)
    assert h.outlier_count[-1] == K * K
    assert_allclose(h.top[-1, : K * K], opt.outliers[3], rtol=1e-7)
    assert_allclose(res.final_loss, opt.loss, atol=1e-9)


def test_relu_model_at_the_nonnegative_optimum_and_its_hessian():
    K, n = 3, 2
    opt = ufm.mse_optimum(K, n, 4, [1e-2, 2e-2, 5e-3], 1e-2)
    fs = ufm.construct(opt, [5, 6, 7])  # coordinate bases: non-negative factors
    assert min(f.min() for f in fs) >= 0
    g = ufm.gradient(fs, n, opt.lams, "mse", "relu")
    assert ufm.gradient_norm(g) < 1e-13
    res = ufm.train(
        K,
        n,
        4,
        [5, 6, 7],
        activation="relu",
        lam_W=opt.lam_W,
        lam_H=opt.lam_H,
        init=fs,
        lr=0.2,
        steps=50,
        tol=None,
    )
    assert_allclose(res.loss, opt.loss, atol=1e-14)
    # Dense ReLU Hessian of a weight at a random point against finite differences.
    rnd = _random_factors([(4, 6), (4, 4), (3, 4)], seed=9)
    H = ufm.autograd_hessian(rnd, 2, params=1, activation="relu")
    eps, p = 1e-6, rnd[1].size
    zero = np.zeros(3)
    fd = np.empty((p, p))
    for i in range(p):
        cols = []
        for s in (1, -1):
            x = [f.copy() for f in rnd]
            x[1].reshape(-1)[i] += s * eps
            cols.append(ufm.gradient(x, 2, zero, "mse", "relu", False)[1].ravel())
        fd[:, i] = (cols[0] - cols[1]) / (2 * eps)
    assert_allclose(H, fd, atol=1e-7)


def test_adam_and_relu_training_decrease_the_loss():
    res = ufm.train(3, 2, 3, 5, optimizer="adam", lr=1e-2, steps=1500, tol=None)
    opt = ufm.mse_optimum(3, 2, 3, 1e-2)
    assert res.loss[-1] < res.loss[0]
    assert_allclose(res.final_loss, opt.loss, atol=1e-4)
    relu = ufm.train(
        3,
        2,
        3,
        5,
        activation="relu",
        lr=0.2,
        steps=1500,
        tol=None,
        hessian_layer=1,
        record_every=500,
    )
    assert relu.loss[-1] < relu.loss[0]
    assert relu.hessian.alignment.shape == (4, 3, 3)


def test_progress_bar_and_json_summary(capsys):
    import json

    res = ufm.train(3, 2, 3, 4, steps=300, tol=None, progress=True)
    assert "ufm train mse" in capsys.readouterr().err
    data = json.loads(json.dumps(res.to_dict()))
    assert_allclose(data["loss"], res.loss)
    assert "factors" not in data and data["config"]["widths"] == [4, 4]


def test_divergence_and_non_convergence_warn():
    with pytest.warns(ConvergenceWarning, match="lower lr"):
        res = ufm.train(3, 2, 3, 4, lr=1e3, steps=200, tol=None, init_scale=3.0)
    assert np.all(np.isfinite(res.loss))
    with pytest.warns(ConvergenceWarning, match="raise steps"):
        ufm.train(3, 2, 3, 4, lr=0.1, steps=3, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ufm.train(3, 2, 3, 4, lr=0.1, steps=3, tol=None)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"K": 1}, "K"),
        ({"depth": 1}, "depth"),
        ({"width": 2}, "width"),
        ({"lam_W": 0.0}, "lam"),
        ({"lr": -1.0}, "lr"),
        ({"loss": "hinge"}, "loss"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"hessian_layer": 5}, "hessian_layer"),
    ],
)
def test_train_bad_input(kwargs, name):
    args = {"K": 3, "n": 2, "depth": 3, "width": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        ufm.train(
            args.pop("K"),
            args.pop("n"),
            args.pop("depth"),
            args.pop("width"),
            steps=1,
            **args,
        )


@pytest.mark.cuda
def test_training_on_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    kw = dict(lam_W=1e-2, lr=0.5, steps=400, tol=None)
    cpu = ufm.train(3, 4, 4, 6, device="cpu", **kw)
    gpu = ufm.train(3, 4, 4, 6, device="cuda", **kw)
    assert_allclose(gpu.loss, cpu.loss, rtol=1e-10)
    big = ufm.construct(ufm.mse_optimum(4, 2, 4, 1e-2), 1000, seed=0)
    res = ufm.lanczos(big, 2, 20, params=2, device="cuda", tol=1e-10)
    assert_allclose(
        res.eigenvalues[:16], ufm.mse_optimum(4, 2, 4, 1e-2).outliers[2], rtol=1e-9
    )
    assert math.isfinite(res.elapsed)
