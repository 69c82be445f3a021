"""Figures of keatingcore.ufm (matplotlib object API; each returns a Figure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._plotting import new_figure


def _layer_labels(depth: int) -> list[str]:
    return [f"H{l}" for l in range(1, depth)] + ["Z"]


def plot_training(result: Any, reference: float | None = None) -> Any:
    """Loss and per-layer collapse over training (a :class:`TrainResult`).

    Parameters
    ----------
    result : TrainResult
    reference : float, optional
        A predicted minimum (e.g. the closed-form MSE loss): the loss panel then
        shows ``loss - reference`` on a log scale.
    """
    fig = new_figure(figsize=(10, 7))
    axes = fig.subplots(2, 2)
    t = np.maximum(result.time, result.time[1] if result.time.size > 1 else 1.0)
    ax = axes[0, 0]
    if reference is not None:
        gap = np.abs(result.loss - reference)
        ax.loglog(t, np.maximum(gap, 1e-17), label="|loss - predicted|")
        ax.set_ylabel("loss gap")
    else:
        ax.semilogx(t, result.loss, label="loss")
        ax.semilogx(t, result.fit, "--", label="fit")
        ax.semilogx(t, result.reg, ":", label="regulariser")
        ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    depth = result.nc1.shape[1]
    labels = _layer_labels(depth)
    nc2_key = "nc2_orth" if result.config.get("loss") == "mse" else "nc2"
    for ax, key, title in (
        (axes[0, 1], "nc1", "NC1 = tr(S_W S_B^+)/K"),
        (
            axes[1, 0],
            nc2_key,
            "NC2 (orthogonal frame)" if nc2_key == "nc2_orth" else "NC2 (simplex ETF)",
        ),
    ):
        vals = getattr(result, key)
        for l in range(depth):
            ax.loglog(t, np.maximum(vals[:, l], 1e-17), label=labels[l])
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, ncol=2)
    ax = axes[1, 1]
    ax.loglog(t, np.maximum(result.logit_svals, 1e-17))
    ax.set_title("singular values of the mean logits", fontsize=10)
    for ax in axes.ravel():
        ax.set_xlabel("t = lr x step")
    return fig


def plot_hessian_spectrum(
    eigenvalues,
    predicted: float | None = None,
    count: int | None = None,
    title: str = "layer-wise Hessian",
) -> Any:
    """Top of the spectrum by index and a histogram of all eigenvalues.

    Parameters
    ----------
    eigenvalues : array_like
        Any order.
    predicted : float, optional
        Closed-form outlier value (dashed line in both panels).
    count : int, optional
        Predicted number of outliers (dotted line in the left panel).
    title : str
    """
    e = np.sort(np.asarray(eigenvalues, dtype=float).ravel())[::-1]
    fig = new_figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    q = min(e.size, 2 * count + 10 if count else 100)
    left.semilogy(np.arange(1, q + 1), np.maximum(np.abs(e[:q]), 1e-18), "o", ms=3)
    if predicted is not None:
        left.axhline(predicted, ls="--", color="C3", label=f"predicted {predicted:.4g}")
    if count is not None:
        left.axvline(count + 0.5, ls=":", color="C2", label=f"predicted count {count}")
    left.set_xlabel("index")
    left.set_ylabel("|eigenvalue|")
    if predicted is not None or count is not None:
        left.legend(fontsize=8)
    left.set_title(title, fontsize=10)
    right.hist(e, bins=100, log=True)
    if predicted is not None:
        right.axvline(predicted, ls="--", color="C3")
    right.set_xlabel("eigenvalue")
    right.set_ylabel("count")
    right.set_title(f"all {e.size} eigenvalues", fontsize=10)
    return fig


def plot_singular_values(factors, reps=None, rel_floor: float = 1e-12) -> Any:
    """Singular values of every weight (and representation) by index, log scale.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]``.
    reps : sequence of array_like, optional
        Representations ``[H_1, ..., Z]`` for a second panel.
    rel_floor : float
        Values are clipped below this fraction of the largest.
    """
    fig = new_figure(figsize=(10 if reps is not None else 5, 4))
    axes = np.atleast_1d(fig.subplots(1, 2 if reps is not None else 1))
    panels = [(axes[0], factors[1:], [f"W{l}" for l in range(1, len(factors))])]
    if reps is not None:
        panels.append((axes[-1], reps, _layer_labels(len(factors))))
    for ax, mats, names in panels:
        for M, name in zip(mats, names, strict=True):
            s = np.linalg.svd(np.asarray(M, dtype=float), compute_uv=False)
            floor = rel_floor * max(s[0], 1e-300)
            ax.semilogy(
                np.arange(1, s.size + 1), np.maximum(s, floor), "o-", ms=3, label=name
            )
        ax.set_xlabel("index")
        ax.set_ylabel("singular value")
        ax.legend(fontsize=8)
    axes[0].set_title("weights", fontsize=10)
    if reps is not None:
        axes[-1].set_title("representations", fontsize=10)
    return fig


def plot_compare_map(cemap: Any) -> Any:
    """Relative margin ``(L_DNC - L_LR) / L_DNC`` over (K, L) (a :class:`CEMap`).

    Positive (red) where the paired low-rank configuration wins ("tie" for K = 2,
    where the two frames coincide up to scale). The contour where the equal-scale
    penalty ratio crosses 1 (the proof's condition) is drawn.
    """
    fig = new_figure(figsize=(6, 5))
    ax = fig.subplots()
    rel = cemap.margin / cemap.dnc_loss
    lim = max(float(np.nanmax(np.abs(rel))), 1e-12)
    Ls = cemap.depths - 1
    im = ax.pcolormesh(
        Ls, cemap.Ks, rel, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest"
    )
    fig.colorbar(im, ax=ax, label="(L_DNC - L_LR) / L_DNC")
    for i, K in enumerate(cemap.Ks):
        for j, L in enumerate(Ls):
            tie = abs(cemap.margin[i, j]) <= 1e-9 * cemap.dnc_loss[i, j]
            mark = "LR" if cemap.lowrank_wins[i, j] else ("tie" if tie else "DNC")
            ax.text(L, K, mark, ha="center", va="center", fontsize=6)
    if min(cemap.Ks.size, Ls.size) >= 2:
        ax.contour(
            Ls, cemap.Ks, cemap.penalty_ratio, levels=[1.0], colors="k", linewidths=1
        )
    ax.set_xlabel("L (weight matrices)")
    ax.set_ylabel("K (classes)")
    ax.set_title(f"DNC vs low rank, n={cemap.n}, lam={cemap.lam:g}", fontsize=10)
    return fig


def plot_hessian_track(result: Any, predicted: float | None = None) -> Any:
    """Outliers, eigenvector alignment and gradient coefficients over training."""
    h = result.hessian
    if h is None:
        raise ValueError("result has no Hessian track; train with hessian_layer=")
    fig = new_figure(figsize=(12, 4))
    a, b, c = fig.subplots(1, 3)
    t = np.maximum(result.time, result.time[1] if result.time.size > 1 else 1.0)
    K = h.alignment.shape[1]
    a.loglog(t, np.maximum(h.top[:, : K * K + 2], 1e-18), lw=0.8)
    if predicted is not None:
        a.axhline(predicted, ls="--", color="k", label="predicted outlier")
        a.legend(fontsize=8)
    a.set_title(f"top eigenvalues of the W{h.layer} Hessian", fontsize=10)
    diag = np.eye(K, dtype=bool)
    b.semilogx(t, h.alignment[:, diag].mean(axis=1), label="f_cc (mean)")
    b.semilogx(t, h.alignment[:, ~diag].mean(axis=1), label="f_cc' c!=c' (mean)")
    b.set_ylim(-0.05, 1.05)
    b.legend(fontsize=8)
    b.set_title("eigenvector alignment", fontsize=10)
    c.semilogx(t, h.grad_coefficients[:, diag].sum(axis=1), label="sum over c=c'")
    c.semilogx(t, h.grad_coefficients[:, ~diag].sum(axis=1), label="sum over c!=c'")
    c.semilogx(t, h.grad_in_top, ":", label="in top-K^2 space")
    c.set_ylim(-0.05, 1.05)
    c.legend(fontsize=8)
    c.set_title("gradient coefficients", fontsize=10)
    for ax in (a, b, c):
        ax.set_xlabel("t = lr x step")
    return fig
