"""Spectral (Hadamard / real-Fourier) initialisation and its read-back.

Under a spectral initialisation the class-mean logits are ``U diag(s) U^T`` in an
orthogonal basis ``U`` that diagonalises the softmax, so gradient flow only moves
the per-layer singular values (Garrod, Keating & Thrampoulidis, arXiv 2512.04006).
The Sylvester-Hadamard (Walsh) basis is exact for ``K = 2^m``; for any ``K`` the
real Fourier basis of the cyclic group is exact when the cosine and sine modes of
each frequency carry equal values. The second basis is the project digest's
extension (``shared/papers/ce-dynamics.md``, section 2.3), not the paper's.

Conventions (package-wide): the features ``H`` are the first factor, so a depth-L
model is ``Z = W_{L-1} ... W_1 H`` with ``H`` of shape ``(d, n K)``, samples ordered
class-major; ``sigma`` has shape ``(depth, K-1)``, row 0 the features, the last row
the classifier, column ``k-1`` mode ``k`` (mode 0, the constant vector, never moves
and is kept at zero).
"""

from __future__ import annotations

import dataclasses
import operator

import numpy as np

BASES = ("walsh", "fourier")


def _check_classes(K, name="K"):
    try:
        value = operator.index(K)
    except TypeError:
        raise TypeError(f"{name} must be an int >= 2, got {K!r}") from None
    if value < 2:
        raise ValueError(f"{name} must be >= 2, got {value}")
    return value


def is_power_of_two(K: int) -> bool:
    """Whether ``K`` is a power of two (so the Walsh basis exists)."""
    return K >= 1 and K & (K - 1) == 0


def resolve_basis(K: int, basis: str = "auto") -> str:
    """``"walsh"`` or ``"fourier"``; ``"auto"`` picks Walsh when ``K`` is 2^m."""
    K = _check_classes(K)
    if basis == "auto":
        return "walsh" if is_power_of_two(K) else "fourier"
    if basis not in BASES:
        raise ValueError(f"basis must be 'auto', 'walsh' or 'fourier', got {basis!r}")
    if basis == "walsh" and not is_power_of_two(K):
        raise ValueError(
            f"basis='walsh' needs K a power of two, got K={K}; use basis='fourier'"
        )
    return basis


def hadamard(K: int) -> np.ndarray:
    """Sylvester Hadamard matrix, ``H[g, k] = (-1)^popcount(g & k)``.

    Parameters
    ----------
    K : int
        Order, a power of two >= 2.

    Returns
    -------
    ndarray, shape (K, K)
        Entries +-1, symmetric, ``H @ H = K I``; column 0 is all ones. The ordering
        is Sylvester's (not sequency), which the Walsh indices of the ODE assume.
    """
    K = _check_classes(K)
    if not is_power_of_two(K):
        raise ValueError(f"K must be a power of two for a Sylvester matrix, got {K}")
    g = np.arange(K)
    bits = np.bitwise_and.outer(g, g)
    parity = np.zeros_like(bits)
    while bits.any():
        parity ^= bits & 1
        bits >>= 1
    return (1 - 2 * parity).astype(float)


def fourier_frequencies(K: int) -> np.ndarray:
    """Frequency of each real-Fourier mode ``k = 0..K-1``: ``(k + 1) // 2``."""
    K = _check_classes(K)
    return (np.arange(K) + 1) // 2


def fourier_basis(K: int) -> np.ndarray:
    """Orthogonal real Fourier basis of the cyclic group ``Z_K``, any ``K >= 2``.

    Column 0 is constant; columns ``2j-1`` and ``2j`` are the cosine and sine of
    frequency ``j``; for even ``K`` the last column is ``(-1)^i / sqrt(K)``.
    Symmetric circulant logits are diagonal in it (digest 2.3, our extension).
    """
    K = _check_classes(K)
    i = np.arange(K)
    U = np.empty((K, K))
    U[:, 0] = 1.0 / np.sqrt(K)
    for k in range(1, K):
        f = (k + 1) // 2
        if 2 * f == K:
            U[:, k] = (-1.0) ** i / np.sqrt(K)
        elif k % 2 == 1:
            U[:, k] = np.sqrt(2.0 / K) * np.cos(2 * np.pi * f * i / K)
        else:
            U[:, k] = np.sqrt(2.0 / K) * np.sin(2 * np.pi * f * i / K)
    return U


def mode_basis(K: int, basis: str = "auto") -> np.ndarray:
    """The orthogonal ``(K, K)`` mode basis: Walsh ``H_K / sqrt(K)`` or Fourier."""
    basis = resolve_basis(K, basis)
    return hadamard(K) / np.sqrt(K) if basis == "walsh" else fourier_basis(K)


