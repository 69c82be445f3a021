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
import datetime
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data._dataset import ImageDataset
from ._resnet import ResNet18, require_torch
from ._train_data import (
    _augment,
    _batches,
    _epoch_plan,
    _prepare,
    _Prepared,
    pixel_scale,
)
from ._train_io import (
    CHECKPOINT_FORMAT,
    _atomic_write,
    _data_fingerprint,
    _jsonable,
    _load_checkpoint,
    _metrics_line,
    _settings_mismatch,
    _write_json,
    _write_metrics,
)
from ._train_result import METRICS, TrainResult, _result
from ._train_settings import (
    AUGMENTS,
    BALANCES,
    DEVICES,
    SCHEDULES,
    _check_int,
    _check_number,
    _lr_factor,
    _resolve_augment,
    _trigger_spec,
    resolve_device,
)

__all__ = [
    "AUGMENTS",
    "BALANCES",
    "CHECKPOINT_FORMAT",
    "DEVICES",
    "METRICS",
    "SCHEDULES",
    "TrainResult",
    "pixel_scale",
    "plot_alpha_grid",
    "resolve_device",
    "train_alpha_grid",
    "train_backdoor",
]

logger = logging.getLogger(__name__)

_EVAL_BATCH = 512


# --- training -------------------------------------------------------------------------


def _show_progress(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


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


# --- grids ----------------------------------------------------------------------------


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
