"""The phenomena of the two papers, each as data plus a figure.

Figure parameters of the papers were not retrieved; the defaults below are the
digest's proposals (``shared/papers/ce-dynamics.md``, section 4) and every one is a
keyword argument.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import operator
from pathlib import Path
from typing import Any

import numpy as np

from ._closed_form import nc_loss, nc_trajectory
from ._ode import integrate
from ._spectral import balanced_sigma

logger = logging.getLogger(__name__)


def perturbed_start(
    K: int,
    depth: int,
    sigma0: float = 0.1,
    delta: float = 0.1,
    size: int | None = None,
    n: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Balanced starts with per-layer values ``sigma0 (1 + delta xi_k)``.

    ``xi_k`` are i.i.d. uniform on [-1, 1]; the weight layers get the values and
    the features the values over ``sqrt(n)`` (balanced, digest 2.1).

    Parameters
    ----------
    K, depth : int
    sigma0 : float
        Scale, > 0.
    delta : float
        Relative perturbation in [0, 1).
    size : int, optional
        Batch size (None: a single ``(depth, K-1)`` start).
    n : float
    seed : int

    Returns
    -------
    ndarray, shape (depth, K-1) or (size, depth, K-1)
    """
    if not sigma0 > 0:
        raise ValueError(f"sigma0 must be > 0, got {sigma0!r}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta!r}")
    rng = np.random.default_rng(seed)
    shape = (K - 1,) if size is None else (operator.index(size), K - 1)
    per_layer = sigma0 * (1 + delta * rng.uniform(-1, 1, shape))
    return balanced_sigma(per_layer**depth / np.sqrt(n), depth, n)


# --- 1. convergence to neural collapse (paper A) ---------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class NCConvergence:
    """Depth-L convergence to NC from a perturbed start, with the exact NC curve.

    Attributes
    ----------
    t : ndarray, shape (T,)
    s : ndarray, shape (T, K-1)
        Products of the perturbed run.
    loss : ndarray, shape (T,)
    V : ndarray, shape (T,)
        ``log(max_k s_k / min_k s_k)``; non-increasing at depth 2 (digest 3.6).
    s_exact, loss_exact : ndarray, shape (T,)
        Closed-form equal-mode trajectory from ``s0`` (digest 3.4).
    s_equal : ndarray, shape (T,)
        The integrator on the equal-mode start, for comparison with ``s_exact``.
    max_rel_error : float
        ``max |s_equal - s_exact| / s_exact``.
    K, depth, n, s0 : the set-up.
    """

    t: np.ndarray
    s: np.ndarray
    loss: np.ndarray
    V: np.ndarray
    s_exact: np.ndarray
    loss_exact: np.ndarray
    s_equal: np.ndarray
    max_rel_error: float
    K: int
    depth: int
    n: float
    s0: float

    def plot(self, path=None):
        from ._plot import plot_nc_convergence

        return plot_nc_convergence(self, path)


