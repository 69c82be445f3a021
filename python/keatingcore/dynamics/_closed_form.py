"""The exact neural-collapse trajectory (all modes equal, balanced start).

With every ``s_k = s`` the margins all equal ``s``, and the balanced reduced ODE
becomes ``ds/dt = L n^(-1/L) s^(2 - 2/L) / (e^s + K - 1)``, so

    t(s) = (n^(1/L) / L) int_{s0}^{s} (e^u + K - 1) u^(2/L - 2) du,

and for depth 2, ``t(s) = (sqrt(n)/2) [Ei(s) - Ei(s0) + (K-1) log(s/s0)]``; the loss
is ``log(1 + (K-1) e^(-s))``. This is the digest's derivation (section 3.4) for the
model of Garrod, Keating & Thrampoulidis (arXiv 2512.04006), and holds in both the
Walsh and the Fourier basis.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from scipy import integrate as sintegrate
from scipy import optimize, special


def _check(s0, K, n, depth):
    if not (s0 > 0 and math.isfinite(s0)):
        raise ValueError(f"s0 must be finite and > 0, got {s0!r}")
    K = operator.index(K)
    if K < 2:
        raise ValueError(f"K must be >= 2, got {K}")
    if not n > 0:
        raise ValueError(f"n must be > 0, got {n!r}")
    depth = operator.index(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    return K, depth


def nc_time(s, s0: float, K: int, n: float = 1.0, depth: int = 2) -> np.ndarray:
    """Time at which the equal-mode product reaches ``s`` from ``s0`` (exact).

    Parameters
    ----------
    s : array_like
        Products ``s >= s0``... (values below ``s0`` give negative times).
    s0 : float
        Initial product, > 0.
    K : int
        Classes, >= 2.
    n : float
        Samples per class.
    depth : int
        Factors L >= 2 (features included).

    Returns
    -------
    ndarray
        ``t(s)``, same shape as ``s``.
    """
    K, depth = _check(s0, K, n, depth)
    s = np.asarray(s, dtype=float)
    if np.any(s <= 0):
        raise ValueError("s must be > 0")
    if depth == 2:
        return (
            0.5
            * math.sqrt(n)
            * (special.expi(s) - special.expi(s0) + (K - 1) * np.log(s / s0))
        )
    a = 2.0 / depth - 2.0

    def one(x: float) -> float:
        # e^u is integrated as e^x e^(u - x) to keep the integrand O(1).
        exp_part = sintegrate.quad(
            lambda u: math.exp(u - x) * u**a, s0, x, epsabs=0, epsrel=1e-13, limit=400
        )[0] * math.exp(x)
        power_part = (x ** (a + 1) - s0 ** (a + 1)) / (a + 1)
        return exp_part + (K - 1) * power_part

    values = np.vectorize(one, otypes=[float])(s)
    return n ** (1.0 / depth) / depth * values


def nc_trajectory(t, s0: float, K: int, n: float = 1.0, depth: int = 2) -> np.ndarray:
    """``s(t)`` of the equal-mode trajectory, by inverting :func:`nc_time`.

    Parameters
    ----------
    t : array_like
        Times >= 0.
    s0, K, n, depth
        As in :func:`nc_time`.

    Returns
    -------
    ndarray
        ``s(t)``, same shape as ``t``, to about 1e-13 relative.
    """
    K, depth = _check(s0, K, n, depth)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")

    def one(ti: float) -> float:
        if ti == 0:
            return s0
        hi = max(2 * s0, 1.0)
        while nc_time(hi, s0, K, n, depth) < ti:
            hi *= 2
        return optimize.brentq(
            lambda x: float(nc_time(x, s0, K, n, depth)) - ti,
            s0,
            hi,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )

    return np.vectorize(one, otypes=[float])(t)


def nc_loss(s, K: int) -> np.ndarray:
    """Loss ``log(1 + (K-1) e^(-s))`` of the equal-mode state."""
    return np.log1p((K - 1) * np.exp(-np.asarray(s, dtype=float)))
