"""Figures of keatingcore.landscape (matplotlib object API, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._plotting import new_figure
from ._activations import deformation_strength, gaussian_statistics, piecewise_linear
from ._complexity import complexity, thresholds
from ._critical import DescentResult
from ._deformed import bbp_outlier, deformed_counts, extreme_eigenvalues
from ._finite import count_monte_carlo, expected_counts


def plot_complexity(p: Sequence[int] = (3, 4, 5, 6), u: Any = None) -> Any:
    """Total complexity Theta_p(u) for several p, with -E_0 and -E_inf marked."""
    u = np.linspace(-2.2, 0.5, 1000) if u is None else np.asarray(u, dtype=float)
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    t = thresholds(list(p), 0)
    for i, pi in enumerate(p):
        (line,) = ax.plot(u, complexity(u, pi), label=f"p = {pi}")
        ax.axvline(-t.E[i, 0], color=line.get_color(), ls=":", lw=0.8)
        ax.axvline(-t.E_inf[i], color=line.get_color(), ls="--", lw=0.8)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("energy per site u")
    ax.set_ylabel(r"$\Theta_p(u)$")
    ax.set_title(r"total complexity; dotted $-E_0$, dashed $-E_\infty$")
    ax.set_ylim(-0.15, None)
    ax.legend()
    return fig


def plot_index_complexity(
    p: int = 3, k: Sequence[int] = range(6), u: Any = None
) -> Any:
    """Theta_{k,p}(u) for k = 0..5 and Theta_p, thresholds -E_k and -E_inf marked."""
    t = thresholds(p, max(k))
    e0, einf = t.E[0, 0], t.E_inf[0]
    if u is None:
        u = np.linspace(-e0 - 0.03, -einf + 0.03, 1000)
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    ax.plot(u, complexity(u, p), "k", lw=2, label=r"total $\Theta_p$")
    for kk in k:
        (line,) = ax.plot(u, complexity(u, p, kk), label=f"k = {kk}")
        ax.axvline(-t.E[0, kk], color=line.get_color(), ls=":", lw=0.8)
    ax.axvline(-einf, color="k", ls="--", lw=0.8, label=r"$-E_\infty$")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("energy per site u")
    ax.set_ylabel(r"$\Theta_{k,p}(u)$")
    ax.set_title(f"complexity by index, p = {p}; dotted: $-E_k$")
    ax.legend(fontsize="small", ncol=2)
    return fig


def plot_finite_n(
    p: int = 3,
    N: Sequence[int] = (4, 8, 16, 24),
    index: int | None = None,
    u: Any = None,
    mc_N: Sequence[int] = (),
    n_samples: int = 20_000,
) -> Any:
    """log(E Crt_N(u)) / N at finite N (exact; Monte Carlo for ``mc_N``) against
    the asymptotic Theta (index ``index`` or total)."""
    u = np.linspace(-2.0, 0.3, 60) if u is None else np.asarray(u, dtype=float)
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for n in N:
        c = expected_counts(n, p, u, None if index is None else max(index, 0))
        ax.plot(u, c.complexity(index), label=f"N = {n} (exact)")
    for n in mc_N:
        k_max = None if index is None else index
        c = count_monte_carlo(n, p, u, k_max, n_samples=n_samples, seed=n)
        y = c.total if index is None else c.by_index[index]
        err = c.stderr_total if index is None else c.stderr_by_index[index]
        ok = y > 3 * err
        ax.errorbar(
            u[ok],
            np.log(y[ok]) / n,
            yerr=err[ok] / y[ok] / n,
            fmt=".",
            label=f"N = {n} (Monte Carlo)",
        )
    ax.plot(u, complexity(u, p, index), "k", lw=2, label=r"$N \to \infty$")
    ax.set_xlabel("energy per site u")
    which = "all indices" if index is None else f"index {index}"
    ax.set_ylabel(r"$\frac{1}{N}\log E\,\mathrm{Crt}_N(u)$")
    ax.set_title(f"finite-N counts, p = {p}, {which}")
    ax.legend(fontsize="small")
    return fig


def plot_descent_band(results: Sequence[DescentResult]) -> Any:
    """Energies reached by gradient descent for each N, against [-E_0, -E_inf]."""
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for i, r in enumerate(results):
        jitter = np.linspace(-0.15, 0.15, r.energy.size)
        ax.plot(np.full(r.energy.size, i) + jitter, r.energy, ".", alpha=0.7)
        ax.plot([i - 0.25, i + 0.25], [r.energy.mean()] * 2, "k-")
    lo, hi = results[0].band
    ax.axhspan(lo, hi, color="tab:green", alpha=0.25, label=r"$[-E_0, -E_\infty]$")
    ax.set_xticks(range(len(results)), [f"N = {r.N}" for r in results])
    ax.set_ylabel("final energy per site")
    ax.set_title(f"gradient descent end points, p = {results[0].p}")
    ax.legend()
    return fig


def plot_activations(
    names: Sequence[str] = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu"),
    n_pieces: int = 8,
    N: int = 12,
    p: int = 3,
    n_samples: int = 20_000,
) -> Any:
    """Left: piecewise-linear fits. Right: [reconstruction] mean counts by index of
    the deformed problem relative to ReLU (theta from :func:`deformation_strength`)."""
    fig = new_figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    z = np.linspace(-4, 4, 400)
    base = expected_counts(N, p).by_index[:, 0]
    for name in names:
        pl = piecewise_linear(name, n_pieces)
        (line,) = left.plot(z, pl(z), label=f"{name} (L2 err {pl.l2_error:.1e})")
        from ._activations import activation

        left.plot(z, activation(name)[0](z), color=line.get_color(), ls=":", lw=0.8)
        theta = deformation_strength(gaussian_statistics(name))
        if abs(theta) < 1e-9:
            ratio = np.ones(N)
        else:
            c = deformed_counts(N, p, theta, n_samples=n_samples, seed=1)
            ratio = c.by_index[:, 0] / base
        right.plot(
            range(N),
            ratio,
            "o-",
            color=line.get_color(),
            label=f"{name}, theta = {theta:.2f}",
        )
    left.set_xlabel("z")
    left.set_title(f"piecewise-linear fits ({n_pieces} quantile pieces)")
    left.legend(fontsize="small")
    right.set_yscale("log")
    right.set_xlabel("index k")
    right.set_ylabel("E Crt_k (deformed) / E Crt_k (ReLU)")
    right.set_title(f"[reconstruction] N = {N}, p = {p}")
    right.legend(fontsize="small")
    return fig


def plot_bbp(N: int = 2000, thetas: Any = None, n_samples: int = 20) -> Any:
    """Largest eigenvalue of GOE_N + theta v v^T against the BBP formula."""
    thetas = np.linspace(0.0, 2.0, 21) if thetas is None else np.asarray(thetas)
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    means = [
        extreme_eigenvalues(N, t, n_samples, top=True, seed=3).mean() for t in thetas
    ]
    fine = np.linspace(thetas.min(), thetas.max(), 400)
    ax.plot(fine, bbp_outlier(fine), "k", label=r"$\theta + 1/(2\theta)$ or $\sqrt{2}$")
    ax.plot(thetas, means, "o", label=f"N = {N}, mean of {n_samples}")
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel("largest eigenvalue")
    ax.set_title("GOE + rank one: BBP transition")
    ax.legend()
    return fig
