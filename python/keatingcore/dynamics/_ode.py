"""Batched integration of the reduced singular-value ODEs (C++ core).

The ODE is the project digest's derivation (``shared/papers/ce-dynamics.md``,
sections 3.1-3.2) for the deep UFM trained by gradient flow on the mean
cross-entropy (Garrod, Keating & Thrampoulidis, arXiv 2512.04006 and 2605.23087):

    d sigma_{l,k} / dt = c_l e_k(s) prod_{j != l} sigma_{j,k},
    c_0 = 1 / (n K) (features),  c_l = 1 / K (weight layers),

with ``s_k = prod_l sigma_{l,k}``, margins ``m_g = (1/K) sum_k A[g,k] s_k``,
softmax masses ``q_g = exp(-m_g) / (1 + sum_h exp(-m_h))``, error factors
``e_k = sum_g A[g,k] q_g`` and loss ``log1p(sum_g exp(-m_g))``
(:func:`~keatingcore.dynamics.margin_matrix` gives ``A``). Gradient-descent time is
``t = lr x steps``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import operator
import warnings
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from .._result import timer
from ..warnings import ConvergenceWarning
from ._spectral import margin_matrix, resolve_basis, tie_violation

logger = logging.getLogger(__name__)

METHODS = {"dopri5": 0, "dop853": 1}
STATUS = ("success", "step_limit", "step_too_small", "non_finite")
TIME_VARIABLES = ("log", "linear")


@dataclasses.dataclass(frozen=True, repr=False)
class Trajectories:
    """A batch of integrated trajectories of the reduced ODE.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Output times (gradient-flow time, ``t = lr x steps``).
    sigma : ndarray, shape (B, T, depth, K-1)
        Per-layer singular values; NaN after a trajectory stopped early.
    loss : ndarray, shape (B, T)
        Mean cross-entropy.
    steps, rejected, evals : ndarray of int, shape (B,)
        Accepted steps, rejected steps and right-hand-side evaluations.
    status : ndarray of int, shape (B,)
        Index into :data:`STATUS`: 0 success, 1 step limit (``max_steps``),
        2 step size underflow, 3 non-finite right-hand side. Outputs before the stop
        are kept.
    t_reached : ndarray, shape (B,)
        Time of the last accepted step.
    K, n : int, float
        Classes and samples per class.
    basis, method, time_variable : str
    rtol, atol : float
    elapsed : float
        Wall-clock seconds of the call.
    """

    t: np.ndarray
    sigma: np.ndarray
    loss: np.ndarray
    steps: np.ndarray
    rejected: np.ndarray
    evals: np.ndarray
    status: np.ndarray
    t_reached: np.ndarray
    K: int
    n: float
    basis: str
    method: str
    time_variable: str
    rtol: float
    atol: float
    elapsed: float

    @property
    def depth(self) -> int:
        return self.sigma.shape[2]

    @property
    def s(self) -> np.ndarray:
        """Products ``s_k = prod_l sigma_{l,k}``, shape (B, T, K-1)."""
        return np.prod(self.sigma, axis=2)

    @property
    def success(self) -> np.ndarray:
        """Per-trajectory success flag, shape (B,)."""
        return self.status == 0

    @property
    def converged(self) -> bool:
        """Whether every trajectory reached the last output time."""
        return bool(np.all(self.success))

    @property
    def status_names(self) -> list[str]:
        return [STATUS[int(c)] for c in self.status]

    def error_factors(self) -> np.ndarray:
        """``e_k`` at every output, shape (B, T, K-1)."""
        return rhs(self.sigma, n=self.n, basis=self.basis)[2]

    def conserved(self) -> np.ndarray:
        """:func:`conserved_quantities` at every output, shape (B, T, depth-1, K-1)."""
        return conserved_quantities(self.sigma, self.n)

    def __repr__(self) -> str:
        B = self.sigma.shape[0]
        ok = int(self.success.sum())
        mean = float(self.steps.mean()) if B else 0.0
        return (
            f"Trajectories({B} x depth {self.depth}, K={self.K}, n={self.n:g}, "
            f"{self.basis}; {ok}/{B} succeeded; steps mean "
            f"{mean:.0f} max {self.steps.max(initial=0)}; "
            f"{self.method} rtol={self.rtol:g} atol={self.atol:g}, "
            f"{self.elapsed:.3g} s)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (arrays as nested lists)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        out["status_names"] = self.status_names
        return out


def conserved_quantities(sigma, n: float = 1.0) -> np.ndarray:
    """Quantities gradient flow conserves: ``w_l sigma_l^2 - w_{l+1} sigma_{l+1}^2``.

    ``w_0 = n`` for the features and ``w_l = 1`` for the weights (digest 3.3, the
    spectral form of ``X_{l+1}^T X_{l+1} - X_l X_l^T = const``). All vanish for a
    balanced start.

    Parameters
    ----------
    sigma : array_like, shape (..., depth, K-1)
    n : float
        Samples per class.

    Returns
    -------
    ndarray, shape (..., depth-1, K-1)
    """
    sigma = np.asarray(sigma, dtype=float)
    sq = sigma**2
    w = np.ones(sigma.shape[-2])
    w[0] = n
    sq = sq * w[:, None]
    return sq[..., :-1, :] - sq[..., 1:, :]


def _check_state(sigma0, K) -> tuple[np.ndarray, int]:
    sigma0 = np.asarray(sigma0, dtype=float)
    if sigma0.ndim == 2:
        sigma0 = sigma0[None]
    if sigma0.ndim != 3 or sigma0.shape[1] < 2 or sigma0.shape[2] < 1:
        raise ValueError(
            "sigma0 must have shape (depth, K-1) or (B, depth, K-1) with depth >= 2 "
            f"and K >= 2, got {np.shape(sigma0)}"
        )
    if K is None:
        K = sigma0.shape[2] + 1
    try:
        K = operator.index(K)
    except TypeError:
        raise TypeError(f"K must be an int >= 2, got {K!r}") from None
    if K < 2:
        raise ValueError(f"K must be >= 2, got {K}")
    if sigma0.shape[2] != K - 1:
        raise ValueError(
            f"sigma0 must have K-1 = {K - 1} modes in its last axis, "
            f"got shape {sigma0.shape}"
        )
    if not np.all(np.isfinite(sigma0)):
        raise ValueError("sigma0 must be finite")
    return np.ascontiguousarray(sigma0), K


def _check_positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _check_times(t) -> np.ndarray:
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(
            f"t must be a non-empty 1-D array of times, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("t must hold finite times >= 0")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    return t


def _check_tie(sigma: np.ndarray, K: int, basis: str) -> None:
    if basis == "fourier" and tie_violation(sigma, K) > 1e-12:
        raise ValueError(
            "sigma0 must give the cosine and sine modes of each frequency equal "
            "values in every layer (basis='fourier'; modes 2j-1 and 2j)"
        )


def rhs(sigma, K: int | None = None, n: float = 1.0, basis: str = "auto"):
    """Right-hand side, loss and error factors of the reduced ODE (C++).

    Parameters
    ----------
    sigma : array_like, shape (..., depth, K-1)
    K : int, optional
        Classes; inferred from the last axis.
    n : float
        Samples per class.
    basis : {"auto", "walsh", "fourier"}

    Returns
    -------
    dsigma : ndarray, shape (..., depth, K-1)
        ``d sigma / dt``.
    loss : ndarray, shape (...)
        Mean cross-entropy.
    e : ndarray, shape (..., K-1)
        Error factors ``e_k = 1 - lambda_k``.
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim < 2:
        raise ValueError(f"sigma must have shape (..., depth, K-1), got {sigma.shape}")
    lead = sigma.shape[:-2]
    flat, K = _check_state(sigma.reshape(-1, *sigma.shape[-2:]), K)
    n = _check_positive(n, "n")
    basis = resolve_basis(K, basis)
    dy, loss, e = _core.dynamics.rhs(flat, margin_matrix(K, basis), K, n)
    return dy.reshape(sigma.shape), loss.reshape(lead), e.reshape(*lead, K - 1)


