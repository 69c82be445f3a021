"""Critical points of sampled p-spin Hamiltonians, found directly.

The Hamiltonian is :math:`H(s) = N^{-(p-1)/2}\\sum J_{i_1..i_p} s_{i_1}\\cdots
s_{i_p}` on :math:`|s|^2 = N` with iid standard normal couplings (digest 2.2; the
spherical H-spin glass of Choromanska et al. with p = H, N = Lambda). These routines
are the empirical side: multistart Newton counts at small N, to set against
:func:`expected_counts`, and gradient descent at larger N, to set against the band
:math:`[-E_0, -E_\\infty]`.
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


@dataclasses.dataclass(frozen=True, repr=False)
class CriticalPointsResult(SolverResult):
    """Critical points of ``n_samples`` independent Hamiltonians.

    ``converged`` means every sample passed the completeness check (the Euler
    relation sum_k (-1)^k Crt_k = 1 + (-1)^(N-1), which holds for every Morse
    function on the sphere, and no new point in the last ``patience`` starts);
    ``n_iter`` is the total number of Newton starts; ``residual`` the largest
    Riemannian gradient (per sqrt N) accepted.

    Attributes
    ----------
    N, p : int
    sample, index : ndarray of int, one entry per critical point
    energy : ndarray, one entry per critical point (H / N)
    n_starts : ndarray, per sample
    euler_ok : ndarray of bool, per sample
    """

    N: int
    p: int
    sample: np.ndarray
    energy: np.ndarray
    index: np.ndarray
    n_starts: np.ndarray
    euler_ok: np.ndarray

    @property
    def n_samples(self) -> int:
        """Number of Hamiltonians."""
        return int(self.n_starts.size)

    def counts(self, u: Any = np.inf) -> np.ndarray:
        """Counts per sample and index below each level, shape (n_u, n_samples, N)."""
        uu = np.atleast_1d(_validate.energies(u)).ravel()
        out = np.zeros((uu.size, self.n_samples, self.N))
        for j, level in enumerate(uu):
            sel = self.energy <= level
            np.add.at(out[j], (self.sample[sel], self.index[sel]), 1.0)
        return out

    def mean_counts(self, u: Any = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Mean count by index below each level and its standard error, (n_u, N)."""
        c = self.counts(u)
        return c.mean(1), c.std(1, ddof=1) / np.sqrt(self.n_samples)


def find_critical_points(
    N: int,
    p: int,
    n_samples: int = 100,
    *,
    min_starts: int = 50,
    max_starts: int = 20_000,
    patience: int = 200,
    tol: float = 1e-10,
    max_iter: int = 60,
    seed: int = 0,
    num_threads: int | None = None,
) -> CriticalPointsResult:
    """All critical points of sampled p-spin Hamiltonians by multistart Newton.

    Riemannian Newton on the Lagrange system grad H = mu s, |s|^2 = N from uniform
    random starts (steps capped at sqrt(N) / 2), de-duplicated at distance
    1e-6 sqrt(N); every point found adds its antipode (H(-s) = (-1)^p H(s)). A sample
    stops when it has used ``min_starts``, the last ``patience`` starts found nothing
    new and the Euler relation holds, or at ``max_starts``.

    Parameters
    ----------
    N : int
        Dimension, 2 <= N <= 12 (the search is exhaustive only for small N).
    p : int
        Degree, >= 2.
    n_samples : int
        Independent Hamiltonians (sample i uses stream i of ``seed``).
    min_starts, max_starts, patience : int
        Start budget per sample (see above).
    tol : float
        Riemannian gradient tolerance, per sqrt N.
    max_iter : int
        Newton iterations per start.
    seed : int
    num_threads : int, optional

    Returns
    -------
    CriticalPointsResult
    """
    N = _validate.integer(N, "N", 2, 12)
    p = int(_validate.degrees(p, minimum=2))
    n_samples = _validate.integer(n_samples, "n_samples", 1)
    min_starts = _validate.integer(min_starts, "min_starts", 1)
    max_starts = _validate.integer(max_starts, "max_starts", min_starts)
    patience = _validate.integer(patience, "patience", 0)
    tol = _validate.positive(tol, "tol")
    max_iter = _validate.integer(max_iter, "max_iter", 1)
    nt = check_num_threads(num_threads)
    with timer() as elapsed:
        raw = _L.find_critical_points(
            N,
            p,
            n_samples,
            min_starts,
            max_starts,
            patience,
            tol,
            max_iter,
            _validate.seed(seed),
            nt,
        )
    euler = np.asarray(raw["euler_ok"]).astype(bool)
    starts = np.asarray(raw["n_starts"])
    if not euler.all():
        warnings.warn(
            f"{int((~euler).sum())} of {n_samples} samples failed the Euler check; "
            f"raise max_starts (now {max_starts})",
            ConvergenceWarning,
            stacklevel=2,
        )
    return CriticalPointsResult(
        converged=bool(euler.all()),
        n_iter=int(starts.sum()),
        residual=float(raw["max_gradient"]),
        elapsed=elapsed[0],
        N=N,
        p=p,
        sample=np.asarray(raw["sample"]),
        energy=np.asarray(raw["energy"]),
        index=np.asarray(raw["index"]),
        n_starts=starts,
        euler_ok=euler,
    )


