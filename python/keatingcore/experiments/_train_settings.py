"""Settings of :func:`~keatingcore.experiments.train_backdoor`: checks and meanings.

Number checks whose messages name the argument; the device, the augmentation mode and
the trigger an argument stands for; the learning-rate schedules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._protocol import TRIGGER_KINDS, make_trigger
from ._resnet import require_torch
from ._train_io import _hash_arrays

DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("cosine", "step", "constant", "onecycle")
AUGMENTS = ("none", "crop", "flip", "crop+flip")
BALANCES = ("additive", "replace")
_ONECYCLE_WARMUP = 0.15


def _check_number(
    value: Any,
    name: str,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    bad_low = v <= low if low_open else v < low
    bad_high = high is not None and (v >= high if high_open else v > high)
    if not math.isfinite(v) or bad_low or bad_high:
        lo = "(" if low_open else "["
        hi = "" if high is None else (f"{high:g})" if high_open else f"{high:g}]")
        rng = f"in {lo}{low:g}, {hi or 'inf)'}"
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    return v


def _check_int(value: Any, name: str, low: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
    ):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _resolve_augment(augment: Any, name: str, height: int) -> tuple[str, int]:
    """(mode, padding) of the augmentation."""
    if augment is None:
        # Small images lose too much to a padded crop (8x8 digits: 96% -> 66% clean
        # accuracy in 10 epochs), and digits are not flip-invariant.
        digits = "digit" in name.lower() or "mnist" in name.lower()
        mode = "none" if height < 16 else ("crop" if digits else "crop+flip")
    elif augment is True:
        digits = "digit" in name.lower() or "mnist" in name.lower()
        mode = "crop" if digits else "crop+flip"
    elif augment is False:
        mode = "none"
    elif isinstance(augment, str) and augment in AUGMENTS:
        mode = augment
    else:
        raise ValueError(
            f"augment must be None (automatic), True, False or one of "
            f"{AUGMENTS}, got {augment!r}"
        )
    pad = max(2, height // 8) if "crop" in mode else 0
    return mode, pad


def _trigger_spec(trigger: Any, shape: tuple[int, int, int]) -> tuple[str, Any]:
    """(name stored in the settings, the array or None for "min_eig")."""
    if isinstance(trigger, str):
        if trigger == "min_eig":
            return trigger, None
        if trigger not in TRIGGER_KINDS:
            raise ValueError(
                f"trigger must be one of {TRIGGER_KINDS} or an array of "
                f"the image shape, got {trigger!r}"
            )
    try:
        t = make_trigger(trigger, shape)
    except ValueError as exc:
        raise ValueError(f"trigger: {exc}") from None
    name = trigger if isinstance(trigger, str) else f"array:{_hash_arrays(t)}"
    return name, t


def resolve_device(device: str = "auto") -> str:
    """The torch device a run uses: ``"cuda"`` when available for ``"auto"``.

    Raises
    ------
    ValueError
        For a device other than "auto", "cpu", "cuda" or "cuda:<index>".
    RuntimeError
        For "cuda" when torch sees no CUDA device.
    """
    torch = require_torch()
    if not isinstance(device, str) or not (
        device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit())
    ):
        raise ValueError(
            f"device must be one of {DEVICES} (or 'cuda:<index>'), got {device!r}"
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        built = torch.version.cuda or "none (a CPU-only build)"
        raise RuntimeError(
            f"device={device!r}, but there is no CUDA device: "
            f"torch.cuda.is_available() is False (torch "
            f"{torch.__version__}, CUDA {built}); use device='cpu' or "
            f"'auto'"
        )
    return device


def _lr_factor(schedule: str, total: int) -> Callable[[int], float]:
    """Multiplier of the base learning rate at optimiser step ``k`` of ``total``."""

    def cosine(k: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(k, total) / total))

    def step(k: int) -> float:
        return 0.1 ** sum(k >= m * total for m in (0.5, 0.75))

    def constant(k: int) -> float:
        return 1.0

    warm = max(1, int(round(_ONECYCLE_WARMUP * total)))

    def onecycle(k: int) -> float:
        if k < warm:
            return (k + 1) / warm
        return max(0.0, (total - k) / max(1, total - warm))

    return {"cosine": cosine, "step": step, "constant": constant, "onecycle": onecycle}[
        schedule
    ]
