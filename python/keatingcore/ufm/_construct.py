"""Full factors for a prescribed collapsed output: the balanced factorisation.

Given mean logits ``Zbar`` (K x K), ``Z = Zbar (x) 1_n^T = U diag(z) V^T`` is
factorised as ``H_1 = Q_1 S_0 V^T``, ``W_l = Q_{l+1} S_l Q_l^T``,
``W_L = U S_L Q_L^T`` with orthonormal ``Q_l`` (d_l x r) and factor singular values
``s_{j,i} = sqrt(lam_bar / lam_j) z_i^(1/M)`` (M = depth, lam_bar the geometric
mean). This is the structure every critical point has (paper B, Lemma 1; digest
D.5, generalised to per-factor strengths by the balance condition
``lam_j s_j^2 = lam_k s_k^2``), and it attains the minimal regulariser
``(M/2) lam_bar sum_i z_i^(2/M)`` for that Z. At an optimal scale the gradient of
the full model vanishes, which :func:`keatingcore.ufm.gradient` lets one check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_problem, check_widths, factor_lams


def balanced_factors(
    mean_logits,
    n: int,
    depth: int,
    width=None,
    lam_W=1.0,
    lam_H=None,
    seed: int | None = None,
) -> list[np.ndarray]:
    """Balanced ``[H_1, W_1, ..., W_L]`` whose output is ``Zbar (x) 1_n^T``.

    Parameters
    ----------
    mean_logits : array_like, shape (K, K)
        Column c: the output of every sample of class c.
    n : int
        Samples per class (>= 1).
    depth : int
        Factors ``L + 1`` (>= 2).
    width : int or sequence of int, optional
        Hidden widths ``d_1 .. d_L`` (each >= K; default K).
    lam_W, lam_H : float or sequence
        Factor strengths; they set how the singular values are shared out.
    seed : int, optional
        Random orthonormal ``Q_l`` from this seed; ``None``: the first coordinate
        axes (then the MSE optimum's factors are all non-negative, hence also a
        critical point of the ReLU model).

    Returns
    -------
    list of ndarray
    """
    Zbar = np.asarray(mean_logits, dtype=float)
    if Zbar.ndim != 2 or Zbar.shape[0] != Zbar.shape[1]:
        raise ValueError(f"mean_logits must have shape (K, K), got {Zbar.shape}")
    K, n, depth = check_problem(Zbar.shape[0], n, depth)
    widths = check_widths(width, depth, K)
    lams = factor_lams(depth, lam_W, lam_H)
    lam_bar = float(np.exp(np.mean(np.log(lams))))
    Z = np.repeat(Zbar, n, axis=1)
    U, z, Vt = np.linalg.svd(Z, full_matrices=False)
    r = int(np.sum(z > 1e-12 * max(z[0], 1e-300))) if z[0] > 0 else 0
    U, z, Vt = U[:, :r], z[:r], Vt[:r]
    # Deterministic signs: the largest-magnitude entry of each v_i is positive.
    # For a non-negative Zbar such as gamma I_K (MSE) this makes every factor
    # non-negative when the Q_l are coordinate axes, so ReLU acts as the identity.
    flip = np.sign(Vt[np.arange(r), np.argmax(np.abs(Vt), axis=1)])
    U, Vt = U * flip, Vt * flip[:, None]
    rng = None if seed is None else np.random.default_rng(seed)

    def basis(d: int) -> np.ndarray:
        if rng is None:
            return np.eye(d, r)
        q, _ = np.linalg.qr(rng.standard_normal((d, r)))
        return q

    Q = [basis(d) for d in widths]
    s = np.sqrt(lam_bar / lams)[:, None] * z[None, :] ** (1.0 / depth)
    L = depth - 1
    out = [(Q[0] * s[0]) @ Vt]
    for l in range(1, L):
        out.append((Q[l] * s[l]) @ Q[l - 1].T)
    out.append((U * s[L]) @ Q[L - 1].T)
    return out


def construct(optimum: Any, width=None, seed: int | None = None) -> list[np.ndarray]:
    """Full factors of a closed-form optimum or of a frame at its best scale.

    Parameters
    ----------
    optimum : MSEOptimum or FrameMinimum
        Anything with ``mean_logits``, ``n``, ``depth`` and ``lams``.
    width : int or sequence of int, optional
        Hidden widths (each >= K; default K).
    seed : int, optional
        As in :func:`balanced_factors`.

    Returns
    -------
    list of ndarray
        ``[H_1, W_1, ..., W_L]``.
    """
    for attr in ("mean_logits", "n", "depth", "lams"):
        if not hasattr(optimum, attr):
            raise TypeError(
                "optimum must be an MSEOptimum or a FrameMinimum (needs "
                f"{attr!r}), got {type(optimum).__name__}"
            )
    lams = np.asarray(optimum.lams)
    return balanced_factors(
        optimum.mean_logits,
        optimum.n,
        optimum.depth,
        width,
        lams[1:],
        lams[0],
        seed=seed,
    )
