"""keatingcore.ufm without torch: closed forms, reduced CE losses, constructors,
exact gradients and Kronecker Hessians, checked against independent computations."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import ufm


def _fd_hessian(factors, n, lams, loss, layer, activation="linear", eps=1e-5):
    """Central differences of the exact numpy gradient (the independent reference)."""
    base = [f.copy() for f in factors]
    shape = base[layer].shape
    p = base[layer].size
    H = np.empty((p, p))
    zero = np.zeros(len(base))
    for i in range(p):
        cols = []
        for sgn in (1, -1):
            fs = [f.copy() for f in base]
            fs[layer].reshape(-1)[i] += sgn * eps
            g = ufm.gradient(fs, n, zero, loss, activation, include_reg=False)[layer]
            cols.append(g.reshape(-1))
        H[:, i] = (cols[0] - cols[1]) / (2 * eps)
    assert shape == base[layer].shape
    return 0.5 * (H + H.T)


def _random_factors(shapes, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in shapes]


# --- MSE closed form (paper A) ------------------------------------------------------


@pytest.mark.parametrize("L", [1, 2, 3, 5, 9])
def test_gain_is_the_largest_root_of_the_gain_equation(L):
    K, n = 4, 3
    lam_prods = np.geomspace(1e-40, 1e-3, 25)
    g = ufm.mse_gain(K, n, L + 1, lam_prods)
    u = ufm.mse_gain(K, n, L + 1, lam_prods, complement=True)
    rhs = K ** (L + 1) * n * lam_prods
    ok = np.isfinite(g)
    assert ok[:10].all()  # tiny regularisation always has a root
    assert_allclose(g[ok], 1 - u[ok], rtol=0, atol=1e-16)
    lhs = (L + 1) * np.log(u[ok]) + (L - 1) * np.log1p(-u[ok])
    assert_allclose(lhs, np.log(rhs[ok]), rtol=0, atol=1e-10)
    assert np.all(g[ok] >= (L - 1) / (2 * L))  # the decreasing branch
    # Past the peak of (1-g)^(L+1) g^(L-1) there is no root at all.
    peak = (L - 1) / (2 * L)
    top = (1 - peak) ** (L + 1) * peak ** (L - 1)
    assert_allclose(np.isfinite(g), rhs <= top)


def test_plain_ufm_gain_is_explicit():
    K, n, lw, lh = 5, 7, 3e-4, 2e-3
    opt = ufm.mse_optimum(K, n, 2, lw, lh)
    assert_allclose(opt.gain, 1 - K * math.sqrt(n * lw * lh), rtol=1e-14)


def test_gain_threads_agree():
    K = np.arange(2, 40)
    a = ufm.mse_gain(K, 5, 4, 1e-7, num_threads=1)
    b = ufm.mse_gain(K, 5, 4, 1e-7, num_threads=2)
    assert_allclose(a, b, rtol=0, atol=0)


def test_zero_solution_criterion_comes_from_the_losses():
    K, n, depth = 3, 4, 4
    L = depth - 1
    for lam in np.geomspace(1e-3, 2e-1, 40):
        opt = ufm.mse_optimum(K, n, depth, lam)
        g = opt.gain_root
        if math.isfinite(g):
            nonzero_loss = 0.5 * (1 - g) ** 2 + 0.5 * (L + 1) * g * (1 - g)
            assert opt.nonzero == (nonzero_loss < 0.5)
        assert opt.nonzero == (opt.rhs < opt.threshold)
        assert opt.loss <= 0.5 + 1e-15
    big = ufm.mse_optimum(K, n, depth, 0.5)
    assert not big.nonzero and big.gain == 0 and big.loss == 0.5
    assert_allclose(big.outliers, 0)


def test_mse_optimum_fields_are_consistent():
    opt = ufm.mse_optimum(3, 40, 6, [1e-2, 2e-2, 5e-3, 1e-2, 3e-2], 4e-3)
    g = opt.gain
    assert_allclose(opt.loss, opt.fit + opt.reg, rtol=1e-15)
    assert_allclose(opt.reg_per_factor, g * (1 - g) / 2, rtol=1e-14)
    assert_allclose(opt.lams * opt.singular_values**2, opt.common, rtol=1e-14)
    assert_allclose(opt.mean_norms[-1], g, rtol=1e-13)  # output class mean = g e_c
    assert_allclose(opt.outliers, g * opt.lams / (1 - g), rtol=1e-14)


@pytest.mark.parametrize("seed", [None, 3])
def test_constructed_mse_optimum_is_critical_with_the_closed_form_spectra(seed):
    K, n, widths = 3, 4, [5, 7, 6]
    lam_W, lam_H = [1e-2, 2e-2, 3e-3], 5e-3
    opt = ufm.mse_optimum(K, n, 4, lam_W, lam_H)
    fs = ufm.construct(opt, widths, seed=seed)
    assert [f.shape for f in fs] == [(5, 12), (7, 5), (6, 7), (3, 6)]
    terms = ufm.loss_terms(fs, n, opt.lams)
    assert_allclose(
        [terms["loss"], terms["fit"], terms["reg"]],
        [opt.loss, opt.fit, opt.reg],
        rtol=1e-13,
    )
    assert ufm.gradient_norm(ufm.gradient(fs, n, opt.lams)) < 1e-13
    for j, f in enumerate(fs):
        s = np.linalg.svd(f, compute_uv=False)
        assert_allclose(s[:K], opt.singular_values[j], rtol=1e-12)
        assert_allclose(s[K:], 0, atol=1e-12)
    reps = ufm.forward(fs)
    for l, h in enumerate(reps):
        means = h.reshape(h.shape[0], K, n).mean(axis=2).T
        assert_allclose(np.linalg.norm(means, axis=1), opt.mean_norms[l], rtol=1e-12)
        assert ufm.orthogonal_frame_distance(means) < 1e-12
        # DNC1: every sample equals its class mean.
        assert_allclose(h, np.repeat(means.T, n, axis=1), atol=1e-13)


def test_mse_optimum_is_a_local_minimum():
    opt = ufm.mse_optimum(3, 2, 3, 2e-2)
    fs = ufm.construct(opt, 4, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        step = [rng.standard_normal(f.shape) * 1e-3 for f in fs]
        moved = ufm.loss_terms(
            [f + s for f, s in zip(fs, step, strict=True)], 2, opt.lams
        )["loss"]
        assert moved > opt.loss


@pytest.mark.parametrize("include_reg", [False, True])
def test_layer_hessian_outliers_at_the_optimum(include_reg):
    K, n, widths = 3, 4, [6, 5, 7]
    opt = ufm.mse_optimum(K, n, 4, [1e-2, 4e-2, 2e-3], 7e-3)
    fs = ufm.construct(opt, widths, seed=2)
    for layer in range(4):
        pred = opt.hessian_prediction(layer, widths, include_reg=include_reg)
        lam = opt.lams[layer] if include_reg else 0.0
        e = ufm.layer_hessian(fs, layer, "mse", lam=lam).eigenvalues
        assert e.size == pred["count"] + pred["bulk_count"] == fs[layer].size
        c = ufm.count_outliers(e)
        assert c == pred["count"] == (K * K if layer else K * n * K)
        assert_allclose(e[:c], pred["outlier"], rtol=1e-11)
        assert_allclose(e[c:], pred["bulk"], atol=1e-13)
        if include_reg:
            assert_allclose(pred["outlier"], opt.lams[layer] / (1 - opt.gain))


def test_hessian_metrics_at_the_optimum_match_theorem_4_3():
    K, n = 4, 3
    opt = ufm.mse_optimum(K, n, 4, 1e-2)
    fs = ufm.construct(opt, 6, seed=0)
    for layer in (1, 2, 3):
        m = ufm.hessian_metrics(fs, n, layer)
        assert m.outlier_count == K * K
        assert_allclose(m.top[: K * K], opt.outliers[layer], rtol=1e-11)
        assert_allclose(m.alignment, 1.0, atol=1e-12)
        assert_allclose(m.grad_coefficients, np.eye(K) / K, atol=1e-12)
        assert_allclose(m.grad_in_top, 1.0, atol=1e-12)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_layer_hessian_equals_finite_differences(loss):
    fs = _random_factors([(4, 6), (5, 4), (3, 5)], seed=1)
    for layer in range(3):
        lh = ufm.layer_hessian(fs, layer, loss)
        H = _fd_hessian(fs, 2, None, loss, layer)
        assert_allclose(np.sort(lh.eigenvalues), np.linalg.eigvalsh(H), atol=1e-8)
        V = np.random.default_rng(layer).standard_normal(lh.shape)
        assert_allclose(lh.apply(V).ravel(), H @ V.ravel(), atol=1e-8)
        vecs = lh.eigenvectors(4)
        for v, ev in zip(vecs, lh.eigenvalues[:4], strict=True):
            assert_allclose(H @ v.ravel(), ev * v.ravel(), atol=1e-8)


def test_gradient_matches_finite_differences_with_relu():
    fs = _random_factors([(4, 6), (5, 4), (5, 5), (3, 5)], seed=4)
    lams = np.array([1e-2, 2e-2, 3e-2, 4e-2])
    for loss in ("mse", "ce"):
        g = ufm.gradient(fs, 2, lams, loss, "relu")
        for j in range(4):
            for i in (0, 3, 7):
                up = [f.copy() for f in fs]
                dn = [f.copy() for f in fs]
                up[j].reshape(-1)[i] += 1e-6
                dn[j].reshape(-1)[i] -= 1e-6
                fd = (
                    ufm.loss_terms(up, 2, lams, loss, "relu")["loss"]
                    - ufm.loss_terms(dn, 2, lams, loss, "relu")["loss"]
                ) / 2e-6
                assert_allclose(g[j].reshape(-1)[i], fd, rtol=1e-5, atol=1e-9)


# --- cross-entropy configurations (paper B) ----------------------------------------


def _digest_dnc(alpha, K, n, L, lam):
    return np.log1p((K - 1) * np.exp(-alpha)) + lam * (L + 1) / 2 * (K - 1) * (
        alpha * np.sqrt(n)
    ) ** (2 / (L + 1))


def _digest_lr(beta, K, n, L, lam):
    m = K // 2
    pair = np.log1p(np.exp(-2 * beta) + (K - 2) * np.exp(-beta))
    p = 2 / (L + 1)
    if K % 2 == 0:
        return pair + lam * (L + 1) / 2 * m * (2 * beta * np.sqrt(n)) ** p
    fit = (2 * m * pair + np.log1p((K - 1) * np.exp(-beta))) / K
    reg = m * (2 * beta * np.sqrt(n)) ** p + (beta * np.sqrt(n)) ** p
    return fit + lam * (L + 1) / 2 * reg


@pytest.mark.parametrize("K", [3, 4, 7, 10])
@pytest.mark.parametrize("depth", [2, 3, 5])
def test_frame_loss_equals_the_digest_formulas(K, depth):
    t = np.linspace(0, 25, 51)
    n, lam = 5, 2.0**-10
    L = depth - 1
    dnc = ufm.frame_loss(ufm.dnc_frame(K), t, n, depth, lam)["loss"]
    lr = ufm.frame_loss(ufm.lowrank_frame(K), t, n, depth, lam)["loss"]
    assert_allclose(dnc, _digest_dnc(t, K, n, L, lam), rtol=1e-13, atol=1e-15)
    assert_allclose(lr, _digest_lr(t, K, n, L, lam), rtol=1e-13, atol=1e-15)
    assert_allclose(dnc[0], math.log(K), rtol=1e-15)


@pytest.mark.parametrize("frame", ["dnc", "lowrank", "circle"])
@pytest.mark.parametrize("depth", [2, 3, 6])
def test_scale_minimum_is_global(frame, depth):
    K, n, lam = 6, 3, 1e-3
    res = ufm.frame_minimum(frame, n, depth, lam, K=K)
    t = np.linspace(0, 3 * max(res.scale, 1.0), 30001)
    grid = ufm.frame_loss(res.frame, t, n, depth, lam)["loss"]
    assert res.loss <= grid.min() + 1e-13
    at = ufm.frame_loss(res.frame, res.scale, n, depth, lam)
    assert_allclose(
        [at["loss"], at["fit"], at["reg"]],
        [res.loss, res.fit, res.reg],
        rtol=1e-13,
        atol=1e-15,
    )
    if depth >= 3:
        # The concave penalty makes t = 0 a local minimum too (loss log K).
        assert res.loss < math.log(K)
        assert res.n_local >= 1


def test_frame_minimisation_does_not_depend_on_threads():
    frames = [ufm.dnc_frame(K) for K in range(2, 12)]
    frames += [ufm.lowrank_frame(K) for K in range(2, 12)]
    one = ufm.minimise_frames(frames, 3, 4, 1e-3, num_threads=1)
    two = ufm.minimise_frames(frames, 3, 4, 1e-3, num_threads=2)
    assert [a.scale for a in one] == [b.scale for b in two]
    assert [a.loss for a in one] == [b.loss for b in two]


def test_dnc_and_lowrank_scales_solve_the_critical_equations():
    n, lam = 5, 2.0**-10
    for K in (4, 6, 10):
        for depth in (3, 4, 6):
            L = depth - 1
            cmp = ufm.ce_compare(K, n, depth, lam)
            a = cmp.dnc.scale
            f = a ** ((L - 1) / (L + 1)) / (math.exp(a) + K - 1)
            assert_allclose(lam * n ** (1 / (L + 1)), f, rtol=1e-12)
            b = cmp.lowrank.scale  # even K: the digest's Theorem-6 equation
            lhs = lam * K / 2 * (4 * n) ** (1 / (L + 1)) * b ** (-(L - 1) / (L + 1))
            e1, e2 = math.exp(-b), math.exp(-2 * b)
            assert_allclose(
                lhs, (2 * e2 + (K - 2) * e1) / (1 + e2 + (K - 2) * e1), rtol=1e-12
            )


@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("lam", [2.0**-10, 1e-6])
def test_theorem_1_region_emerges_from_the_minima(n, lam):
    Ks, depths = range(2, 13), range(2, 8)
    cmap = ufm.ce_map(Ks, depths, n, lam, num_threads=2)
    expected = {
        (K, d - 1)
        for K in Ks
        for d in depths
        if (K >= 4 and d - 1 >= 3) or (K >= 6 and d - 1 == 2)
    }
    assert set(cmap.winning_region()) == expected
    # The proof's equal-scale penalty ratio draws the same line.
    assert np.array_equal(cmap.penalty_ratio < 1, cmap.lowrank_wins)


def test_figure_1_setting_of_paper_b():
    K, n, depth, lam = 10, 5, 3, 2.0**-10
    cmp = ufm.ce_compare(K, n, depth, lam, frames={"circle": ufm.circle_frame(K)})
    assert cmp.winner == "lowrank" and cmp.margin > 0
    assert cmp.lowrank_at_dnc_scale < cmp.dnc.loss  # the proof's inequality
    assert cmp.lowrank.rank == 5 and cmp.dnc.rank == 9
    s_lr = np.linalg.svd(
        np.repeat(cmp.lowrank.mean_logits, n, axis=1), compute_uv=False
    )
    assert_allclose(s_lr[:5], 2 * cmp.lowrank.scale * math.sqrt(n), rtol=1e-12)
    assert_allclose(s_lr[5:], 0, atol=1e-10)
    assert set(cmp.minima) == {"dnc", "lowrank", "circle"}


@pytest.mark.parametrize("K", [4, 5, 6, 7])
def test_constructed_ce_points_and_their_criticality(K):
    n, depth, lam = 3, 4, 1e-3
    cmp = ufm.ce_compare(K, n, depth, lam, frames={"circle": ufm.circle_frame(K)})
    for name, res in cmp.candidates.items():
        fs = ufm.construct(res, K + 2, seed=5)
        assert_allclose(
            ufm.loss_terms(fs, n, res.lams, "ce")["loss"], res.loss, rtol=1e-13
        )
        gnorm = ufm.gradient_norm(ufm.gradient(fs, n, res.lams, "ce"))
        if name == "lowrank" and K % 2:
            # One scale for pairs and the lone class: not a critical point.
            assert gnorm > 1e-4
        else:
            assert gnorm < 1e-12


# --- input checks and the optional dependency --------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ufm.mse_optimum(1, 2, 3, 1e-2), "K"),
        (lambda: ufm.mse_optimum(3, 2, 1, 1e-2), "depth"),
        (lambda: ufm.mse_optimum(3, 0, 3, 1e-2), "n"),
        (lambda: ufm.mse_optimum(3, 2, 3, 1.0, 0.0), "lam_H"),
        (lambda: ufm.mse_optimum(3, 2, 3, [1e-2, -1.0], 1e-2), "lam_W"),
        (lambda: ufm.mse_optimum(3, 2, 3, [1e-2, 1e-2, 1e-2], 1e-2), "lam_W"),
        (lambda: ufm.ce_compare(3, 2, 3, -1e-2), "lam"),
        (lambda: ufm.ce_compare(1, 2, 3, 1e-2), "K"),
        (lambda: ufm.construct(ufm.mse_optimum(3, 2, 3, 1e-2), 2), "width"),
        (lambda: ufm.mse_optimum(3, 2, 3, 1e-2).hessian_prediction(3), "layer"),
        (lambda: ufm.frame_minimum(np.zeros((3, 3)), 2, 3, 1e-2), "frame"),
        (lambda: ufm.layer_hessian([np.ones((3, 4)), np.ones((2, 3))], 2), "layer"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_import_and_closed_forms_work_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import keatingcore.ufm as u\n"
        "print(round(u.mse_optimum(3, 4, 4, 1e-2).loss, 10))\n"
        "try:\n    u.train(3, 2, 3)\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = out.stdout.strip().splitlines()
    assert_allclose(float(lines[0]), ufm.mse_optimum(3, 4, 4, 1e-2).loss, rtol=1e-9)
    assert "pip install torch" in lines[1]


def test_depth_and_integers_are_bounded_not_wrapped():
    # Regression: depth 2**32 + 3 used to wrap to 3 in the C++ kernels.
    with pytest.raises(ValueError, match="depth must be <= 10000"):
        ufm.mse_gain(3, 2, 2**32 + 3, 1e-6)
    with pytest.raises(ValueError, match="depth must be <= 10000"):
        ufm.mse_optimum(3, 2, 10**6, 0.01)


def test_huge_regularisation_gives_the_zero_solution():
    opt = ufm.mse_optimum(3, 2, 3, 1e110)
    assert not opt.nonzero and opt.loss == pytest.approx(0.5)


def test_a_bad_scalar_lam_w_is_named_lam_w():
    with pytest.raises(ValueError, match="lam_W must be finite and > 0"):
        ufm.mse_optimum(3, 2, 3, 0.0)