def nc_convergence(
    K: int = 8,
    depth: int = 2,
    n: float = 1.0,
    s0: float = 0.5,
    spread: float = 0.5,
    t_max: float = 1e9,
    num: int = 200,
    seed: int = 0,
    rtol: float = 1e-11,
) -> NCConvergence:
    """Convergence to NC: a perturbed run and the exact equal-mode trajectory.

    The perturbed start has products ``s0 (1 + spread xi_k)``, ``xi`` uniform on
    [-1, 1]; both runs are balanced and use DOP853.

    Parameters
    ----------
    K, depth : int
        Classes and factors (features included).
    n : float
        Samples per class.
    s0 : float
        Initial product of the equal-mode run, > 0.
    spread : float
        Relative perturbation of the other run, in [0, 1).
    t_max : float
        Last time; outputs are ``0`` and ``num - 1`` log-spaced times from 1e-2.
    num : int
    seed : int
    rtol : float
        Integrator tolerance.

    Returns
    -------
    NCConvergence
    """
    if not 0 <= spread < 1:
        raise ValueError(f"spread must lie in [0, 1), got {spread!r}")
    rng = np.random.default_rng(seed)
    t = np.concatenate([[0.0], np.geomspace(1e-2, t_max, num - 1)])
    s_start = s0 * (1 + spread * rng.uniform(-1, 1, K - 1))
    starts = np.stack(
        [
            balanced_sigma(s_start, depth, n),
            balanced_sigma(np.full(K - 1, s0), depth, n),
        ]
    )
    run = integrate(starts, n=n, t=t, rtol=rtol, atol=1e-300, method="dop853")
    s = run.s
    s_exact = nc_trajectory(t, s0, K, n, depth)
    err = float(np.max(np.abs(s[1, :, 0] - s_exact) / s_exact))
    return NCConvergence(
        t=t,
        s=s[0],
        loss=run.loss[0],
        V=np.log(s[0].max(axis=1) / s[0].min(axis=1)),
        s_exact=s_exact,
        loss_exact=nc_loss(s_exact, K),
        s_equal=s[1, :, 0],
        max_rel_error=err,
        K=K,
        depth=depth,
        n=n,
        s0=s0,
    )


# --- 2. early-time repulsion (paper B) -------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class Repulsion:
    """Spread of the singular values over time, per depth.

    Attributes
    ----------
    t : ndarray, shape (T,)
    depths : ndarray, shape (D,)
    s : ndarray, shape (D, T, K-1)
    spread : ndarray, shape (D, T)
        ``log(max s / min s)`` relative to its start value.
    peak : ndarray, shape (D,)
        Largest relative spread: > 1 means the gaps widened (repulsion).
    """

    t: np.ndarray
    depths: np.ndarray
    s: np.ndarray
    spread: np.ndarray
    peak: np.ndarray
    K: int
    sigma0: float
    delta: float

    def plot(self, path=None):
        from ._plot import plot_repulsion

        return plot_repulsion(self, path)


def repulsion(
    K: int = 8,
    depths=(2, 3, 4, 6),
    sigma0: float = 0.1,
    delta: float = 0.1,
    n: float = 1.0,
    t_max: float = 1e6,
    num: int = 200,
    seed: int = 0,
) -> Repulsion:
    """Early-time repulsion: gaps shrink at depth 2 and widen at depth >= 3.

    Every depth starts from the same per-layer values ``sigma0 (1 + delta xi)``
    (:func:`perturbed_start`); digest 3.5.

    Parameters
    ----------
    K : int
    depths : sequence of int
    sigma0, delta : float
        Start scale and relative perturbation (see :func:`perturbed_start`).
    n : float
    t_max : float
    num : int
        Output times (0 and log-spaced from 1e-2).
    seed : int

    Returns
    -------
    Repulsion
    """
    depths = np.asarray(depths, dtype=int)
    t = np.concatenate([[0.0], np.geomspace(1e-2, t_max, num - 1)])
    s_all, spread = [], []
    for L in depths:
        start = perturbed_start(K, int(L), sigma0, delta, n=n, seed=seed)
        run = integrate(start, n=n, t=t, rtol=1e-10, atol=1e-300)
        s = run.s[0]
        v = np.log(s.max(axis=1) / s.min(axis=1))
        s_all.append(s)
        spread.append(v / v[0])
    spread = np.array(spread)
    return Repulsion(
        t=t,
        depths=depths,
        s=np.array(s_all),
        spread=spread,
        peak=spread.max(axis=1),
        K=K,
        sigma0=sigma0,
        delta=delta,
    )


# --- 3. low-rank emergence with depth (paper B) ----------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class LowRank:
    """Number of diverging modes at ``t_max`` per depth and start.

    Attributes
    ----------
    depths : ndarray, shape (D,)
    active : ndarray of int, shape (D, starts)
        Modes with ``s_k / max_j s_j > threshold`` at ``t_max``.
    s_final : ndarray, shape (D, starts, K-1)
    """

    depths: np.ndarray
    active: np.ndarray
    s_final: np.ndarray
    K: int
    threshold: float
    t_max: float

    def plot(self, path=None):
        from ._plot import plot_low_rank

        return plot_low_rank(self, path)


