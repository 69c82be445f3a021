"""Plain numpy/scipy baseline for the logistic Gaussian-proxy fixed point.

This is the reference the benchmarks compare :func:`keatingcore.backdoor.solve` with.
It solves the same equations, those of the backdoor model of Flynn, Goldhirsh, Keating
& Seroussi, "When Stronger Triggers Backfire: A High-Dimensional Theory of Backdoor
Attacks", arXiv 2605.22481 (the project digest, sections 1.2 and 3), but in the way the
field's reference codes are usually written (adaptive ``quad``, a Brent prox at every
integrand call, one ``quad`` per hat variable and cluster, the intercept by
``brentq``, plain damped iteration). It is written for this project; it is a
re-implementation of a common *pattern*, not a copy of any project's code.

Model, for an isotropic covariance (Sigma = I), a unit trigger t orthogonal to mu and
|mu|^2 = snr. Clusters k with weight rho_k, label y_k and coefficients c_k on [mu, t]:
clean target (+1, c = (1, 0)), clean source (-1, c = (-1, 0)), poisons
(+1, c = (-1, alpha)). A training point of cluster k has the pre-activation
``omega ~ N(c_k . u + b, Q)`` and the fitted one ``h = prox_{V loss(y_k, .)}(omega)``;
``f = (h - omega)/V`` and ``h' = 1/(1 + V loss''(h))``. Then

* ``n_hat = sum_k rho_k E_k[f] c_k``, ``q_hat = sum_k rho_k E_k[f^2]``,
  ``V_hat = sum_k rho_k E_k[(1 - h')/V]``;
* with ``A = lam + V_hat`` (a scalar for Sigma = I): ``V = kappa / A``,
  ``u = diag(snr, 1) n_hat / A``, ``Q = (snr n1^2 + n2^2 + kappa q_hat) / A^2``;
* the intercept solves ``sum_k rho_k E_k[f] = 0``.

Damping follows the convention of those codes: ``x <- damping x_old + (1 - damping)
x_new``, so ``damping = 0.7`` keeps 70 % of the old iterate. (keatingcore's own
``damping`` option is the weight of the *new* step.)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar
from scipy.special import ndtr

logger = logging.getLogger(__name__)

#: Gaussian integrals run over mean +- WIDTH sqrt(Q).
WIDTH = 10.0


@dataclasses.dataclass
class Counter:
    """How much work a solve did."""

    quad: int = 0
    prox: int = 0


@dataclasses.dataclass(frozen=True)
class BaselineResult:
    """Fixed point found by :func:`solve_baseline`.

    Attributes
    ----------
    V, Q, V_hat, u1, u2, b : float
        Order parameters (u1 = w.mu, u2 = w.t), as in keatingcore's solver state.
    clean_accuracy, attack_success : float
        Test metrics (ASR over all triggered source inputs).
    converged : bool
    n_iter : int
        Damped iterations done.
    residual : float
        Last relative change of (V, Q, u1, u2) in one undamped map.
    elapsed : float
        Wall-clock seconds.
    n_quad, n_prox : int
        Calls of ``quad`` and of the Brent prox.
    """

    V: float
    Q: float
    V_hat: float
    u1: float
    u2: float
    b: float
    clean_accuracy: float
    attack_success: float
    converged: bool
    n_iter: int
    residual: float
    elapsed: float
    n_quad: int
    n_prox: int


def logistic_loss(y: float, h: float) -> float:
    """``log(1 + exp(-y h))`` without overflow."""
    z = -y * h
    if z > 0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


def logistic_curvature(h: float) -> float:
    """Second derivative of the logistic loss, ``sigma(h) sigma(-h)``."""
    e = math.exp(-abs(h))
    return e / (1.0 + e) ** 2


def prox(y: float, omega: float, V: float, xtol: float, count: Counter) -> float:
    """``argmin_h loss(y, h) + (h - omega)^2 / (2 V)`` by Brent's method."""
    count.prox += 1

    def moreau(h: float) -> float:
        return logistic_loss(y, h) + (h - omega) ** 2 / (2.0 * V)

    res = minimize_scalar(
        moreau, bracket=(omega, omega + V * y), method="brent", options={"xtol": xtol}
    )
    return float(res.x)


def gauss_expect(fun, mean: float, Q: float, opts: dict, count: Counter) -> float:
    """``E[fun(omega)]`` for ``omega ~ N(mean, Q)`` by adaptive quadrature."""
    count.quad += 1
    s = math.sqrt(Q)
    norm = 1.0 / math.sqrt(2.0 * math.pi * Q)

    def integrand(w: float) -> float:
        return fun(w) * norm * math.exp(-0.5 * (w - mean) ** 2 / Q)

    value, _ = quad(
        integrand,
        mean - WIDTH * s,
        mean + WIDTH * s,
        epsabs=opts["epsabs"],
        epsrel=opts["epsrel"],
        limit=opts["limit"],
    )
    return value


def _clusters(rho, alpha):
    return [
        (rho[0], 1.0, (1.0, 0.0)),
        (rho[1], -1.0, (-1.0, 0.0)),
        (rho[2], 1.0, (-1.0, alpha)),
    ]


def _ef(y, mean, V, Q, opts, count):
    def f(w):
        return (prox(y, w, V, opts["xtol"], count) - w) / V

    return gauss_expect(f, mean, Q, opts, count)


