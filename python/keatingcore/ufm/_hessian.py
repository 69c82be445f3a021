"""Exact layer-wise Hessians of the deep linear UFM through their Kronecker form.

Because the output ``Z = A W_l X`` is linear in one factor ``W_l`` (``A`` the
product of the factors above, ``X`` its input; ``X = I_N`` for ``H_1``), the
fit-term Hessian with respect to ``vec(W_l)`` (row-major, torch's flattening) is

    (1/N) sum_i (A^T rho_i A) (x) (x_i x_i^T),

with ``rho_i`` the output-space Hessian of sample i: the identity for MSE, so the
Hessian is ``(A^T A) (x) Xbar`` with ``Xbar = X X^T / N`` and its spectrum is every
product of the two factors' eigenvalues (paper A, Thm 4.1; digest A.3); for
cross-entropy ``rho_i = diag(p_i) - p_i p_i^T`` and the Hessian is exact on
``range(A^T) (x) range(X)``, a core of size at most ``K min(d, N)``, and zero
elsewhere. The A.4 metrics of the digest are evaluated matrix-free: the alignment
``f_cc' = (v^T H v)^2 / (|v|^2 |H v|^2)`` of ``v = mu_c^(l+1) (x) mu_c'^(l)`` and the
gradient coefficients ``<b_cc', g>^2 / |g|^2`` of the fit gradient g.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ._checks import LOSSES, check_choice, check_int, plain
from ._model import check_factors, fit_and_error, forward, split_samples


def _above(factors: list[np.ndarray], layer: int) -> np.ndarray:
    A = np.eye(factors[-1].shape[0])
    for W in factors[:layer:-1]:
        A = A @ W
    return A


def _range_basis(M: np.ndarray) -> np.ndarray:
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return U[:, :0]
    return U[:, s > 1e-12 * s[0]]


@dataclasses.dataclass(frozen=True, repr=False)
class LayerHessian:
    """Exact fit-term Hessian of one factor (plus ``lam I`` if asked).

    Attributes
    ----------
    layer : int
        0 for ``H_1``, ``l`` for ``W_l``.
    shape : tuple of int
        Shape of the factor; the Hessian acts on its row-major flattening.
    eigenvalues : ndarray, shape (rows * cols,)
        All eigenvalues, descending (zeros included).
    method : str
        ``"kronecker"`` (MSE: products of two small spectra) or ``"core"``
        (cross-entropy: eigendecomposition on ``range(A^T) (x) range(X)``).
    shift : float
        The ``lam`` added to every eigenvalue.
    """

    layer: int
    shape: tuple[int, int]
    eigenvalues: np.ndarray
    method: str
    shift: float
    parts: dict[str, Any] = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        top = ", ".join(f"{v:.4g}" for v in self.eigenvalues[:3])
        return (
            f"LayerHessian(layer {self.layer}, shape {self.shape}, {self.method}, "
            f"top eigenvalues {top}, ...)"
        )

    def apply(self, V) -> np.ndarray:
        """Hessian times a direction given as a matrix of the factor's shape."""
        V = np.asarray(V, dtype=float)
        if V.shape != self.shape:
            raise ValueError(f"V must have shape {self.shape}, got {V.shape}")
        p = self.parts
        A, X, N = p["A"], p["X"], p["N"]
        U = A @ V @ X if X is not None else A @ V
        if p["probs"] is not None:
            P = p["probs"]
            U = P * U - P * np.sum(P * U, axis=0, keepdims=True)
        out = A.T @ (U @ X.T if X is not None else U) / N
        return out + self.shift * V

    def eigenvectors(self, q: int) -> np.ndarray:
        """The top ``q`` eigenvectors as matrices, shape (q, rows, cols)."""
        q = check_int(q, "q", 1)
        p = self.parts
        if self.method == "kronecker":
            Ua, Uh = p["Ua"], p["Uh"]
            ia, ih = p["order"][0][:q], p["order"][1][:q]
            return Ua.T[ia][:, :, None] * Uh.T[ih][:, None, :]
        Qa, Qx, V = p["Qa"], p["Qx"], p["core_vectors"][:, :q]
        ra, rx = Qa.shape[1], Qx.shape[1]
        C = V.T.reshape(-1, ra, rx)
        return np.einsum("ia,qab,jb->qij", Qa, C, Qx)

    def coefficients(self, M, q: int) -> np.ndarray:
        """Inner products of a matrix with the top ``q`` eigenvectors."""
        M = np.asarray(M, dtype=float)
        if M.shape != self.shape:
            raise ValueError(f"M must have shape {self.shape}, got {M.shape}")
        p = self.parts
        if self.method == "kronecker":
            ia, ih = p["order"][0][:q], p["order"][1][:q]
            C = p["Ua"].T @ M @ p["Uh"]
            return C[ia, ih]
        coords = (p["Qa"].T @ M @ p["Qx"]).reshape(-1)
        return p["core_vectors"][:, :q].T @ coords


