"""Train a ResNet-18 on a poisoned image set: the backdoor experiment on real images.

Flynn, Goldhirsh, Keating & Seroussi (arXiv 2605.22481) predict how clean accuracy and
attack success move with the trigger strength alpha and the poisoning fraction eps, and
report that a ResNet-18 on CIFAR-10 shows the predicted phenomena qualitatively. Their
training recipe could not be retrieved, so :func:`train_backdoor` runs a stand-in whose
every setting is a parameter. The defaults follow the common backdoor-benchmark recipe
(SGD with momentum 0.9 and weight decay 5e-4, batch 128, a cosine schedule, 100 epochs,
random crop + flip; BackdoorBench uses these with lr 0.01 and a PreAct-ResNet-18, the
usual ResNet-18 CIFAR recipe uses lr 0.1): they are *not* the paper's.

Protocol
--------
* Pixels are divided by the pixel scale (:func:`pixel_scale`: 255 for 8-bit images such
  as CIFAR-10, 16 for scikit-learn's 0..16 digits, 1 for floats already in [0, 1]),
  then standardised per channel with the mean and standard deviation of the clean
  training images. All of the following happens in that standardised space, without
  clipping (as in the theory, where the trigger is added to the features).
* The trigger t is :func:`~keatingcore.experiments.make_trigger` of the image shape:
  unit Euclidean norm in the standardised space (a typical image there has norm
  ``sqrt(H W C)``, about 55 for CIFAR-10).
* Poisons are source-class training images plus ``alpha t``, labelled as the target.
  They make up a fraction ``eps`` of the training set, as in
  :func:`~keatingcore.experiments.cluster_counts` (mirrored for K classes):
  ``balance="additive"`` keeps every clean image and adds ``round(eps N / (1 - eps))``
  triggered copies of source images; ``"replace"`` swaps ``round(eps N)`` source
  images for their triggered, relabelled versions (N stays the same).
* The network trains on all K classes with cross-entropy. Each epoch's order and
  augmentation (random crop from a padded image, horizontal flip) come from a numpy
  generator seeded by ``(seed, epoch)``, so a resumed run sees the same batches.
* Metrics after every epoch: clean accuracy on the whole test set; attack success
  (ASR) = fraction of non-target test images plus ``alpha_test t`` predicted as the
  target (BackdoorBench's definition: its triggered test set is every test image whose
  label is not the target); and the ASR on source-class test images only. (Unlike
  BackdoorBench's all-to-one attacks, whose training poisons are drawn from every
  class, poisons here come from the source class only, as in the theory.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data._dataset import ImageDataset
from ._protocol import TRIGGER_KINDS, make_trigger, min_eigen_direction
from ._resnet import ResNet18, require_torch

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("cosine", "step", "constant", "onecycle")
AUGMENTS = ("none", "crop", "flip", "crop+flip")
BALANCES = ("additive", "replace")
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
CHECKPOINT_FORMAT = 1
_PIXEL_SCALES = (1.0, 16.0, 255.0, 65535.0)
_ONECYCLE_WARMUP = 0.15
_EVAL_BATCH = 512
# Purposes of the seeded numpy streams: (seed, purpose, ...).
_EPOCH_STREAM, _SUBSAMPLE_STREAM, _POISON_STREAM = 0, 1, 2


# --- results -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class TrainResult:
    """Outcome of :func:`train_backdoor`.

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


# --- settings ----------------------------------------------------------------------


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


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _data_fingerprint(data: ImageDataset) -> str:
    return _hash_arrays(
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        np.array(data.classes, dtype=str),
    )


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


# --- data --------------------------------------------------------------------------


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


# --- files -------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, str):
        return str(obj)  # plain str, e.g. of torch's TorchVersion
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else str(obj)
    return obj


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda f: f.write(text), "w")