def margin_matrix(K: int, basis: str = "auto") -> np.ndarray:
    """``A[g-1, k-1] = 1 - chi_k(g)`` for ``g, k = 1..K-1``, all entries >= 0.

    The logit margins are ``m_g = (1/K) sum_k A[g, k] s_k`` and the error factors
    ``e_k = sum_g A[g, k] q_g`` (digest 3.1; Walsh ``A = 2 N``). For the Fourier
    basis ``A = 2 sin^2(pi f_k g / K)``, which is the same statement for ``Z_K``.
    """
    basis = resolve_basis(K, basis)
    g = np.arange(1, K)[:, None]
    if basis == "walsh":
        return 1.0 - hadamard(K)[1:, 1:]
    f = fourier_frequencies(K)[1:][None, :]
    return 2.0 * np.sin(np.pi * f * g / K) ** 2


def tie_violation(sigma: np.ndarray, K: int) -> float:
    """Largest relative gap between the tied cosine/sine values (Fourier basis)."""
    pairs = [(2 * j - 2, 2 * j - 1) for j in range(1, (K - 1) // 2 + 1)]
    if not pairs:
        return 0.0
    a = sigma[..., [p for p, _ in pairs]]
    b = sigma[..., [q for _, q in pairs]]
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b) / scale))


def balanced_sigma(s, depth: int, n: float = 1.0) -> np.ndarray:
    """Per-layer values of a balanced start with products ``s``.

    Weight layers get ``sigma_k = (|s_k| sqrt(n))^(1/L)`` and the features
    ``sign(s_k) sigma_k / sqrt(n)``, so ``sigma_l^2 - n sigma_0^2 = 0`` (digest 2.1,
    3.3) and ``prod_l sigma_{l,k} = s_k``.

    Parameters
    ----------
    s : array_like, shape (..., K-1)
        Target products (singular values of the class-mean logits).
    depth : int
        Number of factors L >= 2, the features included.
    n : float
        Samples per class, > 0.

    Returns
    -------
    ndarray, shape (..., depth, K-1)
    """
    s = np.asarray(s, dtype=float)
    depth = operator.index(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    if not n > 0:
        raise ValueError(f"n must be > 0, got {n!r}")
    sig = (np.abs(s) * np.sqrt(n)) ** (1.0 / depth)
    out = np.repeat(sig[..., None, :], depth, axis=-2)
    out[..., 0, :] = np.sign(s) * sig / np.sqrt(n)
    return out


def _orthonormal(d: int, r: int, rng: np.random.Generator | None) -> np.ndarray:
    if rng is None:
        return np.eye(d)[:, :r]
    q, rr = np.linalg.qr(rng.standard_normal((d, r)))
    return q * np.sign(np.diag(rr))


def _check_sigma(sigma) -> np.ndarray:
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 2 or sigma.shape[0] < 2 or sigma.shape[1] < 1:
        raise ValueError(
            f"sigma must have shape (depth, K-1) with depth >= 2, got {sigma.shape}"
        )
    if not np.all(np.isfinite(sigma)):
        raise ValueError("sigma must be finite")
    return sigma


def spectral_weights(
    sigma,
    n: int = 1,
    width: int | None = None,
    basis: str = "auto",
    hidden: str = "random",
    seed: int | None = 0,
    return_bases: bool = False,
):
    """Full matrices of a deep UFM with the given per-layer singular values.

    ``H = B_1 diag(sigma_0) U^T`` repeated over the ``n`` samples of each class,
    ``W_l = B_{l+1} diag(sigma_l) B_l^T`` and ``W_{L-1} = U diag(sigma_{L-1})
    B_{L-1}^T`` (digest 2.1), with ``U`` the mode basis restricted to modes 1..K-1.

    Parameters
    ----------
    sigma : array_like, shape (depth, K-1)
        Per-layer signed singular values; row 0 the features.
    n : int
        Samples per class, >= 1.
    width : int, optional
        Hidden width d >= K-1 (default K).
    basis : {"auto", "walsh", "fourier"}
        Mode basis; ``"auto"`` is Walsh for K = 2^m, else Fourier.
    hidden : {"random", "identity"}
        Orthonormal hidden bases B_l: random (seeded) or the first K-1 columns of I.
    seed : int, optional
        Seed of the random hidden bases.
    return_bases : bool
        Also return ``[B_1, ..., B_{L-1}]`` (each ``(d, K-1)``).

    Returns
    -------
    list of ndarray
        ``[H (d, nK), W_1 (d, d), ..., W_{L-1} (K, d)]``; with ``return_bases`` a
        pair ``(factors, bases)``.
    """
    sigma = _check_sigma(sigma)
    depth, m = sigma.shape
    K = m + 1
    basis = resolve_basis(K, basis)
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    d = K if width is None else operator.index(width)
    if d < K - 1:
        raise ValueError(f"width must be >= K-1 = {K - 1}, got {d}")
    if hidden not in ("random", "identity"):
        raise ValueError(f"hidden must be 'random' or 'identity', got {hidden!r}")
    rng = np.random.default_rng(seed) if hidden == "random" else None
    U1 = mode_basis(K, basis)[:, 1:]
    bases = [_orthonormal(d, m, rng) for _ in range(depth - 1)]
    Hbar = bases[0] @ (sigma[0][:, None] * U1.T)
    factors = [np.repeat(Hbar, n, axis=1)]
    for l in range(1, depth - 1):
        factors.append(bases[l] @ (sigma[l][:, None] * bases[l - 1].T))
    factors.append(U1 @ (sigma[-1][:, None] * bases[-1].T))
    return (factors, bases) if return_bases else factors


@dataclasses.dataclass(frozen=True)
class SpectralState:
    """Per-layer singular values read back from spectrally structured matrices.

    Attributes
    ----------
    sigma : ndarray, shape (depth, K-1)
        Signed values in the gauge ``sigma_l >= 0`` for the weight layers (the sign
        of each mode sits on the features); products ``s_k`` are gauge-free.
    residual : float
        Largest relative Frobenius misfit of a factor rebuilt from ``sigma`` and the
        recovered bases (also counts within-class spread of H and non-orthogonal
        bases). Round-off level for an exact spectral structure.
    basis : str
        The mode basis used.
    n : int
        Samples per class.
    """

    sigma: np.ndarray
    residual: float
    basis: str
    n: int

    @property
    def s(self) -> np.ndarray:
        """Products ``prod_l sigma_{l,k}``, shape (K-1,)."""
        return np.prod(self.sigma, axis=0)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)
    return float(np.linalg.norm(a - b) / scale)