def layer_hessian(
    factors, layer: int, loss: str = "mse", lam: float = 0.0
) -> LayerHessian:
    """Exact layer-wise Hessian of the linear deep UFM and its full spectrum.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]`` (linear model).
    layer : int
        0 for ``H_1``, ``l`` in 1..L for ``W_l``.
    loss : {"mse", "ce"}
        Fit term: ``1/(2N)|Z - Y|^2`` or the mean cross-entropy (the Hessian
        does not depend on the labels).
    lam : float
        Added to every eigenvalue (the factor's weight decay), >= 0.

    Returns
    -------
    LayerHessian
    """
    fs = check_factors(factors)
    L = len(fs) - 1
    layer = check_int(layer, "layer", 0)
    if layer > L:
        raise ValueError(f"layer must lie in [0, {L}], got {layer}")
    check_choice(loss, "loss", LOSSES)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    hs = forward(fs)
    N = fs[0].shape[1]
    A = _above(fs, layer)
    X = None if layer == 0 else hs[layer - 1]
    rows, cols = fs[layer].shape
    parts: dict[str, Any] = {"A": A, "X": X, "N": N, "probs": None}
    if loss == "mse":
        ea, Ua = np.linalg.eigh(A.T @ A)
        if X is None:
            eh, Uh = np.full(N, 1.0 / N), np.eye(N)
        else:
            eh, Uh = np.linalg.eigh(X @ X.T / N)
        prod = np.outer(ea, eh).ravel()
        order = np.argsort(prod)[::-1]
        parts.update(Ua=Ua, Uh=Uh, order=np.unravel_index(order, (ea.size, eh.size)))
        evals = prod[order]
        method = "kronecker"
    else:
        Z = hs[-1]
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        P = E / E.sum(axis=0, keepdims=True)
        parts["probs"] = P
        Qa = _range_basis(A.T)
        Qx = np.eye(N) if X is None else _range_basis(X)
        At = A @ Qa  # K x ra
        G = Qx.T @ (np.eye(N) if X is None else X)  # rx x N
        ra, rx = At.shape[1], G.shape[0]
        # sum_i (At^T diag(p_i) At) (x) g_i g_i^T, then minus the rank-one parts.
        T = np.einsum("ki,xi,yi->kxy", P, G, G)
        core = np.einsum("ka,kb,kxy->axby", At, At, T).reshape(ra * rx, ra * rx)
        Uu = P.T @ At  # N x ra: rows u_i = At^T p_i
        F = (Uu[:, :, None] * G.T[:, None, :]).reshape(N, ra * rx)
        core = (core - F.T @ F) / N
        ec, Vc = np.linalg.eigh(0.5 * (core + core.T))
        idx = np.argsort(ec)[::-1]
        parts.update(Qa=Qa, Qx=Qx, core_vectors=Vc[:, idx])
        evals = np.concatenate([ec[idx], np.zeros(rows * cols - ec.size)])
        evals = np.sort(evals)[::-1]
        method = "core"
    return LayerHessian(
        layer=layer,
        shape=(rows, cols),
        eigenvalues=evals + lam,
        method=method,
        shift=float(lam),
        parts=parts,
    )


