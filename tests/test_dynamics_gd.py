"""The reduced ODE against full-matrix gradient descent in torch (digest 6.5)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import collapse
from keatingcore import dynamics as dyn
from keatingcore.warnings import ConvergenceWarning

torch = pytest.importorskip("torch")


def _gap(gd, ode):
    return np.max(np.abs(gd.sigma[0, -1] - ode.sigma[0, -1]) / np.abs(ode.sigma[0, -1]))


@pytest.mark.parametrize(
    ("K", "depth", "n", "width", "basis"),
    [
        (4, 2, 2, 6, "walsh"),
        (4, 3, 2, 5, "walsh"),
        (16, 3, 2, 18, "walsh"),
        (6, 3, 2, 7, "fourier"),
    ],
)
def test_ode_and_gradient_descent_agree_to_first_order(K, depth, n, width, basis):
    rng = np.random.default_rng(K + depth)
    if basis == "fourier":
        freqs = (np.arange(1, K) + 1) // 2
        sigma0 = rng.uniform(0.5, 1.5, (depth, K // 2 + 1))[:, freqs]
    else:
        sigma0 = rng.uniform(0.5, 1.5, (depth, K - 1))  # unbalanced on purpose
    T, lr = 2.0, 0.02
    ode = dyn.integrate(
        sigma0, n=n, t=[T], basis=basis, rtol=1e-12, atol=1e-300, method="dop853"
    )
    runs = [
        dyn.gradient_descent(
            K,
            n,
            depth,
            width,
            step,
            round(T / step),
            sigma0=sigma0,
            basis=basis,
            record_every=10**6,
            num_threads=1,
        )
        for step in (lr, lr / 2)
    ]
    gaps = [_gap(r, ode) for r in runs]
    assert gaps[0] < 2e-3
    assert 1.9 < gaps[0] / gaps[1] < 2.1  # halving lr halves the gap: O(lr)
    loss_gaps = [abs(r.loss[0, -1] - ode.loss[0, -1]) for r in runs]
    assert 1.8 < loss_gaps[0] / loss_gaps[1] < 2.2
    for r in runs:
        assert r.leakage.max() < 1e-13  # the spectral structure holds to round-off
        assert r.nc1.max() < 1e-25  # features of a class stay identical
    # The trained matrices are still spectral, and the read-back needs no bases.
    state = dyn.spectral_state([f[0] for f in runs[1].factors], basis=basis)
    assert state.residual < 1e-12
    assert_allclose(state.s, np.prod(runs[1].sigma[0, -1], axis=0), rtol=1e-10)


def test_rhs_equals_the_projected_autograd_gradient():
    rng = np.random.default_rng(0)
    K, n, depth, d = 8, 3, 3, 10
    sigma = rng.uniform(-1.5, 1.5, (depth, K - 1))
    factors, bases = dyn.spectral_weights(sigma, n, d, return_bases=True, seed=2)
    X = [torch.tensor(f, requires_grad=True) for f in factors]
    Z = X[0]
    for W in X[1:]:
        Z = W @ Z
    labels = torch.tensor(np.repeat(np.arange(K), n))
    torch.nn.functional.cross_entropy(Z.T, labels).backward()
    U1 = dyn.mode_basis(K)[:, 1:]
    grads = [x.grad.numpy() for x in X]
    # Project -grad on the fixed directions (those of H have squared norm n).
    proj = np.empty_like(sigma)
    proj[0] = _feature_proj(grads[0], bases[0], U1, n)
    proj[1] = -np.diag(bases[1].T @ grads[1] @ bases[0])
    proj[2] = -np.diag(U1.T @ grads[2] @ bases[1])
    assert_allclose(proj, dyn.rhs(sigma, n=n)[0], rtol=1e-11, atol=1e-14)


def _feature_proj(grad_h, B1, U1, n):
    """d sigma_0 / dt from dL/dH: direction B1 e_k (U1 e_k)^T repeated n times."""
    direction = np.kron(U1, np.ones((n, 1)))  # (nK, K-1): u_k on every sample
    return -np.einsum("dk,dk->k", B1, grad_h @ direction) / n


def test_gaussian_runs_record_loss_and_metrics_consistently():
    K, n, depth, d = 4, 3, 3, 12
    res = dyn.gradient_descent(
        K,
        n,
        depth,
        d,
        0.1,
        300,
        init="gaussian",
        scale=0.5,
        batch=2,
        record_every=100,
        seed=1,
    )
    assert_allclose(res.t, [0.0, 10.0, 20.0, 30.0])
    assert res.sigma is None and res.loss.shape == (2, 4)
    assert np.all(np.diff(res.loss, axis=1) < 0)
    H, W1, W2 = res.factors
    for b in range(2):
        Z = W2[b] @ W1[b] @ H[b]
        logp = Z - np.log(np.exp(Z).sum(axis=0))
        labels = np.repeat(np.arange(K), n)
        loss = -np.mean(logp[labels, np.arange(n * K)])
        assert_allclose(res.loss[b, -1], loss, rtol=1e-12)
        feats = (W1[b] @ H[b]).T
        m = collapse.nc_metrics(feats, labels, W2[b])
        assert_allclose(
            [res.nc1[b, -1], res.nc2[b, -1], res.nc3[b, -1]],
            [m.nc1, m.nc2, m.nc3],
            rtol=1e-10,
        )
        zbar = Z.reshape(K, K, n).mean(axis=2)
        J = np.eye(K) - 1.0 / K
        sv = np.linalg.svd(J @ zbar @ J, compute_uv=False)
        assert_allclose(res.logit_spectrum[b, -1], sv, rtol=1e-10, atol=1e-12)
        assert res.rank[b, -1] == np.sum(sv > 0.1 * sv[0])


def test_divergence_warns_and_keeps_the_records():
    with pytest.warns(ConvergenceWarning, match="lower lr"):
        res = dyn.gradient_descent(
            4,
            1,
            3,
            8,
            1e3,
            50,
            init="gaussian",
            scale=3.0,
            record_every=1,
            num_threads=1,
        )
    assert np.isfinite(res.loss[0, 0]) and not np.isfinite(res.loss[0, -1])
    assert res.step[-1] < 50
    assert torch.get_num_threads() >= 1


def test_gradient_descent_bad_input():
    with pytest.raises(ValueError, match="sigma0"):
        dyn.gradient_descent(4, 1, 2)
    with pytest.raises(ValueError, match="sigma0 must have shape"):
        dyn.gradient_descent(4, 1, 3, sigma0=np.ones((2, 3)))
    with pytest.raises(ValueError, match="lr"):
        dyn.gradient_descent(4, 1, 2, lr=0.0, sigma0=np.ones((2, 3)))
    with pytest.raises(ValueError, match="init"):
        dyn.gradient_descent(4, 1, 2, init="orthogonal")
    with pytest.raises(ValueError, match="width must be >= K-1"):
        dyn.gradient_descent(8, 1, 2, width=4, sigma0=np.ones((2, 7)))
