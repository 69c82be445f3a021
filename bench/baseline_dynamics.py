"""Plain numpy/scipy baseline for the reduced singular-value ODE.

The reference the benchmarks compare :func:`keatingcore.dynamics.integrate` with: the
same right-hand side (the project digest's reduced ODE for the deep UFM under
spectral initialisation, ``shared/papers/ce-dynamics.md`` sections 3.1-3.2, model of
Garrod, Keating & Thrampoulidis, arXiv 2512.04006 / 2605.23087) in the same log-time
variable ``tau = log(1 + t)``, solved the way theory papers usually do it: a Python
loop over ``scipy.integrate.solve_ivp``, one trajectory at a time. Written for this
project from the equations; no code is taken from elsewhere.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from keatingcore.dynamics import margin_matrix


def make_rhs(K: int, depth: int, n: float = 1.0, basis: str = "auto"):
    """``f(tau, y)`` of the reduced ODE in log time, vectorised with numpy."""
    A = margin_matrix(K, basis)
    m = K - 1
    c = np.full((depth, 1), 1.0 / K)
    c[0] = 1.0 / (n * K)

    def rhs(tau: float, y: np.ndarray) -> np.ndarray:
        sigma = y.reshape(depth, m)
        s = np.prod(sigma, axis=0)
        margins = A @ s / K
        lead = max(0.0, float(np.max(-margins)))
        w = np.exp(-margins - lead)
        q = w / (np.exp(-lead) + w.sum())
        e = A.T @ q
        ones = np.ones((1, m))
        pre = np.cumprod(np.vstack([ones, sigma[:-1]]), axis=0)
        suf = np.cumprod(np.vstack([ones, sigma[:0:-1]]), axis=0)[::-1]
        return (np.exp(tau) * c * e * pre * suf).ravel()

    return rhs


def solve_loop(
    starts,
    K: int,
    t_end: float,
    rtol: float,
    atol: float,
    method: str = "RK45",
    n: float = 1.0,
    t_eval=None,
):
    """Integrate each start with ``solve_ivp`` to ``t_end``.

    With ``t_eval`` (times in ``[0, t_end]``) the solver's dense output gives the
    states there and ``final`` has a time axis.

    Returns
    -------
    final : ndarray, shape (B, depth, K-1) or (B, T, depth, K-1)
    seconds : float
        Wall-clock time of the whole loop.
    nfev : ndarray of int
    """
    starts = np.asarray(starts, dtype=float)
    depth = starts.shape[1]
    rhs = make_rhs(K, depth, n)
    tau = None if t_eval is None else np.log1p(np.asarray(t_eval, dtype=float))
    finals, nfev = [], []
    begin = time.perf_counter()
    for y0 in starts:
        sol = solve_ivp(
            rhs,
            (0.0, np.log1p(t_end)),
            y0.ravel(),
            method=method,
            rtol=rtol,
            atol=atol,
            t_eval=tau,
        )
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        if tau is None:
            finals.append(sol.y[:, -1].reshape(depth, K - 1))
        else:
            finals.append(sol.y.T.reshape(-1, depth, K - 1))
        nfev.append(sol.nfev)
    return np.array(finals), time.perf_counter() - begin, np.array(nfev)