def spectral_state(weights, basis: str = "auto", tol: float = 1e-8) -> SpectralState:
    """Read the per-layer singular values back from ``[H, W_1, ..., W_{L-1}]``.

    Going down from the classifier, row ``k`` of ``U^T W_{L-1}`` is
    ``sigma_{L-1,k} b_k^T``; each lower factor is read through the recovered
    directions, and the features through ``b_{1,k}^T Hbar u_k`` (digest 6.5 (c)).
    Every factor is then rebuilt and compared with the input.

    Parameters
    ----------
    weights : sequence of array_like
        ``[H (d, nK), W_1 (d, d), ..., W_{L-1} (K, d)]`` as from
        :func:`spectral_weights` or :func:`gradient_descent`; samples class-major.
    basis : {"auto", "walsh", "fourier"}
    tol : float
        Largest relative residual accepted.

    Returns
    -------
    SpectralState

    Raises
    ------
    ValueError
        If shapes are inconsistent, or the matrices are not of the spectral form
        (residual above ``tol``); the message gives the residual.
    """
    factors = [np.asarray(w, dtype=float) for w in weights]
    if len(factors) < 2 or any(f.ndim != 2 for f in factors):
        raise ValueError("weights must be a list [H, W_1, ..., W_{L-1}] of matrices")
    H, top = factors[0], factors[-1]
    K, d = top.shape
    _check_classes(K, "the classifier's row count K")
    if H.shape[0] != d or H.shape[1] % K:
        raise ValueError(f"H must have shape (d, n K) = ({d}, n*{K}), got {H.shape}")
    for l, W in enumerate(factors[1:-1], start=1):
        if W.shape != (d, d):
            raise ValueError(f"W_{l} must have shape ({d}, {d}), got {W.shape}")
    basis = resolve_basis(K, basis)
    n = H.shape[1] // K
    depth, m = len(factors), K - 1
    U1 = mode_basis(K, basis)[:, 1:]
    Hbar = H.reshape(d, K, n).mean(axis=2)

    sigma = np.zeros((depth, m))
    bases = [np.zeros((d, m)) for _ in range(depth - 1)]
    rows = U1.T @ top
    for l in range(depth - 1, 0, -1):
        norms = np.linalg.norm(rows, axis=1)
        sigma[l] = norms
        live = norms > 1e-300
        bases[l - 1][:, live] = (rows[live] / norms[live, None]).T
        if l > 1:
            rows = bases[l - 1].T @ factors[l - 1]
    sigma[0] = np.einsum("dk,dk->k", bases[0], Hbar @ U1)

    rebuilt = [np.repeat(bases[0] @ (sigma[0][:, None] * U1.T), n, axis=1)]
    for l in range(1, depth - 1):
        rebuilt.append(bases[l] @ (sigma[l][:, None] * bases[l - 1].T))
    rebuilt.append(U1 @ (sigma[-1][:, None] * bases[-1].T))
    residual = max(_rel(f, r) for f, r in zip(factors, rebuilt, strict=True))
    for B, s in zip(bases, sigma[1:], strict=True):
        live = s > 1e-300
        G = B[:, live].T @ B[:, live]
        residual = max(residual, float(np.abs(G - np.eye(G.shape[0])).max(initial=0)))
    if not residual <= tol:
        raise ValueError(
            f"weights are not spectrally structured in the {basis} basis: relative "
            f"residual {residual:.2e} > tol {tol:g}"
        )
    return SpectralState(sigma=sigma, residual=residual, basis=basis, n=n)
