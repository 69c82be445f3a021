"""Hessians of the deep UFM by torch autograd: dense for small models, and
Hessian-vector products for block Lanczos on large ones (any activation).

The flattening is row-major per factor, factors in the order of ``params``
(``H_1`` is factor 0), matching :func:`keatingcore.ufm.layer_hessian`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._checks import (
    ACTIVATIONS,
    LOSSES,
    check_choice,
    check_int,
    require_torch,
    torch_threads,
)
from ._model import check_factors, split_samples


def _params(spec: Any, n_factors: int) -> list[int]:
    if spec is None or (isinstance(spec, str) and spec == "all"):
        return list(range(n_factors))
    idx = [spec] if np.ndim(spec) == 0 else list(spec)
    out = []
    for i in idx:
        j = check_int(i, "params", 0)
        if j >= n_factors:
            raise ValueError(f"params must lie in [0, {n_factors - 1}], got {j}")
        out.append(j)
    if len(set(out)) != len(out) or not out:
        raise ValueError(f"params must be distinct factor indices, got {idx}")
    return out


def loss_closure(
    factors,
    n: int,
    *,
    params: Any = "all",
    loss: str = "mse",
    activation: str = "linear",
    lams=None,
    device: str | None = None,
    dtype: str = "float64",
) -> tuple[Callable[[Any], Any], Any]:
    """``f(theta)`` (a scalar torch function) and the flat start ``theta0``.

    ``theta`` holds the factors listed in ``params`` (row-major, in that order);
    the others stay fixed. Without ``lams`` only the fit term is returned, with
    them the full loss.
    """
    torch = require_torch()
    fs = check_factors(factors)
    K, n = split_samples(fs, n)
    check_choice(loss, "loss", LOSSES)
    check_choice(activation, "activation", ACTIVATIONS)
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    idx = _params(params, len(fs))
    tdtype = getattr(torch, dtype)
    dev = torch.device(device or "cpu")
    fixed = [torch.as_tensor(f, dtype=tdtype, device=dev) for f in fs]
    lam_t = None
    if lams is not None:
        lam_arr = np.asarray(lams, dtype=float)
        if lam_arr.shape != (len(fs),):
            raise ValueError(f"lams must have {len(fs)} values")
        lam_t = [float(v) for v in lam_arr]
    Y = torch.repeat_interleave(torch.eye(K, dtype=tdtype, device=dev), n, dim=1)
    target = torch.repeat_interleave(torch.arange(K, device=dev), n)
    shapes = [fixed[j].shape for j in idx]
    sizes = [int(np.prod(s)) for s in shapes]
    L = len(fs) - 1
    N = n * K

    def f(theta):
        cur = list(fixed)
        pos = 0
        for j, shape, size in zip(idx, shapes, sizes, strict=True):
            cur[j] = theta[pos : pos + size].reshape(shape)
            pos += size
        h = cur[0]
        for l in range(1, L + 1):
            h = cur[l] @ h
            if activation == "relu" and l < L:
                h = torch.relu(h)
        if loss == "mse":
            out = 0.5 * torch.sum((h - Y) ** 2) / N
        else:
            out = torch.nn.functional.cross_entropy(h.T, target)
        if lam_t is not None:
            for lam, X in zip(lam_t, cur, strict=True):
                out = out + 0.5 * lam * torch.sum(X * X)
        return out

    theta0 = torch.cat([fixed[j].reshape(-1) for j in idx])
    return f, theta0


def hvp_operator(f: Callable[[Any], Any], theta0: Any) -> Callable[[Any], Any]:
    """``V (p x b) -> H V`` by batched double backward through one retained graph.

    Reverse-over-reverse: one forward and backward builds the gradient graph, then
    every block costs one batched backward (``is_grads_batched``).
    """
    torch = require_torch()
    theta = theta0.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(theta), theta, create_graph=True)

    def apply(V):
        (HV,) = torch.autograd.grad(
            grad,
            theta,
            grad_outputs=V.T.contiguous(),
            retain_graph=True,
            is_grads_batched=True,
        )
        return HV.T.detach()

    return apply


def autograd_hessian(
    factors,
    n: int,
    *,
    params: Any = "all",
    loss: str = "mse",
    activation: str = "linear",
    lams=None,
    device: str | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    """Dense Hessian by autograd (float64), for small models.

    Parameters
    ----------
    factors : sequence of array_like
        ``[H_1, W_1, ..., W_L]``.
    n : int
    params : "all", int or sequence of int
        Factors to differentiate (0 is ``H_1``); the Hessian block of those.
    loss, activation : str
    lams : array_like, shape (depth,), optional
        Include the regulariser (adds ``lam_j I`` on each block).
    device : str, optional
    num_threads : int, optional
        torch CPU threads for this call (restored afterwards).

    Returns
    -------
    ndarray, shape (p, p)
    """
    torch = require_torch()
    f, theta0 = loss_closure(
        factors,
        n,
        params=params,
        loss=loss,
        activation=activation,
        lams=lams,
        device=device,
    )
    p = theta0.numel()
    if p > 20000:
        raise ValueError(
            f"the dense Hessian would have {p}^2 entries; use lanczos for p > 20000"
        )
    with torch_threads(torch, num_threads):
        op = hvp_operator(f, theta0)
        eye = torch.eye(p, dtype=theta0.dtype, device=theta0.device)
        cols = [op(eye[:, i : i + 512]) for i in range(0, p, 512)]
        H = torch.cat(cols, dim=1)
    return (0.5 * (H + H.T)).cpu().numpy()


class DenseLayerHessian:
    """Dense layer Hessian with the interface of :class:`LayerHessian` (for ReLU)."""

    method = "autograd"
    shift = 0.0

    def __init__(self, matrix: np.ndarray, layer: int, shape: tuple[int, int]):
        self.layer = layer
        self.shape = shape
        self.matrix = matrix
        e, V = np.linalg.eigh(0.5 * (matrix + matrix.T))
        self.eigenvalues = e[::-1]
        self._vectors = V[:, ::-1]

    def apply(self, V) -> np.ndarray:
        return (self.matrix @ np.asarray(V, dtype=float).ravel()).reshape(self.shape)

    def eigenvectors(self, q: int) -> np.ndarray:
        return self._vectors[:, :q].T.reshape(q, *self.shape)

    def coefficients(self, M, q: int) -> np.ndarray:
        return self._vectors[:, :q].T @ np.asarray(M, dtype=float).ravel()


def relu_hessian_metrics(factors, n: int, layer: int, loss: str = "mse"):
    """A.4 metrics of a weight of the ReLU deep UFM (dense autograd Hessian).

    Class means are taken at the input of ``W_l`` (after the activation) and at
    its pre-activation output; the gradient is the fit-term gradient.
    """
    from ._hessian import class_means_of, metrics_from
    from ._model import forward, gradient

    fs = check_factors(factors)
    K, n = split_samples(fs, n)
    layer = check_int(layer, "layer", 1)
    if layer > len(fs) - 1:
        raise ValueError(f"layer must lie in [1, {len(fs) - 1}], got {layer}")
    H = autograd_hessian(fs, n, params=layer, loss=loss, activation="relu")
    hess = DenseLayerHessian(H, layer, fs[layer].shape)
    grad = gradient(fs, n, np.zeros(len(fs)), loss, "relu", include_reg=False)[layer]
    reps = forward(fs, "relu")
    mu_in = class_means_of(reps[layer - 1], K, n)
    mu_out = class_means_of(fs[layer] @ reps[layer - 1], K, n)
    return metrics_from(hess, grad, mu_in, mu_out)
