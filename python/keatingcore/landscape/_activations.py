"""Activations as piecewise-linear functions and their Gaussian statistics.

Exact here: the statistics E f(Z), E f'(Z), E f(Z)^2 (Z ~ N(0, 1)) of an activation by
quadrature, and those of a piecewise-linear function in closed form. **Reconstructed
(digest 1.2, [UNVERIFIED])**: that the activation enters through such piece
statistics, and :func:`deformation_strength`, the rule placing an activation on the
axis of the rank-one deformation. The body of Baskerville et al. (2021) could not be
read; ReLU and leaky ReLU (no intercepts) give zero deformation in any reading, which
is the case the paper reduces to Auffinger, Ben Arous and Cerny.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit, ndtr, ndtri

logger = logging.getLogger(__name__)

Function = Callable[[np.ndarray], np.ndarray]


def _gelu(z: np.ndarray) -> np.ndarray:
    return z * ndtr(z)


def activation(name: str, negative_slope: float = 0.01) -> tuple[Function, tuple]:
    """The function and its kinks for ``relu``, ``leaky_relu``, ``tanh``,
    ``sigmoid`` (logistic) or ``gelu`` (x Phi(x))."""
    a = float(negative_slope)
    table: dict[str, tuple[Function, tuple]] = {
        "relu": (lambda z: np.maximum(z, 0.0), (0.0,)),
        "leaky_relu": (lambda z: np.where(z > 0, z, a * z), (0.0,)),
        "tanh": (np.tanh, ()),
        "sigmoid": (expit, ()),
        "gelu": (_gelu, ()),
    }
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}, got {name!r}")
    return table[name]


ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu")


@dataclasses.dataclass(frozen=True)
class GaussianStatistics:
    """Statistics of f(Z), Z ~ N(0, 1).

    Attributes
    ----------
    mean : float
        E f(Z).
    mean_slope : float
        E f'(Z) (for a piecewise-linear f: sum_l pi_l alpha_l).
    second_moment : float
        E f(Z)^2.
    mean_intercept : float
        E[f(Z) - Z f'(Z)] (for a piecewise-linear f: sum_l pi_l beta_l).
    """

    mean: float
    mean_slope: float
    second_moment: float
    mean_intercept: float

    def to_dict(self) -> dict[str, float]:
        """Plain ``dict``."""
        return dataclasses.asdict(self)


def _grid(breaks: np.ndarray, lo: float = -12.0, hi: float = 12.0, width: float = 0.25):
    """Gauss-Legendre nodes and weights on [lo, hi], panels split at ``breaks``."""
    x16, w16 = np.polynomial.legendre.leggauss(16)
    edges = np.unique(np.concatenate([[lo, hi], breaks[(breaks > lo) & (breaks < hi)]]))
    nodes, weights = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        m = max(1, math.ceil((b - a) / width))
        e = np.linspace(a, b, m + 1)
        mid, half = 0.5 * (e[1:] + e[:-1]), 0.5 * (e[1:] - e[:-1])
        nodes.append((mid[:, None] + half[:, None] * x16).ravel())
        weights.append((half[:, None] * w16).ravel())
    z = np.concatenate(nodes)
    return z, np.concatenate(weights) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def gaussian_statistics(f: Function | str, kinks: Any = ()) -> GaussianStatistics:
    """Statistics of an activation under N(0, 1), by quadrature (exact to ~1e-12).

    E f'(Z) = E[Z f(Z)] and E[Z f'(Z)] = E[(Z^2 - 1) f(Z)] (Gaussian integration by
    parts), so no derivative of ``f`` is needed.

    Parameters
    ----------
    f : callable or str
        Vectorised activation, or a name from :data:`ACTIVATIONS`.
    kinks : sequence of float
        Points where ``f`` is not smooth (quadrature panels split there).
    """
    if isinstance(f, str):
        f, kinks = activation(f)
    z, w = _grid(np.asarray(kinks, dtype=float))
    fz = np.asarray(f(z), dtype=float)
    mean = float(w @ fz)
    return GaussianStatistics(
        mean=mean,
        mean_slope=float(w @ (z * fz)),
        second_moment=float(w @ (fz * fz)),
        mean_intercept=mean - float(w @ ((z * z - 1.0) * fz)),
    )


@dataclasses.dataclass(frozen=True)
class PiecewiseLinear:
    """f(z) = slopes[l] z + intercepts[l] on piece l, pieces split at ``knots``.

    Attributes
    ----------
    name : str
    knots : ndarray, shape (L - 1,)
    slopes, intercepts : ndarray, shape (L,)
    l2_error : float
        sqrt(E (f - g)^2) under N(0, 1), g this approximation.
    max_error : float
        max |f - g| on [-4, 4].
    """

    name: str
    knots: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    l2_error: float
    max_error: float

    @property
    def n_pieces(self) -> int:
        """Number of linear pieces."""
        return int(self.slopes.size)

    def __call__(self, z: Any) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        piece = np.searchsorted(self.knots, z, side="left")
        return self.slopes[piece] * z + self.intercepts[piece]

    def masses(self) -> np.ndarray:
        """pi_l = Phi(t_l) - Phi(t_{l-1}), the Gaussian mass of each piece."""
        return np.diff(np.concatenate([[0.0], ndtr(self.knots), [1.0]]))

    def statistics(self) -> GaussianStatistics:
        """Closed-form Gaussian statistics of this piecewise-linear function."""
        t = np.concatenate([[-np.inf], self.knots, [np.inf]])
        finite = np.where(np.isfinite(t), t, 0.0)
        phi = np.where(np.isfinite(t), np.exp(-0.5 * finite**2), 0.0)
        phi /= math.sqrt(2 * math.pi)
        tphi = finite * phi
        pi = self.masses()
        m1 = phi[:-1] - phi[1:]  # int_piece z phi
        m2 = tphi[:-1] - tphi[1:] + pi  # int_piece z^2 phi
        a, b = self.slopes, self.intercepts
        return GaussianStatistics(
            mean=float(a @ m1 + b @ pi),
            mean_slope=float(a @ pi),
            second_moment=float((a * a) @ m2 + 2 * (a * b) @ m1 + (b * b) @ pi),
            mean_intercept=float(b @ pi),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``dict`` with the statistics."""
        return {
            "name": self.name,
            "knots": self.knots.tolist(),
            "slopes": self.slopes.tolist(),
            "intercepts": self.intercepts.tolist(),
            "l2_error": self.l2_error,
            "max_error": self.max_error,
            "statistics": self.statistics().to_dict(),
        }


