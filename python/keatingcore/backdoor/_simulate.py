"""Finite-size simulation of ERM on the poisoned Gaussian mixture.

Draws training sets from the three-cluster model of Flynn, Goldhirsh, Keating &
Seroussi, arXiv 2605.22481 (project digest, section 1.2), fits the regularised GLM
``argmin_{w,b} (1/n) sum_i loss(y_i, w.x_i + b) + (lam/2) |w|^2`` exactly (square) or
to a tight gradient tolerance (logistic, smoothed hinge), and evaluates the test
metrics exactly given (w, b), so the only randomness left is the training set
(digest section 6, "simulation side").
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import operator
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
from scipy.optimize import brentq, minimize
from scipy.special import expit

from .._result import _format_seconds
from ..warnings import ConvergenceWarning
from ._result import setup_to_dict, test_metrics
from ._setup import Setup

logger = logging.getLogger(__name__)

LOSSES = ("square", "logistic", "hinge")
METRICS = ("clean_accuracy", "attack_success", "w_dot_mu", "w_dot_t", "Q", "b")
DEFAULT_N = 2000
#: Relative tolerance on p/n against setup.kappa when both n and a fixed p are given.
KAPPA_RTOL = 0.01
#: L-BFGS-B settings for the smooth losses.
GTOL = 1e-10
MAXITER = 20000
#: A fit counts as converged when max |gradient| of its objective is at most this.
GRAD_CHECK = 1e-7
#: Smoothing bands of the hinge, solved in turn with warm starts (the last one counts).
HINGE_DELTAS = (1.0, 1e-1, 1e-2, 1e-3, 1e-4)


@dataclasses.dataclass(frozen=True, repr=False)
class SimulationResult:
    """Per-seed outcomes of :func:`simulate` and their Monte-Carlo summaries.

    Attributes
    ----------
    clean_accuracy, attack_success : ndarray, shape (S,)
        Exact test metrics of each seed's fitted (w, b) (``attack_success`` follows
        ``setup.asr``).
    w_dot_mu, w_dot_t, Q, b : ndarray, shape (S,)
        Overlaps w.mu and w.t, variance w^T Sigma w and intercept of each fit.
    converged : ndarray of bool, shape (S,)
        Whether each fit met the gradient check (always True for the square loss).
    n_iter : ndarray of int, shape (S,)
        Optimiser iterations of each fit (0 for the closed-form square loss; summed
        over the smoothing stages for the hinge).
    n, p : int
        Training-set size and dimension.
    seeds : tuple of int
        The seeds, in the order of the arrays.
    loss : str
        The training loss.
    setup : Setup
        The problem simulated.
    elapsed : float
        Wall-clock seconds for all seeds.
    weights : ndarray, shape (S, p), or None
        The fitted w of each seed, in the user's coordinates, when
        ``return_fits=True``.
    """

    clean_accuracy: np.ndarray
    attack_success: np.ndarray
    w_dot_mu: np.ndarray
    w_dot_t: np.ndarray
    Q: np.ndarray
    b: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    n: int
    p: int
    seeds: tuple[int, ...]
    loss: str
    setup: Setup
    elapsed: float
    weights: np.ndarray | None = None

    @property
    def n_seeds(self) -> int:
        """Number of seeds S."""
        return len(self.seeds)

    def _values(self, name: str) -> np.ndarray:
        if name not in METRICS:
            raise ValueError(f"name must be one of {METRICS}, got {name!r}")
        return getattr(self, name)

    def mean(self, name: str) -> float:
        """Mean over seeds of one of :data:`METRICS`."""
        return float(np.mean(self._values(name)))

    def std(self, name: str) -> float:
        """Sample standard deviation (ddof=1) over seeds; NaN for a single seed."""
        values = self._values(name)
        if values.size < 2:
            return math.nan
        return float(np.std(values, ddof=1))

    def sem(self, name: str) -> float:
        """Standard error of the mean, ``std(ddof=1) / sqrt(S)``; NaN for one seed."""
        return self.std(name) / math.sqrt(self.n_seeds)

    def summary(self) -> dict[str, tuple[float, float]]:
        """``{name: (mean, sem)}`` for every metric."""
        return {name: (self.mean(name), self.sem(name)) for name in METRICS}

    def z_scores(
        self, reference: Any, names: Sequence[str] = METRICS
    ) -> dict[str, float]:
        """``(reference - mean) / sem`` for each name, e.g. against a theory result.

        Parameters
        ----------
        reference : object with the metric attributes (e.g. a ``BackdoorResult``)
        names : sequence of str
            Metrics to compare (default: all of :data:`METRICS`).
        """
        out = {}
        for name in names:
            diff = float(getattr(reference, name)) - self.mean(name)
            sem = self.sem(name)
            # identical values (e.g. b without intercept) give sem 0: z is 0 or inf
            out[name] = (
                diff / sem
                if sem > 0
                else (0.0 if diff == 0 else math.copysign(math.inf, diff))
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``dict``: per-seed lists, ``mean``/``sem`` dicts and metadata."""
        out: dict[str, Any] = {name: getattr(self, name).tolist() for name in METRICS}
        out["converged"] = self.converged.tolist()
        out["n_iter"] = self.n_iter.tolist()
        out["mean"] = {name: self.mean(name) for name in METRICS}
        out["sem"] = {name: self.sem(name) for name in METRICS}
        out.update(
            n=self.n,
            p=self.p,
            seeds=list(self.seeds),
            loss=self.loss,
            elapsed=self.elapsed,
            setup=setup_to_dict(self.setup),
        )
        if self.weights is not None:
            out["weights"] = self.weights.tolist()
        return out

    def __repr__(self) -> str:
        n_ok = int(self.converged.sum())
        lines = [
            f"SimulationResult({self.loss}, n={self.n}, p={self.p}, "
            f"{self.n_seeds} seeds, {n_ok} converged, "
            f"{_format_seconds(self.elapsed)})"
        ]
        for name in METRICS:
            mean, sem = self.mean(name), self.sem(name)
            lines.append(f"  {name:<16} = {mean:.6g} +- {sem:.2g}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------
# input checks


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}") from None
    if out < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {out}")
    return out


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = _check_int("seeds", seeds, 1)
        return tuple(range(count))
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence | np.ndarray):
        raise TypeError(
            f"seeds must be an int >= 1 or a sequence of ints >= 0, got {seeds!r}"
        )
    out = tuple(_check_int("seeds", s, 0) for s in seeds)
    if not out:
        raise ValueError(
            "seeds must be an int >= 1 or a non-empty sequence of ints >= 0"
        )
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {list(out)}")
    return out