def integrate(
    sigma0,
    K: int | None = None,
    n: float = 1.0,
    t=None,
    *,
    basis: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-12,
    method: str = "dopri5",
    time_variable: str = "log",
    max_steps: int = 100_000,
    first_step: float | None = None,
    max_step: float | None = None,
    num_threads: int | None = None,
    device: str = "cpu",
) -> Trajectories:
    """Integrate the reduced ODE for one or many initial conditions.

    Each trajectory has its own adaptive step (embedded Runge-Kutta: DOPRI5, or
    DOP853 for tight tolerances) and dense output at the requested times. With
    ``time_variable="log"`` the solver integrates in ``tau = log(1 + t)``, where the
    logarithmic growth of the singular values is smooth, so ``t = 1e12`` costs a
    few hundred steps (digest 6.2). Trajectories run in parallel C++ threads with
    the GIL released; results do not depend on the thread count.

    Parameters
    ----------
    sigma0 : array_like, shape (depth, K-1) or (B, depth, K-1)
        Initial per-layer singular values at ``t = 0`` (row 0 the features).
    K : int, optional
        Classes; inferred from ``sigma0``; if given it must match.
    n : float
        Samples per class, > 0.
    t : array_like
        Output times, finite, >= 0 and non-decreasing (a scalar: one time).
    basis : {"auto", "walsh", "fourier"}
        ``"auto"``: Walsh for K = 2^m, else Fourier (needs tied cosine/sine pairs).
    rtol, atol : float
        Relative and absolute tolerances, > 0. Keep ``atol`` well below the
        smallest initial value (digest 6.3).
    method : {"dopri5", "dop853"}
    time_variable : {"log", "linear"}
        Integrate in ``log(1 + t)`` or in ``t``.
    max_steps : int
        Accepted plus rejected steps allowed per trajectory, >= 1.
    first_step, max_step : float, optional
        First and largest step, in the integration variable.
    num_threads : int, optional
        CPU threads (default: the package setting).
    device : {"cpu", "cuda"}
        ``"cuda"`` runs one GPU thread per trajectory (build with CUDA needed).

    Returns
    -------
    Trajectories
        Arrays with a batch axis even for a single ``(depth, K-1)`` input.

    Warns
    -----
    ConvergenceWarning
        When a trajectory stops early; the message names ``max_steps``.
    """
    sigma, K = _check_state(sigma0, K)
    n = _check_positive(n, "n")
    if t is None:
        raise ValueError("t must be given: the output times")
    times = _check_times(t)
    basis = resolve_basis(K, basis)
    _check_tie(sigma, K, basis)
    rtol = _check_positive(rtol, "rtol")
    atol = _check_positive(atol, "atol")
    if method not in METHODS:
        raise ValueError(f"method must be 'dopri5' or 'dop853', got {method!r}")
    if time_variable not in TIME_VARIABLES:
        raise ValueError(
            f"time_variable must be 'log' or 'linear', got {time_variable!r}"
        )
    max_steps = operator.index(max_steps)
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    first = 0.0 if first_step is None else _check_positive(first_step, "first_step")
    largest = math.inf if max_step is None else _check_positive(max_step, "max_step")
    threads = check_num_threads(num_threads)
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and _core.cuda_device_count() == 0:
        raise RuntimeError(f"device='cuda' is unavailable: {_core.cuda_status()}")

    log_time = time_variable == "log"
    x_out = np.log1p(times) if log_time else times
    with timer() as elapsed:
        raw = _core.dynamics.integrate(
            sigma,
            margin_matrix(K, basis),
            K,
            n,
            x_out,
            0.0,
            METHODS[method],
            rtol,
            atol,
            max_steps,
            first,
            largest,
            log_time,
            num_threads=threads,
            cuda=device == "cuda",
        )
    reached = raw["x_reached"]
    result = Trajectories(
        t=times,
        sigma=raw["y"],
        loss=raw["loss"],
        steps=raw["steps"],
        rejected=raw["rejected"],
        evals=raw["evals"],
        status=raw["status"],
        t_reached=np.expm1(reached) if log_time else reached,
        K=K,
        n=n,
        basis=basis,
        method=method,
        time_variable=time_variable,
        rtol=rtol,
        atol=atol,
        elapsed=elapsed[0],
    )
    logger.debug("%r", result)
    failed = ~result.success
    if failed.any():
        counts = {STATUS[c]: int((result.status == c).sum()) for c in range(1, 4)}
        detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        warnings.warn(
            f"{int(failed.sum())} of {failed.size} trajectories stopped early "
            f"({detail}); raise max_steps (now {max_steps}) or loosen rtol/atol. "
            "Outputs before the stop are kept, later ones are NaN.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result
