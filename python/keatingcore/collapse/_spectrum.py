"""Rank summaries of singular spectra, and the normalised margin of a deep UFM."""

from __future__ import annotations

import operator

import numpy as np


def singular_spectrum(matrix, center: bool = False) -> np.ndarray:
    """Singular values, descending.

    Parameters
    ----------
    matrix : array_like, shape (..., R, C)
    center : bool
        Subtract the mean row first (for class means: the global mean).
    """
    A = np.asarray(matrix, dtype=float)
    if A.ndim < 2:
        raise ValueError(f"matrix must have at least 2 dimensions, got {A.shape}")
    if center:
        A = A - A.mean(axis=-2, keepdims=True)
    return np.linalg.svd(A, compute_uv=False)


def _values(values) -> np.ndarray:
    s = np.abs(np.asarray(values, dtype=float))
    if s.ndim < 1 or s.shape[-1] == 0:
        raise ValueError("values must be a non-empty array of singular values")
    return s


def numerical_rank(values, tol: float = 0.1):
    """Number of singular values above ``tol`` times the largest.

    Parameters
    ----------
    values : array_like, shape (..., r)
        Singular values (any order; signs ignored).
    tol : float
        Relative threshold in (0, 1]; the digest uses 0.1 or 0.3.

    Returns
    -------
    int or ndarray of int
    """
    if not 0 < tol <= 1:
        raise ValueError(f"tol must lie in (0, 1], got {tol!r}")
    s = _values(values)
    top = s.max(axis=-1, keepdims=True)
    out = np.sum((s > tol * top) & (top > 0), axis=-1)
    return int(out) if out.ndim == 0 else out


def effective_rank(values):
    """Effective rank ``exp(-sum p_i log p_i)`` with ``p = s / sum(s)``.

    Roy & Vetterli (2007). Between 1 (one value) and the number of non-zero values
    (all equal); 0 for an all-zero spectrum.
    """
    s = _values(values)
    total = s.sum(axis=-1, keepdims=True)
    p = np.divide(s, total, out=np.zeros_like(s), where=total > 0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    out = np.where(total[..., 0] > 0, np.exp(-plogp.sum(axis=-1)), 0.0)
    return float(out) if out.ndim == 0 else out


def normalised_margin(class_logits, depth: int) -> float:
    """Margin of class-mean logits over their Schatten-(2/L) quasi-norm.

    ``gamma = min_{i, c != i} (Z[i, i] - Z[i, c]) / (sum_k sigma_k(Z)^(2/L))^(L/2)``,
    the max-margin objective of a depth-L UFM with balanced factors, since
    ``sum_l ||X_l||_F^2 = L n^(1/L) sum_k sigma_k^(2/L)`` (digest 3.7). For the
    simplex ETF ``gamma = (K-1)^(-L/2)``; for the Walsh cube code ``(2/K) m^(-L/2)``.

    Parameters
    ----------
    class_logits : array_like, shape (K, K)
        Row i: the logit vector of the samples of class i.
    depth : int
        Factors L >= 2, the features included.
    """
    Z = np.asarray(class_logits, dtype=float)
    if Z.ndim != 2 or Z.shape[0] != Z.shape[1] or Z.shape[0] < 2:
        raise ValueError(f"class_logits must have shape (K, K), got {Z.shape}")
    depth = operator.index(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    K = Z.shape[0]
    lead = np.diag(Z)[:, None] - Z
    margin = np.min(lead[~np.eye(K, dtype=bool)])
    sv = np.linalg.svd(Z, compute_uv=False)
    # A p < 1 quasi-norm magnifies round-off: (1e-16)^(2/5) is 4e-7. Drop the
    # numerically zero singular values first.
    sv = sv[sv > sv[0] * K * np.finfo(float).eps]
    norm = np.sum(sv ** (2.0 / depth)) ** (depth / 2.0)
    return float(margin / norm) if norm > 0 else float("nan")
