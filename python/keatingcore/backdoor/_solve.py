"""Gaussian-proxy fixed point for convex losses, one point or a whole grid, in C++.

Equations: digest of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481,
section 3. The C++ core runs Newton on the mean block (u1, u2, b) and Anderson
acceleration on log(V, Q, hat-V); grids run in parallel with continuation along alpha.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import warnings
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from .._result import timer
from ..warnings import ConvergenceWarning
from ._result import BackdoorResult, test_metrics
from ._setup import SCALAR_FIELDS, Setup, check_params

logger = logging.getLogger(__name__)

LOSSES = {"square": 0, "logistic": 1, "hinge": 2}
STATUS = {0: "converged", 1: "max_iter reached", 2: "diverged"}
STATE_COLUMNS = ("V", "Q", "V_hat", "w_dot_mu", "w_dot_t", "b")
POINT_FIELDS = (
    "clean_accuracy",
    "attack_success",
    "w_dot_mu",
    "w_dot_t",
    "Q",
    "b",
    "V",
    "V_hat",
    "noise_floor",
    "converged",
    "n_iter",
    "residual",
)


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Knobs of the fixed-point solver.

    Attributes
    ----------
    tol : float
        Stop when every relative change of (V, Q, hat-V) in one map is below tol.
    max_iter : int
        Outer iterations before giving up.
    damping : float
        Mixing weight in (0, 1] of the Anderson step.
    anderson : int
        Anderson memory (0 = plain damped iteration).
    n_quad : int
        Gauss-Hermite nodes for the logistic loss (square and hinge are exact).
    """

    tol: float = 1e-10
    max_iter: int = 500
    damping: float = 1.0
    anderson: int = 2
    n_quad: int = 64

    def __post_init__(self) -> None:
        if not (np.isfinite(self.tol) and 0 < self.tol < 1):
            raise ValueError(f"tol must be in (0, 1), got {self.tol!r}")
        if int(self.max_iter) != self.max_iter or self.max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {self.max_iter!r}")
        if not 0 < self.damping <= 1:
            raise ValueError(f"damping must be in (0, 1], got {self.damping!r}")
        if int(self.anderson) != self.anderson or not 0 <= self.anderson <= 10:
            raise ValueError(
                f"anderson must be an int in [0, 10], got {self.anderson!r}"
            )
        if int(self.n_quad) != self.n_quad or not 8 <= self.n_quad <= 400:
            raise ValueError(f"n_quad must be an int in [8, 400], got {self.n_quad!r}")


@functools.lru_cache(maxsize=16)
def _gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum to one."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _check_loss(loss: str) -> int:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    return LOSSES[loss]


def _run_core(setup, points, chain, loss, opts, warm, num_threads):
    g = setup.geometry
    nodes, weights = _gauss_hermite(opts.n_quad)
    return _core.backdoor.solve_grid(
        g.sigma,
        g.mean,
        g.trigger,
        points,
        chain,
        _check_loss(loss),
        setup.balance == "additive",
        setup.intercept,
        nodes,
        weights,
        opts.tol,
        int(opts.max_iter),
        opts.damping,
        int(opts.anderson),
        warm,
        check_num_threads(num_threads),
    )


def _warn_unconverged(status: np.ndarray, opts: SolverOptions, where: str) -> None:
    bad = status != 0
    if not np.any(bad):
        return
    diverged = int(np.sum(status == 2))
    text = (
        f"{where}: {int(bad.sum())} of {status.size} point(s) did not converge "
        f"({diverged} diverged); raise max_iter (now {opts.max_iter}) or lower "
        f"damping (now {opts.damping}); a diverging V or Q means no finite "
        "minimiser (e.g. separable data: raise lam)"
    )
    warnings.warn(text, ConvergenceWarning, stacklevel=3)


def solve(
    setup: Setup,
    loss: str = "logistic",
    *,
    warm_start: BackdoorResult | None = None,
    num_threads: int | None = None,
    **options: Any,
) -> BackdoorResult:
    """Solve the Gaussian-proxy fixed point for one problem.

    Parameters
    ----------
    setup : Setup
        The problem.
    loss : {"square", "logistic", "hinge"}
        Training loss. "square" reproduces :func:`ridge_theory`.
    warm_start : BackdoorResult, optional
        A previous solution to start from (e.g. at a nearby alpha).
    num_threads : int, optional
        Accepted for a uniform signature; a single point runs on one thread.
    **options
        Fields of :class:`SolverOptions`: ``tol``, ``max_iter``, ``damping``,
        ``anderson``, ``n_quad``.

    Returns
    -------
    BackdoorResult
        Non-convergence also emits a :class:`~keatingcore.warnings.ConvergenceWarning`.
    """
    opts = SolverOptions(**options)
    if loss == "square" and setup.lam == 0 and setup.kappa >= 1:
        raise ValueError(f"lam must be > 0 when kappa >= 1 (got kappa={setup.kappa})")
    points = np.array([[getattr(setup, k) for k in SCALAR_FIELDS]])
    warm = None
    if warm_start is not None:
        warm = np.array([[getattr(warm_start, k) for k in STATE_COLUMNS]])
    with timer() as elapsed:
        out = _run_core(setup, points, 1, loss, opts, warm, num_threads)
    _warn_unconverged(out["status"], opts, "solve")
    V, Q, V_hat, u1, u2, b = out["state"][0]
    return BackdoorResult.build(
        setup,
        loss,
        u1=u1,
        u2=u2,
        b=b,
        Q=Q,
        V=V,
        V_hat=V_hat,
        noise_floor=out["metrics"][0, 3],
        converged=out["status"][0] == 0,
        n_iter=out["n_iter"][0],
        residual=out["residual"][0],
        elapsed=elapsed[0],
    )