#: Largest data matrix a simulation may draw (n * p doubles).
MAX_ENTRIES = 500_000_000


def _fixed_dimension(setup: Setup) -> int | None:
    """p when the covariance or an explicit mean/trigger vector fixes it, else None."""
    if setup.cov is not None:
        return int(np.shape(setup.cov)[0])
    for value in (setup.mean, setup.trigger):
        if isinstance(value, np.ndarray):
            return value.size
    return None


def _dimensions(setup: Setup, n: Any) -> tuple[int, int]:
    p_fixed = _fixed_dimension(setup)
    if p_fixed is None:
        n = DEFAULT_N if n is None else _check_int("n", n, 2)
        p = round(setup.kappa * n)
        if p < 2:
            raise ValueError(
                f"n must make p = round(kappa n) >= 2 (kappa={setup.kappa}), got n={n}"
            )
        return n, p
    if n is None:
        n = round(p_fixed / setup.kappa)
        if n < 2:
            raise ValueError(f"kappa={setup.kappa} with p={p_fixed} gives n={n} < 2")
        return n, p_fixed
    n = _check_int("n", n, 2)
    if abs(p_fixed / n - setup.kappa) > KAPPA_RTOL * setup.kappa:
        raise ValueError(
            f"n={n} gives p/n = {p_fixed / n:.4g} with the fixed "
            f"p={p_fixed}, but kappa={setup.kappa:g}; n must be within "
            f"{KAPPA_RTOL:.0%} of p/kappa = {p_fixed / setup.kappa:.6g} "
            "(or None)"
        )
    return n, p_fixed