def _ef2(y, mean, V, Q, opts, count):
    def f2(w):
        return ((prox(y, w, V, opts["xtol"], count) - w) / V) ** 2

    return gauss_expect(f2, mean, Q, opts, count)


def _edh(y, mean, V, Q, opts, count):
    def dh(w):
        h = prox(y, w, V, opts["xtol"], count)
        return (1.0 - 1.0 / (1.0 + V * logistic_curvature(h))) / V

    return gauss_expect(dh, mean, Q, opts, count)


def _intercept(clusters, u, V, Q, b0, opts, count):
    """Root of ``sum_k rho_k E_k[f](b) = 0``, decreasing in b, bracketed around b0."""

    def gap(b):
        return sum(
            r * _ef(y, c[0] * u[0] + c[1] * u[1] + b, V, Q, opts, count)
            for r, y, c in clusters
            if r > 0
        )

    step = 1.0
    lo, hi = b0 - step, b0 + step
    g_lo, g_hi = gap(lo), gap(hi)
    while g_lo < 0:
        step *= 2.0
        hi, g_hi = lo, g_lo
        lo = b0 - step
        g_lo = gap(lo)
    while g_hi > 0:
        step *= 2.0
        lo, g_lo = hi, g_hi
        hi = b0 + step
        g_hi = gap(hi)
    return brentq(gap, lo, hi, xtol=opts["btol"])


def solve_baseline(
    kappa: float,
    lam: float,
    snr: float,
    alpha: float,
    alpha_test: float,
    rho: tuple[float, float, float],
    *,
    damping: float = 0.7,
    tol: float = 1e-8,
    max_iter: int = 2000,
    epsabs: float = 1.49e-8,
    epsrel: float = 1.49e-8,
    limit: int = 50,
    xtol: float = 1.48e-8,
    btol: float = 2e-12,
) -> BaselineResult:
    """Solve the logistic Gaussian-proxy fixed point by plain damped iteration.

    Parameters
    ----------
    kappa, lam, snr, alpha, alpha_test : float
        Aspect ratio p/n, L2 strength, |mu|^2, training and test trigger strengths.
    rho : tuple of 3 floats
        Cluster weights (clean target, clean source, poisons).
    damping : float
        Weight of the old iterate, ``x <- damping x_old + (1 - damping) x_new``.
    tol : float
        Stop when every relative change ``|x_new - x_old| / max(|x_old|, 1)`` of
        (V, Q, u1, u2) in one undamped map is below ``tol``. With scipy's default
        quadrature tolerances the map itself is noisy at a few 1e-9, so 1e-8 is about
        the tightest tol it meets reliably; 1e-10 is never reached.
    max_iter : int
        Damped iterations before giving up.
    epsabs, epsrel, limit : float, float, int
        Passed to ``scipy.integrate.quad`` (scipy's defaults).
    xtol : float
        Relative tolerance of the Brent prox (scipy's default).
    btol : float
        Absolute tolerance of ``brentq`` for the intercept (scipy's default).

    Returns
    -------
    BaselineResult
    """
    start = time.perf_counter()
    count = Counter()
    opts = {
        "epsabs": epsabs,
        "epsrel": epsrel,
        "limit": limit,
        "xtol": xtol,
        "btol": btol,
    }
    clusters = _clusters(rho, alpha)
    V, Q, u = kappa, 0.5, [0.0, 0.0]
    b, V_hat = 0.0, 0.0
    residual, converged, it = math.inf, False, 0
    for it in range(1, max_iter + 1):
        b = _intercept(clusters, u, V, Q, b, opts, count)
        n_hat, q_hat, V_hat = [0.0, 0.0], 0.0, 0.0
        for r, y, c in clusters:
            if r == 0:
                continue
            mean = c[0] * u[0] + c[1] * u[1] + b
            ef = _ef(y, mean, V, Q, opts, count)
            n_hat[0] += r * ef * c[0]
            n_hat[1] += r * ef * c[1]
            q_hat += r * _ef2(y, mean, V, Q, opts, count)
            V_hat += r * _edh(y, mean, V, Q, opts, count)
        a = lam + V_hat
        new = [
            kappa / a,
            (snr * n_hat[0] ** 2 + n_hat[1] ** 2 + kappa * q_hat) / a**2,
            snr * n_hat[0] / a,
            n_hat[1] / a,
        ]
        old = [V, Q, u[0], u[1]]
        residual = max(
            abs(n - o) / max(abs(o), 1.0) for n, o in zip(new, old, strict=True)
        )
        V, Q, u0, u1 = (
            damping * o + (1.0 - damping) * n for n, o in zip(new, old, strict=True)
        )
        u = [u0, u1]
        logger.debug("baseline iteration %d: residual %.3e", it, residual)
        if not math.isfinite(residual):
            break
        if residual < tol:
            converged = True
            break
    b = _intercept(clusters, u, V, Q, b, opts, count)
    s = math.sqrt(Q)
    acc = 0.5 * ndtr((u[0] + b) / s) + 0.5 * ndtr((u[0] - b) / s)
    asr = ndtr((-u[0] + alpha_test * u[1] + b) / s)
    return BaselineResult(
        V=V,
        Q=Q,
        V_hat=V_hat,
        u1=u[0],
        u2=u[1],
        b=b,
        clean_accuracy=float(acc),
        attack_success=float(asr),
        converged=converged,
        n_iter=it,
        residual=residual,
        elapsed=time.perf_counter() - start,
        n_quad=count.quad,
        n_prox=count.prox,
    )
