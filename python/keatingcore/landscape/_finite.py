"""Finite-N expected numbers of critical points (digest sections 2.2-2.3; exact).

With :math:`g(x) = e^{-N(p-2)x^2/(2p)}` and :math:`\\lambda_0 \\le ... \\le
\\lambda_{N-1}` the eigenvalues of GOE_N (semicircle on [-sqrt2, sqrt2]),

.. math::

    E\\,\\mathrm{Crt}_{N,k}(u) = C_N\\,E[g(\\lambda_k)\\,1\\{\\lambda_k \\le a\\}],
    \\quad a = u\\sqrt{p/(2(p-1))}, \\quad C_N = 2\\sqrt{2/p}\\,(p-1)^{N/2}.

:func:`expected_counts` evaluates the expectation exactly (de Bruijn's Pfaffian
formula for GOE order statistics, quadrature to about 1e-13), :func:`count_monte_carlo`
by sampling GOE_N in the Dumitriu-Edelman tridiagonal form.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from . import _validate

logger = logging.getLogger(__name__)
_L = _core.landscape

#: Largest N the exact route accepts. Its alternating Pfaffian sums lose digits as N
#: grows: the Euler relation holds to 1e-10 (relative) at N = 24 but only 1e-8 at 28
#: and fails past 30, so larger N goes to the Monte Carlo route.
EXACT_MAX_N = 24


def count_prefactor(N: int, p: int) -> float:
    """:math:`C_N = 2\\sqrt{2/p}(p-1)^{N/2}` of digest section 2.3 (exact)."""
    N = _validate.integer(N, "N", 2)
    p = float(_validate.degrees(p, minimum=2))
    return float(2.0 * np.sqrt(2.0 / p) * (p - 1.0) ** (N / 2.0))


@dataclasses.dataclass(frozen=True)
class FiniteCounts:
    """Mean numbers of critical points with energy per site at most ``u``.

    Attributes
    ----------
    N, p : int
    u : ndarray, shape (n_u,)
    by_index : ndarray, shape (k_max + 1, n_u)
        E Crt_{N,k}(u) for k = 0..k_max.
    total : ndarray, shape (n_u,)
        E Crt_N(u), all indices.
    method : str
        ``"exact"`` or ``"monte_carlo"``.
    stderr_by_index, stderr_total : ndarray or None
        Monte Carlo standard errors (``None`` for exact values).
    n_samples : int or None
    theta : ndarray
        Strengths of the rank-r deformation (empty: the undeformed p-spin).
    """

    N: int
    p: int
    u: np.ndarray
    by_index: np.ndarray
    total: np.ndarray
    method: str
    stderr_by_index: np.ndarray | None = None
    stderr_total: np.ndarray | None = None
    n_samples: int | None = None
    theta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def complexity(self, index: int | None = None) -> np.ndarray:
        """Finite-N complexity ``log(E Crt) / N`` (total, or of one index)."""
        values = self.total if index is None else self.by_index[index]
        with np.errstate(divide="ignore"):
            return np.log(np.maximum(values, 0.0)) / self.N

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``dict`` (arrays as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


def _prepare(N: Any, p: Any, u: Any, k_max: Any) -> tuple[int, int, Any, Any, int]:
    N = _validate.integer(N, "N", 2)
    p = int(_validate.degrees(p, minimum=2))
    uu = np.atleast_1d(_validate.energies(u)).astype(float).ravel()
    k_max = N - 1 if k_max is None else _validate.integer(k_max, "k_max", 0, N - 1)
    a = uu * np.sqrt(p / (2.0 * (p - 1.0)))
    return N, p, uu, a, k_max


def expected_counts(
    N: int,
    p: int,
    u: Any = np.inf,
    k_max: int | None = None,
    *,
    num_threads: int | None = None,
) -> FiniteCounts:
    """Exact E Crt_{N,k}(u) and E Crt_N(u) of the pure spherical p-spin at finite N.

    The GOE order statistics come from de Bruijn's Pfaffian formula (the generating
    function of the number of eigenvalues below a level is a ratio of Pfaffians of
    one-dimensional integrals, evaluated on a circle and Fourier-inverted); the
    energy integral is done by parts with Gauss-Legendre panels. Exact identities
    that hold to rounding: for p = 2 each index has exactly 2 critical points; on
    any sphere sum_k (-1)^k E Crt_{N,k} = 1 + (-1)^(N-1) (Euler).

    Parameters
    ----------
    N : int
        Dimension (the sphere is S^{N-1}), 2 <= N <= 24 (use
        :func:`count_monte_carlo` beyond).
    p : int
        Degree, >= 2.
    u : float or array_like
        Energy levels per site (``inf`` counts every critical point).
    k_max : int, optional
        Largest index reported, 0 <= k_max <= N - 1 (default N - 1).
    num_threads : int, optional

    Returns
    -------
    FiniteCounts
    """
    N, p, uu, a, k_max = _prepare(N, p, u, k_max)
    if N > EXACT_MAX_N:
        raise ValueError(
            f"N must be <= {EXACT_MAX_N} for the exact route, got {N}; "
            "use count_monte_carlo"
        )
    nt = check_num_threads(num_threads)
    raw = np.asarray(_L.goe_exact_counts(N, float(p), a, k_max + 1, nt))
    raw = raw.reshape(k_max + 2, uu.size) * count_prefactor(N, p)
    return FiniteCounts(N, p, uu, raw[:-1], raw[-1], "exact")


def count_monte_carlo(
    N: int,
    p: int,
    u: Any = np.inf,
    k_max: int | None = None,
    *,
    n_samples: int = 100_000,
    theta: Any = (),
    seed: int = 0,
    num_threads: int | None = None,
) -> FiniteCounts:
    """Monte Carlo E Crt_{N,k}(u) over GOE_N samples, optionally deformed.

    Undeformed (``theta`` empty) the estimator is the bounded variable
    ``C_N g(lambda_k) 1{lambda_k <= a}`` (digest 2.3, exact in law), with GOE_N drawn
    as the Dumitriu-Edelman tridiagonal matrix (O(N) to draw, O(N^2) to diagonalise).
    With ``theta`` the Hessian of digest 2.4 gets the rank-r term
    ``sum_a theta_a v_a v_a^T`` (Haar directions), see
    :func:`keatingcore.landscape.deformed_counts` for what is reconstructed there.
    Results do not depend on ``num_threads``: sample i always uses stream i.

    Parameters
    ----------
    N : int
        Dimension, >= 2.
    p : int
        Degree, >= 2.
    u : float or array_like
        Energy levels per site.
    k_max : int, optional
        Largest index reported (default N - 1).
    n_samples : int
        GOE samples, >= 2.
    theta : sequence of float
        Non-zero deformation strengths in GOE units (BBP threshold 1/sqrt 2).
    seed : int
    num_threads : int, optional

    Returns
    -------
    FiniteCounts
        With standard errors. Rare events (P(lambda_k <= a) below ~1/n_samples)
        are not resolved; use :func:`expected_counts` there.
    """
    N, p, uu, a, k_max = _prepare(N, p, u, k_max)
    n_samples = _validate.integer(n_samples, "n_samples", 2)
    th = np.atleast_1d(np.asarray(theta, dtype=float)).ravel()
    if not np.isfinite(th).all() or (th == 0).any():
        raise ValueError(f"theta entries must be finite and non-zero, got {theta!r}")
    nt = check_num_threads(num_threads)
    raw = _L.kac_rice_monte_carlo(
        N, float(p), a, k_max + 1, th, n_samples, _validate.seed(seed), nt
    )
    c = count_prefactor(N, p)
    shape = (k_max + 2, uu.size)
    mean = np.asarray(raw["sum"]).reshape(shape) / n_samples
    second = np.asarray(raw["sum_sq"]).reshape(shape) / n_samples
    var = np.maximum(second - mean**2, 0.0) * n_samples / (n_samples - 1)
    err = np.sqrt(var / n_samples) * c
    mean = mean * c
    return FiniteCounts(
        N, p, uu, mean[:-1], mean[-1], "monte_carlo", err[:-1], err[-1], n_samples, th
    )


def goe_eigenvalues(
    N: int,
    n_samples: int,
    *,
    theta: float = 0.0,
    seed: int = 0,
    num_threads: int | None = None,
) -> np.ndarray:
    """Ascending eigenvalues of GOE_N + theta v v^T, shape (n_samples, N).

    GOE_N in ABC's normalisation (E M_ij^2 = (1 + delta_ij) / (2N), semicircle on
    [-sqrt 2, sqrt 2]), sampled as the Dumitriu-Edelman tridiagonal matrix, which has
    exactly the GOE eigenvalue law; the spike is placed on e_1, equal in law to any
    unit v by orthogonal invariance.
    """
    N = _validate.integer(N, "N", 1)
    n_samples = _validate.integer(n_samples, "n_samples", 1)
    theta = float(theta)
    if not np.isfinite(theta):
        raise ValueError(f"theta must be finite, got {theta!r}")
    raw = _L.goe_eigenvalues(
        N, n_samples, theta, _validate.seed(seed), check_num_threads(num_threads)
    )
    return np.asarray(raw).reshape(n_samples, N)
