"""The result of :func:`keatingcore.sweep`: one table row per grid point."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from .._result import _format_seconds
from ._grid import POINT_ID, Grid


@dataclasses.dataclass(frozen=True, repr=False)
class SweepRun:
    """Every point of a sweep with its outputs, and how the run went.

    Attributes
    ----------
    table : dict of str to ndarray
        ``point_id``, the grid parameters, then the outputs, one row per point in
        point order (C order for a product grid).
    grid : Grid
    inputs, outputs : tuple of str
        Column names of the parameters and of the function's outputs.
    n_chunks : int
        Chunks in the grid.
    n_computed : int
        Chunks computed by this call.
    n_skipped : int
        Chunks found in the store and not recomputed.
    elapsed : float
        Wall-clock seconds of the whole call (cluster start-up included).
    compute_seconds : float
        Seconds spent inside the function, summed over the chunks of this call.
    backend : str
    store : Path or None
        The store folder (``None`` for an in-memory sweep).
    """

    table: dict[str, np.ndarray]
    grid: Grid
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    n_chunks: int
    n_computed: int
    n_skipped: int
    elapsed: float
    compute_seconds: float
    backend: str
    store: Path | None

    @property
    def n_points(self) -> int:
        return self.table[POINT_ID].size

    def __getitem__(self, name: str) -> np.ndarray:
        """One column of :attr:`table`."""
        try:
            return self.table[name]
        except KeyError:
            raise KeyError(
                f"no column {name!r}; columns are {tuple(self.table)}"
            ) from None

    def on_grid(self, name: str) -> np.ndarray:
        """A column reshaped to the grid's shape (product grids only).

        ``run.on_grid("V")[i, j]`` is the value at ``axis0[i], axis1[j]``.
        """
        if self.grid.kind != "product":
            raise ValueError("on_grid needs a product grid; this sweep ran on a table")
        return self[name].reshape(self.grid.shape)

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame indexed by ``point_id`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("to_frame needs pandas: pip install pandas") from exc
        frame = pd.DataFrame({k: v for k, v in self.table.items() if k != POINT_ID})
        frame.index = pd.Index(self.table[POINT_ID], name=POINT_ID)
        return frame

    def __repr__(self) -> str:
        where = "memory" if self.store is None else repr(str(self.store))
        return (
            f"SweepRun({self.n_points} points, outputs {list(self.outputs)}; "
            f"{self.n_chunks} chunks: {self.n_computed} computed, {self.n_skipped} "
            f"from the store; {self.backend} backend, {_format_seconds(self.elapsed)};"
            f" store {where})"
        )
