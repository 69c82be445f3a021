"""Reduced CE dynamics: spectral bases, the ODE, the batched integrator."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate as sintegrate

from keatingcore import _core
from keatingcore import dynamics as dyn
from keatingcore.warnings import ConvergenceWarning


def _softmax_cols(Z):
    E = np.exp(Z - Z.max(axis=0))
    return E / E.sum(axis=0)


def _tied(rng, K, shape=()):
    """Random values with the cosine/sine pairs of the Fourier basis tied."""
    freqs = (np.arange(1, K) + 1) // 2
    per_freq = rng.uniform(0.3, 2.0, (*shape, K // 2 + 1))
    return per_freq[..., freqs]


# --- bases and the structure the ODE relies on -----------------------------------


@pytest.mark.parametrize("K", [2, 4, 8, 32])
def test_hadamard_is_the_sylvester_matrix(K):
    H = dyn.hadamard(K)
    assert_array_equal(H, scipy.linalg.hadamard(K))
    assert_allclose(H @ H.T, K * np.eye(K), atol=0)


@pytest.mark.parametrize("K", [3, 5, 6, 7, 12])
def test_fourier_basis_diagonalises_the_softmax_of_tied_logits(K):
    rng = np.random.default_rng(K)
    U = dyn.fourier_basis(K)
    assert_allclose(U.T @ U, np.eye(K), atol=1e-14)
    s = _tied(rng, K)
    Zbar = U[:, 1:] @ np.diag(s) @ U[:, 1:].T
    D = U.T @ (_softmax_cols(Zbar) - np.eye(K)) @ U
    off = D - np.diag(np.diag(D))
    assert np.abs(off).max() < 1e-14
    # The C++ error factors are 1 - lambda_k, computed without cancellation.
    _, loss, e = dyn.rhs(dyn.balanced_sigma(s, 2), basis="fourier")
    assert_allclose(e, -np.diag(D)[1:], rtol=1e-12)
    direct = -np.mean(np.log(np.diag(_softmax_cols(Zbar))))
    assert_allclose(loss, direct, rtol=1e-13)


@pytest.mark.parametrize("K", [4, 8, 16])
def test_walsh_basis_diagonalises_the_softmax_and_rhs_matches(K):
    rng = np.random.default_rng(K)
    U = dyn.mode_basis(K, "walsh")
    s = rng.uniform(-1.0, 3.0, K - 1)
    Zbar = U[:, 1:] @ np.diag(s) @ U[:, 1:].T
    D = U.T @ (_softmax_cols(Zbar) - np.eye(K)) @ U
    assert np.abs(D - np.diag(np.diag(D))).max() < 1e-14
    _, loss, e = dyn.rhs(dyn.balanced_sigma(s, 3), basis="walsh")
    assert_allclose(e, -np.diag(D)[1:], rtol=1e-12)
    assert_allclose(loss, -np.mean(np.log(np.diag(_softmax_cols(Zbar)))), rtol=1e-13)


def test_rhs_is_the_scaled_gradient_of_the_reduced_loss():
    # d sigma_l / dt = -(1/w_l) dL/d sigma_l with w_0 = n (features), else 1.
    rng = np.random.default_rng(1)
    K, n, L = 8, 3, 4
    sigma = rng.uniform(-1.5, 1.5, (L, K - 1))
    dy, _, _ = dyn.rhs(sigma, n=n)
    grad = np.empty_like(sigma)
    h = 1e-6
    for idx in np.ndindex(sigma.shape):
        plus, minus = sigma.copy(), sigma.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (dyn.rhs(plus, n=n)[1] - dyn.rhs(minus, n=n)[1]) / (2 * h)
    w = np.ones((L, 1))
    w[0] = n
    assert_allclose(dy, -grad / w, rtol=1e-7, atol=1e-10)


def test_late_time_error_factors_do_not_cancel():
    # At s = 60, 1 - lambda_k ~ 1e-26 is lost in 1 - q0, but e_k must stay exact.
    K, s = 8, 60.0
    _, loss, e = dyn.rhs(dyn.balanced_sigma(np.full(K - 1, s), 2))
    expected = K * np.exp(-s) / (1 + (K - 1) * np.exp(-s))
    assert_allclose(e, np.full((K - 1,), expected), rtol=1e-13)
    assert_allclose(loss, np.log1p((K - 1) * np.exp(-s)), rtol=1e-13)
    assert loss > 0


# --- spectral initialisation and read-back ---------------------------------------


@pytest.mark.parametrize(
    ("K", "depth", "basis", "hidden"),
    [
        (4, 2, "walsh", "random"),
        (8, 3, "walsh", "identity"),
        (6, 4, "fourier", "random"),
    ],
)
def test_spectral_weights_round_trip(K, depth, basis, hidden):
    rng = np.random.default_rng(0)
    n, width = 3, K + 3
    sigma = rng.uniform(0.2, 2.0, (depth, K - 1)) * rng.choice([-1, 1], (depth, K - 1))
    if basis == "fourier":
        sigma = _tied(rng, K, (depth,)) * np.sign(sigma[:, :1])
    factors = dyn.spectral_weights(sigma, n, width, basis, hidden, seed=4)
    assert factors[0].shape == (width, n * K) and factors[-1].shape == (K, width)
    Z = factors[0]
    for W in factors[1:]:
        Z = W @ Z
    U1 = dyn.mode_basis(K, basis)[:, 1:]
    s = np.prod(sigma, axis=0)
    assert_allclose(Z[:, ::n], U1 @ np.diag(s) @ U1.T, atol=1e-13)
    state = dyn.spectral_state(factors, basis=basis)
    assert state.residual < 1e-13 and state.n == n
    assert_allclose(state.s, s, rtol=1e-12)
    assert_allclose(np.abs(state.sigma), np.abs(sigma), rtol=1e-12)
    assert np.all(state.sigma[1:] >= 0)


def test_spectral_state_rejects_unstructured_matrices():
    rng = np.random.default_rng(0)
    factors = dyn.spectral_weights(np.ones((3, 3)), 2, 5)
    factors[1] = factors[1] + 1e-3 * rng.standard_normal(factors[1].shape)
    with pytest.raises(ValueError, match="not spectrally structured"):
        dyn.spectral_state(factors)
    with pytest.raises(ValueError, match="H must have shape"):
        dyn.spectral_state([np.ones((5, 7)), np.ones((4, 5))])


def test_balanced_sigma_gives_products_and_zero_offsets():
    s = np.array([0.3, -1.2, 2.5])
    sigma = dyn.balanced_sigma(s, 4, n=5)
    assert_allclose(np.prod(sigma, axis=0), s, rtol=1e-14)
    assert_allclose(dyn.conserved_quantities(sigma, 5), 0, atol=1e-14)


# --- the integrator --------------------------------------------------------------


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize(("K", "basis"), [(2, "walsh"), (8, "walsh"), (6, "fourier")])
def test_integrator_follows_the_exact_nc_trajectory_to_1e12(depth, K, basis):
    n, s0 = 2, 0.3
    t = np.concatenate([[0.0], np.geomspace(1e-1, 1e12, 40)])
    exact = dyn.nc_trajectory(t, s0, K, n, depth)
    start = dyn.balanced_sigma(np.full(K - 1, s0), depth, n)
    run = dyn.integrate(
        start, n=n, t=t, basis=basis, rtol=1e-12, atol=1e-300, method="dop853"
    )
    assert run.converged and run.steps[0] < 400  # log time keeps 1e12 cheap
    assert_allclose(run.s[0], np.repeat(exact[:, None], K - 1, 1), rtol=2e-10)
    assert_allclose(run.loss[0], dyn.nc_loss(exact, K), rtol=1e-8)
    five = dyn.integrate(
        start, n=n, t=t, basis=basis, rtol=1e-10, atol=1e-300, time_variable="linear"
    )
    assert_allclose(five.s[0, :, 0], exact, rtol=1e-7)


def _direct_time(s, s0, K, n, L):
    """t(s) of digest 3.4 by plain quadrature of the integrand as written."""

    def integrand(u):
        return (np.exp(u) + K - 1) * u ** (2 / L - 2)

    area = sintegrate.quad(integrand, s0, s, epsrel=1e-13, limit=200)[0]
    return n ** (1 / L) / L * area


def test_closed_form_matches_direct_quadrature():
    K, n, s0 = 8, 2.0, 0.4
    s = np.array([0.5, 3.0, 12.0, 30.0])
    for L in (2, 3, 5):
        direct = [_direct_time(x, s0, K, n, L) for x in s]
        assert_allclose(dyn.nc_time(s, s0, K, n, L), direct, rtol=1e-11)
    t = np.array([0.0, 1.0, 1e3, 1e9])
    assert_allclose(
        dyn.nc_time(dyn.nc_trajectory(t[1:], s0, K, n, 3), s0, K, n, 3),
        t[1:],
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    ("method", "steps", "order"),
    [("dopri5", (0.5, 0.25), 5), ("dop853", (2.0, 1.0), 8)],
)
def test_fixed_step_convergence_order_checks_the_tableaux(method, steps, order):
    # Huge tolerances with first_step = max_step = h give a fixed-step method.
    K, n, s0, T = 4, 1, 0.5, 8.0
    start = dyn.balanced_sigma(np.full(K - 1, s0), 2, n)
    end_err, mid_err = [], []
    for h in steps:
        t = np.r_[np.arange(h / 2, T, h), T]
        run = dyn.integrate(
            start,
            n=n,
            t=t,
            rtol=1e6,
            atol=1e6,
            method=method,
            first_step=h,
            max_step=h,
            time_variable="linear",
        )
        assert run.steps[0] == round(T / h)
        exact = dyn.nc_trajectory(t, s0, K, n, 2)
        rel = np.abs(run.s[0, :, 0] - exact) / exact
        end_err.append(rel[-1])
        mid_err.append(rel[:-1].max())
    assert 0.9 * order < np.log2(end_err[0] / end_err[1]) < 1.1 * order + 0.5
    dense = np.log2(mid_err[0] / mid_err[1])  # local order of the dense output
    assert 0.9 * order < dense < 1.1 * order + 0.5


def test_tableaux_satisfy_low_order_conditions():
    for method in (0, 1):
        tb = _core.dynamics.tableau(method)
        s = tb["stages"]
        b, c, A = tb["b"][:s], tb["c"][:s], tb["a"][:s, :s]
        assert_allclose(
            [b.sum(), b @ c, b @ c**2, b @ A @ c], [1, 1 / 2, 1 / 3, 1 / 6], rtol=1e-14
        )
        assert_allclose(A.sum(axis=1), c, atol=1e-14)
    dp5 = _core.dynamics.tableau(0)
    assert_allclose(dp5["d"].sum(axis=0)[:6], dp5["b"][:6], atol=1e-14)  # theta = 1


def test_conserved_quantities_stay_constant_unbalanced():
    rng = np.random.default_rng(2)
    K, n = 8, 3
    start = rng.uniform(0.2, 1.5, (5, 4, K - 1))
    run = dyn.integrate(
        start,
        n=n,
        t=np.geomspace(1e-2, 1e6, 30),
        rtol=1e-11,
        atol=1e-300,
        method="dop853",
    )
    c0 = dyn.conserved_quantities(start, n)
    drift = run.conserved() - c0[:, None]
    scale = n * run.sigma[:, :, :1] ** 2 + run.sigma[:, :, 1:] ** 2
    assert np.max(np.abs(drift) / scale) < 1e-9


def test_depth2_spread_never_increases():
    # Digest 3.6: V = log(s_max / s_min) did not increase in any balanced depth-2 run.
    start = dyn.perturbed_start(8, 2, sigma0=0.5, delta=0.6, size=40, seed=3)
    run = dyn.integrate(start, t=np.geomspace(1e-3, 1e9, 200), rtol=1e-11, atol=1e-300)
    V = np.log(run.s.max(axis=2) / run.s.min(axis=2))
    assert np.max(np.diff(V, axis=1)) < 1e-9
    assert np.all(V[:, -1] < 0.5 * V[:, 0])


def test_threads_give_identical_results():
    start = dyn.perturbed_start(8, 3, 0.1, 0.3, size=301, seed=5)
    t = np.geomspace(1e-2, 1e8, 17)
    one = dyn.integrate(start, t=t, num_threads=1)
    two = dyn.integrate(start, t=t, num_threads=2)
    assert_array_equal(one.sigma, two.sigma)
    assert_array_equal(one.loss, two.loss)
    assert_array_equal(one.steps, two.steps)


def test_dense_output_agrees_with_landing_on_each_time():
    start = dyn.perturbed_start(4, 3, 0.3, 0.3, size=3, seed=1)
    t = np.geomspace(0.5, 1e5, 9)
    dense = dyn.integrate(start, t=t, rtol=1e-12, atol=1e-300, method="dop853")
    for i, ti in enumerate(t):
        single = dyn.integrate(start, t=[ti], rtol=1e-12, atol=1e-300, method="dop853")
        assert_allclose(dense.sigma[:, i], single.sigma[:, 0], rtol=1e-9)


def test_step_limit_keeps_the_partial_result():
    start = dyn.perturbed_start(8, 3, 0.1, 0.2, size=2, seed=0)
    t = np.array([0.0, 1e-3, 1e12])
    with pytest.warns(ConvergenceWarning, match="max_steps"):
        run = dyn.integrate(start, t=t, max_steps=6)
    assert run.status_names == ["step_limit", "step_limit"] and not run.converged
    assert_array_equal(run.sigma[:, 0], start)
    assert np.all(np.isfinite(run.sigma[:, 1])) and np.all(np.isnan(run.sigma[:, 2]))
    assert np.all((run.t_reached > 1e-3) & (run.t_reached < 1e12))
    assert np.all(run.steps + run.rejected == 6)


def test_time_zero_and_repeated_times():
    start = dyn.perturbed_start(4, 2, 0.5, 0.2, seed=0)
    run = dyn.integrate(start, t=[0.0, 2.0, 2.0, 5.0])
    assert_array_equal(run.sigma[0, 0], start)
    assert_array_equal(run.sigma[0, 1], run.sigma[0, 2])
    assert run.sigma.shape == (1, 4, 2, 3) and run.loss.shape == (1, 4)
    assert_allclose(run.loss[0, 0], dyn.rhs(start)[1], rtol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma0": np.ones((1, 3))}, "depth >= 2"),
        ({"sigma0": np.ones(3)}, "sigma0 must have shape"),
        ({"sigma0": np.ones((2, 3)), "K": 5}, "K-1 = 4 modes"),
        ({"sigma0": np.ones((2, 3)), "K": 1}, "K must be >= 2"),
        ({"sigma0": np.array([[1, np.nan, 1], [1, 1, 1.0]])}, "finite"),
        ({"t": [1.0, 0.5]}, "non-decreasing"),
        ({"t": [-1.0]}, ">= 0"),
        ({"rtol": 0.0}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"method": "rk4"}, "method"),
        ({"time_variable": "sqrt"}, "time_variable"),
        ({"max_steps": 0}, "max_steps"),
        ({"n": 0}, "n must be"),
        ({"num_threads": 0}, "num_threads"),
        ({"device": "tpu"}, "device"),
        ({"sigma0": np.ones((2, 5)), "basis": "walsh"}, "power of two"),
        ({"sigma0": np.arange(1.0, 11).reshape(2, 5)}, "cosine and sine"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    args = {"sigma0": np.ones((2, 3)), "t": [1.0]} | kwargs
    with pytest.raises(ValueError, match=match):
        dyn.integrate(**args)


def test_cuda_without_a_device_is_refused_clearly():
    if _core.cuda_device_count() > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="cuda"):
        dyn.integrate(np.ones((2, 3)), t=[1.0], device="cuda")


@pytest.mark.cuda
def test_cuda_path_matches_cpu():
    if _core.cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    start = dyn.perturbed_start(8, 3, 0.1, 0.3, size=2000, seed=9)
    t = np.geomspace(1e-2, 1e12, 25)
    for method in ("dopri5", "dop853"):
        cpu = dyn.integrate(start, t=t, method=method, rtol=1e-10, atol=1e-300)
        gpu = dyn.integrate(
            start, t=t, method=method, rtol=1e-10, atol=1e-300, device="cuda"
        )
        assert gpu.converged and gpu.sigma.shape == cpu.sigma.shape
        # The GPU contracts to FMA, so a step decision near err = 1 may flip: the
        # two agree to the tolerance, and nearly always step for step.
        assert np.mean(gpu.steps == cpu.steps) > 0.9
        assert_allclose(gpu.sigma, cpu.sigma, rtol=1e-7)
        assert_allclose(gpu.loss, cpu.loss, rtol=1e-6)


def test_import_without_torch_and_a_clear_error():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "import keatingcore.dynamics as d\n"
        "r = d.integrate(np.ones((2, 3)), t=[1.0])\n"
        "assert r.converged\n"
        "try:\n"
        "    d.gradient_descent(4, 1, 2, sigma0=np.ones((2, 3)))\n"
        "except ImportError as e:\n"
        "    assert 'pip install torch' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_trajectories_report_status_and_dict():
    run = dyn.integrate(dyn.perturbed_start(4, 2, size=2), t=[0.0, 1.0])
    d = run.to_dict()
    assert d["status_names"] == ["success", "success"]
    assert np.shape(d["sigma"]) == (2, 2, 2, 3)
    assert "2/2 succeeded" in repr(run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.error_factors().shape == (2, 2, 3)
