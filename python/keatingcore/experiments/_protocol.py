"""Poisoning protocol for real images: triggers, poisoned training sets, metrics.

Stand-in protocol (ours, not the paper's: the experimental section of Flynn, Goldhirsh,
Keating & Seroussi, arXiv 2605.22481, could not be retrieved): a source and a target
class; a unit-norm trigger t; training poisons are source images plus alpha t,
relabelled to the target, a fraction eps of the training set; tests use a fixed
alpha_test. Clean accuracy and attack success follow the usual backdoor-benchmark
definitions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..backdoor import Setup
from ..backdoor._simulate import cluster_counts as backdoor_counts

TRIGGER_KINDS = ("patch", "checkerboard", "noise", "min_eig")


def make_trigger(
    kind: Any, image_shape: tuple[int, ...], *, size: int | None = None, seed: int = 0
) -> np.ndarray:
    """A unit-norm trigger pattern of the image shape (H, W, C).

    Parameters
    ----------
    kind : {"patch", "checkerboard", "noise"} or array
        "patch": a square of ones in the bottom-right corner, ``size`` pixels wide
        (default max(2, H // 8)); "checkerboard": +-1 over the whole image;
        "noise": seeded Gaussian noise (a blended-noise trigger); an array of the
        image shape is normalised and used as is. ("min_eig" needs data: use
        :func:`min_eigen_direction`.)
    image_shape : tuple
        (H, W, C).
    size : int, optional
        Patch width.
    seed : int
        Seed of the noise trigger.

    Returns
    -------
    ndarray of the image shape, with unit Euclidean norm.
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (H, W, C), got {image_shape}")
    if isinstance(kind, str):
        if kind not in TRIGGER_KINDS[:3]:
            raise ValueError(
                f"trigger must be one of {TRIGGER_KINDS} or an array, got {kind!r}"
            )
        h, w, _ = shape
        if kind == "patch":
            k = max(2, h // 8) if size is None else int(size)
            if not 1 <= k <= min(h, w):
                raise ValueError(f"size must be in [1, {min(h, w)}], got {k}")
            t = np.zeros(shape)
            t[h - k :, w - k :, :] = 1.0
        elif kind == "checkerboard":
            ii, jj = np.indices((h, w))
            t = np.repeat(
                np.where((ii + jj) % 2 == 0, 1.0, -1.0)[..., None], shape[2], 2
            )
        else:
            t = np.random.default_rng(seed).standard_normal(shape)
    else:
        t = np.array(kind, dtype=float)
        if t.shape != shape:
            raise ValueError(f"trigger array must have shape {shape}, got {t.shape}")
    norm = np.linalg.norm(t)
    if not (np.isfinite(norm) and norm > 0):
        raise ValueError("trigger must be finite with a norm > 0")
    return t / norm


def min_eigen_direction(features: np.ndarray) -> np.ndarray:
    """Unit eigenvector of the smallest eigenvalue of the features' covariance."""
    features = np.asarray(features, dtype=float)
    _, vecs = np.linalg.eigh(np.cov(features, rowvar=False))
    return vecs[:, 0]


@dataclasses.dataclass(frozen=True)
class Standardizer:
    """Per-feature centring and scaling fitted on clean training features.

    Features whose standard deviation is below ``floor`` times the median are
    dropped (constant border pixels would make the covariance singular).
    """

    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, floor: float = 1e-3) -> Standardizer:
        x = np.asarray(x, dtype=float).reshape(len(x), -1)
        std = x.std(axis=0)
        keep = std > floor * np.median(std[std > 0])
        return cls(x.mean(axis=0)[keep], std[keep], keep)

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(len(x), -1)
        return (x[:, self.keep] - self.mean) / self.scale

    def direction(self, pattern: np.ndarray) -> np.ndarray:
        """A pixel-space pattern mapped to feature space, with unit norm."""
        v = np.asarray(pattern, dtype=float).reshape(-1)[self.keep] / self.scale
        norm = np.linalg.norm(v)
        if not norm > 0:
            raise ValueError("the trigger vanishes on the kept features")
        return v / norm


def cluster_counts(
    n: int, eps: float, balance: str = "additive"
) -> tuple[int, int, int]:
    """Training counts (target, clean source, poisons) with the theory's weights.

    The same deterministic sizes as :func:`keatingcore.backdoor.simulate`: "additive"
    rho_+ = rho_- = (1 - eps)/2, rho_p = eps; "replace" rho_+ = 1/2, rho_- = 1/2 - eps.
    """
    return backdoor_counts(Setup(eps=eps, balance=balance), n)


def poison_binary(
    x_target: np.ndarray,
    x_source: np.ndarray,
    n: int,
    eps: float,
    alpha: float,
    trigger: np.ndarray,
    rng: np.random.Generator,
    balance: str = "additive",
) -> tuple[np.ndarray, np.ndarray]:
    """A poisoned binary training set drawn without replacement from two classes.

    Returns features X (n, P) and labels y in {+1 (target), -1 (source)}; the last
    ``round(eps n)`` rows are poisons: source features plus ``alpha * trigger``,
    labelled +1.
    """
    n_t, n_s, n_p = cluster_counts(n, eps, balance)
    if n_t > len(x_target) or n_s + n_p > len(x_source):
        raise ValueError(
            f"n = {n} needs {n_t} target and {n_s + n_p} source images, the data have "
            f"{len(x_target)} and {len(x_source)}: lower n (raise kappa)"
        )
    t_idx = rng.choice(len(x_target), n_t, replace=False)
    s_idx = rng.choice(len(x_source), n_s + n_p, replace=False)
    poisons = x_source[s_idx[n_s:]] + alpha * trigger
    X = np.concatenate([x_target[t_idx], x_source[s_idx[:n_s]], poisons])
    y = np.concatenate([np.ones(n_t), -np.ones(n_s), np.ones(n_p)])
    return X, y


def binary_metrics(
    score_target: np.ndarray, score_source: np.ndarray, score_triggered: np.ndarray
) -> tuple[float, float]:
    """Balanced clean accuracy and attack success from decision scores (> 0 = target).

    ``score_triggered`` are scores of source test inputs carrying the test trigger;
    attack success is the fraction classified as the target.
    """
    acc = 0.5 * np.mean(score_target > 0) + 0.5 * np.mean(score_source <= 0)
    return float(acc), float(np.mean(score_triggered > 0))
