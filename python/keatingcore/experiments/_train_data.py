"""Training and test tensors of :func:`~keatingcore.experiments.train_backdoor`.

Pixel scale and per-channel standardisation, the "min_eig" trigger, the poisoned
training set, and each epoch's order, batches and augmentation (the protocol is in
the docstring of :mod:`keatingcore.experiments._train`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data._dataset import ImageDataset
from ._protocol import min_eigen_direction
from ._resnet import require_torch

logger = logging.getLogger(__name__)

_PIXEL_SCALES = (1.0, 16.0, 255.0, 65535.0)
# Purposes of the seeded numpy streams: (seed, purpose, ...).
_EPOCH_STREAM, _SUBSAMPLE_STREAM, _POISON_STREAM = 0, 1, 2


def pixel_scale(x: np.ndarray) -> float:
    """The value of a full-intensity pixel, by which images are divided.

    The smallest of 1, 16 (scikit-learn's 0..16 digits), 255 (8-bit images such as
    CIFAR-10) and 65535 (16-bit) that is at least the largest pixel; the largest pixel
    itself beyond that. Float images already in [0, 1] thus keep their values. (The
    per-channel standardisation that follows makes the results independent of this
    scale; it fixes the units of the stored mean and standard deviation and makes a
    padded border black.)
    """
    top = float(np.max(x)) if np.size(x) else 1.0
    for scale in _PIXEL_SCALES:
        if top <= scale:
            return scale
    return top


@dataclasses.dataclass
class _Prepared:
    """Standardised, poisoned tensors on the device, and what was derived."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    trigger: Any
    fill: Any
    info: dict[str, Any]


def _standardise(x: Any, scale: float, mean: Any, std: Any) -> Any:
    """uint8/float (N, H, W, C) tensor -> float32 (N, C, H, W) channels-last."""
    torch = require_torch()
    out = x.permute(0, 3, 1, 2).to(dtype=mean.dtype).div_(scale)
    return out.sub_(mean).div_(std).contiguous(memory_format=torch.channels_last)