def low_rank(
    K: int = 8,
    depths=(2, 3, 4, 6),
    starts: int = 30,
    sigma0: float = 0.1,
    delta: float = 0.3,
    n: float = 1.0,
    t_max: float = 1e12,
    threshold: float = 0.3,
    seed: int = 0,
    num_threads: int | None = None,
) -> LowRank:
    """Low-rank emergence: depth 2 ends with K-1 modes, deep models with ~log2 K.

    Parameters
    ----------
    K : int
    depths : sequence of int
    starts : int
        Perturbed starts per depth (:func:`perturbed_start`, same seed).
    sigma0, delta : float
    n : float
    t_max : float
        Time at which the modes are counted.
    threshold : float
        A mode counts when ``s_k / max_j s_j > threshold`` (digest 4, item 6).
    seed : int
    num_threads : int, optional

    Returns
    -------
    LowRank
    """
    depths = np.asarray(depths, dtype=int)
    active, final = [], []
    for L in depths:
        start = perturbed_start(K, int(L), sigma0, delta, starts, n, seed)
        run = integrate(
            start, n=n, t=[t_max], rtol=1e-9, atol=1e-300, num_threads=num_threads
        )
        s = run.s[:, -1]
        final.append(s)
        active.append(np.sum(s / s.max(axis=1, keepdims=True) > threshold, axis=1))
    return LowRank(
        depths=depths,
        active=np.array(active),
        s_final=np.array(final),
        K=K,
        threshold=threshold,
        t_max=t_max,
    )


# --- 4. the basin of attraction of NC shrinks with depth (paper B) ---------------


@dataclasses.dataclass(frozen=True, repr=False)
class Basin:
    """Which starts ``sigma0 (1, ..., 1, rho)`` converge to NC, per depth and scale.

    Attributes
    ----------
    depths : ndarray, shape (D,)
    sigma0 : ndarray, shape (S,)
    rho : ndarray, shape (R,)
    nc : ndarray of bool, shape (S, D, R)
        NC iff ``s_{K-1} / s_1`` still grows between ``t_early`` and ``t_late``
        (digest 4, item 7: a threshold on the ratio misjudges slow runs).
    rho_star : ndarray, shape (S, D)
        Critical ratio: the midpoint between the largest non-NC ``rho`` and the
        next grid value; the last grid value when no start on the grid reaches NC,
        NaN when every start does.
    trajectories : int
        Initial conditions integrated.
    elapsed : float
    """

    depths: np.ndarray
    sigma0: np.ndarray
    rho: np.ndarray
    nc: np.ndarray
    rho_star: np.ndarray
    trajectories: int
    elapsed: float
    K: int

    def plot(self, path=None):
        from ._plot import plot_basin

        return plot_basin(self, path)


def _rho_star(rho: np.ndarray, nc: np.ndarray) -> float:
    bad = np.flatnonzero(~nc)
    if bad.size == 0:
        return float("nan")
    i = bad[-1]
    return float(rho[i] if i + 1 == rho.size else 0.5 * (rho[i] + rho[i + 1]))


