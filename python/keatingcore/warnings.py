"""Warning classes of keatingcore.

Filter them as a group with ``warnings.simplefilter("ignore", KeatingcoreWarning)``.
"""

from __future__ import annotations


class KeatingcoreWarning(RuntimeWarning):
    """Base class of every warning the package emits."""


class ConvergenceWarning(KeatingcoreWarning):
    """An iterative solver stopped before reaching its tolerance."""


class OptionalDependencyWarning(KeatingcoreWarning):
    """An optional package is missing, so a feature falls back or is skipped."""


class StoreWarning(KeatingcoreWarning):
    """A chunk of a sweep store was unreadable or inconsistent; it is recomputed."""
