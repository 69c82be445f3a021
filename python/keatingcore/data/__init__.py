"""Image data sets, loaded safely: CIFAR-10 from a local archive, digits embedded.

``load_digits()`` returns the 8x8 digit images that ship with scikit-learn (real data,
nothing to download). ``load_cifar10(path)`` reads the standard CIFAR-10 archive (python
or binary version, ``.tar.gz`` or unpacked) from a path you give; it never downloads.
Its pickles go through a restricted unpickler and its archives are read in memory;
anything unexpected raises :class:`UnsafeArchiveError`.
"""

from ._cifar import CIFAR10_CLASSES, UnsafeArchiveError, load_cifar10
from ._dataset import ImageDataset
from ._digits import load_digits

__all__ = [
    "CIFAR10_CLASSES",
    "ImageDataset",
    "UnsafeArchiveError",
    "load_cifar10",
    "load_digits",
]