def nc_basin(
    K: int = 4,
    depths=(3, 4, 5, 6, 7, 8),
    sigma0=(0.1, 0.5),
    rho=None,
    n: float = 1.0,
    t_early: float = 1e10,
    t_late: float = 1e12,
    rtol: float = 1e-8,
    num_threads: int | None = None,
    progress: bool = False,
    out: str | Path | None = None,
) -> Basin:
    """The NC basin: critical ``rho*`` per depth for starts ``sigma0 (1,..,1, rho)``.

    Every weight layer starts at ``sigma0 (1, ..., 1, rho)`` and the features at
    that over ``sqrt(n)``. The default grid is 1,000 values of ``rho`` in
    [0.001, 1) for 6 depths and 2 scales: 12,000 initial conditions, one batched
    integration per (scale, depth).

    Parameters
    ----------
    K : int
    depths : sequence of int
    sigma0 : float or sequence of float
        Start scales.
    rho : array_like, optional
        Ratios of the last mode, > 0.
    n : float
    t_early, t_late : float
        Times between which the ratio must still grow for NC.
    rtol : float
    num_threads : int, optional
    progress : bool
        Show a progress bar (tqdm, on stderr).
    out : path, optional
        CSV written as the batches finish (``sigma0, depth, rho, nc, ratio_early,
        ratio_late``), so a long run leaves its results behind as it goes.

    Returns
    -------
    Basin
    """
    from tqdm.auto import tqdm

    from .._result import timer

    depths = np.asarray(depths, dtype=int)
    scales = np.atleast_1d(np.asarray(sigma0, dtype=float))
    rho = np.linspace(0.001, 0.999, 1000) if rho is None else np.asarray(rho, float)
    if rho.ndim != 1 or np.any(rho <= 0):
        raise ValueError("rho must be a 1-D array of values > 0")
    if not 0 < t_early < t_late:
        raise ValueError(f"need 0 < t_early < t_late, got {t_early!r}, {t_late!r}")
    nc = np.zeros((scales.size, depths.size, rho.size), dtype=bool)
    writer = fh = None
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("w", newline="")
        writer = csv.writer(fh)
        writer.writerow(["sigma0", "depth", "rho", "nc", "ratio_early", "ratio_late"])
    jobs = [(i, j) for i in range(scales.size) for j in range(depths.size)]
    bar = tqdm(total=len(jobs) * rho.size, disable=not progress, unit="traj")
    try:
        with timer() as elapsed:
            for i, j in jobs:
                L = int(depths[j])
                layer = np.ones((rho.size, K - 1)) * scales[i]
                layer[:, -1] *= rho
                start = balanced_sigma(layer**L / np.sqrt(n), L, n)
                run = integrate(
                    start,
                    n=n,
                    t=[t_early, t_late],
                    rtol=rtol,
                    atol=1e-300,
                    num_threads=num_threads,
                )
                s = run.s
                ratio = s[:, :, -1] / s[:, :, 0]
                nc[i, j] = ratio[:, 1] >= ratio[:, 0] * (1 - 1e-9)
                if writer is not None:
                    rows = zip(rho, nc[i, j], ratio[:, 0], ratio[:, 1], strict=True)
                    writer.writerows([scales[i], L, *r] for r in rows)
                    fh.flush()
                bar.update(rho.size)
                logger.info("basin: sigma0=%g depth=%d done", scales[i], L)
    finally:
        bar.close()
        if fh is not None:
            fh.close()
    star = np.array(
        [
            [_rho_star(rho, nc[i, j]) for j in range(depths.size)]
            for i in range(scales.size)
        ]
    )
    return Basin(
        depths=depths,
        sigma0=scales,
        rho=rho,
        nc=nc,
        rho_star=star,
        trajectories=len(jobs) * rho.size,
        elapsed=elapsed[0],
        K=K,
    )


# --- 5. rank against width under random initialisation (paper B) ------------------


@dataclasses.dataclass(frozen=True, repr=False)
class WidthRank:
    """Numerical rank of the centred class-mean logits after gradient descent.

    Attributes
    ----------
    widths : ndarray, shape (W,)
    rank : ndarray of int, shape (W, seeds)
    spectrum : ndarray, shape (W, seeds, K)
    loss : ndarray, shape (W, seeds)
    """

    widths: np.ndarray
    rank: np.ndarray
    spectrum: np.ndarray
    loss: np.ndarray
    K: int
    depth: int
    rank_tol: float

    def plot(self, path=None):
        from ._plot import plot_width_rank

        return plot_width_rank(self, path)