def _metrics_line(record: Mapping[str, Any]) -> str:
    return json.dumps(_jsonable(record)) + "\n"


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    torch = require_torch()
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same
        raise RuntimeError(
            f"cannot read the checkpoint {path} ({exc}); delete it or "
            f"pass resume=False to start over"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(
            f"{path} is not a keatingcore training checkpoint "
            f"(format {CHECKPOINT_FORMAT}); pass resume=False to "
            f"start over"
        )
    return ckpt


def _settings_mismatch(
    stored: Mapping[str, Any], wanted: Mapping[str, Any]
) -> list[str]:
    a, b = _jsonable(stored), _jsonable(wanted)
    return [
        f"{k}: {a.get(k)!r} there, {b.get(k)!r} now"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


# --- training ----------------------------------------------------------------------


def _show_progress(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


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


def _evaluate(
    model: Any,
    prep: _Prepared,
    alpha_test: float,
    source: int,
    target: int,
    autocast: Callable[[], Any],
) -> tuple[float, float, float]:
    torch = require_torch()
    model.eval()
    clean, trig = [], []
    fmt = torch.channels_last
    with torch.no_grad(), autocast():
        for i in range(0, len(prep.y_test), _EVAL_BATCH):
            xb = prep.x_test[i : i + _EVAL_BATCH]
            clean.append(model(xb.contiguous(memory_format=fmt)).argmax(1))
            xt = (xb + alpha_test * prep.trigger).contiguous(memory_format=fmt)
            trig.append(model(xt).argmax(1))
    model.train()
    if not clean:
        return math.nan, math.nan, math.nan
    pred, pred_t = torch.cat(clean), torch.cat(trig)
    y = prep.y_test
    hit = pred_t == target
    nontarget, src = y != target, y == source

    def frac(mask: Any, values: Any) -> float:
        count = int(mask.sum())
        return float(values[mask].sum()) / count if count else math.nan

    return (float((pred == y).float().mean()), frac(nontarget, hit), frac(src, hit))


def train_backdoor(
    data: ImageDataset,
    *,
    source: int | str,
    target: int | str,
    alpha: float,
    eps: float = 0.1,
    trigger: Any = "patch",
    alpha_test: float | None = None,
    balance: str = "additive",
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    nesterov: bool = True,
    schedule: str = "cosine",
    augment: bool | str | None = None,
    width: int = 64,
    seed: int = 0,
    device: str = "auto",
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_train: int | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> TrainResult:
    """Train a ResNet-18 on all classes of a poisoned training set.

    The real-data experiment behind the theory of Flynn, Goldhirsh, Keating & Seroussi
    (arXiv 2605.22481): how clean accuracy and attack success depend on the trigger
    strength ``alpha`` and the poisoning fraction ``eps``. The protocol (module
    docstring) and the defaults are a stand-in, the common backdoor-benchmark recipe,
    not the paper's (its settings could not be retrieved).

    Parameters
    ----------
    data : ImageDataset
        Train and test images, e.g. ``keatingcore.data.load_cifar10(path)``.
    source, target : int or str
        Classes (index or name): poisons are source images relabelled as the target.
    alpha : float
        Trigger strength in training, >= 0, in standardised-pixel units (the trigger
        has unit norm there; a typical image has norm ``sqrt(H W C)``).
    eps : float
        Fraction of the poisoned training set that is poisons, in [0, 1).
    trigger : {"patch", "checkerboard", "noise", "min_eig"} or ndarray
        Pattern, see :func:`~keatingcore.experiments.make_trigger` (built with its
        default size and seed, so it does not change with ``seed``). "min_eig" is the
        smallest-variance direction of the standardised clean training images (images
        with at most 4096 values). An (H, W, C) array is normalised and used as is.
    alpha_test : float, optional
        Trigger strength at test time; defaults to ``alpha``. Fix it to compare runs
        with different ``alpha``, as the theory does.
    balance : {"additive", "replace"}
        "additive": every clean image stays and ``round(eps N / (1 - eps))`` triggered
        copies of source images are added (beyond the number of source images, they
        are used repeatedly, each about equally often); "replace": ``round(eps N)``
        source images are replaced by their triggered versions.
    epochs : int
        Epochs, >= 1 (default 100, BackdoorBench's).
    batch_size : int
        Images per SGD step (128).
    lr, momentum, weight_decay, nesterov
        SGD settings (0.1, 0.9, 5e-4, Nesterov momentum).
    schedule : {"cosine", "step", "constant", "onecycle"}
        Learning-rate factor per step: cosine decay to 0; x0.1 at 50 % and 75 % of
        training; constant; linear warm-up over 15 % then linear decay to 0.
    augment : {None, True, False, "none", "crop", "flip", "crop+flip"}
        Random crop from an image padded by ``max(2, H // 8)`` black pixels (4 for
        32x32, 2 for 8x8) and/or horizontal flip. True: "crop+flip", but "crop" for
        data whose name contains "digit" or "mnist" (digits are not flip-invariant).
        None: as True for images of 16 pixels or more, "none" below.
    width : int
        Channels of the first ResNet stage (64 is the standard network).
    seed : int
        Seeds the network initialisation (``torch.manual_seed``), the subsample, the
        choice of poisons and, with the epoch, each epoch's order and augmentation.
    device : {"auto", "cpu", "cuda"}
        "auto" takes CUDA when present. On CUDA the run uses bf16 autocast and cuDNN
        autotuning (runs are then close but not bitwise reproducible); on CPU it runs
        in float32 and a resumed run is bitwise identical to an uninterrupted one.
        Images and network are channels-last on both.
    out_dir : path, optional
        Folder for ``config.json``, ``metrics.jsonl`` (one line per epoch) and
        ``checkpoint.pt`` (written atomically after every epoch). Without it, nothing
        is written and nothing can be resumed.
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` when it exists (it must have been
        written with the same settings and data); a finished run returns at once with
        its stored metrics. False starts over and overwrites the files.
    progress : bool, optional
        Show a tqdm bar per epoch; by default when stderr is a terminal.
    max_train : int, optional
        Train on a seeded random subset of this many clean training images (before
        poisoning); the test set is used whole.
    callback : callable, optional
        Called after every epoch, once its checkpoint is written, with the metrics
        record (a dict with the keys :data:`METRICS`). An exception raised there stops
        the run, which can then be resumed.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        For a bad parameter (the message names it), or when the data lack images
        the protocol needs, or when ``out_dir`` holds a run with other settings.
    RuntimeError
        For ``device="cuda"`` without a CUDA device.
    ImportError
        Without torch.
    """
    torch = require_torch()
    if not isinstance(data, ImageDataset):
        raise TypeError(f"data must be an ImageDataset, got {type(data).__name__}")
    src = data.class_index(source)
    tgt = data.class_index(target)
    if src == tgt:
        raise ValueError(f"source and target must differ, both are {src}")
    alpha_v = _check_number(alpha, "alpha", 0.0)
    alpha_test_v = (
        alpha_v if alpha_test is None else _check_number(alpha_test, "alpha_test", 0.0)
    )
    eps_v = _check_number(eps, "eps", 0.0, 1.0)
    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    epochs = _check_int(epochs, "epochs")
    batch_size = _check_int(batch_size, "batch_size")
    width = _check_int(width, "width")
    seed = _check_int(seed, "seed", 0)
    if max_train is not None:
        max_train = _check_int(max_train, "max_train", 2)
    lr_v = _check_number(lr, "lr", 0.0, low_open=True)
    momentum_v = _check_number(momentum, "momentum", 0.0, 1.0)
    wd_v = _check_number(weight_decay, "weight_decay", 0.0)
    if nesterov and momentum_v == 0:
        raise ValueError("nesterov=True needs momentum > 0")
    h, w, c = data.image_shape
    mode, pad = _resolve_augment(augment, data.name, h)
    trigger_name, trigger_array = _trigger_spec(trigger, (h, w, c))
    dev = resolve_device(device)

    settings = {
        "dataset": data.name,
        "data_fingerprint": _data_fingerprint(data),
        "image_shape": [h, w, c],
        "num_classes": len(data.classes),
        "source": src,
        "target": tgt,
        "alpha": alpha_v,
        "alpha_test": alpha_test_v,
        "eps": eps_v,
        "trigger": trigger_name,
        "balance": balance,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr_v,
        "momentum": momentum_v,
        "weight_decay": wd_v,
        "nesterov": bool(nesterov),
        "schedule": schedule,
        "augment": mode,
        "pad": pad,
        "width": width,
        "seed": seed,
        "max_train": max_train,
        "model": "ResNet18",
    }
    out = None if out_dir is None else Path(out_dir)
    ckpt = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if resume:
            ckpt = _load_checkpoint(out / "checkpoint.pt")
        if ckpt is not None:
            diff = _settings_mismatch(ckpt["settings"], settings)
            if diff:
                raise ValueError(
                    f"out_dir {str(out)!r} holds a run with other settings "
                    f"({'; '.join(diff)}); use another out_dir or "
                    f"resume=False to overwrite it"
                )

    on_cuda = dev.startswith("cuda")
    if ckpt is not None and ckpt["epoch"] >= epochs:
        logger.info(
            "%s: finished run (%d epochs), loading its results", out, ckpt["epoch"]
        )
        model = ResNet18(len(data.classes), c, width)
        model.load_state_dict(ckpt["model"])
        model.to(dev).eval()
        _write_metrics(out, ckpt["history"])
        return _result(
            ckpt["history"], ckpt["config"], ckpt["config"]["device"], out, model
        )

    cudnn_benchmark = torch.backends.cudnn.benchmark
    try:
        if on_cuda:
            torch.backends.cudnn.benchmark = True
        return _train(
            data,
            settings,
            trigger_array,
            dev,
            out,
            ckpt,
            _show_progress(progress),
            callback,
        )
    finally:
        torch.backends.cudnn.benchmark = cudnn_benchmark


def _write_metrics(out: Path, history: Iterable[Mapping[str, Any]]) -> None:
    text = "".join(_metrics_line(r) for r in history)
    _atomic_write(out / "metrics.jsonl", lambda f: f.write(text), "w")


def _train(
    data: ImageDataset,
    s: dict[str, Any],
    trigger: Any,
    dev: str,
    out: Path | None,
    ckpt: dict[str, Any] | None,
    show: bool,
    callback: Callable[[dict[str, Any]], Any] | None,
) -> TrainResult:
    torch = require_torch()
    from tqdm import tqdm

    on_cuda = dev.startswith("cuda")
    prep = _prepare(data, s, trigger, dev)
    n = len(prep.y_train)
    bounds = _batches(n, s["batch_size"])
    steps = len(bounds)
    n_per_epoch = bounds[-1][1]

    torch.manual_seed(s["seed"])
    model = ResNet18(s["num_classes"], s["image_shape"][2], s["width"])
    fmt = torch.channels_last  # faster on CPU too (oneDNN), about 15 % here
    model.to(device=dev, memory_format=fmt)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=s["lr"],
        momentum=s["momentum"],
        weight_decay=s["weight_decay"],
        nesterov=s["nesterov"],
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_factor(s["schedule"], s["epochs"] * steps)
    )
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        if on_cuda and ckpt["rng"].get("cuda"):
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        history = list(ckpt["history"])
        start_epoch = int(ckpt["epoch"])
        logger.info("%s: resuming after epoch %d of %d", out, start_epoch, s["epochs"])

    import keatingcore

    config = {
        "settings": s,
        "derived": dict(
            prep.info,
            steps_per_epoch=steps,
            n_train_per_epoch=n_per_epoch,
            parameters=sum(p.numel() for p in model.parameters()),
        ),
        "device": "cuda" if on_cuda else "cpu",
        "device_name": (torch.cuda.get_device_name(dev) if on_cuda else "cpu"),
        "precision": "bf16 autocast" if on_cuda else "float32",
        "memory_format": "channels_last",
        "torch": str(torch.__version__),
        "build": keatingcore.build_info(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "resumed_from_epoch": start_epoch,
        "protocol": (
            "stand-in backdoor protocol of keatingcore.experiments (not the "
            "paper's settings, which could not be retrieved); "
            "Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481"
        ),
    }
    if out is not None:
        _write_json(out / "config.json", config)
        _write_metrics(out, history)

    def autocast() -> Any:
        if on_cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def sync() -> None:
        if on_cuda:
            torch.cuda.synchronize(dev)

    model.train()
    for epoch in range(start_epoch, s["epochs"]):
        t0 = time.perf_counter()
        order, shifts, flips = _epoch_plan(s["seed"], epoch, n, s["augment"], s["pad"])
        order_t = torch.from_numpy(order).to(dev)
        dy = dx = flip_t = None
        if shifts is not None:
            shifts_t = torch.from_numpy(shifts).to(dev)
            dy, dx = shifts_t[:, 0], shifts_t[:, 1]
        if flips is not None:
            flip_t = torch.from_numpy(flips).to(dev)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        lr_used = math.nan
        bar = tqdm(
            total=steps,
            desc=f"epoch {epoch + 1}/{s['epochs']}",
            unit="batch",
            leave=False,
            disable=not show,
            dynamic_ncols=True,
        )
        try:
            for lo, hi in bounds:
                rows = order_t[lo:hi]
                xb = prep.x_train[rows]
                yb = prep.y_train[rows]
                if s["augment"] != "none":
                    xb = _augment(
                        xb,
                        None if dy is None else dy[lo:hi],
                        None if dx is None else dx[lo:hi],
                        None if flip_t is None else flip_t[lo:hi],
                        s["pad"],
                        prep.fill,
                    )
                xb = xb.contiguous(memory_format=fmt)
                with autocast():
                    logits = model(xb)
                    loss = torch.nn.functional.cross_entropy(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                lr_used = optimizer.param_groups[0]["lr"]
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach().double() * (hi - lo)
                correct += (logits.detach().argmax(1) == yb).sum()
                bar.update()
            sync()
            train_seconds = time.perf_counter() - t0
            clean, asr, asr_src = _evaluate(
                model,
                prep,
                s["alpha_test"],
                s["source"],
                s["target"],
                autocast,
            )
            record = {
                "epoch": epoch + 1,
                "train_loss": float(loss_sum) / n_per_epoch,
                "train_acc": int(correct) / n_per_epoch,
                "clean_acc": clean,
                "asr": asr,
                "asr_source": asr_src,
                "lr": lr_used,
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - t0,
            }
            bar.set_postfix(
                loss=f"{record['train_loss']:.3f}",
                clean=f"{clean:.3f}",
                asr=f"{asr:.3f}",
            )
        finally:
            bar.close()
        history.append(record)
        if out is not None:
            state = {
                "format": CHECKPOINT_FORMAT,
                "settings": s,
                "config": _jsonable(config),
                "epoch": epoch + 1,
                "history": history,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": {
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if on_cuda else [],
                },
            }
            _atomic_write(out / "checkpoint.pt", lambda f, st=state: torch.save(st, f))
            with open(out / "metrics.jsonl", "a") as f:
                f.write(_metrics_line(record))
        logger.info(
            "epoch %d/%d: loss %.4f, train acc %.4f | clean %.4f, ASR %.4f "
            "(source %.4f) | lr %.4g | %.1f s",
            epoch + 1,
            s["epochs"],
            record["train_loss"],
            record["train_acc"],
            clean,
            asr,
            asr_src,
            lr_used,
            record["seconds"],
        )
        if callback is not None:
            callback(dict(record))
    model.eval()
    return _result(history, _jsonable(config), config["device"], out, model)


# --- grids -------------------------------------------------------------------------


def _alpha_label(alpha: float) -> str:
    return np.format_float_positional(float(alpha), trim="-")


def train_alpha_grid(
    data: ImageDataset,
    alphas: Iterable[float],
    *,
    out_dir: str | os.PathLike[str],
    **kwargs: Any,
) -> list[TrainResult]:
    """One :func:`train_backdoor` run per trigger strength, each in its own folder.

    Runs go to ``out_dir/alpha=<value>/`` (the shortest exact decimal, e.g.
    ``alpha=0.5``, ``alpha=10``); finished runs are loaded, interrupted ones resumed.
    Pass ``alpha_test`` to test every run with the same trigger strength (as the
    theory of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481, does); without
    it each run is tested at its own ``alpha``.

    Parameters
    ----------
    data : ImageDataset
    alphas : iterable of float
        Distinct trigger strengths >= 0.
    out_dir : path
        Folder of the grid.
    **kwargs
        Further arguments of :func:`train_backdoor` (``source``, ``target``, ``eps``,
        ``epochs``, ``seed``, ...).

    Returns
    -------
    list of TrainResult
        In the order of ``alphas``.
    """
    for key in ("alpha", "out_dir"):
        if key in kwargs:
            raise TypeError(f"train_alpha_grid sets {key} itself; do not pass it")
    alphas = [_check_number(a, "alphas", 0.0) for a in alphas]
    labels = [_alpha_label(a) for a in alphas]
    if len(set(labels)) != len(labels):
        raise ValueError(f"alphas must be distinct, got {alphas}")
    if not alphas:
        raise ValueError("alphas must not be empty")
    root = Path(out_dir)
    results = []
    for i, (a, label) in enumerate(zip(alphas, labels, strict=True)):
        logger.info("alpha grid: run %d/%d, alpha = %s", i + 1, len(alphas), label)
        results.append(
            train_backdoor(data, alpha=a, out_dir=root / f"alpha={label}", **kwargs)
        )
    return results


def plot_alpha_grid(
    results: Sequence[TrainResult], path: str | os.PathLike[str] | None = None
) -> Any:
    """Clean accuracy and attack success against the training trigger strength.

    Runs with the same ``alpha`` (several seeds) are averaged, with error bars of one
    standard error.

    Parameters
    ----------
    results : sequence of TrainResult
        E.g. from :func:`train_alpha_grid`.
    path : path, optional
        Save the figure there; the suffix (``.png``, ``.pdf`` or ``.svg``) sets the
        format.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    results = list(results)
    if not results:
        raise ValueError("results must not be empty")
    suffix = None if path is None else Path(path).suffix.lower()
    if suffix is not None and suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"path must end in .png, .pdf or .svg, got {str(path)!r}")
    alphas = sorted({r.alpha for r in results})
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    series = (
        ("clean_accuracy", "clean accuracy", "o-"),
        ("attack_success", "attack success (non-target)", "s-"),
        ("attack_success_source", "attack success (source)", "^--"),
    )
    for attr, label, style in series:
        mean, err = [], []
        for a in alphas:
            vals = np.array([getattr(r, attr) for r in results if r.alpha == a])
            mean.append(np.nanmean(vals) if np.isfinite(vals).any() else np.nan)
            err.append(
                np.nanstd(vals, ddof=1) / math.sqrt(len(vals))
                if np.isfinite(vals).sum() > 1
                else 0.0
            )
        ax.errorbar(
            alphas, mean, yerr=err, fmt=style, label=label, capsize=3, markersize=4
        )
    s = results[0].config["settings"]
    tests = sorted({r.alpha_test for r in results})
    test_text = (
        f"alpha_test = {tests[0]:g}" if len(tests) == 1 else "alpha_test = alpha"
    )
    ax.set_xlabel("training trigger strength alpha")
    ax.set_ylabel("fraction")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(
        f"{s['dataset']}: ResNet-18, {s['source']} -> {s['target']}, "
        f"eps = {s['eps']:g}, {test_text}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if path is not None:
        fig.savefig(path, format=suffix[1:], dpi=150)
    return fig
