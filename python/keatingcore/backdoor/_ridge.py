"""Closed-form asymptotics of ridge regression on the poisoned mixture.

Digest of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481, section 2
(reconstructed and checked against simulation): 2.1 for any covariance spectrum,
2.2 fully explicit for Sigma = I with t orthogonal to mu.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .._result import timer
from ._result import BackdoorResult
from ._setup import Setup


def _coefficients(setup: Setup) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster weights rho, labels y and coefficients c (3, 2) on the basis [mu, t]."""
    rho = np.array(setup.rho)
    y = np.array([1.0, -1.0, 1.0])
    c = np.array([[1.0, 0.0], [-1.0, 0.0], [-1.0, setup.alpha]])
    return rho, y, c


def _check_ridge(setup: Setup) -> None:
    if setup.lam == 0 and setup.kappa >= 1:
        raise ValueError(
            f"lam must be > 0 when kappa >= 1 (got kappa={setup.kappa}): the ridgeless "
            "estimator is not defined there"
        )


def susceptibility(sigma: np.ndarray, kappa: float, lam: float) -> tuple[float, int]:
    """V solving V = kappa mean_i sigma_i / (lam + sigma_i / (1 + V)).

    Returns V and the number of Brent iterations (0 for the closed form at lam = 0).
    """
    if lam == 0:
        return kappa / (1.0 - kappa), 0

    def gap(V):
        return kappa * np.mean(sigma / (lam + sigma / (1.0 + V))) - V

    upper = kappa * float(np.mean(sigma)) / lam + 1.0  # the right side never exceeds it
    V, info = brentq(
        gap, 0.0, upper, xtol=1e-15, rtol=4 * np.finfo(float).eps, full_output=True
    )
    return V, info.iterations


def ridge_theory(setup: Setup) -> BackdoorResult:
    """Asymptotic metrics of ridge regression, any covariance spectrum (digest 2.1).

    Solves the scalar V equation by Brent's method, then the 3x3 linear mean equations
    ``u = G1 n_hat``, ``sum_k rho_k r_k = 0``, and finally the variance, which is
    linear in itself: ``Q = [n_hat^T G2 n_hat + kappa tau2 sum_k rho_k r_k^2 / d^2]
    / (1 - kappa tau2 / d^2)``.

    Parameters
    ----------
    setup : Setup
        The problem; ``lam`` must be > 0 when ``kappa >= 1``.

    Returns
    -------
    BackdoorResult
        ``converged`` is False only if the variance equation has no positive
        solution (past the interpolation peak at lam = 0).
    """
    _check_ridge(setup)
    with timer() as elapsed:
        g = setup.geometry
        sigma, lam, kappa = g.sigma, setup.lam, setup.kappa
        V, n_iter = susceptibility(sigma, kappa, lam)
        d = 1.0 + V
        inv_a = 1.0 / (lam + sigma / d)
        B = np.stack([math.sqrt(setup.snr) * g.mean, g.trigger], axis=1)
        G1 = B.T @ (inv_a[:, None] * B)
        G2 = B.T @ ((sigma * inv_a**2)[:, None] * B)
        tau2 = float(np.mean((sigma * inv_a) ** 2))

        rho, y, c = _coefficients(setup)
        # n_hat = (P - C u - cbar b) / d with P = sum rho y c, C = sum rho c c^T,
        # cbar = sum rho c; the intercept row is cbar.u + b = sum rho y.
        P, C, cbar = (rho * y) @ c, (c.T * rho) @ c, rho @ c
        A = np.zeros((3, 3))
        rhs = np.zeros(3)
        A[:2, :2] = np.eye(2) + G1 @ C / d
        A[:2, 2] = G1 @ cbar / d
        rhs[:2] = G1 @ P / d
        if setup.intercept:
            A[2, :2], A[2, 2], rhs[2] = cbar, rho.sum(), rho @ y
        else:
            A[2, 2] = 1.0
        u1, u2, b = np.linalg.solve(A, rhs)

        r = y - c @ np.array([u1, u2]) - b
        n_hat = (rho * r) @ c / d
        signal = float(n_hat @ G2 @ n_hat)
        gain = kappa * tau2 / d**2
        Q = (signal + gain * float(rho @ r**2)) / (1.0 - gain)
    return _result(
        setup, u1, u2, b, Q, V, 1.0 / d, Q - signal, n_iter, gain, elapsed[0]
    )


def ridge_theory_isotropic(setup: Setup) -> BackdoorResult:
    """Explicit ridge asymptotics for Sigma = I and t orthogonal to mu (digest 2.2).

    ``V = [(kappa - 1 - lam) + sqrt((lam + 1 - kappa)^2 + 4 lam kappa)] / (2 lam)``,
    ``gamma = 1/(1 + lam (1 + V))``, the three explicit linear mean equations, and
    ``Q = [u1^2/s + u2^2 + kappa gamma^2 sum rho r^2] / (1 - kappa gamma^2)``.

    Raises
    ------
    ValueError
        If the covariance is not the identity or the trigger is not orthogonal to mu.
    """
    _check_ridge(setup)
    g = setup.geometry
    if not np.allclose(g.sigma, 1.0, rtol=0, atol=1e-12):
        raise ValueError("ridge_theory_isotropic needs cov = identity (cov=None)")
    if abs(g.mean @ g.trigger) > 1e-10:
        raise ValueError(
            "ridge_theory_isotropic needs the trigger orthogonal to the mean"
        )
    with timer() as elapsed:
        kappa, lam, s, alpha = setup.kappa, setup.lam, setup.snr, setup.alpha
        if lam == 0:
            V = kappa / (1.0 - kappa)
        else:
            root = math.sqrt((lam + 1 - kappa) ** 2 + 4 * lam * kappa)
            if lam + 1 - kappa > 0:  # rationalised form, free of cancellation
                V = 2 * kappa / ((lam + 1 - kappa) + root)
            else:
                V = ((kappa - 1 - lam) + root) / (2 * lam)
        d = 1.0 + V
        gamma = 1.0 / (1.0 + lam * d)
        rp, rm, rq = setup.rho
        A = np.array(
            [
                [
                    1 + s * gamma * (rp + rm + rq),
                    -s * gamma * alpha * rq,
                    s * gamma * (rp - rm - rq),
                ],
                [-alpha * gamma * rq, 1 + alpha**2 * gamma * rq, alpha * gamma * rq],
                [rp - rm - rq, alpha * rq, 1.0],
            ]
        )
        rhs = np.array([s * gamma * (rp + rm - rq), alpha * gamma * rq, rp - rm + rq])
        if not setup.intercept:
            A, rhs = A[:2, :2], rhs[:2]
        x = np.linalg.solve(A, rhs)
        u1, u2 = x[0], x[1]
        b = x[2] if setup.intercept else 0.0
        r = np.array([1 - u1 - b, -1 + u1 - b, 1 + u1 - alpha * u2 - b])
        gain = kappa * gamma**2
        signal = u1**2 / s + u2**2
        Q = (signal + gain * float(np.array(setup.rho) @ r**2)) / (1.0 - gain)
    return _result(setup, u1, u2, b, Q, V, 1.0 / d, Q - signal, 0, gain, elapsed[0])


def _result(setup, u1, u2, b, Q, V, V_hat, noise, n_iter, gain, elapsed):
    return BackdoorResult.build(
        setup,
        "square",
        u1=u1,
        u2=u2,
        b=b,
        Q=Q,
        V=V,
        V_hat=V_hat,
        noise_floor=noise,
        converged=gain < 1.0 and Q > 0,
        n_iter=n_iter,
        residual=0.0,
        elapsed=elapsed,
    )