def _channel_stats(x: Any, scale: float) -> tuple[Any, Any]:
    """Per-channel mean and std of (N, H, W, C) images in [0, 1] units (float64)."""
    torch = require_torch()
    c = x.shape[-1]
    total = torch.zeros(c, dtype=torch.float64, device=x.device)
    total2 = torch.zeros_like(total)
    for chunk in torch.split(x.reshape(-1, c), 1 << 20):
        chunk = chunk.to(torch.float64) / scale
        total += chunk.sum(0)
        total2 += (chunk * chunk).sum(0)
    count = x.numel() // c
    mean = total / count
    std = (total2 / count - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean, std


def _min_eig_trigger(x: Any) -> np.ndarray:
    """Smallest-variance direction of standardised (N, C, H, W) images, as (H, W, C)."""
    torch = require_torch()
    n, c, h, w = x.shape
    flat = x.reshape(n, -1)
    if flat.shape[1] > 4096:
        raise ValueError(
            f"trigger='min_eig' needs the covariance of {flat.shape[1]} "
            f"pixels; only images with <= 4096 values are supported"
        )
    if n <= 4096 or flat.device.type != "cpu":
        cov = torch.cov(flat.T.double()).cpu().numpy()
        _, vecs = np.linalg.eigh(cov)
        v = vecs[:, 0]
    else:
        v = min_eigen_direction(flat.cpu().numpy())
    v = v * np.sign(v[np.argmax(np.abs(v))])
    return v.reshape(c, h, w).transpose(1, 2, 0)


def _prepare(
    data: ImageDataset, s: Mapping[str, Any], trigger: Any, device: str
) -> _Prepared:
    torch = require_torch()
    n_all = len(data.y_train)
    idx = np.arange(n_all)
    if s["max_train"] is not None and s["max_train"] < n_all:
        rng = np.random.default_rng([s["seed"], _SUBSAMPLE_STREAM])
        idx = np.sort(rng.choice(n_all, s["max_train"], replace=False))
    y = np.asarray(data.y_train)[idx].astype(np.int64)
    n = len(y)
    source, target, eps = s["source"], s["target"], s["eps"]
    src = np.flatnonzero(y == source)
    if s["balance"] == "additive":
        n_p = int(round(eps * n / (1 - eps)))
    else:
        n_p = int(round(eps * n))
        if n_p > len(src):
            raise ValueError(
                f"eps={eps:g} with balance='replace' needs {n_p} source "
                f"images to replace, the training set has {len(src)}"
            )
    if n_p and not len(src):
        raise ValueError(f"source class {source} has no training images")
    n_clean_source = len(src) - (n_p if s["balance"] == "replace" else 0)
    if n_p and n_p >= n_clean_source:
        logger.warning(
            "eps=%g gives %d poisons but only %d clean source images remain: the "
            "poisons outnumber the source class (eps is a fraction of the whole "
            "training set; with K classes, eps near 1/K or above swamps the source "
            "class)",
            eps,
            n_p,
            n_clean_source,
        )
    rng = np.random.default_rng([s["seed"], _POISON_STREAM])
    if n_p <= len(src):
        poison_rows = rng.choice(src, n_p, replace=False)
    else:  # additive copies beyond the source class: each image used ~equally often
        reps = -(-n_p // len(src))
        poison_rows = np.concatenate([rng.permutation(src) for _ in range(reps)])[:n_p]

    scale = pixel_scale(data.x_train)
    x_raw = torch.from_numpy(np.ascontiguousarray(np.asarray(data.x_train)[idx]))
    x_raw = x_raw.to(device)
    mean, std = _channel_stats(x_raw, scale)
    mean32 = mean.float().view(1, -1, 1, 1)
    std32 = std.float().view(1, -1, 1, 1)
    x = _standardise(x_raw, scale, mean32, std32)
    del x_raw
    if trigger is None:
        trigger = _min_eig_trigger(x)
    t = torch.from_numpy(np.ascontiguousarray(np.transpose(trigger, (2, 0, 1))))
    t = t.to(device=device, dtype=torch.float32)
    y_t = torch.from_numpy(y).to(device)
    rows = torch.from_numpy(poison_rows).to(device)
    poisons = x[rows] + s["alpha"] * t
    if s["balance"] == "additive":
        x = torch.cat([x, poisons])
        y_t = torch.cat(
            [y_t, torch.full((n_p,), target, dtype=y_t.dtype, device=device)]
        )
    else:
        x[rows] = poisons
        y_t[rows] = target
    del poisons
    x_test = torch.from_numpy(np.ascontiguousarray(data.x_test)).to(device)
    x_test = _standardise(x_test, scale, mean32, std32)
    y_test = torch.from_numpy(np.asarray(data.y_test).astype(np.int64)).to(device)
    fill = ((0.0 - mean32) / std32).reshape(1, -1, 1, 1)
    info = {
        "pixel_scale": scale,
        "channel_mean": mean.cpu().tolist(),
        "channel_std": std.cpu().tolist(),
        "n_clean": n,
        "n_source": int(len(src)),
        "n_poisons": n_p,
        "n_train": int(len(y_t)),
        "poison_fraction": n_p / max(1, len(y_t)),
        "n_test": int(len(y_test)),
        "n_test_nontarget": int((y_test != target).sum()),
        "n_test_source": int((y_test == source).sum()),
        "trigger_norm": float(np.linalg.norm(trigger)),
    }
    return _Prepared(x, y_t, x_test, y_test, t, fill, info)


def _augment(x: Any, dy: Any, dx: Any, flip: Any, pad: int, fill: Any) -> Any:
    """Random crops (offsets dy, dx in [0, 2 pad]) of the padded images, then flips."""
    torch = require_torch()
    b, c, h, w = x.shape
    if pad:
        padded = fill.expand(b, c, h + 2 * pad, w + 2 * pad).clone()
        padded[:, :, pad : pad + h, pad : pad + w] = x
    else:
        padded = x
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    cols = cols.expand(b, w)
    if flip is not None:
        cols = torch.where(flip[:, None], (w - 1) - cols, cols)
    if dy is not None:
        rows = dy[:, None] + rows
        cols = dx[:, None] + cols
    else:
        rows = rows.expand(b, h)
    wp = padded.shape[3]
    out = torch.gather(padded, 2, rows[:, None, :, None].expand(b, c, h, wp))
    return torch.gather(out, 3, cols[:, None, None, :].expand(b, c, h, w))


def _epoch_plan(
    seed: int, epoch: int, n: int, mode: str, pad: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Order, crop offsets (n, 2) and flips (n,) of an epoch, from (seed, epoch)."""
    rng = np.random.default_rng([seed, _EPOCH_STREAM, epoch])
    order = rng.permutation(n)
    shifts = rng.integers(0, 2 * pad + 1, size=(n, 2)) if "crop" in mode else None
    flips = rng.random(n) < 0.5 if "flip" in mode else None
    return order, shifts, flips


def _batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch bounds; a last batch of one image is dropped (batch norm needs two)."""
    bounds = [(i, min(n, i + batch_size)) for i in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < 2:
        bounds.pop()
    return bounds