@dataclasses.dataclass(frozen=True, repr=False)
class SweepResult:
    """Fixed points on a Cartesian grid.

    Attributes
    ----------
    axes : dict of str to ndarray
        The swept parameters in grid order (alpha last); array fields have the shape
        ``tuple(len(v) for v in axes.values())``.
    clean_accuracy, attack_success, w_dot_mu, w_dot_t, Q, b, V, V_hat, noise_floor :
        ndarray
    converged : ndarray of bool
    n_iter : ndarray of int
    residual : ndarray
    elapsed : float
        Seconds for the whole grid.
    """

    axes: dict[str, np.ndarray]
    clean_accuracy: np.ndarray
    attack_success: np.ndarray
    w_dot_mu: np.ndarray
    w_dot_t: np.ndarray
    Q: np.ndarray
    b: np.ndarray
    V: np.ndarray
    V_hat: np.ndarray
    noise_floor: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    residual: np.ndarray
    elapsed: float
    loss: str
    setup: Setup

    @property
    def shape(self) -> tuple[int, ...]:
        return self.clean_accuracy.shape

    def __repr__(self) -> str:
        axes = ", ".join(f"{k}[{v.size}]" for k, v in self.axes.items())
        n_bad = int((~self.converged).sum())
        return (
            f"SweepResult({self.loss}; grid {axes}; {self.converged.size - n_bad} "
            f"converged, {n_bad} not; {self.elapsed:.3g} s)"
        )

    def columns(self) -> dict[str, np.ndarray]:
        """Flat columns, one entry per grid point: the swept axes, then every field."""
        mesh = np.meshgrid(*self.axes.values(), indexing="ij")
        cols = {k: m.reshape(-1) for k, m in zip(self.axes, mesh, strict=True)}
        for name in POINT_FIELDS:
            cols[name] = getattr(self, name).reshape(-1)
        return cols

    def to_frame(self):
        """One row per grid point, as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("to_frame needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.columns())


def sweep(
    setup: Setup,
    loss: str = "logistic",
    *,
    num_threads: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 500,
    damping: float = 1.0,
    anderson: int = 2,
    n_quad: int = 64,
    **grid: Any,
) -> SweepResult:
    """Solve the fixed point on the Cartesian grid of any of the scalar parameters.

    Parameters
    ----------
    setup : Setup
        Fixes everything not swept (geometry, balance, intercept, ...).
    loss : {"square", "logistic", "hinge"}
    num_threads : int, optional
        Threads (default: :func:`keatingcore.set_num_threads`). Results do not depend
        on it.
    tol, max_iter, damping, anderson, n_quad
        As in :class:`SolverOptions`.
    **grid
        Any of kappa, lam, snr, eps, alpha, alpha_test, each a scalar or 1-D array.
        The grid's axes are in the order given, with alpha moved last: each run of
        alpha values is solved in sequence, each point warm-started from the previous.

    Returns
    -------
    SweepResult
    """
    opts = SolverOptions(tol, max_iter, damping, anderson, n_quad)
    _check_loss(loss)
    axes = {}
    for name, values in grid.items():
        if name not in SCALAR_FIELDS:
            raise TypeError(f"cannot sweep {name!r}; sweepable: {SCALAR_FIELDS}")
        arr = np.atleast_1d(np.asarray(values, dtype=float))
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a scalar or a non-empty 1-D array")
        check_params(setup.balance, **{name: arr})
        axes[name] = arr
    if "alpha" in axes:
        axes["alpha"] = axes.pop("alpha")
    if loss == "square" and "lam" in axes or "kappa" in axes:
        lam = axes.get("lam", np.array([setup.lam]))
        kappa = axes.get("kappa", np.array([setup.kappa]))
        if loss == "square" and np.any(lam == 0) and np.any(kappa >= 1):
            raise ValueError("lam must be > 0 where kappa >= 1 for the square loss")

    shape = tuple(v.size for v in axes.values())
    base = {k: getattr(setup, k) for k in SCALAR_FIELDS}
    points = np.empty((int(np.prod(shape)), len(SCALAR_FIELDS)))
    for i, combo in enumerate(itertools.product(*axes.values())):
        row = dict(base, **dict(zip(axes, combo, strict=True)))
        points[i] = [row[k] for k in SCALAR_FIELDS]
    chain = axes["alpha"].size if "alpha" in axes else 1
    logger.debug("sweep: %d points, chains of %d, loss %s", len(points), chain, loss)

    with timer() as elapsed:
        out = _run_core(setup, points, chain, loss, opts, None, num_threads)
    _warn_unconverged(out["status"], opts, "sweep")
    state = out["state"].reshape(*shape, 6)
    u1, u2, b, Q = state[..., 3], state[..., 4], state[..., 5], state[..., 1]
    acc, asr = test_metrics(u1, u2, b, Q, points[:, 5].reshape(shape), setup.asr)
    return SweepResult(
        axes=axes,
        clean_accuracy=acc,
        attack_success=asr,
        w_dot_mu=u1,
        w_dot_t=u2,
        Q=Q,
        b=b,
        V=state[..., 0],
        V_hat=state[..., 2],
        noise_floor=out["metrics"][:, 3].reshape(shape),
        converged=(out["status"] == 0).reshape(shape),
        n_iter=out["n_iter"].reshape(shape),
        residual=out["residual"].reshape(shape),
        elapsed=elapsed[0],
        loss=loss,
        setup=setup,
    )
