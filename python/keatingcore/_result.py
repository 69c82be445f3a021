"""The result-object pattern every iterative solver of the package returns."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class SolverResult:
    """Outcome of an iterative solve.

    Subclasses add their own fields; these four are always present.

    Attributes
    ----------
    converged : bool
        Whether the residual fell below the tolerance.
    n_iter : int
        Outer iterations used.
    residual : float
        Final residual, in the solver's stated norm.
    elapsed : float
        Wall-clock seconds spent in the solve.
    """

    converged: bool
    n_iter: int
    residual: float
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of every field, with numpy scalars turned into Python ones."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                value = value.item()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = _plain(dataclasses.asdict(value))
            out[f.name] = value
        return out

    def __repr__(self) -> str:
        status = "converged" if self.converged else "NOT converged"
        head = (
            f"{type(self).__name__}({status} in {self.n_iter} iterations, "
            f"residual {self.residual:.2e}, {_format_seconds(self.elapsed)})"
        )
        lines = [head]
        for f in dataclasses.fields(self):
            if f.name in {"converged", "n_iter", "residual", "elapsed"} or not f.repr:
                continue
            value = getattr(self, f.name)
            if isinstance(value, float | np.floating):
                lines.append(f"  {f.name:<16} = {value:.10g}")
        return "\n".join(lines)


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in d.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def _format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


@contextmanager
def timer() -> Iterator[list[float]]:
    """Context manager yielding a one-element list that receives the elapsed seconds."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start
