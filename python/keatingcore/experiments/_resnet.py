"""The CIFAR-style ResNet-18 that backdoor experiments train.

Flynn, Goldhirsh, Keating & Seroussi (arXiv 2605.22481) report that a ResNet-18 shows
their backdoor phenomena qualitatively; this is the usual CIFAR variant of that
network (He et al. 2016, adapted to 32x32 inputs): a 3x3 stride-1 stem without
max-pool, four stages of two basic blocks with widths ``w, 2w, 4w, 8w`` and strides
1, 2, 2, 2, global average pooling and a linear head. With ``width=64``, 10 classes and
3 input channels it has 11,173,962 parameters.

torch is optional for keatingcore: this module imports without it, and building a
network then raises an :class:`ImportError` that says how to install it.
"""

from __future__ import annotations

from typing import Any

try:  # torch is an optional dependency
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - exercised only without torch
    torch = None
    nn = None

TORCH_MISSING = (
    "this part of keatingcore.experiments needs PyTorch, which is not "
    "installed: pip install torch"
)


def require_torch() -> Any:
    """The ``torch`` module, or an :class:`ImportError` naming ``pip install torch``."""
    if torch is None:
        raise ImportError(TORCH_MISSING)
    return torch


class _NoTorchModule:
    """Stands in for ``torch.nn.Module`` when torch is missing: cannot be built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(TORCH_MISSING)


_Module: Any = _NoTorchModule if nn is None else nn.Module


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class BasicBlock(_Module):
    """Two 3x3 conv + batch-norm layers with an identity or 1x1-conv shortcut.

    Parameters
    ----------
    in_planes, planes : int
        Input and output channels.
    stride : int
        Stride of the first convolution (and of the shortcut).
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, 3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Any) -> Any:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(_Module):
    """CIFAR-style ResNet-18.

    Parameters
    ----------
    num_classes : int
        Outputs of the linear head.
    in_channels : int
        Image channels (3 for CIFAR-10, 1 for digits).
    width : int
        Channels of the first stage; the stages have ``width * (1, 2, 4, 8)``.
        64 is the standard network; 8 or 16 make small test networks.

    Notes
    -----
    Input: a float tensor ``(N, in_channels, H, W)``; output: logits
    ``(N, num_classes)``. Any ``H, W >= 1`` work (the three stride-2 stages and the
    global pool adapt), so 8x8 digits run through the same network as 32x32 CIFAR.
    Weights use PyTorch's default initialisation, seeded by ``torch.manual_seed``.

    Raises
    ------
    ImportError
        If torch is not installed.
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, width: int = 64
    ) -> None:
        super().__init__()
        self.num_classes = _positive_int(num_classes, "num_classes")
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.width = _positive_int(width, "width")
        w = self.width
        self.conv1 = nn.Conv2d(self.in_channels, w, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        stages = []
        in_planes = w
        for planes, stride in ((w, 1), (2 * w, 2), (4 * w, 2), (8 * w, 2)):
            stages.append(
                nn.Sequential(
                    BasicBlock(in_planes, planes, stride), BasicBlock(planes, planes, 1)
                )
            )
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(8 * w, self.num_classes)

    def features(self, x: Any) -> Any:
        """Penultimate-layer features ``(N, 8 * width)`` (after global pooling)."""
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return torch.flatten(self.pool(out), 1)

    def forward(self, x: Any) -> Any:
        return self.linear(self.features(x))

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, in_channels={self.in_channels}, "
            f"width={self.width}"
        )


def count_parameters(model: Any) -> int:
    """Number of trainable parameters of a torch module."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
