"""The result of :func:`~keatingcore.experiments.train_backdoor`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._train_io import _jsonable

#: Keys of a metrics record (a line of ``metrics.jsonl``, a ``TrainResult.history``).
METRICS = (
    "epoch",
    "train_loss",
    "train_acc",
    "clean_acc",
    "asr",
    "asr_source",
    "lr",
    "train_seconds",
    "seconds",
)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class TrainResult:
    """Outcome of :func:`~keatingcore.experiments.train_backdoor`.

    Attributes
    ----------
    clean_accuracy : float
        Accuracy on the whole clean test set after the last epoch.
    attack_success : float
        Fraction of triggered non-target test images predicted as the target.
    attack_success_source : float
        The same over triggered source-class test images only.
    epochs : int
        Epochs trained.
    seconds : float
        Wall-clock seconds of all epochs (training and evaluation), summed over
        resumed sessions.
    images_per_second : float
        Training throughput: poisoned training images processed per second of
        training (evaluation excluded).
    device : str
        ``"cpu"`` or ``"cuda"`` (of the session that finished the run).
    history : dict of str to ndarray
        Per-epoch arrays, keys :data:`METRICS`: ``epoch`` (1-based), ``train_loss``,
        ``train_acc`` (on augmented poisoned batches), ``clean_acc``, ``asr``,
        ``asr_source``, ``lr`` (of the epoch's last step), ``train_seconds``,
        ``seconds``.
    config : dict
        The run's settings (``config["settings"]``), the derived counts and
        normalisation, and the versions, as in ``config.json``.
    out_dir : str or None
        Where the run's files are.
    model : torch.nn.Module or None
        The trained network, in eval mode, on the run's device.
    """

    clean_accuracy: float
    attack_success: float
    attack_success_source: float
    epochs: int
    seconds: float
    images_per_second: float
    device: str
    history: Mapping[str, np.ndarray]
    config: Mapping[str, Any]
    out_dir: str | None = None
    model: Any = None

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the run was made with."""
        return dict(self.config["settings"])

    @property
    def alpha(self) -> float:
        """Training trigger strength."""
        return float(self.config["settings"]["alpha"])

    @property
    def alpha_test(self) -> float:
        """Test trigger strength."""
        return float(self.config["settings"]["alpha_test"])

    @property
    def eps(self) -> float:
        """Poisoning fraction."""
        return float(self.config["settings"]["eps"])

    @property
    def seed(self) -> int:
        """Seed of the run."""
        return int(self.config["settings"]["seed"])

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, JSON-ready (history arrays become lists)."""
        return {
            "clean_accuracy": self.clean_accuracy,
            "attack_success": self.attack_success,
            "attack_success_source": self.attack_success_source,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "images_per_second": self.images_per_second,
            "device": self.device,
            "history": {k: np.asarray(v).tolist() for k, v in self.history.items()},
            "config": _jsonable(self.config),
            "out_dir": self.out_dir,
        }

    def __repr__(self) -> str:
        s = self.config["settings"]
        return (
            f"TrainResult({s['dataset']} ResNet-18 w={s['width']}, "
            f"{s['source']}->{s['target']}, alpha={s['alpha']:g}, "
            f"alpha_test={s['alpha_test']:g}, eps={s['eps']:g}, seed={s['seed']}: "
            f"clean {100 * self.clean_accuracy:.2f}%, "
            f"ASR {100 * self.attack_success:.2f}% "
            f"(source {100 * self.attack_success_source:.2f}%), "
            f"{self.epochs} epochs in {self.seconds:.1f} s, "
            f"{self.images_per_second:.0f} img/s on {self.device})"
        )


def _result(
    history: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    device: str,
    out_dir: Path | None,
    model: Any,
) -> TrainResult:
    hist = {
        k: np.array([r[k] for r in history], dtype=int if k == "epoch" else float)
        for k in METRICS
    }
    last = history[-1]
    n_train = config["derived"]["n_train_per_epoch"]
    train_s = float(hist["train_seconds"].sum())
    return TrainResult(
        clean_accuracy=float(last["clean_acc"]),
        attack_success=float(last["asr"]),
        attack_success_source=float(last["asr_source"]),
        epochs=len(history),
        seconds=float(hist["seconds"].sum()),
        images_per_second=n_train * len(history) / train_s if train_s > 0 else math.nan,
        device=device,
        history=hist,
        config=config,
        out_dir=None if out_dir is None else str(out_dir),
        model=model,
    )
