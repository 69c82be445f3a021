"""Attack geometry: the trigger strength and the trigger direction that hurt most.

Phenomena 2 and 3 of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481: the
attack success peaks at a finite training strength alpha*, and the most damaging
direction is the covariance eigenvector of smallest eigenvalue (proved there for the
squared loss; here any direction and any convex loss can be compared).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from .._result import SolverResult, timer
from ._setup import Setup, resolve_geometry
from ._solve import solve, sweep


@dataclasses.dataclass(frozen=True, repr=False)
class PeakResult(SolverResult):
    """Where attack success peaks along alpha.

    Attributes
    ----------
    alpha_star : float
        Training trigger strength of the largest attack success.
    peak_attack_success : float
        Attack success at alpha_star.
    clean_accuracy : float
        Clean accuracy at alpha_star.
    interior : bool
        False when the maximum sits at an end of the searched range (then
        ``alpha_star`` is that end, not a peak).
    alphas, attack_success : ndarray
        The coarse curve the search started from.
    """

    alpha_star: float
    peak_attack_success: float
    clean_accuracy: float
    interior: bool
    alphas: np.ndarray = dataclasses.field(repr=False)
    attack_success: np.ndarray = dataclasses.field(repr=False)


def _default_alpha_max(setup: Setup) -> float:
    # The peak sits near alpha ~ (gamma rho_p)^(-1/2) with gamma <= 1 (digest 2.2);
    # ten times the gamma = 1 scale leaves room on the far side.
    return 10.0 / math.sqrt(max(setup.rho[2], 1e-4))


def peak_attack(
    setup: Setup,
    loss: str = "square",
    *,
    alpha_max: float | None = None,
    n_grid: int = 48,
    xtol: float = 1e-7,
    **options: Any,
) -> PeakResult:
    """Find alpha*, the training trigger strength that maximises attack success.

    A coarse curve on ``alpha_max * linspace(0, 1, n_grid)**2`` (dense near zero,
    solved in one continuation sweep) brackets the maximum, then bounded Brent
    refines it. If the maximum sits at ``alpha_max`` the range is widened (up to
    three times by 4x).

    Parameters
    ----------
    setup : Setup
        The problem; its ``alpha`` is ignored.
    loss : {"square", "logistic", "hinge"}
    alpha_max : float, optional
        Upper end of the search (default ``10 / sqrt(rho_p)``).
    n_grid : int
        Points of the coarse curve, >= 8.
    xtol : float
        Absolute tolerance on alpha* of the refinement.
    **options
        Solver options passed to :func:`sweep` and :func:`solve`.

    Returns
    -------
    PeakResult
    """
    if setup.eps == 0:
        raise ValueError("eps must be > 0 for an attack to peak (got eps=0)")
    if n_grid < 8:
        raise ValueError(f"n_grid must be >= 8, got {n_grid}")
    alpha_max = _default_alpha_max(setup) if alpha_max is None else float(alpha_max)
    if not alpha_max > 0:
        raise ValueError(f"alpha_max must be > 0, got {alpha_max}")
    with timer() as elapsed:
        for _ in range(4):
            alphas = alpha_max * np.linspace(0.0, 1.0, n_grid) ** 2
            curve = sweep(setup, loss, alpha=alphas, **options)
            k = int(np.argmax(curve.attack_success))
            if k < n_grid - 1:
                break
            alpha_max *= 4.0
        interior = 0 < k < n_grid - 1
        n_evals = n_grid
        if interior:
            cache: dict[float, Any] = {}

            def negative_asr(a: float) -> float:
                cache[a] = solve(setup.replace(alpha=a), loss, **options)
                return -cache[a].attack_success

            opt = minimize_scalar(
                negative_asr,
                bounds=(alphas[k - 1], alphas[k + 1]),
                method="bounded",
                options={"xatol": xtol},
            )
            alpha_star, best = float(opt.x), cache[opt.x]
            n_evals += opt.nfev
            converged = bool(opt.success and best.converged)
            acc, asr = best.clean_accuracy, best.attack_success
        else:
            alpha_star = float(alphas[k])
            converged = bool(curve.converged[k])
            acc, asr = curve.clean_accuracy[k], curve.attack_success[k]
    return PeakResult(
        converged=converged,
        n_iter=n_evals,
        residual=xtol if interior else math.inf,
        elapsed=elapsed[0],
        alpha_star=alpha_star,
        peak_attack_success=float(asr),
        clean_accuracy=float(acc),
        interior=interior,
        alphas=alphas,
        attack_success=curve.attack_success,
    )


@dataclasses.dataclass(frozen=True, repr=False)
class TriggerReport:
    """Peak attack success of candidate trigger directions, most damaging first.

    Attributes
    ----------
    best : str
        Name of the most damaging candidate.
    direction : ndarray, shape (p,)
        Its unit vector, in the coordinates of the given covariance.
    names : list of str
    rayleigh : ndarray
        t^T Sigma t of each candidate (its eigenvalue for an eigenvector).
    alpha_star, peak_attack_success : ndarray
    """

    best: str
    direction: np.ndarray
    names: list[str]
    rayleigh: np.ndarray
    alpha_star: np.ndarray
    peak_attack_success: np.ndarray

    def __repr__(self) -> str:
        rows = [
            f"TriggerReport(best={self.best!r})",
            f"  {'candidate':<22} {'t.Sigma.t':>10} {'alpha*':>9} {'peak ASR':>9}",
        ]
        for i, name in enumerate(self.names):
            rows.append(
                f"  {name:<22} {self.rayleigh[i]:>10.4g} "
                f"{self.alpha_star[i]:>9.4g} {self.peak_attack_success[i]:>9.5f}"
            )
        return "\n".join(rows)

    def to_frame(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "candidate": self.names,
                "rayleigh": self.rayleigh,
                "alpha_star": self.alpha_star,
                "peak_attack_success": self.peak_attack_success,
            }
        )


def worst_trigger_direction(
    cov: Any,
    mean: Any = "uniform",
    *,
    setup: Setup | None = None,
    loss: str = "square",
    candidates: dict[str, Any] | None = None,
    max_eigen: int = 16,
    n_random: int = 0,
    seed: int = 0,
    **peak_options: Any,
) -> TriggerReport:
    """Rank unit trigger directions by the peak attack success they allow.

    Candidates are eigenvectors of the covariance (all, or ``max_eigen`` spread over
    the spectrum, smallest and largest always included), ``n_random`` random unit
    directions, and any ``candidates`` given by name. Each is scored by
    :func:`peak_attack`. For the squared loss the paper proves the
    smallest-eigenvalue eigenvector wins.

    Parameters
    ----------
    cov : array of shape (p,) or (p, p)
        Covariance spectrum or matrix.
    mean : str or array
        Mean direction, as in :class:`Setup`.
    setup : Setup, optional
        Supplies kappa, lam, snr, eps, alpha_test and the conventions
        (default ``Setup()``); its cov, mean and trigger are replaced.
    loss : {"square", "logistic", "hinge"}
    candidates : dict of str to array, optional
        Extra named directions (any norm; normalised).
    max_eigen : int
        Most eigenvectors to score (0: only ``candidates`` and random directions).
    n_random : int
        Random directions to score.
    seed : int
        Seed of the random directions.
    **peak_options
        Passed to :func:`peak_attack`.

    Returns
    -------
    TriggerReport
    """
    if max_eigen < 0 or n_random < 0:
        raise ValueError(
            f"max_eigen and n_random must be >= 0, got {max_eigen}, {n_random}"
        )
    base = setup if setup is not None else Setup()
    base = base.replace(cov=cov, mean=mean)
    g = base.geometry
    # Work in the eigenbasis: a spectrum setup is equivalent and skips re-diagonalising.
    eig_setup = base.replace(cov=g.sigma, mean=g.mean)
    p = g.p
    picks = np.unique(np.round(np.linspace(0, p - 1, min(max_eigen, p))).astype(int))
    if picks.size + n_random + len(candidates or {}) == 0:
        raise ValueError(
            "no candidate directions: raise max_eigen or n_random, or pass candidates"
        )
    order = np.argsort(g.sigma, kind="stable")
    named: dict[str, np.ndarray] = {}
    for i in order[picks]:
        named[f"eigvec sigma={g.sigma[i]:.4g} #{i}"] = np.eye(p)[i]
    rng = np.random.default_rng(seed)
    for j in range(n_random):
        named[f"random #{j}"] = rng.standard_normal(p)
    for name, vec in (candidates or {}).items():
        v = np.asarray(vec, dtype=float)
        named[name] = v if g.basis is None else g.basis.T @ v

    names, rayleigh, alpha_star, peak = [], [], [], []
    for name, v in named.items():
        t = resolve_geometry(g.sigma, g.mean, v).trigger
        res = peak_attack(eig_setup.replace(trigger=t), loss, **peak_options)
        names.append(name)
        rayleigh.append(float(t @ (g.sigma * t)))
        alpha_star.append(res.alpha_star)
        peak.append(res.peak_attack_success)
    rank = np.argsort(peak)[::-1]
    best_t = resolve_geometry(g.sigma, g.mean, named[names[rank[0]]]).trigger
    return TriggerReport(
        best=names[rank[0]],
        direction=g.to_coordinates(best_t),
        names=[names[i] for i in rank],
        rayleigh=np.array(rayleigh)[rank],
        alpha_star=np.array(alpha_star)[rank],
        peak_attack_success=np.array(peak)[rank],
    )
