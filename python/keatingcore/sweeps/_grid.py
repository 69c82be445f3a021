"""Parameter grids of a sweep: a Cartesian product of axes, or a table of points.

Either way the points are numbered ``0 .. n_points - 1`` (C order for a product, the
last axis varying fastest; row order for a table), and chunk ``k`` of size ``c`` holds
the points ``k c .. min((k + 1) c, n_points) - 1``. The numbering depends only on the
grid, so a store can be resumed by any backend, on any machine.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Column name of the point number in every sweep table.
POINT_ID = "point_id"
#: numpy dtype kinds a grid column may have: bool, int, uint, float, str.
ALLOWED_KINDS = "biufU"
KINDS = ("product", "table")


def _column(name: Any, values: Any) -> np.ndarray:
    """A read-only 1-D copy of one grid column, or a ValueError naming it."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"grid names must be non-empty strings, got {name!r}")
    if name == POINT_ID:
        raise ValueError(f"grid name {POINT_ID!r} is reserved for the point number")
    arr = np.array(values)
    if arr.ndim != 1:
        raise ValueError(f"grid[{name!r}] must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"grid[{name!r}] is empty")
    if arr.dtype.kind not in ALLOWED_KINDS:
        raise ValueError(
            f"grid[{name!r}] must hold bools, numbers or strings, got dtype {arr.dtype}"
        )
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


class Grid:
    """The points of a sweep, numbered deterministically.

    Build one with :meth:`product` (every combination of the axes) or :meth:`table`
    (given rows). :func:`keatingcore.sweep` also takes a ``dict`` (a product), a
    pandas DataFrame or a numpy structured array (tables).

    Attributes
    ----------
    kind : {"product", "table"}
    columns : dict of str to ndarray
        The axes of a product, or the columns of a table (read-only, 1-D).
    """

    __slots__ = ("_fingerprint", "columns", "kind")

    def __init__(self, kind: str, columns: Mapping[str, Any]) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(columns, Mapping):
            raise TypeError(f"grid columns must be a mapping, got {type(columns)}")
        if not columns:
            raise ValueError("grid must have at least one parameter, got none")
        cols = {name: _column(name, v) for name, v in columns.items()}
        if kind == "table":
            lengths = {name: v.size for name, v in cols.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(
                    f"grid table columns must have equal lengths, got {lengths}"
                )
        self.kind = kind
        self.columns = cols
        self._fingerprint: str | None = None

    @classmethod
    def product(cls, axes: Mapping[str, Any] | None = None, **more: Any) -> Grid:
        """Every combination of the axes, in C order (the last axis varies fastest).

        Parameters
        ----------
        axes : mapping of str to 1-D array_like, optional
        **more
            Further axes by keyword.
        """
        return cls("product", {**(axes or {}), **more})

    @classmethod
    def table(cls, columns: Any = None, **more: Any) -> Grid:
        """Given points, one per row.

        Parameters
        ----------
        columns : mapping of str to 1-D array_like, DataFrame or structured array
            Equal-length columns.
        **more
            Further columns by keyword.
        """
        return cls("table", {**_table_columns(columns), **more})

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in the order they are passed to the function."""
        return tuple(self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        """Axis lengths of a product, ``(n_points,)`` for a table."""
        if self.kind == "product":
            return tuple(v.size for v in self.columns.values())
        return (next(iter(self.columns.values())).size,)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    def n_chunks(self, chunk_size: int) -> int:
        """Number of chunks of ``chunk_size`` points (the last may be shorter)."""
        return -(-self.n_points // chunk_size)

    def chunk_range(self, k: int, chunk_size: int) -> tuple[int, int]:
        """First and one-past-last point number of chunk ``k``."""
        start = k * chunk_size
        return start, min(start + chunk_size, self.n_points)

    def points(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """The parameter columns of points ``start .. stop - 1`` (fresh arrays)."""
        stop = self.n_points if stop is None else stop
        if not 0 <= start <= stop <= self.n_points:
            raise ValueError(f"bad point range [{start}, {stop}) of {self.n_points}")
        if self.kind == "table":
            return {k: v[start:stop].copy() for k, v in self.columns.items()}
        index = np.unravel_index(np.arange(start, stop), self.shape)
        return {k: v[i] for (k, v), i in zip(self.columns.items(), index, strict=True)}

    def describe(self) -> dict[str, Any]:
        """What identifies the grid: kind, names, dtypes, shape and a content hash."""
        return {
            "grid_kind": self.kind,
            "grid_names": list(self.names),
            "grid_dtypes": [v.dtype.str for v in self.columns.values()],
            "grid_shape": list(self.shape),
            "grid_sha256": self.fingerprint,
        }

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the kind, names, dtypes and values of every column."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            head = {
                "kind": self.kind,
                "columns": [(k, v.dtype.str, v.size) for k, v in self.columns.items()],
            }
            h.update(json.dumps(head).encode())
            for v in self.columns.values():
                h.update(v.tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        sep = " x " if self.kind == "product" else ", "
        cols = sep.join(f"{k}[{v.size}]" for k, v in self.columns.items())
        return f"Grid.{self.kind}({cols}; {self.n_points} points)"


def _table_columns(columns: Any) -> dict[str, Any]:
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return dict(columns)
    if isinstance(columns, np.ndarray) and columns.dtype.names:
        return {name: columns[name] for name in columns.dtype.names}
    if hasattr(columns, "columns") and hasattr(columns, "to_numpy"):  # DataFrame
        return {name: columns[name].to_numpy() for name in columns.columns}
    raise TypeError(
        "a table grid must be a mapping of columns, a pandas DataFrame or a numpy "
        f"structured array, got {type(columns).__name__}"
    )


def as_grid(grid: Any) -> Grid:
    """A :class:`Grid` from what :func:`keatingcore.sweep` accepts.

    A mapping is a Cartesian product; a DataFrame or a structured array is a table.
    """
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid.product(grid)
    if isinstance(grid, np.ndarray) and grid.dtype.names:
        return Grid.table(grid)
    if hasattr(grid, "columns") and hasattr(grid, "to_numpy"):
        return Grid.table(grid)
    raise TypeError(
        "grid must be a dict of 1-D arrays (Cartesian product), a Grid, a pandas "
        f"DataFrame or a numpy structured array (tables), got {type(grid).__name__}"
    )