def count_outliers(eigenvalues, max_count: int | None = None) -> int:
    """Eigenvalues above the largest gap of the descending spectrum.

    Parameters
    ----------
    eigenvalues : array_like
        Any order.
    max_count : int, optional
        Look for the gap among the top ``max_count + 1`` values only.

    Returns
    -------
    int
        The index (1-based) after which the largest drop occurs.
    """
    e = np.sort(np.asarray(eigenvalues, dtype=float).ravel())[::-1]
    if e.size < 2:
        raise ValueError("eigenvalues must hold at least 2 values")
    if max_count is not None:
        e = e[: check_int(max_count, "max_count", 1) + 1]
    return int(np.argmax(e[:-1] - e[1:]) + 1)


@dataclasses.dataclass(frozen=True)
class HessianMetrics:
    """The digest's A.4 metrics for one weight at one point.

    Attributes
    ----------
    layer : int
    top : ndarray, shape (q,)
        Largest eigenvalues of the fit-term layer Hessian.
    outlier_count : int
        :func:`count_outliers` among the top ``2 K^2``.
    alignment : ndarray, shape (K, K)
        ``f_cc'`` for ``v = mu_c^(l+1) (x) mu_c'^(l)`` (1 iff v is an eigenvector).
    grad_coefficients : ndarray, shape (K, K)
        ``<b_cc', g>^2 / |g|^2``, ``b_cc'`` the normalised ``v``, g the fit gradient.
    grad_in_top : float
        Fraction of ``|g|^2`` in the span of the top ``K^2`` eigenvectors.
    """

    layer: int
    top: np.ndarray
    outlier_count: int
    alignment: np.ndarray
    grad_coefficients: np.ndarray
    grad_in_top: float

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


def metrics_from(
    hess: LayerHessian, grad: np.ndarray, mu_in: np.ndarray, mu_out: np.ndarray
) -> HessianMetrics:
    """A.4 metrics from a layer Hessian, the fit gradient and the class means.

    ``mu_in`` (K, cols) and ``mu_out`` (K, rows) are the class means at the input
    and the output of the factor.
    """
    K = mu_in.shape[0]
    align = np.zeros((K, K))
    coeff = np.zeros((K, K))
    gnorm2 = float(np.sum(grad**2))
    for c in range(K):
        for cp in range(K):
            V = np.outer(mu_out[c], mu_in[cp])
            vv = float(np.sum(V**2))
            if vv == 0:
                continue
            HV = hess.apply(V) - hess.shift * V
            hv2 = float(np.sum(HV**2))
            align[c, cp] = float(np.sum(V * HV)) ** 2 / (vv * hv2) if hv2 > 0 else 0.0
            if gnorm2 > 0:
                coeff[c, cp] = float(np.sum(V * grad)) ** 2 / (vv * gnorm2)
    q = min(2 * K * K, hess.eigenvalues.size)
    top = hess.eigenvalues[:q] - hess.shift
    proj = hess.coefficients(grad, min(K * K, q))
    return HessianMetrics(
        layer=hess.layer,
        top=top,
        outlier_count=count_outliers(top, q - 1) if q >= 2 else q,
        alignment=align,
        grad_coefficients=coeff,
        grad_in_top=float(np.sum(proj**2) / gnorm2) if gnorm2 > 0 else float("nan"),
    )


def class_means_of(H: np.ndarray, K: int, n: int) -> np.ndarray:
    """Class means of a (D, nK) class-major representation, shape (K, D)."""
    return H.reshape(H.shape[0], K, n).mean(axis=2).T


def hessian_metrics(factors, n: int, layer: int, loss: str = "mse") -> HessianMetrics:
    """Eigenvector alignment and gradient coefficients of the digest's A.4.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]`` (linear model).
    n : int
        Samples per class.
    layer : int
        Weight index l in 1..L.
    loss : {"mse", "ce"}

    Returns
    -------
    HessianMetrics
    """
    fs = check_factors(factors)
    K, n = split_samples(fs, n)
    L = len(fs) - 1
    layer = check_int(layer, "layer", 1)
    if layer > L:
        raise ValueError(f"layer must lie in [1, {L}], got {layer}")
    hess = layer_hessian(fs, layer, loss)
    hs = forward(fs)
    _, G = fit_and_error(hs[-1], n, loss)
    grad = _above(fs, layer).T @ G @ hs[layer - 1].T
    mu_in = class_means_of(hs[layer - 1], K, n)
    mu_out = class_means_of(fs[layer] @ hs[layer - 1], K, n)
    return metrics_from(hess, grad, mu_in, mu_out)