def rank_vs_width(
    K: int = 8,
    depth: int = 4,
    widths=(8, 16, 64, 128),
    seeds: int = 5,
    scale: float = 0.5,
    lr: float = 0.2,
    steps: int = 10_000,
    n: int = 1,
    rank_tol: float = 0.1,
    device: str | None = None,
    num_threads: int | None = None,
) -> WidthRank:
    """Wider models reach higher rank under Gaussian initialisation (torch GD).

    Entries ``N(0, scale^2 / d)`` (digest 4, item 8); needs torch.

    Parameters
    ----------
    K, depth : int
    widths : sequence of int
    seeds : int
        Independent runs per width (one batched GD call).
    scale, lr : float
    steps : int
    n : int
    rank_tol : float
        Relative threshold of the numerical rank.
    device : str, optional
        torch device.
    num_threads : int, optional
        torch threads for the runs (see :func:`gradient_descent`).

    Returns
    -------
    WidthRank
    """
    from ._gd import gradient_descent

    widths = np.asarray(widths, dtype=int)
    rank, spec, loss = [], [], []
    for d in widths:
        res = gradient_descent(
            K,
            n,
            depth,
            int(d),
            lr,
            steps,
            init="gaussian",
            scale=scale,
            batch=seeds,
            record_every=max(steps, 1),
            rank_tol=rank_tol,
            device=device,
            num_threads=num_threads,
        )
        rank.append(res.rank[:, -1])
        spec.append(res.logit_spectrum[:, -1])
        loss.append(res.loss[:, -1])
        logger.info("width %d: ranks %s", d, res.rank[:, -1])
    return WidthRank(
        widths=widths,
        rank=np.array(rank),
        spectrum=np.array(spec),
        loss=np.array(loss),
        K=K,
        depth=depth,
        rank_tol=rank_tol,
    )


def table(result: Any) -> tuple[list[str], list[list]]:
    """Header and rows of a phenomenon result, for CSV output."""
    if isinstance(result, NCConvergence):
        head = ["t", "loss", "V", "s_exact", "loss_exact", "s_equal"]
        head += [f"s{k}" for k in range(1, result.K)]
        cols = [
            result.t,
            result.loss,
            result.V,
            result.s_exact,
            result.loss_exact,
            result.s_equal,
            *result.s.T,
        ]
        return head, [list(r) for r in zip(*cols, strict=True)]
    if isinstance(result, Repulsion):
        head = ["depth", "t", "spread"] + [f"s{k}" for k in range(1, result.K)]
        rows = [
            [int(L), t, v, *s]
            for L, sp, ss in zip(result.depths, result.spread, result.s, strict=True)
            for t, v, s in zip(result.t, sp, ss, strict=True)
        ]
        return head, rows
    if isinstance(result, LowRank):
        head = ["depth", "start", "active"] + [f"s{k}" for k in range(1, result.K)]
        rows = [
            [int(L), i, int(a), *s]
            for L, act, sf in zip(
                result.depths, result.active, result.s_final, strict=True
            )
            for i, (a, s) in enumerate(zip(act, sf, strict=True))
        ]
        return head, rows
    if isinstance(result, Basin):
        head = ["sigma0", "depth", "rho_star"]
        rows = [
            [s0, int(L), result.rho_star[i, j]]
            for i, s0 in enumerate(result.sigma0)
            for j, L in enumerate(result.depths)
        ]
        return head, rows
    if isinstance(result, WidthRank):
        head = ["width", "seed", "rank", "loss"] + [f"sv{k}" for k in range(result.K)]
        rows = [
            [int(d), i, int(r), lo, *sp]
            for d, rk, ls, spec in zip(
                result.widths, result.rank, result.loss, result.spectrum, strict=True
            )
            for i, (r, lo, sp) in enumerate(zip(rk, ls, spec, strict=True))
        ]
        return head, rows
    raise TypeError(f"no table for {type(result).__name__}")
