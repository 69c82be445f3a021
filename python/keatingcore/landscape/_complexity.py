"""Exact asymptotic complexity of the pure spherical p-spin glass.

Everything here is **exact** (digest section 3): the closed forms of Auffinger, Ben
Arous and Cerny, "Random matrices and complexity of spin glasses", CPAM 66 (2013),
arXiv:1003.1129, which by the summary of Baskerville, Keating, Mezzadri and Najnudel,
"The loss surfaces of neural networks with general activation functions", J. Stat.
Mech. (2021), arXiv:2004.03959, are also the leading-order answer for every
activation, with p = H (depth) and N = number of distinct weights.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from .._result import SolverResult, timer
from ..warnings import ConvergenceWarning
from . import _validate

logger = logging.getLogger(__name__)
_L = _core.landscape


def e_inf(p: Any) -> np.ndarray | float:
    r"""The bulk-edge energy :math:`E_\infty(p) = 2\sqrt{(p-1)/p}` (exact).

    Parameters
    ----------
    p : int or array_like of int
        Degree of the spin glass (network depth H), >= 3.

    Returns
    -------
    float or ndarray
        Same shape as ``p``.
    """
    pp = _validate.degrees(p)
    out = 2.0 * np.sqrt((pp - 1.0) / pp)
    return float(out) if out.ndim == 0 else out


def goe_edge_rate(x: Any) -> np.ndarray | float:
    r"""Large-deviation rate :math:`J(x)` of one GOE eigenvalue at ``x`` (exact).

    For the GOE normalised to the semicircle on :math:`[-\sqrt2, \sqrt2]`,
    :math:`J(x) = \int_{\sqrt2}^{|x|} \sqrt{z^2 - 2}\,dz` outside the bulk and 0 inside.

    Parameters
    ----------
    x : float or array_like
        Spectral positions; NaN is refused.

    Returns
    -------
    float or ndarray
    """
    arr = _validate.energies(x, "x")
    out = np.asarray(_L.goe_edge_rate(arr.ravel())).reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


def edge_rate(u: Any, p: Any) -> np.ndarray | float:
    r"""The edge rate :math:`I_1(u)` on the energy axis (exact; digest section 3).

    :math:`I_1(u) = J(u\sqrt{p/(2(p-1))})`, zero for :math:`u \ge -E_\infty`.

    Parameters
    ----------
    u : float or array_like
        Energies per site; broadcast against ``p``.
    p : int or array_like of int
        Degree, >= 3.
    """
    uu, pp = np.broadcast_arrays(_validate.energies(u), _validate.degrees(p))
    return goe_edge_rate(uu * np.sqrt(pp / (2.0 * (pp - 1.0))))


def _upk(u: Any, p: Any, index: Any) -> tuple[np.ndarray, ...]:
    uu = _validate.energies(u)
    pp = _validate.degrees(p)
    kk = np.asarray(-1) if index is None else _validate.indices(index)
    uu, pp, kk = np.broadcast_arrays(uu, pp, kk)
    return uu, pp, kk


def _call(kernel: Any, u: Any, p: Any, index: Any, num_threads: Any) -> Any:
    uu, pp, kk = _upk(u, p, index)
    nt = check_num_threads(num_threads)
    out = np.asarray(
        kernel(
            np.ascontiguousarray(uu, dtype=float).ravel(),
            np.ascontiguousarray(pp, dtype=float).ravel(),
            np.ascontiguousarray(kk, dtype=np.int32).ravel(),
            nt,
        )
    ).reshape(uu.shape)
    return float(out) if out.ndim == 0 else out


def complexity(
    u: Any, p: Any, index: Any = None, num_threads: int | None = None
) -> np.ndarray | float:
    r"""Annealed complexity :math:`\Theta_p(u)` or :math:`\Theta_{k,p}(u)` (exact).

    :math:`\Theta = \lim_N N^{-1} \log E\,\mathrm{Crt}_N(u)`, the exponential growth
    rate of the mean number of critical points with energy per site at most ``u``
    (all indices, or index ``k``); closed forms of Auffinger, Ben Arous and Cerny
    (CPAM 2013), digest section 3. For p = H this is also the leading order for every
    activation (Baskerville et al. 2021, digest section 4.1).

    Parameters
    ----------
    u : float or array_like
        Energies per site, H_N / N. NaN raises; -inf gives -inf.
    p : int or array_like of int
        Degree (network depth), >= 3.
    index : int or array_like of int, optional
        Morse index k >= 0; ``None`` for the total complexity. ``u``, ``p`` and
        ``index`` broadcast together.
    num_threads : int, optional
        Threads for long arrays (the package default if ``None``).

    Returns
    -------
    float or ndarray
        The broadcast shape of the inputs.

    Examples
    --------
    >>> import keatingcore.landscape as ls
    >>> round(ls.complexity(0.0, 3), 6)  # log(2) / 2
    0.346574
    """
    return _call(_L.complexity, u, p, index, num_threads)


def log_potential(x: Any) -> np.ndarray | float:
    r"""Semicircle log-potential :math:`\Omega(x) = \int \log|x-y|\,\rho_{sc}(y)dy`.

    Computed by graded Gauss-Legendre quadrature (no closed form used), for the
    semicircle on :math:`[-\sqrt2, \sqrt2]`; the independent route of digest section 3.
    """
    arr = _validate.energies(x, "x")
    out = np.asarray(_L.log_potential(arr.ravel())).reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


def complexity_log_potential(
    u: Any, p: Any, index: Any = None, num_threads: int | None = None
) -> np.ndarray | float:
    r"""The complexity by the second, independent route (quadrature + supremum).

    :math:`\Theta_p(u) = \sup_{v \le u} [\tfrac12 + \tfrac12\log(2(p-1)) +
    \Omega(v\sqrt{p/(2(p-1))}) - v^2/2]` with :math:`\Omega` from
    :func:`log_potential`; for index k the supremum runs over
    :math:`v \le \min(u, -E_\infty)` and k further eigenvalues pay the rate
    :math:`J = x^2/2 - 1/2 - \log(2)/2 - \Omega(x)` each. The supremum is found by
    golden-section search. Agrees with :func:`complexity` to about 1e-12; about
    10^4 times slower, for cross-validation only.
    """
    return _call(_L.complexity_by_potential, u, p, index, num_threads)


@dataclasses.dataclass(frozen=True, repr=False)
class ThresholdResult(SolverResult):
    """Thresholds :math:`E_0 > E_1 > ... > E_\\infty` for each p.

    Attributes
    ----------
    p : ndarray, shape (n_p,)
    k : ndarray, shape (k_max + 1,)
    E_inf : ndarray, shape (n_p,)
    E : ndarray, shape (n_p, k_max + 1)
        ``E[i, k]`` = E_k(p_i): minus the zero of Theta_{k,p} below -E_inf.
    residuals : ndarray, shape (n_p, k_max + 1)
        |Theta_{k,p}(-E_k)| at the returned roots.
    iterations : ndarray, shape (n_p, k_max + 1)
    """

    p: np.ndarray
    k: np.ndarray
    E_inf: np.ndarray
    E: np.ndarray
    residuals: np.ndarray
    iterations: np.ndarray

    @property
    def E0(self) -> np.ndarray:
        """E_0(p): the annealed ground-state level, one per p."""
        return self.E[:, 0]


def thresholds(
    p: Any,
    k_max: int = 10,
    *,
    tol: float = 1e-15,
    max_iter: int = 100,
    num_threads: int | None = None,
) -> ThresholdResult:
    r"""The thresholds :math:`E_\infty(p)` and :math:`E_0(p), ..., E_{k_{max}}(p)`.

    :math:`E_k` is minus the unique zero of :math:`\Theta_{k,p}` on
    :math:`(-\infty, -E_\infty)` (exact definition, digest section 3), found by
    Newton steps kept inside a bisection bracket in :math:`y`, where
    :math:`E = E_\infty\sqrt{1+y^2}` (the bracket :math:`[0, \sqrt{c_0 p/(p-2)}]` is
    proven). Published anchor: p = 3 gives E_0 = 1.65699..., E_inf = 1.63299...

    Parameters
    ----------
    p : int or array_like of int
        Degrees, >= 3 (1-D after ``np.atleast_1d``).
    k_max : int
        Largest index, >= 0.
    tol : float
        Absolute tolerance on y (and so on E_k), > 0.
    max_iter : int
        Root-finder iterations per threshold, >= 1.
    num_threads : int, optional

    Returns
    -------
    ThresholdResult
        ``converged`` is True when every root converged; ``residual`` is the
        largest |Theta_{k,p}(-E_k)|.
    """
    pp = np.atleast_1d(_validate.degrees(p)).astype(float).ravel()
    k_max = _validate.integer(k_max, "k_max", 0)
    tol = _validate.positive(tol, "tol")
    max_iter = _validate.integer(max_iter, "max_iter", 1)
    nt = check_num_threads(num_threads)
    with timer() as elapsed:
        raw = _L.thresholds(pp, k_max, tol, max_iter, nt)
    shape = (pp.size, k_max + 1)
    conv = np.asarray(raw["converged"]).reshape(shape).astype(bool)
    res = np.asarray(raw["residual"]).reshape(shape)
    its = np.asarray(raw["n_iter"]).reshape(shape)
    if not conv.all():
        warnings.warn(
            f"{int((~conv).sum())} thresholds did not converge; raise max_iter "
            f"(now {max_iter}) or tol (now {tol:g})",
            ConvergenceWarning,
            stacklevel=2,
        )
    logger.debug("thresholds for p=%s up to k=%d in %.3g s", pp, k_max, elapsed[0])
    return ThresholdResult(
        converged=bool(conv.all()),
        n_iter=int(its.max()),
        residual=float(res.max()),
        elapsed=elapsed[0],
        p=pp,
        k=np.arange(k_max + 1),
        E_inf=2.0 * np.sqrt((pp - 1.0) / pp),
        E=np.asarray(raw["value"]).reshape(shape),
        residuals=res,
        iterations=its,
    )
