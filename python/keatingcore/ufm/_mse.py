"""Closed-form global optimum of the MSE deep linear UFM (Garrod & Keating, A).

Model (paper A, arXiv 2404.06106, its Eq. (1)) with ``depth = L + 1`` factors::

    1/(2N) ||W_L ... W_1 H_1 - Y||_F^2 + sum_l lam_W_l/2 ||W_l||_F^2
                                       + lam_H/2 ||H_1||_F^2,   N = nK.

Every factor is balanced at a critical point, so the problem reduces to K equal
scalar problems for the gain gamma (``Z = gamma Y``). gamma is the largest root of

    (1 - gamma)^(L+1) gamma^(L-1) = K^(L+1) n lam_H prod_l lam_W_l,

and it beats the zero solution iff gamma > (L-1)/L. Singular values, class-mean
norms, Gram spectra and the layer-wise Hessian outliers follow in closed form.
These formulas are the project digest's re-derivations (shared/papers/deep-ufm.md,
A.2-A.3), checked against gradient descent in the tests; the per-factor outlier
value ``gamma lam_j / (1 - gamma)`` (also for the features H_1, with multiplicity
K N) is the digest's derived closed form.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .. import _core
from .._config import check_num_threads
from ._checks import MAX_DEPTH, check_problem, check_widths, factor_lams, plain


def _log_rhs(K: np.ndarray, n: np.ndarray, lams_log_sum: np.ndarray, L: np.ndarray):
    return (L + 1) * np.log(K) + np.log(n) + lams_log_sum


def zero_threshold(depth: int) -> float:
    """``(L-1)^(L-1) / L^(2L)``: the nonzero optimum wins iff the gain equation's
    right side lies below this value (``0^0 = 1`` for the plain UFM, L = 1)."""
    L = depth - 1
    return float((L - 1) ** (L - 1) / L ** (2 * L))


@dataclasses.dataclass(frozen=True)
class MSEOptimum:
    """The global minimiser of the MSE deep linear UFM, in closed form.

    Attributes
    ----------
    K, n, depth : int
        Classes, samples per class, factors (``depth = L + 1``).
    lams : ndarray, shape (depth,)
        Strengths ``[lam_H, lam_W_1, ..., lam_W_L]``.
    gain : float
        ``gamma`` of the optimum ``Z = gamma Y`` (0 when the zero solution wins).
    gain_root : float
        Largest root of the gain equation (NaN if there is none).
    gain_complement : float
        ``1 - gamma``, exact even when gamma rounds to 1 (tiny regularisation).
    nonzero : bool
        Whether the nonzero critical point is the global minimum
        (``gain_root > (L-1)/L``; a tie counts as zero).
    rhs, threshold : float
        ``K^(L+1) n lam_H prod lam_W`` and :func:`zero_threshold`.
    loss, fit, reg : float
        ``1/2 (1-g)^2 + (L+1)/2 g (1-g)`` and its two parts.
    reg_per_factor : ndarray, shape (depth,)
        ``lam_j/2 ||X_j||_F^2``; all equal ``g (1-g) / 2`` (balance).
    common : float
        ``c = lam_j s_j^2 = g (1-g) / K``, the same for every factor.
    singular_values : ndarray, shape (depth,)
        The K equal non-zero singular values ``sqrt(c / lam_j)`` of each factor
        (``H_1`` first: ``sqrt(n) ||mu^(1)||``; then ``W_1 .. W_L``).
    mean_norms : ndarray, shape (depth,)
        ``||mu_c^(l)||`` at the input of every weight, ``l = 1 .. L``, then the
        output (``= gamma``); class means are orthogonal at every layer.
    outliers : ndarray, shape (depth,)
        Fit-term Hessian outlier of each factor, ``g lam_j / (1 - g)``.
    """

    K: int
    n: int
    depth: int
    lams: np.ndarray
    gain: float
    gain_root: float
    gain_complement: float
    nonzero: bool
    rhs: float
    threshold: float
    loss: float
    fit: float
    reg: float
    reg_per_factor: np.ndarray
    common: float
    singular_values: np.ndarray
    mean_norms: np.ndarray
    outliers: np.ndarray

    @property
    def lam_H(self) -> float:
        return float(self.lams[0])

    @property
    def lam_W(self) -> np.ndarray:
        return self.lams[1:]

    @property
    def mean_logits(self) -> np.ndarray:
        """K x K class-mean outputs ``gamma I_K`` (column c: class c)."""
        return self.gain * np.eye(self.K)

    @property
    def weight_gram(self) -> np.ndarray:
        """Non-zero eigenvalue (K-fold) of ``W_l^T W_l``, l = 1 .. L."""
        return self.singular_values[1:] ** 2

    @property
    def mean_gram(self) -> np.ndarray:
        """``M_l^T M_l = ||mu^(l)||^2 I_K`` at l = 1 .. L + 1: the diagonal value."""
        return self.mean_norms**2

    def hessian_prediction(
        self, layer: int, width: Any = None, include_reg: bool = False
    ) -> dict[str, float]:
        """Spectrum of the layer-wise Hessian of factor ``layer`` at the optimum.

        Parameters
        ----------
        layer : int
            0 for the features ``H_1`` (d_1 x N), ``l`` for ``W_l``.
        width : int or sequence of int, optional
            Hidden widths (default K), to count the bulk.
        include_reg : bool
            Add the ``lam_j I`` of the regulariser.

        Returns
        -------
        dict
            ``outlier`` (value), ``count`` (K^2 for a weight, K N for ``H_1``),
            ``bulk`` (0, or ``lam_j``) and ``bulk_count`` (the remaining dimension).
        """
        L = self.depth - 1
        if not 0 <= layer <= L:
            raise ValueError(f"layer must lie in [0, {L}], got {layer}")
        d = check_widths(width, self.depth, self.K)
        N = self.n * self.K
        rows = d[layer] if layer < L else self.K
        cols = N if layer == 0 else d[layer - 1]
        count = (self.K * N if layer == 0 else self.K**2) if self.nonzero else 0
        shift = float(self.lams[layer]) if include_reg else 0.0
        return {
            "outlier": float(self.outliers[layer]) + shift,
            "count": count,
            "bulk": shift,
            "bulk_count": rows * cols - count,
        }

    def to_dict(self) -> dict[str, Any]:
        """Every field and derived spectrum as JSON-ready values."""
        out = plain(self)
        out["mean_logits"] = plain(self.mean_logits)
        out["weight_gram"] = plain(self.weight_gram)
        out["mean_gram"] = plain(self.mean_gram)
        return out


def mse_gain(
    K,
    n,
    depth,
    lam_prod,
    num_threads: int | None = None,
    complement: bool = False,
) -> np.ndarray:
    """Largest root of the gain equation, batched (C++, OpenMP over points).

    Parameters
    ----------
    K, n, depth : array_like of int
        Broadcast together; K >= 2, n >= 1, depth >= 2.
    lam_prod : array_like of float
        ``lam_H prod_l lam_W_l`` (> 0).
    num_threads : int, optional
    complement : bool
        Return ``1 - gamma*`` (exact when gamma* rounds to 1).

    Returns
    -------
    ndarray
        gamma* (NaN where the equation has no root).
    """
    K, n, depth, lam_prod = np.broadcast_arrays(
        np.asarray(K), np.asarray(n), np.asarray(depth), np.asarray(lam_prod, float)
    )
    if lam_prod.size == 0:
        raise ValueError("lam_prod must not be empty")
    if np.any(K < 2):
        raise ValueError("K must be >= 2")
    if np.any(n < 1):
        raise ValueError("n must be >= 1")
    if np.any(depth < 2):
        raise ValueError("depth must be >= 2")
    if np.any(depth > MAX_DEPTH):
        raise ValueError(f"depth must be <= {MAX_DEPTH}")
    if np.any(K != np.round(K)) or np.any(n != np.round(n)):
        raise ValueError("K and n must be integers")
    if not np.all(lam_prod > 0):
        raise ValueError("lam_prod must be > 0")
    L = (depth - 1).astype(np.int32)
    log_rhs = _log_rhs(K.astype(float), n.astype(float), np.log(lam_prod), L)
    u = _core.ufm.mse_gain_complements(
        L.ravel(), log_rhs.ravel(), num_threads=check_num_threads(num_threads)
    ).reshape(K.shape)
    return u if complement else 1.0 - u


def mse_optimum(K: int, n: int, depth: int, lam_W, lam_H=None) -> MSEOptimum:
    """Global optimum of the MSE deep linear UFM in closed form (paper A).

    Parameters
    ----------
    K : int
        Classes, >= 2.
    n : int
        Samples per class, >= 1.
    depth : int
        Factors ``L + 1 >= 2`` (L weight matrices and the features ``H_1``).
    lam_W : float or sequence of float
        Weight decay of every weight matrix, or one value per matrix (``W_1``
        first), each > 0.
    lam_H : float, optional
        Strength on ``H_1`` (> 0); defaults to a scalar ``lam_W``.

    Returns
    -------
    MSEOptimum

    Examples
    --------
    >>> opt = mse_optimum(K=3, n=40, depth=6, lam_W=1e-2, lam_H=1e-2)
    >>> round(opt.gain, 6), opt.nonzero
    (0.942277, True)
    """
    K, n, depth = check_problem(K, n, depth)
    lams = factor_lams(depth, lam_W, lam_H)
    L = depth - 1
    log_prod = float(np.sum(np.log(lams)))
    # Only the log of the product enters, so no underflow for many tiny strengths.
    log_rhs = _log_rhs(float(K), float(n), log_prod, L)
    u_root = float(
        _core.ufm.mse_gain_complements(np.array([L], np.int32), np.array([log_rhs]))[0]
    )
    root = 1.0 - u_root
    rhs = math.exp(log_rhs) if log_rhs < 709.0 else math.inf  # exp overflows past 709
    nonzero = bool(root > (L - 1) / L) if math.isfinite(root) else False
    g, u = (root, u_root) if nonzero else (0.0, 1.0)
    c = g * u / K
    fit = 0.5 * u**2
    reg_each = np.full(depth, 0.5 * g * u)
    s = np.sqrt(c / lams)
    # ||mu^(1)|| = s_H / sqrt(n); each W_l scales the class means by s_l.
    norms = np.empty(depth)
    norms[0] = s[0] / math.sqrt(n)
    for l in range(1, depth):
        norms[l] = norms[l - 1] * s[l]
    outliers = g * lams / u if nonzero else np.zeros(depth)
    return MSEOptimum(
        K=K,
        n=n,
        depth=depth,
        lams=lams,
        gain=g,
        gain_root=root,
        gain_complement=u,
        nonzero=nonzero,
        rhs=rhs,
        threshold=zero_threshold(depth),
        loss=fit + float(reg_each.sum()),
        fit=fit,
        reg=float(reg_each.sum()),
        reg_per_factor=reg_each,
        common=c,
        singular_values=s,
        mean_norms=norms,
        outliers=outliers,
    )