def piecewise_linear(
    f: Function | str,
    n_pieces: int = 8,
    *,
    kinks: Any = None,
    name: str | None = None,
) -> PiecewiseLinear:
    """Continuous piecewise-linear approximation of an activation.

    Rule: the interior knots are the standard-normal quantiles Phi^-1(l / n_pieces),
    l = 1..n_pieces - 1 (equal pre-activation mass per piece), together with the
    activation's kinks; on these knots the continuous piecewise-linear function is
    the least-squares fit in L^2(N(0, 1)). A function that is itself piecewise linear
    with kinks among the knots (ReLU, leaky ReLU) is reproduced exactly.

    Parameters
    ----------
    f : callable or str
        Vectorised function, or a name from :data:`ACTIVATIONS`.
    n_pieces : int
        Quantile pieces, 2 <= n_pieces <= 200.
    kinks : sequence of float, optional
        Extra knots (defaults to the named activation's kinks, else none).
    name : str, optional

    Returns
    -------
    PiecewiseLinear
        With its L^2 and sup errors.
    """
    if isinstance(f, str):
        name = name or f
        f, default = activation(f)
        kinks = default if kinks is None else kinks
    if not callable(f):
        raise TypeError(f"f must be callable or an activation name, got {f!r}")
    if isinstance(n_pieces, bool) or not isinstance(n_pieces, int | np.integer):
        raise TypeError(f"n_pieces must be an int, got {n_pieces!r}")
    if not 2 <= n_pieces <= 200:
        raise ValueError(f"n_pieces must be between 2 and 200, got {n_pieces}")
    quantiles = ndtri(np.arange(1, n_pieces) / n_pieces)
    extra = np.asarray(() if kinks is None else kinks, dtype=float)
    if not np.isfinite(extra).all():
        raise ValueError(f"kinks must be finite, got {kinks!r}")
    knots = np.unique(np.round(np.concatenate([quantiles, extra]), 14))
    z, w = _grid(knots)
    basis = np.column_stack(
        [np.ones_like(z), z] + [np.maximum(z - t, 0) for t in knots]
    )
    fz = np.asarray(f(z), dtype=float)
    if fz.shape != z.shape or not np.isfinite(fz).all():
        raise ValueError("f must map a float array to finite values of the same shape")
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(basis * sw[:, None], fz * sw, rcond=None)[0]
    slopes = coef[1] + np.concatenate([[0.0], np.cumsum(coef[2:])])
    intercepts = coef[0] - np.concatenate([[0.0], np.cumsum(coef[2:] * knots)])
    approx = PiecewiseLinear(
        name or getattr(f, "__name__", "f"), knots, slopes, intercepts, 0.0, 0.0
    )
    l2 = math.sqrt(max(float(w @ (fz - approx(z)) ** 2), 0.0))
    dense = np.concatenate([np.linspace(-4, 4, 8001), knots[np.abs(knots) <= 4]])
    sup = float(np.max(np.abs(np.asarray(f(dense)) - approx(dense))))
    logger.debug("%s: %d pieces, L2 error %.2e", approx.name, slopes.size, l2)
    return dataclasses.replace(approx, l2_error=l2, max_error=sup)


def deformation_strength(stats: GaussianStatistics, scale: float = 1.0) -> float:
    """[RECONSTRUCTION] rank-one strength theta of an activation: scale * beta / alpha.

    beta = E[f - Z f'] is the mean intercept (zero for ReLU, leaky ReLU and odd
    activations), alpha = E f' the mean slope; the ratio compares the deterministic
    (intercept-borne) part of the path expansion with the random part (digest 1.2).
    This normalisation is not from the paper; ``scale`` lets a user substitute the
    paper's once it is known. theta is in GOE units (BBP threshold 1/sqrt 2).
    """
    if stats.mean_slope == 0:
        raise ValueError("mean_slope must be non-zero to define the deformation")
    return float(scale) * stats.mean_intercept / stats.mean_slope
