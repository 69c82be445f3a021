"""The deep UFM in numpy: forward pass, loss and exact gradient.

Factors are ``[H_1, W_1, ..., W_L]`` with ``H_1`` of shape (d_1, N), ``W_l`` of
shape (d_{l+1}, d_l) and ``W_L`` of shape (K, d_L); samples are class-major
(column ``c n + i`` is sample i of class c). ``activation="relu"`` applies
``max(., 0)`` after ``W_1 .. W_{L-1}``: ``Z = W_L s(W_{L-1} ... s(W_1 H_1))``.
The gradient is the digest's closed form (shared/papers/deep-ufm.md, D.6): with
``G = dfit/dZ`` (``(Z - Y)/N`` for MSE, ``(softmax(Z) - Y)/N`` for CE),
``dW_l = A^(l+1)T G H_l^T + lam_W_l W_l`` (backpropagated through the ReLU masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import ACTIVATIONS, LOSSES, check_choice, check_int, one_hot


def check_factors(factors: Sequence[Any], K: int | None = None) -> list[np.ndarray]:
    """Float64 copies of ``[H_1, W_1, ..., W_L]`` with chained shapes."""
    fs = [np.asarray(f, dtype=float) for f in factors]
    if len(fs) < 2:
        raise ValueError(f"factors must hold H_1 and at least one W, got {len(fs)}")
    for i, f in enumerate(fs):
        if f.ndim != 2:
            raise ValueError(f"factors[{i}] must be 2-D, got shape {f.shape}")
    for i in range(1, len(fs)):
        if fs[i].shape[1] != fs[i - 1].shape[0]:
            raise ValueError(
                f"factors[{i}] has {fs[i].shape[1]} columns but factors[{i - 1}] "
                f"has {fs[i - 1].shape[0]} rows"
            )
    if K is not None and fs[-1].shape[0] != K:
        raise ValueError(f"the last factor must have K = {K} rows")
    return fs


def split_samples(factors: Sequence[np.ndarray], n: int) -> tuple[int, int]:
    """(K, n) from the factor shapes, checking that N = nK."""
    K = factors[-1].shape[0]
    N = factors[0].shape[1]
    n = check_int(n, "n", 1)
    if N != n * K:
        raise ValueError(f"H_1 has {N} columns but n K = {n * K}")
    return K, n


def forward(factors: Sequence[np.ndarray], activation: str = "linear"):
    """Representations ``[H_1, H_2, ..., H_L, Z]`` (inputs of every weight, then Z)."""
    check_choice(activation, "activation", ACTIVATIONS)
    out = [factors[0]]
    L = len(factors) - 1
    for l in range(1, L + 1):
        h = factors[l] @ out[-1]
        if activation == "relu" and l < L:
            h = np.maximum(h, 0.0)
        out.append(h)
    return out


def fit_and_error(Z: np.ndarray, n: int, loss: str) -> tuple[float, np.ndarray]:
    """Fit term and its derivative ``G = dfit/dZ``."""
    K, N = Z.shape
    Y = one_hot(K, n)
    if loss == "mse":
        R = Z - Y
        return 0.5 * float(np.sum(R**2)) / N, R / N
    top = Z.max(axis=0, keepdims=True)
    E = np.exp(Z - top)
    lse = np.log(E.sum(axis=0)) + top[0]
    P = E / E.sum(axis=0, keepdims=True)
    fit = float(np.mean(lse - np.sum(Z * Y, axis=0)))
    return fit, (P - Y) / N


def loss_terms(
    factors, n: int, lams, loss: str = "mse", activation: str = "linear"
) -> dict[str, float]:
    """``loss``, ``fit`` and ``reg`` of the deep UFM at the given factors.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]``.
    n : int
        Samples per class.
    lams : array_like, shape (depth,)
        ``[lam_H, lam_W_1, ..., lam_W_L]``.
    loss : {"mse", "ce"}
    activation : {"linear", "relu"}
    """
    fs = check_factors(factors)
    split_samples(fs, n)
    check_choice(loss, "loss", LOSSES)
    lams = np.asarray(lams, dtype=float)
    if lams.shape != (len(fs),):
        raise ValueError(f"lams must have {len(fs)} values, got shape {lams.shape}")
    Z = forward(fs, activation)[-1]
    fit, _ = fit_and_error(Z, n, loss)
    reg = float(sum(0.5 * lam * np.sum(f**2) for lam, f in zip(lams, fs, strict=True)))
    return {"loss": fit + reg, "fit": fit, "reg": reg}


def gradient(
    factors,
    n: int,
    lams,
    loss: str = "mse",
    activation: str = "linear",
    include_reg: bool = True,
) -> list[np.ndarray]:
    """Exact gradient of the loss with respect to every factor (numpy).

    Parameters
    ----------
    factors, n, lams, loss, activation
        As in :func:`loss_terms`.
    include_reg : bool
        Add ``lam_j X_j``; False gives the fit-term gradient only.

    Returns
    -------
    list of ndarray
        One array per factor, shaped like it.
    """
    fs = check_factors(factors)
    split_samples(fs, n)
    check_choice(loss, "loss", LOSSES)
    lams = np.asarray(lams, dtype=float)
    if lams.shape != (len(fs),):
        raise ValueError(f"lams must have {len(fs)} values, got shape {lams.shape}")
    hs = forward(fs, activation)
    _, G = fit_and_error(hs[-1], n, loss)
    L = len(fs) - 1
    grads: list[np.ndarray] = [np.empty(0)] * (L + 1)
    for l in range(L, 0, -1):
        grads[l] = G @ hs[l - 1].T
        G = fs[l].T @ G
        if activation == "relu" and l > 1:
            G = G * (hs[l - 1] > 0)
    grads[0] = G
    if include_reg:
        grads = [g + lam * f for g, lam, f in zip(grads, lams, fs, strict=True)]
    return grads


def gradient_norm(grads: Sequence[np.ndarray]) -> float:
    """Euclidean norm of all gradient blocks together."""
    return float(np.sqrt(sum(float(np.sum(g**2)) for g in grads)))
