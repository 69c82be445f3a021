"""Backdoor experiments on real images.

Linear learners, Gaussian surrogates and the theory on the same axes, and a CIFAR-style
ResNet-18. Protocol settings not given by the paper (its experimental section could
not be retrieved) are ours and are all parameters; see
:mod:`keatingcore.experiments._protocol`. torch is needed only for ResNet-18.
"""

from ._linear import BinaryTask, LinearExperimentResult, binary_task, linear_experiment
from ._plot import plot_linear_experiment
from ._protocol import (
    Standardizer,
    binary_metrics,
    cluster_counts,
    make_trigger,
    min_eigen_direction,
    poison_binary,
)
from ._resnet import ResNet18, count_parameters
from ._train import TrainResult, plot_alpha_grid, train_alpha_grid, train_backdoor

__all__ = [
    "BinaryTask",
    "LinearExperimentResult",
    "ResNet18",
    "Standardizer",
    "TrainResult",
    "binary_metrics",
    "binary_task",
    "cluster_counts",
    "count_parameters",
    "linear_experiment",
    "make_trigger",
    "min_eigen_direction",
    "plot_alpha_grid",
    "plot_linear_experiment",
    "poison_binary",
    "train_alpha_grid",
    "train_backdoor",
]
