"""Clean accuracy and attack success against the training trigger strength.

The two curves behind phenomena 1 and 2 of Flynn, Goldhirsh, Keating & Seroussi,
arXiv 2605.22481 (clean accuracy rising with alpha, attack success peaking at a finite
alpha), from the asymptotic theory and, optionally, finite-size simulation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._plotting import figure_targets, new_figure, save_figure
from ._setup import Setup
from ._simulate import simulate
from ._solve import sweep

logger = logging.getLogger(__name__)

N_SIM_ALPHAS = 6


def _default_sim_alphas(alphas: np.ndarray) -> np.ndarray:
    """Up to 6 values of ``alphas``, evenly spread over its index range."""
    idx = np.unique(np.linspace(0, alphas.size - 1, N_SIM_ALPHAS).round().astype(int))
    return alphas[idx]


def _as_grid(name: str, values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty 1-D sequence of finite numbers")
    return arr


def plot_curves(
    setup: Setup,
    alphas: Sequence[float],
    kappas: Sequence[float] = (0.5, 1.0, 2.0),
    loss: str = "square",
    *,
    simulate_n: int | None = None,
    seeds: int | Sequence[int] = 10,
    sim_alphas: Sequence[float] | None = None,
    path: Any = None,
    ax: Any = None,
):
    """Plot clean accuracy and attack success rate against alpha, one line per kappa.

    Theory lines come from :func:`~keatingcore.backdoor.sweep` over (kappa, alpha);
    simulation points (mean +- standard error over seeds) from
    :func:`~keatingcore.backdoor.simulate`.

    Parameters
    ----------
    setup : Setup
        Fixes every other parameter (lam, snr, eps, alpha_test, geometry, ...).
    alphas : sequence of float
        Training trigger strengths of the theory lines (>= 0).
    kappas : sequence of float
        Aspect ratios p/n, one line (and colour) each.
    loss : {"square", "logistic", "hinge"}
    simulate_n : int, optional
        Add simulation points with this many training samples (p = round(kappa n)).
        With a fixed-size ``setup.cov``, n = round(p / kappa) instead and any
        non-None value only switches the simulation on.
    seeds : int or sequence of int
        Seeds per simulation point, as in ``simulate``.
    sim_alphas : sequence of float, optional
        Alphas of the simulation points. Default: 6 values of ``alphas`` spread over
        its range.
    path : str or path-like, optional
        Save the figure there: ``.png`` or ``.pdf``, or no suffix for both
        (``path.png`` and ``path.pdf``).
    ax : pair of matplotlib Axes, optional
        Draw into these (accuracy, attack success) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, created without pyplot (no global state, no backend switch).
    """
    alphas = _as_grid("alphas", alphas)
    kappas = _as_grid("kappas", kappas)
    if path is not None:
        figure_targets(path)  # a bad suffix fails before any work
    if ax is None:
        fig = new_figure(figsize=(10.0, 4.0))
        axes = fig.subplots(1, 2)
    else:
        axes = list(ax)
        if len(axes) != 2:
            raise ValueError(f"ax must be a pair of Axes, got {len(axes)}")
        fig = axes[0].figure
    if simulate_n is not None:
        sim_alphas = (
            _default_sim_alphas(alphas)
            if sim_alphas is None
            else _as_grid("sim_alphas", sim_alphas)
        )

    theory = sweep(setup, loss, kappa=kappas, alpha=alphas)
    for i, kappa in enumerate(kappas):
        colour = f"C{i % 10}"
        label = f"\u03ba = {kappa:g}"
        axes[0].plot(alphas, theory.clean_accuracy[i], color=colour, label=label)
        axes[1].plot(alphas, theory.attack_success[i], color=colour, label=label)
        if simulate_n is None:
            continue
        n = None if setup.cov is not None else simulate_n
        sims = [
            simulate(setup.replace(kappa=kappa, alpha=a), n=n, loss=loss, seeds=seeds)
            for a in sim_alphas
        ]
        logger.info(
            "plot_curves: kappa=%g, %d simulation points, n=%d, p=%d",
            kappa,
            len(sims),
            sims[0].n,
            sims[0].p,
        )
        for panel, name in zip(axes, ("clean_accuracy", "attack_success"), strict=True):
            panel.errorbar(
                sim_alphas,
                [s.mean(name) for s in sims],
                yerr=[s.sem(name) for s in sims],
                fmt="o",
                ms=4,
                capsize=2,
                color=colour,
                label=f"{label}, simulation (n = {sims[0].n})",
            )

    title = (
        f"{loss} loss, \u03bb = {setup.lam:g}, \u03b5 = {setup.eps:g}, "
        f"|\u03bc|\u00b2 = {setup.snr:g}, \u03b1_test = {setup.alpha_test:g}"
    )
    for panel, ylabel in zip(
        axes, ("clean accuracy", "attack success rate"), strict=True
    ):
        panel.set_xlabel("training trigger strength \u03b1")
        panel.set_ylabel(ylabel)
        panel.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle(title)
    if path is not None:
        logger.info("plot_curves: wrote %s", save_figure(fig, path))
    return fig


def plot_sweep(result: Any, path: Any = None) -> Any:
    """Clean accuracy and attack success against alpha for a :class:`SweepResult`.

    The sweep must have alpha as an axis and at most one other swept parameter,
    which labels the curves.

    Parameters
    ----------
    result : SweepResult
    path : str or Path, optional
        ``.png``, ``.pdf`` or ``.svg``; no suffix writes PNG and PDF.

    Returns
    -------
    matplotlib.figure.Figure
    """
    axes_names = list(result.axes)
    if "alpha" not in result.axes or len(axes_names) > 2:
        raise ValueError(
            "plot_sweep needs alpha swept plus at most one other "
            f"parameter, got axes {axes_names}"
        )
    if path is not None:
        figure_targets(path)
    alphas = result.axes["alpha"]
    other = axes_names[0] if len(axes_names) == 2 else None
    labels = [""] if other is None else [f"{other} = {v:g}" for v in result.axes[other]]
    fig = new_figure(figsize=(10.0, 4.0))
    panels = fig.subplots(1, 2)
    for panel, name in zip(panels, ("clean_accuracy", "attack_success"), strict=True):
        values = getattr(result, name).reshape(len(labels), alphas.size)
        for i, label in enumerate(labels):
            panel.plot(alphas, values[i], color=f"C{i % 10}", label=label or None)
        panel.set_xlabel("training trigger strength \u03b1")
        panel.set_ylabel(name.replace("_", " "))
        panel.grid(alpha=0.3)
    if other is not None:
        panels[0].legend(fontsize="small")
    fig.suptitle(f"{result.loss} loss theory ({result.setup.balance} poisoning)")
    if path is not None:
        save_figure(fig, path)
    return fig
