"""The in-memory image data set every loader returns."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, repr=False)
class ImageDataset:
    """Train and test images with integer labels.

    Attributes
    ----------
    name : str
        Where the data came from ("digits", "cifar10", ...).
    x_train, x_test : ndarray, shape (N, H, W, C), dtype uint8 or float
        Images, channels last.
    y_train, y_test : ndarray, shape (N,), dtype int64
        Labels in ``range(len(classes))``.
    classes : tuple of str
        Class names.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 4:
                raise ValueError(
                    f"x_{split} must have shape (N, H, W, C), got {x.shape}"
                )
            if y.shape != (x.shape[0],):
                raise ValueError(
                    f"y_{split} must have shape ({x.shape[0]},), got {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(f"y_{split} must lie in [0, {len(self.classes)})")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError("train and test images must have the same shape")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C)."""
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        h, w, c = self.image_shape
        return (
            f"ImageDataset({self.name!r}: {len(self.y_train)} train / "
            f"{len(self.y_test)} test images of {h}x{w}x{c}, "
            f"{len(self.classes)} classes)"
        )

    def class_index(self, label: int | str) -> int:
        """Index of a class given by index or name."""
        if isinstance(label, str) and label in self.classes:
            return self.classes.index(label)
        if isinstance(label, str) and label.strip().isdigit():
            label = int(label)
        if isinstance(label, str):
            raise ValueError(f"unknown class {label!r}; classes are {self.classes}")
        index = int(label)
        if not 0 <= index < len(self.classes):
            raise ValueError(
                f"class index must be in [0, {len(self.classes)}), got {index}"
            )
        return index
