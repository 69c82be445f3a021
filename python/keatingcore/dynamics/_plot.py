"""Figures of the dynamics phenomena (matplotlib object API, no pyplot state)."""

from __future__ import annotations

import numpy as np

from .._plotting import new_figure, save_figure


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_nc_convergence(res, path=None):
    """Products, loss and spread against time, with the exact NC trajectory."""
    fig = new_figure(figsize=(11, 3.4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    t = res.t[1:]
    ax1.plot(t, res.s[1:], lw=1)
    ax1.plot(t, res.s_exact[1:], "k--", lw=1.5, label="exact NC curve (equal start)")
    ax1.set(
        xscale="log", xlabel="t = lr x steps", ylabel="s_k", title="singular values"
    )
    ax1.legend(fontsize=8)
    ax2.loglog(t, res.loss[1:], label="perturbed start")
    ax2.loglog(t, res.loss_exact[1:], "k--", label="exact NC curve")
    ax2.set(xlabel="t", ylabel="mean cross-entropy", title="loss")
    ax2.legend(fontsize=8)
    ax3.semilogx(t, res.V[1:])
    ax3.set(xlabel="t", ylabel="log(s_max / s_min)", title="spread V(t)")
    fig.suptitle(
        f"Convergence to neural collapse, K={res.K}, depth {res.depth}, n={res.n:g} "
        f"(integrator vs exact: {res.max_rel_error:.1e})",
        fontsize=10,
    )
    return _finish(fig, path)


def plot_repulsion(res, path=None):
    """Relative spread of the singular values against time, one curve per depth."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    for L, sp in zip(res.depths, res.spread, strict=True):
        ax.semilogx(res.t[1:], sp[1:], label=f"depth {L}")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set(
        xlabel="t",
        ylabel="log(s_max/s_min), relative to t = 0",
        title=f"Early-time repulsion, K={res.K}, "
        f"start {res.sigma0:g}(1 + {res.delta:g} xi)",
    )
    ax.legend()
    return _finish(fig, path)


def plot_low_rank(res, path=None):
    """Distribution of the number of diverging modes per depth."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    K = res.K
    for j, L in enumerate(res.depths):
        counts = np.bincount(res.active[j], minlength=K)
        seen = counts > 0
        ax.scatter(
            np.full(seen.sum(), L),
            np.flatnonzero(seen),
            s=20 + 300 * counts[seen] / res.active.shape[1],
            alpha=0.7,
        )
    ax.plot(res.depths, res.active.mean(axis=1), "k-o", lw=1, label="mean")
    ax.axhline(K - 1, color="g", ls=":", label="NC (K-1)")
    ax.axhline(np.log2(K), color="r", ls=":", label="log2 K")
    ax.set(
        xlabel="depth",
        ylabel=f"modes with s_k/s_max > {res.threshold:g}",
        title=f"Low-rank emergence at t = {res.t_max:.0e}, K={K}",
    )
    ax.legend()
    return _finish(fig, path)


def plot_basin(res, path=None):
    """Critical ratio rho* against depth, one curve per start scale."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    for i, s0 in enumerate(res.sigma0):
        ax.plot(res.depths, res.rho_star[i], "-o", label=f"sigma0 = {s0:g}")
    ax.set(
        xlabel="depth",
        ylabel="rho*  (NC iff rho > rho*)",
        ylim=(0, 1.02),
        title=f"Basin of NC, K={res.K}, start sigma0(1,...,1,rho); "
        f"{res.trajectories} starts",
    )
    ax.legend()
    return _finish(fig, path)


def plot_width_rank(res, path=None):
    """Final numerical rank against width under Gaussian initialisation."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    mean = res.rank.mean(axis=1)
    ax.errorbar(res.widths, mean, yerr=res.rank.std(axis=1), fmt="-o", capsize=3)
    for d, r in zip(res.widths, res.rank, strict=True):
        ax.scatter(np.full(r.size, d), r, s=10, color="gray", alpha=0.5)
    ax.set(
        xscale="log",
        xlabel="width d",
        ylabel=f"numerical rank (tol {res.rank_tol:g})",
        title=f"Rank vs width, random init, K={res.K}, depth {res.depth}",
    )
    return _finish(fig, path)


def plot_trajectories(traj, index: int = 0, path=None):
    """Per-layer values and the loss of one integrated trajectory."""
    fig = new_figure(figsize=(10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    t = traj.t
    pos = t > 0
    s = traj.s[index]
    ax1.plot(t[pos], s[pos], lw=1)
    ax1.set(
        xscale="log",
        xlabel="t",
        ylabel="s_k = prod_l sigma_{l,k}",
        title=f"trajectory {index}: products",
    )
    ax2.loglog(t[pos], traj.loss[index][pos])
    ax2.set(xlabel="t", ylabel="mean cross-entropy", title="loss")
    return _finish(fig, path)
