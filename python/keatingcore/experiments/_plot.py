"""Figures of the real-data experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._plotting import new_figure, save_figure

METRIC_LABELS = {"clean_accuracy": "clean accuracy", "attack_success": "attack success"}
STYLE = {
    "theory": dict(ls="-", lw=1.8),
    "surrogate": dict(marker="o", ls="none", mfc="none", ms=5, capsize=2),
    "real": dict(marker="s", ls="none", ms=4, capsize=2),
}


def plot_linear_experiment(result: Any, path: str | Path | None = None) -> Any:
    """Clean accuracy and attack success vs alpha: real data, surrogate and theory.

    One colour per kappa; theory as lines, the Gaussian surrogate as open circles and
    the real data as filled squares, both with +-1 standard-error bars.

    Parameters
    ----------
    result : LinearExperimentResult
    path : str or Path, optional
        Where to save (PNG/PDF by suffix; both without one).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(figsize=(9.5, 3.8))
    axes = fig.subplots(1, 2)
    colours = [f"C{i}" for i in range(len(result.kappas))]
    for ax, metric in zip(axes, METRIC_LABELS, strict=True):
        for i, kappa in enumerate(result.kappas):
            for model, curves in result.curves.items():
                label = f"{model}, kappa={kappa:g}"
                y = curves[metric][i]
                if model == "theory":
                    ax.plot(
                        result.alphas, y, color=colours[i], label=label, **STYLE[model]
                    )
                else:
                    ax.errorbar(
                        result.alphas,
                        y,
                        yerr=curves[f"{metric}_sem"][i],
                        color=colours[i],
                        label=label,
                        **STYLE[model],
                    )
        ax.set_xlabel("training trigger strength alpha")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=1)
    s = result.settings
    fig.suptitle(
        f"{s['data']}: {s['target']} <- {s['source']}, {s['loss']} loss, "
        f"eps={s['eps']:g}, lam={s['lam']:g}, alpha_test={s['alpha_test']:g}",
        fontsize=9,
    )
    if path is not None:
        save_figure(fig, path)
    return fig
