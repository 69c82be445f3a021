"""The 8x8 handwritten digits that ship inside scikit-learn (nothing is downloaded)."""

from __future__ import annotations

import logging
import numbers

import numpy as np

from ._dataset import ImageDataset

logger = logging.getLogger(__name__)

__all__ = ["load_digits"]

_N_CLASSES = 10


def _stratified_split(y: np.ndarray, test_fraction: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with ``test_fraction`` of every class in the test set."""
    test_parts = []
    for c in range(_N_CLASSES):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = round(test_fraction * len(idx))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test_parts.append(idx[:n_test])
    test = np.concatenate(test_parts)
    is_train = np.ones(len(y), dtype=bool)
    is_train[test] = False
    return rng.permutation(np.flatnonzero(is_train)), rng.permutation(test)


def load_digits(*, test_fraction: float = 0.3, seed: int = 0) -> ImageDataset:
    """The UCI handwritten digits bundled with scikit-learn, split train/test.

    The 1797 images are read from the data file that ships inside scikit-learn
    (``sklearn.datasets.load_digits``); nothing is downloaded.

    Parameters
    ----------
    test_fraction : float, default 0.3
        Fraction of each class that goes to the test set (stratified split), in
        (0, 1).
    seed : int, default 0
        Seed of the split; the same seed always gives the same split.

    Returns
    -------
    ImageDataset
        Named ``"digits"``; ``x`` is uint8 of shape (N, 8, 8, 1) with values in
        ``[0, 16]``, ``y`` int64 in ``[0, 10)``, ``classes`` ``("0", ..., "9")``.

    Raises
    ------
    ImportError
        scikit-learn is not installed (``pip install scikit-learn``).
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number, got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as exc:
        raise ImportError("load_digits reads the digits images that ship with "
                          "scikit-learn, which is not installed: "
                          "pip install scikit-learn") from exc

    bunch = sklearn_load_digits()
    images = np.asarray(bunch.images)
    y = np.asarray(bunch.target).astype(np.int64)
    if (images.ndim != 3 or images.shape[1:] != (8, 8) or y.shape != images.shape[:1]
            or images.min() < 0 or images.max() > 16
            or not np.array_equal(images, np.round(images))):
        raise RuntimeError("scikit-learn's digits data are not 8x8 images with "
                           "integer values in [0, 16]; is the installation damaged?")
    x = images.astype(np.uint8)[..., np.newaxis]

    train, test = _stratified_split(y, float(test_fraction),
                                    np.random.default_rng(int(seed)))
    logger.info("digits: %d train / %d test images (seed %d)", len(train), len(test),
                seed)
    classes = tuple(str(c) for c in range(_N_CLASSES))
    return ImageDataset("digits", x[train], y[train], x[test], y[test], classes)
