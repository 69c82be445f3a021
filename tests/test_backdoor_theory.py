"""Backdoor theory: closed forms, fixed points, and the paper's three phenomena."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

import keatingcore
from keatingcore import _core
from keatingcore import backdoor as bd
from keatingcore.warnings import ConvergenceWarning

FIELDS = (
    "clean_accuracy",
    "attack_success",
    "w_dot_mu",
    "w_dot_t",
    "Q",
    "b",
    "V",
    "noise_floor",
)


def _spectrum(p=30, cond=10.0):
    return np.linspace(1.0, cond, p)


def _rotation(p, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((p, p)))
    return q


SQUARE_CASES = [
    bd.Setup(kappa=0.5, lam=0.1, snr=4, eps=0.1, alpha=2.0, alpha_test=2.0),
    bd.Setup(kappa=2.0, lam=0.05, snr=1, eps=0.2, alpha=6.0, alpha_test=1.0),
    bd.Setup(kappa=0.3, lam=0.0, snr=2, eps=0.05, alpha=1.0, alpha_test=3.0),
    bd.Setup(
        kappa=1.0,
        lam=0.3,
        snr=3,
        eps=0.3,
        alpha=0.5,
        balance="replace",
        intercept=False,
        asr="conditional",
    ),
    bd.Setup(
        kappa=1.5,
        lam=0.2,
        snr=2,
        eps=0.1,
        alpha=3.0,
        cov=_spectrum(),
        mean="max",
        trigger="min",
    ),
    bd.Setup(
        kappa=0.8,
        lam=0.1,
        snr=2,
        eps=0.15,
        alpha=2.0,
        cov=_spectrum(25),
        mean=np.linspace(1, 2, 25),
        trigger=np.cos(np.arange(25.0)),
    ),
]


@pytest.mark.parametrize("setup", SQUARE_CASES)
def test_square_fixed_point_equals_ridge_closed_form(setup):
    closed = bd.ridge_theory(setup)
    fixed = bd.solve(setup, "square", tol=1e-13)
    assert closed.converged and fixed.converged
    for name in FIELDS:
        assert_allclose(
            getattr(fixed, name),
            getattr(closed, name),
            rtol=1e-9,
            atol=1e-11,
            err_msg=name,
        )


@pytest.mark.parametrize(
    "kappa,lam,eps,intercept",
    [
        (0.5, 0.1, 0.1, True),
        (2.0, 0.01, 0.3, True),
        (0.2, 1.0, 0.05, False),
        (1.0, 0.5, 0.2, True),
    ],
)
def test_isotropic_explicit_equals_general_spectrum(kappa, lam, eps, intercept):
    setup = bd.Setup(
        kappa=kappa,
        lam=lam,
        snr=3,
        eps=eps,
        alpha=2.5,
        alpha_test=1.5,
        intercept=intercept,
    )
    explicit = bd.ridge_theory_isotropic(setup)
    # The same problem written in p = 50 dimensions with an explicit spectrum.
    general = bd.ridge_theory(
        setup.replace(cov=np.ones(50), mean="max", trigger=np.eye(50)[7])
    )
    for name in FIELDS:
        assert_allclose(
            getattr(explicit, name),
            getattr(general, name),
            rtol=1e-12,
            atol=1e-14,
            err_msg=name,
        )


def test_susceptibility_matches_isotropic_quadratic():
    # lam V^2 + (lam + 1 - kappa) V - kappa = 0 for Sigma = I (digest 2.2).
    for kappa, lam in [(0.5, 0.1), (3.0, 1e-3), (1.0, 2.0)]:
        V, _ = bd._ridge.susceptibility(np.ones(4), kappa, lam)
        assert abs(lam * V * V + (lam + 1 - kappa) * V - kappa) < 1e-10 * (1 + V * V)


def test_rotated_covariance_matrix_equals_its_spectrum():
    p = 20
    sigma, U = _spectrum(p), _rotation(p)
    m, t = np.linspace(-1, 1, p), np.sin(np.arange(p) + 0.3)
    diag = bd.Setup(
        kappa=1.2, lam=0.1, snr=2, eps=0.1, alpha=2.0, cov=sigma, mean=m, trigger=t
    )
    full = diag.replace(cov=U @ np.diag(sigma) @ U.T, mean=U @ m, trigger=U @ t)
    for loss in ("square", "logistic"):
        a, b = bd.solve(diag, loss, tol=1e-12), bd.solve(full, loss, tol=1e-12)
        for name in FIELDS:
            assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-8, atol=1e-10)


def test_ridgeless_limit_matches_lam_to_zero():
    setup = bd.Setup(kappa=0.4, lam=0.0, snr=2, eps=0.1, alpha=2.0)
    zero = bd.ridge_theory(setup)
    small = bd.ridge_theory(setup.replace(lam=1e-9))
    assert_allclose(zero.clean_accuracy, small.clean_accuracy, rtol=1e-6)
    assert_allclose(zero.V, 0.4 / 0.6, rtol=1e-12)


def test_noise_floor_is_proportional_to_kappa_as_kappa_vanishes():
    base = bd.Setup(lam=0.1, snr=2, eps=0.1, alpha=2.0)
    ratios = [
        bd.ridge_theory(base.replace(kappa=k)).noise_floor / k
        for k in (1e-3, 1e-4, 1e-5)
    ]
    assert_allclose(ratios[1], ratios[2], rtol=2e-3)
    assert ratios[2] > 0


def test_logistic_prox_solves_its_equation():
    rng = np.random.default_rng(1)
    for z_in, V in zip(rng.normal(0, 5, 30), rng.uniform(0.01, 200, 30), strict=True):
        z = _core.backdoor.logistic_prox(z_in, V)
        ref = brentq(
            lambda x, z_in=z_in, V=V: x - z_in - V / (1 + math.exp(x)),
            z_in,
            z_in + V,
            xtol=1e-14,
        )
        assert_allclose(z, ref, rtol=1e-12, atol=1e-12)


def test_logistic_quadrature_converges_in_nodes():
    setup = bd.Setup(kappa=2.0, lam=0.01, snr=4, eps=0.2, alpha=5.0, alpha_test=2.0)
    a = bd.solve(setup, "logistic", n_quad=64, tol=1e-12)
    b = bd.solve(setup, "logistic", n_quad=200, tol=1e-12)
    assert_allclose(a.clean_accuracy, b.clean_accuracy, atol=1e-10)
    assert_allclose(a.attack_success, b.attack_success, atol=1e-10)


def _hinge_moments_by_quadrature(a, Q, V):
    """E[g], E[g^2], P(flat) for the hinge prox by adaptive quadrature (digest 3)."""
    from scipy.integrate import quad
    from scipy.stats import norm

    def g(z):
        return 1.0 if z <= 1 - V else ((1 - z) / V if z < 1 else 0.0)

    s = math.sqrt(Q)
    pts = [1 - V, 1]
    e = [
        quad(
            lambda z, k=k: g(z) ** k * norm.pdf(z, a, s),
            a - 12 * s,
            a + 12 * s,
            points=pts,
            epsabs=1e-13,
            limit=200,
        )[0]
        for k in (1, 2)
    ]
    return e[0], e[1], (norm.cdf(1, a, s) - norm.cdf(1 - V, a, s))


def test_hinge_fixed_point_satisfies_its_equations_by_quadrature():
    # The C++ hinge expectations are closed form; re-check the converged state's
    # intercept and V equations with independent adaptive quadrature.
    setup = bd.Setup(kappa=0.7, lam=0.05, snr=2, eps=0.1, alpha=2.0)
    r = bd.solve(setup, "hinge", tol=1e-12)
    assert r.converged
    means = [r.w_dot_mu + r.b, -r.w_dot_mu + r.b, -r.w_dot_mu + 2.0 * r.w_dot_t + r.b]
    labels = [1.0, -1.0, 1.0]
    ef, vhat = 0.0, 0.0
    for rho, y, m in zip(setup.rho, labels, means, strict=True):
        g1, _, p_flat = _hinge_moments_by_quadrature(y * m, r.Q, r.V)
        ef += rho * y * g1
        vhat += rho * p_flat / r.V
    assert abs(ef) < 1e-9
    assert_allclose(vhat, r.V_hat, rtol=1e-9)
    assert_allclose(r.V, setup.kappa / (setup.lam + r.V_hat), rtol=1e-9)


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_clean_accuracy_increases_with_alpha(loss):
    alphas = np.linspace(0, 12, 61)
    for kappa in (0.5, 1.0, 2.0):
        setup = bd.Setup(kappa=kappa, lam=0.1, snr=2, eps=0.1)
        acc = bd.sweep(setup, loss, alpha=alphas).clean_accuracy
        assert np.all(np.diff(acc) > -1e-12), (loss, kappa)
        assert acc[-1] - acc[0] > 1e-3


def test_classical_limit_is_not_monotone():
    # The kappa noise floor drives phenomenon 1: as kappa -> 0 acc(alpha) dips.
    setup = bd.Setup(kappa=1e-3, lam=0.1, snr=2, eps=0.1)
    acc = bd.sweep(setup, "square", alpha=np.linspace(0, 12, 121)).clean_accuracy
    assert np.min(np.diff(acc)) < -1e-4


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_attack_success_has_an_interior_maximum(loss):
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=4, eps=0.1, alpha_test=2.0)
    peak = bd.peak_attack(setup, loss)
    assert peak.interior and peak.converged
    at = bd.solve(setup.replace(alpha=peak.alpha_star), loss)
    for delta in (-0.05, 0.05):
        other = bd.solve(setup.replace(alpha=peak.alpha_star + delta), loss)
        assert other.attack_success < at.attack_success
    far = bd.solve(setup.replace(alpha=20 * peak.alpha_star), loss)
    assert far.attack_success < peak.peak_attack_success - 0.05


@pytest.mark.parametrize("loss", ["square", "logistic"])
def test_peak_attack_is_ordered_by_trigger_eigenvalue(loss):
    p = 24
    sigma = np.linspace(1.0, 10.0, p)
    mean = np.eye(p)[1]  # mean on an eigenvector that is not a candidate
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=2, eps=0.1, alpha_test=2.0)
    picks = [0, 5, 11, 17, 23]
    cands = {f"e{i}": np.eye(p)[i] for i in picks}
    report = bd.worst_trigger_direction(
        sigma, mean, setup=setup, loss=loss, candidates=cands, max_eigen=0
    )
    peaks = {
        n: a for n, a in zip(report.names, report.peak_attack_success, strict=True)
    }
    ordered = [peaks[f"e{i}"] for i in picks]
    assert np.all(np.diff(ordered) < 0), ordered
    assert report.rayleigh[0] == pytest.approx(1.0)
    assert_allclose(np.abs(report.direction), np.eye(p)[0], atol=1e-12)


def test_sweep_grid_matches_pointwise_solves():
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=2, eps=0.1, alpha_test=1.0)
    res = bd.sweep(
        setup,
        "logistic",
        kappa=[0.5, 1.5],
        alpha=[0.0, 1.0, 4.0],
        lam=[0.1, 0.3],
        tol=1e-12,
    )
    assert res.shape == (2, 2, 3)
    assert list(res.axes) == ["kappa", "lam", "alpha"]
    for i, k in enumerate([0.5, 1.5]):
        for j, lam in enumerate([0.1, 0.3]):
            for m, a in enumerate([0.0, 1.0, 4.0]):
                one = bd.solve(
                    setup.replace(kappa=k, lam=lam, alpha=a), "logistic", tol=1e-12
                )
                assert_allclose(
                    res.clean_accuracy[i, j, m], one.clean_accuracy, atol=1e-9
                )
                assert_allclose(
                    res.attack_success[i, j, m], one.attack_success, atol=1e-9
                )


def test_sweep_to_frame_has_one_row_per_point():
    pd = pytest.importorskip("pandas")
    res = bd.sweep(bd.Setup(), "square", alpha=np.linspace(0, 3, 4), eps=[0.1, 0.2])
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 8
    assert_allclose(frame["attack_success"].to_numpy(), res.attack_success.reshape(-1))


def test_one_and_two_threads_identical():
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=4, eps=0.1, alpha_test=2.0)
    grid = dict(kappa=np.linspace(0.2, 2.0, 9), alpha=np.linspace(0, 8, 11))
    one = bd.sweep(setup, "logistic", num_threads=1, **grid)
    two = bd.sweep(setup, "logistic", num_threads=2, **grid)
    for name in ("clean_accuracy", "attack_success", "Q", "V", "b", "n_iter"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def test_set_num_threads_is_validated_and_applied():
    before = keatingcore.get_num_threads()
    try:
        keatingcore.set_num_threads(1)
        assert keatingcore.get_num_threads() == 1
    finally:
        keatingcore.set_num_threads(before)
    with pytest.raises(ValueError, match="n must be >= 1"):
        keatingcore.set_num_threads(0)
    with pytest.raises(TypeError, match="num_threads"):
        bd.sweep(bd.Setup(), alpha=[1.0], num_threads=1.5)


def test_non_convergence_warns_and_is_flagged():
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=4, eps=0.1, alpha=2.0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        r = bd.solve(setup, "logistic", max_iter=2)
    assert not r.converged and r.n_iter == 2


def test_separable_logistic_without_penalty_is_reported_diverged():
    setup = bd.Setup(kappa=3.0, lam=0.0, snr=4, eps=0.05, alpha=2.0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        r = bd.solve(setup, "logistic")
    assert not r.converged


def test_warm_start_reaches_the_same_point_faster():
    setup = bd.Setup(kappa=1.0, lam=0.05, snr=3, eps=0.1, alpha=3.0)
    cold = bd.solve(setup, "logistic", tol=1e-12)
    warm = bd.solve(setup.replace(alpha=3.05), "logistic", tol=1e-12, warm_start=cold)
    again = bd.solve(setup.replace(alpha=3.05), "logistic", tol=1e-12)
    assert_allclose(warm.attack_success, again.attack_success, atol=1e-10)
    assert warm.n_iter < again.n_iter


def test_result_object_contract():
    r = bd.solve(bd.Setup(), "logistic")
    d = r.to_dict()
    assert d["converged"] is True and d["loss"] == "logistic"
    assert d["setup"]["kappa"] == 0.5 and isinstance(d["n_iter"], int)
    text = repr(r)
    assert "converged in" in text and "clean_accuracy" in text


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(kappa=0.0), "kappa must be finite and > 0"),
        (dict(kappa=float("nan")), "kappa"),
        (dict(lam=-1e-3), "lam must be finite and >= 0"),
        (dict(eps=1.0), r"eps must be finite and in \[0, 1\)"),
        (dict(eps=0.5, balance="replace"), r"in \[0, 0.5\)"),
        (dict(eps=-0.1), "eps"),
        (dict(snr=0.0), "snr"),
        (dict(alpha=-1.0), "alpha must be"),
        (dict(balance="mixed"), "balance must be one of"),
        (dict(asr="some"), "asr must be one of"),
        (dict(cov=np.array([1.0, -1.0])), "spectrum must be > 0"),
        (dict(cov=np.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
        (dict(cov=np.array([[1.0, 0.5], [0.0, 1.0]])), "symmetric"),
        (dict(cov=np.array([1.0, np.nan])), "finite"),
        (dict(trigger=np.zeros(3)), "trigger must have a norm > 0"),
        (dict(trigger="diagonal"), "trigger must be one of"),
        (dict(mean=np.array([1.0, np.inf])), "mean must be finite"),
    ],
)
def test_bad_setup_raises_value_error_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bd.Setup(**kwargs)


def test_bad_solver_arguments_raise():
    s = bd.Setup()
    with pytest.raises(ValueError, match="loss must be one of"):
        bd.solve(s, "absolute")
    with pytest.raises(ValueError, match="tol must be in"):
        bd.solve(s, "logistic", tol=0.0)
    with pytest.raises(ValueError, match="n_quad"):
        bd.solve(s, "logistic", n_quad=3)
    with pytest.raises(ValueError, match="kappa must be finite and > 0"):
        bd.sweep(s, alpha=[1.0], kappa=[0.5, -1.0])
    with pytest.raises(TypeError, match="cannot sweep"):
        bd.sweep(s, gamma=[1.0])
    with pytest.raises(ValueError, match="lam must be > 0 when kappa >= 1"):
        bd.ridge_theory(s.replace(lam=0.0, kappa=2.0))
    with pytest.raises(ValueError, match="same length"):
        bd.Setup(cov=np.ones(3), mean=np.ones(4))
    with pytest.raises(ValueError, match="eps must be > 0"):
        bd.peak_attack(s.replace(eps=0.0))


def test_no_warning_for_a_converged_solve():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bd.solve(bd.Setup(kappa=1.0, lam=0.01, snr=2, eps=0.1, alpha=3.0), "hinge")


@pytest.mark.parametrize(
    "kappa,lam,alpha",
    [(2.0, 1e-3, 2.0), (1.5, 1e-5, 0.5), (4.0, 1e-4, 8.0), (2.0, 1e-5, 0.5)],
)
def test_stiff_square_points_match_the_closed_form(kappa, lam, alpha):
    # Regression: large V (kappa > 1, small lam) used to send Anderson astray.
    setup = bd.Setup(kappa=kappa, lam=lam, snr=4, eps=0.1, alpha=alpha, alpha_test=2)
    fixed = bd.solve(setup, "square", tol=1e-12)
    closed = bd.ridge_theory(setup)
    assert fixed.converged
    assert_allclose(fixed.attack_success, closed.attack_success, atol=1e-9)
    assert_allclose(fixed.clean_accuracy, closed.clean_accuracy, atol=1e-9)


def test_setup_edge_inputs():
    huge = bd.Setup(trigger=[1e200, 1e200], mean=[1.0, -1.0])
    assert_allclose(np.linalg.norm(huge.geometry.trigger), 1.0)
    with pytest.raises(ValueError, match="p >= 2"):
        bd.Setup(cov=[2.0])
    with pytest.raises(TypeError, match="intercept must be True or False"):
        bd.Setup(intercept="no")
    with pytest.raises(ValueError, match="cov must be real"):
        bd.Setup(cov=np.array([1.0, 2.0]) + 1j)
