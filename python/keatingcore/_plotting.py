"""Shared figure helpers (matplotlib's object API; no global pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUFFIXES = (".png", ".pdf", ".svg")


def new_figure(**kwargs: Any) -> Any:
    """A matplotlib Figure with an Agg canvas that never touches pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def figure_targets(path: str | Path) -> list[Path]:
    """Files a figure path stands for: itself, or .png and .pdf without a suffix."""
    path = Path(path)
    if path.suffix == "":
        return [path.with_name(path.name + s) for s in (".png", ".pdf")]
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(
            f"path must end in {', '.join(SUFFIXES)} (or have no suffix "
            f"for .png and .pdf), got {str(path)!r}"
        )
    return [path]


def save_figure(fig: Any, path: str | Path) -> list[Path]:
    """Save by the suffix (PNG, PDF, SVG), or as PNG and PDF when there is none."""
    targets = figure_targets(path)
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=150, bbox_inches="tight")
    return targets