def _check_lam(setup: Setup, loss: str, n: int, p: int) -> None:
    if setup.lam > 0:
        return
    if loss != "square":
        raise ValueError(
            f"lam must be > 0 for the {loss} loss in simulate (at lam = 0 "
            "the minimiser need not exist: the data may be separable)"
        )
    if p + int(setup.intercept) >= n:
        raise ValueError(
            f"lam must be > 0 when p + intercept >= n (p={p}, n={n}): the "
            "ridgeless least-squares minimiser is not unique there"
        )


def cluster_counts(setup: Setup, n: int) -> tuple[int, int, int]:
    """Deterministic cluster sizes (n_+, n_-, n_p) with n_+ = round(rho_+ n) and
    n_p = round(rho_p n); the clean source class takes the rest."""
    rho_plus, _, rho_p = setup.rho
    n_plus = round(rho_plus * n)
    n_p = min(round(rho_p * n), n - n_plus)
    return n_plus, n - n_plus - n_p, n_p


# ---------------------------------------------------------------------------------
# data


@dataclasses.dataclass(frozen=True)
class _Model:
    """Everything a seed needs: vectors, the covariance root and the metric form."""

    mu: np.ndarray
    t: np.ndarray
    cov_kind: str  # "identity", "spectrum" or "matrix"
    root: np.ndarray | None  # sqrt(spectrum) or the symmetric Sigma^{1/2}
    cov: np.ndarray | None
    counts: tuple[int, int, int]
    alpha: float

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Training inputs X (n, p) and labels y (n,) for one generator."""
        n_plus, n_minus, n_p = self.counts
        n, p = sum(self.counts), self.mu.size
        X = rng.standard_normal((n, p))
        if self.cov_kind == "spectrum":
            X *= self.root
        elif self.cov_kind == "matrix":
            X = X @ self.root
        X[:n_plus] += self.mu
        X[n_plus:] -= self.mu
        X[n_plus + n_minus :] += self.alpha * self.t
        y = np.ones(n)
        y[n_plus : n_plus + n_minus] = -1.0
        return X, y

    def quadratic(self, w: np.ndarray) -> float:
        """Q = w^T Sigma w."""
        if self.cov_kind == "identity":
            return float(w @ w)
        if self.cov_kind == "spectrum":
            return float(self.cov @ (w * w))
        return float(w @ self.cov @ w)


def _model(setup: Setup, n: int, p: int) -> _Model:
    if setup.cov is None:
        mu, t = setup.vectors(p) if _fixed_dimension(setup) is None else setup.vectors()
        kind, root, cov = "identity", None, None
    else:
        mu, t = setup.vectors()
        cov = np.asarray(setup.cov)
        if cov.ndim == 1:
            kind, root = "spectrum", np.sqrt(cov)
        else:
            g = setup.geometry
            kind, root = "matrix", (g.basis * np.sqrt(g.sigma)) @ g.basis.T
    return _Model(
        np.asarray(mu, float),
        np.asarray(t, float),
        kind,
        root,
        cov,
        cluster_counts(setup, n),
        setup.alpha,
    )


# ---------------------------------------------------------------------------------
# fits


def fit_ridge(
    X: np.ndarray, y: np.ndarray, lam: float, intercept: bool = True, form: str = "auto"
) -> tuple[np.ndarray, float]:
    """Exact minimiser of ``(1/2n) |y - X w - b|^2 + (lam/2) |w|^2``, b unpenalised.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    lam : float
        >= 0; 0 needs a full-column-rank (centred) X.
    intercept : bool
        Fit b (by centring X and y) or fix b = 0.
    form : {"auto", "primal", "dual"}
        "primal" solves ``(Xc^T Xc + n lam I) w = Xc^T yc`` (p x p), "dual" the kernel
        form ``w = Xc^T (Xc Xc^T + n lam I)^{-1} yc`` (n x n, needs lam > 0);
        "auto" picks primal when p <= n.

    Returns
    -------
    (w, b)
    """
    n, p = X.shape
    if form == "auto":
        form = "primal" if p <= n else "dual"
    if form not in ("primal", "dual"):
        raise ValueError(
            f"form must be one of ('auto', 'primal', 'dual'), got {form!r}"
        )
    if intercept:
        x_bar, y_bar = X.mean(axis=0), float(y.mean())
        Xc, yc = X - x_bar, y - y_bar
    else:
        Xc, yc = X, y
    if form == "primal":
        G = Xc.T @ Xc
        G.flat[:: p + 1] += n * lam
        w = _solve_pd(G, Xc.T @ yc)
    else:
        if lam <= 0:
            raise ValueError("lam must be > 0 for the dual (kernel) form of ridge")
        K = Xc @ Xc.T
        K.flat[:: n + 1] += n * lam
        w = Xc.T @ _solve_pd(K, yc)
    b = y_bar - float(x_bar @ w) if intercept else 0.0
    return w, b


def _solve_pd(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve A x = rhs for a symmetric positive definite A (Cholesky, A overwritten)."""
    factor = scipy.linalg.cho_factor(A, overwrite_a=True, check_finite=False)
    return scipy.linalg.cho_solve(factor, rhs, check_finite=False)