@dataclasses.dataclass(frozen=True, repr=False)
class DescentResult(SolverResult):
    """End points of gradient descent, one run per Hamiltonian sample.

    ``converged``: every run reached the gradient tolerance; ``n_iter``: the largest
    number of steps; ``residual``: the largest final gradient (per sqrt N).

    Attributes
    ----------
    N, p : int
    energy : ndarray
        Final H / N per run.
    index : ndarray of int
        Hessian index at the end point (-1 when not computed).
    band : tuple of float
        (-E_0(p), -E_inf(p)), the band where the theory puts low-index minima.
    """

    N: int
    p: int
    energy: np.ndarray
    index: np.ndarray
    gradient: np.ndarray
    iterations: np.ndarray
    band: tuple[float, float]

    @property
    def fraction_in_band(self) -> float:
        """Fraction of runs ending in [-E_0, -E_inf]."""
        lo, hi = self.band
        return float(np.mean((self.energy >= lo) & (self.energy <= hi)))


def gradient_descent(
    N: int,
    p: int = 3,
    n_runs: int = 16,
    *,
    step: float = 0.1,
    tol: float = 1e-6,
    max_iter: int = 50_000,
    compute_index: bool = True,
    seed: int = 0,
    num_threads: int | None = None,
) -> DescentResult:
    """Riemannian gradient descent from uniform random starts on p-spin samples.

    Each run draws its own Hamiltonian, starts uniformly on the sphere and takes
    steps ``s <- sqrt(N) (s - step grad_T H) / |...|`` until the tangent gradient per
    sqrt N is below ``tol``. The end points are compared with the band
    [-E_0(p), -E_inf(p)] of the layered structure (digest section 3); at finite N
    they approach it from above as N grows.

    Parameters
    ----------
    N : int
        Dimension, >= 2 (cost per step N^p).
    p : int
        Degree, 3 <= p <= 6.
    n_runs : int
    step : float
        Step size, > 0 (the Hessian norm is about 2 sqrt(2 p (p - 1)) + p E_0).
    tol : float
    max_iter : int
    compute_index : bool
        Diagonalise the Hessian at the end points (O(N^3) each).
    seed : int
    num_threads : int, optional

    Returns
    -------
    DescentResult
    """
    N = _validate.integer(N, "N", 2)
    p = int(_validate.degrees(p, minimum=3))
    if p > 6:
        raise ValueError(f"p must be <= 6 for gradient descent (N^p memory), got {p}")
    n_runs = _validate.integer(n_runs, "n_runs", 1)
    step = _validate.positive(step, "step")
    tol = _validate.positive(tol, "tol")
    max_iter = _validate.integer(max_iter, "max_iter", 1)
    nt = check_num_threads(num_threads)
    with timer() as elapsed:
        raw = _L.gradient_descent(
            N,
            p,
            n_runs,
            step,
            tol,
            max_iter,
            bool(compute_index),
            _validate.seed(seed),
            nt,
        )
    conv = np.asarray(raw["converged"]).astype(bool)
    if not conv.all():
        warnings.warn(
            f"{int((~conv).sum())} of {n_runs} descents stopped before tol; raise "
            f"max_iter (now {max_iter}) or step (now {step:g})",
            ConvergenceWarning,
            stacklevel=2,
        )
    from ._complexity import thresholds

    t = thresholds(p, 0)
    grad = np.asarray(raw["gradient"])
    its = np.asarray(raw["n_iter"])
    return DescentResult(
        converged=bool(conv.all()),
        n_iter=int(its.max()),
        residual=float(grad.max()),
        elapsed=elapsed[0],
        N=N,
        p=p,
        energy=np.asarray(raw["energy"]),
        index=np.asarray(raw["index"]),
        gradient=grad,
        iterations=its,
        band=(-float(t.E[0, 0]), -float(t.E_inf[0])),
    )
