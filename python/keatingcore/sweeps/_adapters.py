"""Adapters that make the package's grid solvers take a flat list of points.

:func:`keatingcore.backdoor.sweep` solves a Cartesian grid. A sweep chunk is a run of
points that need not form a grid, so :func:`backdoor_points` solves any list of
points in one C++ call, through the same core call, validation and test metrics as
:func:`keatingcore.backdoor.solve`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..backdoor._result import test_metrics
from ..backdoor._setup import SCALAR_FIELDS, Setup, check_params
from ..backdoor._solve import POINT_FIELDS, SolverOptions, _check_loss, _run_core
from ._grid import Grid

#: Outputs of :class:`BackdoorPoints`, as in :class:`keatingcore.backdoor.SweepResult`.
BACKDOOR_OUTPUTS = POINT_FIELDS


@dataclasses.dataclass(frozen=True)
class BackdoorPoints:
    """The backdoor fixed point on a list of points; see :func:`backdoor_points`."""

    setup: Setup
    loss: str = "logistic"
    options: SolverOptions = dataclasses.field(default_factory=SolverOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.setup, Setup):
            raise TypeError(
                f"setup must be a backdoor Setup, got {type(self.setup).__name__}"
            )
        _check_loss(self.loss)

    def check_params(self, columns: dict[str, np.ndarray], pairs: bool) -> None:
        """Validate parameter columns (``pairs``: rows are points, else axes)."""
        unknown = sorted(set(columns) - set(SCALAR_FIELDS))
        if unknown:
            raise TypeError(f"cannot sweep {unknown}; sweepable: {SCALAR_FIELDS}")
        check_params(self.setup.balance, **columns)
        if self.loss != "square":
            return
        lam = columns.get("lam", np.array([self.setup.lam]))
        kappa = columns.get("kappa", np.array([self.setup.kappa]))
        if pairs and np.ndim(lam) and np.ndim(kappa) and lam.size == kappa.size:
            bad = np.any((lam == 0) & (kappa >= 1))
        else:
            bad = np.any(lam == 0) and np.any(kappa >= 1)
        if bad:
            raise ValueError("lam must be > 0 where kappa >= 1 for the square loss")

    def check_grid(self, grid: Grid) -> None:
        """Validate a whole grid before the sweep starts (called by sweep)."""
        self.check_params(dict(grid.columns), pairs=grid.kind == "table")

    def __call__(
        self, *, num_threads: int | None = None, **columns: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Solve every point; each keyword is one of kappa, lam, snr, eps, alpha,
        alpha_test as a 1-D array (the others come from :attr:`setup`)."""
        cols = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
        if not cols:
            raise TypeError("give at least one parameter column")
        n = next(iter(cols.values())).size
        if any(v.shape != (n,) for v in cols.values()):
            raise ValueError("parameter columns must be 1-D arrays of equal length")
        self.check_params(cols, pairs=True)
        points = np.empty((n, len(SCALAR_FIELDS)))
        for j, name in enumerate(SCALAR_FIELDS):
            points[:, j] = cols[name] if name in cols else getattr(self.setup, name)
        out = _run_core(
            self.setup, points, 1, self.loss, self.options, None, num_threads
        )
        state = out["state"]
        V, Q, V_hat, u1, u2, b = (state[:, i] for i in range(6))
        acc, asr = test_metrics(u1, u2, b, Q, points[:, 5], self.setup.asr)
        return {
            "clean_accuracy": acc,
            "attack_success": asr,
            "w_dot_mu": u1,
            "w_dot_t": u2,
            "Q": Q,
            "b": b,
            "V": V,
            "V_hat": V_hat,
            "noise_floor": out["metrics"][:, 3],
            "converged": out["status"] == 0,
            "n_iter": np.asarray(out["n_iter"]),
            "residual": np.asarray(out["residual"]),
        }


def backdoor_points(
    setup: Setup, loss: str = "logistic", **options: Any
) -> BackdoorPoints:
    """The backdoor fixed point as a sweepable function of a list of points.

    ``backdoor_points(setup, loss)(kappa=k, alpha=a)`` solves the points
    ``(k[i], a[i])`` (the other parameters from ``setup``) in one C++ call, each
    from a cold start, and returns the columns of
    :class:`keatingcore.backdoor.SweepResult` (``clean_accuracy``,
    ``attack_success``, ``w_dot_mu``, ``w_dot_t``, ``Q``, ``b``, ``V``, ``V_hat``,
    ``noise_floor``, ``converged``, ``n_iter``, ``residual``). Results do not depend
    on how points are split into chunks, nor on threads.

    Parameters
    ----------
    setup : keatingcore.backdoor.Setup
        Fixes everything not swept (geometry, balance, intercept, asr, ...).
    loss : {"square", "logistic", "hinge"}
    **options
        Fields of :class:`keatingcore.backdoor.SolverOptions` (``tol``,
        ``max_iter``, ``damping``, ``anderson``, ``n_quad``).

    Returns
    -------
    BackdoorPoints
        A picklable callable; its settings are part of a sweep store's identity.

    Examples
    --------
    >>> import numpy as np
    >>> import keatingcore
    >>> from keatingcore.backdoor import Setup
    >>> fn = keatingcore.sweeps.backdoor_points(Setup(), "square")
    >>> run = keatingcore.sweep(fn, {"kappa": [0.5, 1.0], "alpha": [0.0, 1.0, 2.0]})
    >>> run.on_grid("attack_success").shape
    (2, 3)
    """
    return BackdoorPoints(setup, loss, SolverOptions(**options))