def _logistic(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + e^{-m}) and its derivative -expit(-m), stable for any margin m."""
    return np.logaddexp(0.0, -m), -expit(-m)


def _smoothed_hinge(delta: float):
    """Hinge max(0, 1 - m) with its corner replaced by a quadratic on 1 - delta < m < 1.

    With u = 1 - m: 0 for u <= 0, u^2/(2 delta) for 0 < u < delta, u - delta/2 beyond;
    C^1, convex and within delta/2 of the hinge everywhere. Returns the values, the
    derivatives in m and the second derivatives in m (1/delta on the band, else 0).
    """

    def loss(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u = 1.0 - m
        uc = np.clip(u, 0.0, delta)
        curvature = np.where((u > 0) & (u < delta), 1.0 / delta, 0.0)
        values = uc * uc / (2 * delta) + np.maximum(u - delta, 0.0)
        return values, -uc / delta, curvature

    return loss


def fit_hinge(
    X: np.ndarray,
    y: np.ndarray,
    lam: float,
    intercept: bool = True,
    deltas: Sequence[float] = HINGE_DELTAS,
) -> tuple[np.ndarray, float, float, int]:
    """Approximate SVM: minimise the smoothed-hinge objective for each delta in turn.

    ``(1/n) sum hinge_delta(y_i (w.x_i + b)) + (lam/2)|w|^2`` (see
    :func:`_smoothed_hinge`) is piecewise quadratic, so each stage runs Newton's
    method with the generalised Hessian ``Z_B^T Z_B / (n delta) + lam I_w`` (Z_B the
    rows ``[x_i, 1]`` on the quadratic band) and an exact line search, warm-started
    from the previous stage (the first from the ridge fit). Each stage ends at its
    exact minimiser (max |gradient| <= 1e-10). L-BFGS-B is not used here: the
    curvature 1/delta on the band makes it take thousands of iterations. Cost
    O(n_B p^2 + p^3) per Newton step, a few tens of steps per stage.

    Returns
    -------
    (w, b, grad_max, n_iter)
        ``grad_max``: max |gradient| of the last stage's objective at (w, b);
        ``n_iter``: Newton steps over all stages.
    """
    n, p = X.shape
    w, b = fit_ridge(X, y, lam, intercept)
    theta = np.append(w, b) if intercept else w
    total, grad_max = 0, math.inf
    for delta in deltas:
        theta, grad_max, nit = _newton(
            X, y, lam, intercept, _smoothed_hinge(delta), theta
        )
        total += nit
    return theta[:p].copy(), (float(theta[p]) if intercept else 0.0), grad_max, total


def _newton(X, y, lam, intercept, loss, theta, max_iter=200):
    """Newton's method with exact line search on ``(1/n) sum loss(y h) + (lam/2)|w|^2``
    for a convex C^1 loss with piecewise-constant second derivative.

    Returns (theta, grad_max, iterations).
    """
    n, p = X.shape

    def evaluate(th):
        margins = y * (X @ th[:p] + (th[p] if intercept else 0.0))
        _, slopes, curv = loss(margins)
        g_h = y * slopes / n
        grad = X.T @ g_h + lam * th[:p]
        if intercept:
            grad = np.append(grad, g_h.sum())
        return grad, curv / n, margins

    grad, curv, margins = evaluate(theta)
    for it in range(max_iter):
        grad_max = float(np.max(np.abs(grad)))
        if grad_max <= GTOL:
            return theta, grad_max, it
        band = curv > 0
        Xb, cb = X[band], curv[band]
        H = np.empty((theta.size, theta.size))
        H[:p, :p] = Xb.T @ (cb[:, None] * Xb)
        H.flat[: p * (theta.size + 1) : theta.size + 1] += lam
        if intercept:
            H[p, :p] = H[:p, p] = cb @ Xb
            # without band points b has no curvature: pretend one, which keeps the
            # direction a descent direction; the line search sets the length
            H[p, p] = cb.sum() if band.any() else 1.0 / n
        step = -_solve_pd(H, grad)
        # exact line search: phi(t) = objective(theta + t step) is convex piecewise
        # quadratic, so find the root of its nondecreasing derivative
        s_m = y * (X @ step[:p] + (step[p] if intercept else 0.0))
        w_s, s_s = float(theta[:p] @ step[:p]), float(step[:p] @ step[:p])

        def dphi(t, m0=margins, s_m=s_m, w_s=w_s, s_s=s_s):
            return float(loss(m0 + t * s_m)[1] @ s_m) / n + lam * (w_s + t * s_s)

        if not dphi(0.0) < 0:  # no descent left at working precision
            return theta, grad_max, it
        hi = 1.0
        while dphi(hi) < 0 and hi < 1e12:
            hi *= 2.0
        t = hi if dphi(hi) <= 0 else brentq(dphi, 0.0, hi, xtol=1e-15 * hi)
        theta = theta + t * step
        grad, curv, margins = evaluate(theta)
    return theta, float(np.max(np.abs(grad))), max_iter


def fit_smooth(
    X: np.ndarray,
    y: np.ndarray,
    lam: float,
    intercept: bool,
    loss,
    x0: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float, int]:
    """Minimise ``(1/n) sum loss(y_i (w.x_i + b)) + (lam/2)|w|^2`` by L-BFGS-B.

    Parameters
    ----------
    loss : callable
        Margin loss ``m -> (values, derivatives)`` (convex, C^1).
    x0 : ndarray, optional
        Starting point ``[w, b]`` (or ``w`` without intercept); zeros by default.

    Returns
    -------
    (w, b, grad_max, n_iter)
        ``grad_max`` is max |gradient| of the objective at the returned point.
    """
    n, p = X.shape
    size = p + int(intercept)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[:p]
        h = X @ w
        if intercept:
            h += theta[p]
        values, slopes = loss(y * h)
        g_h = y * slopes / n
        grad = np.empty(size)
        grad[:p] = X.T @ g_h + lam * w
        if intercept:
            grad[p] = g_h.sum()
        return float(values.mean() + 0.5 * lam * (w @ w)), grad

    theta0 = np.zeros(size) if x0 is None else x0
    res = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={
            "gtol": GTOL,
            "ftol": 1e-15,
            "maxiter": MAXITER,
            "maxfun": 2 * MAXITER,
            "maxcor": 20,
        },
    )
    grad_max = float(np.max(np.abs(objective(res.x)[1])))
    b = float(res.x[p]) if intercept else 0.0
    return res.x[:p].copy(), b, grad_max, int(res.nit)


def fit_glm(
    loss: str, X: np.ndarray, y: np.ndarray, lam: float, intercept: bool = True
):
    """Fit ``argmin (1/n) sum loss(y_i, w.x_i + b) + (lam/2)|w|^2`` on one data set.

    Returns
    -------
    (w, b, converged, n_iter, grad_max)
    """
    if loss == "square":
        w, b = fit_ridge(X, y, lam, intercept)
        return w, b, True, 0, 0.0
    if loss == "logistic":
        w, b, grad_max, nit = fit_smooth(X, y, lam, intercept, _logistic)
        return w, b, grad_max <= GRAD_CHECK, nit, grad_max
    w, b, grad_max, nit = fit_hinge(X, y, lam, intercept)
    return w, b, grad_max <= GRAD_CHECK, nit, grad_max


# ---------------------------------------------------------------------------------
# driver


def simulate(
    setup: Setup,
    n: int | None = None,
    loss: str = "square",
    seeds: int | Sequence[int] = 20,
    *,
    progress: bool | None = None,
    return_fits: bool = False,
) -> SimulationResult:
    """Fit the GLM on freshly drawn poisoned training sets, one per seed.

    Each seed draws the three clusters of the digest's model (arXiv 2605.22481,
    section 1.2) with deterministic sizes ``n_+ = round(rho_+ n)``,
    ``n_p = round(rho_p n)`` and ``n_- = n - n_+ - n_p``: clean target
    ``+mu + Sigma^{1/2} z`` (label +1), clean source ``-mu + Sigma^{1/2} z`` (-1) and
    poisons ``-mu + alpha t + Sigma^{1/2} z`` (+1). It then fits
    ``argmin_{w,b} (1/n) sum loss + (lam/2) |w|^2`` (b unpenalised; b = 0 without
    intercept) and evaluates :func:`test_metrics` exactly at u1 = w.mu, u2 = w.t,
    Q = w^T Sigma w.

    Parameters
    ----------
    setup : Setup
        The problem. With ``cov=None`` (Sigma = I) the dimension is
        ``p = round(kappa n)`` and mu, t come from ``setup.vectors(p)``; a given
        covariance (or an explicit mean/trigger vector) fixes p instead.
    n : int, optional
        Training-set size, >= 2. Default: 2000 with ``cov=None``, else
        ``round(p / kappa)``. With a fixed p, a given n must satisfy
        ``|p/n - kappa| <= 1% kappa``.
    loss : {"square", "logistic", "hinge"}
        * "square": ridge in closed form, primal (p x p) when p <= n and kernel
          (n x n) when p > n. ``lam = 0`` is allowed only when p + intercept < n.
        * "logistic": L-BFGS-B on the exact objective with analytic gradient
          (gtol 1e-10); a fit whose final max |gradient| exceeds 1e-7 is flagged.
        * "hinge": **approximate**. The hinge is replaced by a quadratically
          smoothed hinge (quadratic on a band of width delta below the margin 1),
          minimised for delta = 1, 1e-1, 1e-2, 1e-3, 1e-4 in turn, each stage
          warm-started from the last and solved exactly by Newton's method (see
          :func:`fit_hinge`). The smoothed objective is within delta/2 of the exact
          one, so the result approximates the hinge minimiser to O(delta), delta =
          1e-4: rigorously |w - w_hinge| <= sqrt(delta / lam) by strong convexity,
          and about 1e-4 |w| in practice (checked against an exact SVM solver).
          Each Newton step costs O(p^3); expect seconds per fit at p ~ 1000.
        Logistic and hinge need ``lam > 0``.
    seeds : int or sequence of int
        S (seeds 0..S-1) or explicit distinct seeds >= 0. Seed s draws its data from
        ``numpy.random.default_rng(s)``; the data depend only on (setup, n, s), not
        on the loss, so runs are reproducible and losses are compared on equal data.
    progress : bool, optional
        Show a tqdm bar over seeds. Default: when S >= 10 and stderr is a terminal.
    return_fits : bool
        Keep every fitted w (shape (S, p)) in ``result.weights``.

    Returns
    -------
    SimulationResult
        Unconverged fits also emit a :class:`~keatingcore.warnings.ConvergenceWarning`.

    Raises
    ------
    ValueError
        Bad n, seeds, loss or lam, naming the parameter and its allowed range.
    """
    if not isinstance(setup, Setup):
        raise TypeError(
            f"setup must be a keatingcore.backdoor.Setup, got {type(setup)}"
        )
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if progress is not None and not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    seed_list = _check_seeds(seeds)
    n, p = _dimensions(setup, n)
    if n * p > MAX_ENTRIES:
        raise ValueError(
            f"n * p = {n * p:.3g} exceeds {MAX_ENTRIES:.0e} entries "
            f"({8 * MAX_ENTRIES / 2**30:.0f} GiB per data matrix): lower n "
            f"(got n={n}, p={p})"
        )
    _check_lam(setup, loss, n, p)
    model = _model(setup, n, p)
    show = (
        bool(progress)
        if progress is not None
        else (len(seed_list) >= 10 and sys.stderr.isatty())
    )
    logger.debug(
        "simulate: %s loss, n=%d, p=%d, counts (+, -, p)=%s, %d seeds",
        loss,
        n,
        p,
        model.counts,
        len(seed_list),
    )

    S = len(seed_list)
    cols = {name: np.empty(S) for name in ("w_dot_mu", "w_dot_t", "Q", "b")}
    converged = np.ones(S, dtype=bool)
    n_iter = np.zeros(S, dtype=int)
    grad_max = np.zeros(S)
    weights = np.empty((S, p)) if return_fits else None
    start = time.perf_counter()
    iterator = seed_list
    if show:
        from tqdm import tqdm

        iterator = tqdm(
            seed_list,
            desc=f"simulate {loss}",
            unit="seed",
            leave=False,
            file=sys.stderr,
        )
    for i, seed in enumerate(iterator):
        X, y = model.sample(np.random.default_rng(seed))
        w, b, ok, nit, gmax = fit_glm(loss, X, y, setup.lam, setup.intercept)
        cols["w_dot_mu"][i] = w @ model.mu
        cols["w_dot_t"][i] = w @ model.t
        cols["Q"][i] = model.quadratic(w)
        cols["b"][i] = b
        converged[i], n_iter[i], grad_max[i] = ok, nit, gmax
        if weights is not None:
            weights[i] = w
        logger.debug(
            "seed %d: w.mu=%.6g w.t=%.6g Q=%.6g b=%.6g iters=%d |grad|=%.2e",
            seed,
            cols["w_dot_mu"][i],
            cols["w_dot_t"][i],
            cols["Q"][i],
            b,
            nit,
            gmax,
        )
    elapsed = time.perf_counter() - start

    if not converged.all():
        bad = int((~converged).sum())
        warnings.warn(
            f"simulate: {bad} of {S} {loss} fit(s) did not converge (max |gradient| "
            f"{grad_max.max():.2e} > {GRAD_CHECK:g}); their metrics are unreliable. "
            "Raise lam if the data may be (nearly) separable.",
            ConvergenceWarning,
            stacklevel=2,
        )
    acc, asr = test_metrics(
        cols["w_dot_mu"],
        cols["w_dot_t"],
        cols["b"],
        cols["Q"],
        setup.alpha_test,
        setup.asr,
    )
    result = SimulationResult(
        clean_accuracy=np.asarray(acc, float),
        attack_success=np.asarray(asr, float),
        converged=converged,
        n_iter=n_iter,
        n=n,
        p=p,
        seeds=seed_list,
        loss=loss,
        setup=setup,
        elapsed=elapsed,
        weights=weights,
        **cols,
    )
    for arr in (
        result.clean_accuracy,
        result.attack_success,
        converged,
        n_iter,
        *cols.values(),
        *(() if weights is None else (weights,)),
    ):
        arr.setflags(write=False)
    logger.info(
        "simulate: %s, n=%d, p=%d, %d seeds in %s",
        loss,
        n,
        p,
        S,
        _format_seconds(elapsed),
    )
    return result
