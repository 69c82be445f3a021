"""Benchmark of the ResNet-18 backdoor training loop against a plain torch loop.

Figures
-------
resnet.train_step
    Seconds per training image of :func:`keatingcore.experiments.train_backdoor`'s
    loop (poisoned, standardised, device-resident data; its per-epoch plan, batch
    gather, metrics accumulation and learning-rate scheduler) against a hand-written
    loop (index a batch, forward, cross-entropy, backward, SGD step) on the same
    ResNet-18, batch size, data, device and precision. Augmentation is off in both, so
    they do the same arithmetic: both start from the same weights and visit the same
    batches, and their first-epoch losses are checked to agree. ``ratio`` = plain
    seconds / our seconds = our images per second / plain images per second.
resnet.train_step_augmented
    The same with our default augmentation (random crop + flip, done on the device)
    against the same plain loop without any: what augmentation costs.

Both loops run in one process, interleaved over two rounds, each of a warm-up epoch
then timed epochs; the best epoch of each counts. Both use channels-last tensors (as
``train_backdoor`` does on every device) and, on CUDA, bf16 autocast. On CPU the
benchmark uses one torch thread (on a shared two-core machine two threads stall at
random) and a width-16 network; on CUDA the standard width-64 network.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time

import numpy as np

from keatingcore._bench import Figure

logger = logging.getLogger(__name__)

GOAL = ">= 0.95 (our images/s over the plain loop's)"
GOAL_AUGMENTED = ">= 0.9 (with crop + flip, against the plain loop without)"
BATCH = 128
SEED = 0
ROUNDS = 2
#: Relative agreement of the two loops' first-epoch training losses.
LOSS_AGREEMENT_CPU = 1e-5
LOSS_AGREEMENT_CUDA = 5e-2


def _sizes(quick: bool, cuda: bool) -> dict:
    if cuda:
        return {"shape": (32, 32, 3), "n": 100 * BATCH, "width": 64, "epochs": 3}
    if quick:
        return {"shape": (8, 8, 1), "n": 10 * BATCH, "width": 16, "epochs": 3}
    return {"shape": (32, 32, 3), "n": 5 * BATCH, "width": 16, "epochs": 3}


def _dataset(shape, n_train: int, n_test: int = 256):
    """Random uint8 images with 10 balanced labels (timing needs no real images)."""
    from keatingcore.data import ImageDataset

    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 256, size=(n_train + n_test, *shape), dtype=np.uint8)
    y = np.arange(n_train + n_test, dtype=np.int64) % 10
    return ImageDataset(
        "random",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        tuple(str(k) for k in range(10)),
    )


# Settings of our runs; the poisoned set has n / (1 - eps) images.
_RUN = {
    "source": 1,
    "target": 7,
    "alpha": 5.0,
    "eps": 0.02,
    "batch_size": BATCH,
    "schedule": "constant",
    "seed": SEED,
    "out_dir": None,
    "progress": False,
}


def _plain_epochs(data, sizes: dict, device: str, epochs: int) -> tuple[list, float]:
    """Per-epoch seconds and first-epoch mean loss of a plain hand-written loop."""
    import torch

    from keatingcore.experiments import _train
    from keatingcore.experiments._protocol import make_trigger
    from keatingcore.experiments._resnet import ResNet18

    settings = _RUN | {"max_train": None, "balance": "additive"}
    trigger = make_trigger("patch", data.image_shape)
    prep = _train._prepare(data, settings, trigger, device)
    x, y = prep.x_train, prep.y_train
    n = len(y)
    cuda = device.startswith("cuda")
    fmt = torch.channels_last  # as train_backdoor, so only the loop differs
    torch.manual_seed(SEED)
    model = ResNet18(10, data.image_shape[2], sizes["width"])
    model.to(device=device, memory_format=fmt).train()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True
    )

    def autocast():
        if cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    seconds, first_loss = [], math.nan
    for epoch in range(epochs):
        start = time.perf_counter()
        # The same order as train_backdoor's, so the two loops do the same work.
        order = torch.from_numpy(_train._epoch_plan(SEED, epoch, n, "none", 0)[0])
        order = order.to(device)
        total = torch.zeros((), dtype=torch.float64, device=device)
        for lo in range(0, n, BATCH):
            rows = order[lo : lo + BATCH]
            xb = x[rows].contiguous(memory_format=fmt)
            with autocast():
                loss = torch.nn.functional.cross_entropy(model(xb), y[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach().double() * len(rows)
        if cuda:
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        if epoch == 0:
            first_loss = float(total) / n
    return seconds, first_loss


@contextlib.contextmanager
def _cudnn_benchmark(on: bool):
    """cuDNN autotuning on (as train_backdoor does on CUDA), restored afterwards."""
    import torch

    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on or before
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def _ours(data, sizes: dict, device: str, augment: bool):
    from keatingcore.experiments._train import train_backdoor

    return train_backdoor(
        data,
        epochs=sizes["epochs"],
        width=sizes["width"],
        augment=None if augment else False,
        device=device,
        **_RUN,
    )


def bench_train_step(quick: bool = False) -> list[Figure]:
    """Our training loop's images per second against a plain torch loop's."""
    import torch

    from keatingcore.experiments._train import resolve_device

    device = resolve_device("auto")
    cuda = device.startswith("cuda")
    sizes = _sizes(quick, cuda)
    data = _dataset(sizes["shape"], sizes["n"])
    threads = torch.get_num_threads()
    if not cuda:
        torch.set_num_threads(1)
    try:
        plain, ours, ours_aug = [], [], []
        plain_loss = ours_loss = math.nan
        for _ in range(ROUNDS):
            with _cudnn_benchmark(cuda):
                secs, plain_loss = _plain_epochs(data, sizes, device, sizes["epochs"])
            plain += secs[1:]
            result = _ours(data, sizes, device, augment=False)
            ours += result.history["train_seconds"][1:].tolist()
            ours_loss = float(result.history["train_loss"][0])
            result_aug = _ours(data, sizes, device, augment=True)
            ours_aug += result_aug.history["train_seconds"][1:].tolist()
    finally:
        torch.set_num_threads(threads)
    agreement = LOSS_AGREEMENT_CUDA if cuda else LOSS_AGREEMENT_CPU
    if not abs(ours_loss - plain_loss) <= agreement * abs(plain_loss):
        raise RuntimeError(
            f"the loops disagree: first-epoch loss {ours_loss!r} (ours) vs "
            f"{plain_loss!r} (plain)"
        )
    n_images = result.config["derived"]["n_train_per_epoch"]
    per_image = {
        k: min(v) / n_images
        for k, v in (("plain", plain), ("ours", ours), ("aug", ours_aug))
    }
    h, w, c = sizes["shape"]
    where = f"{device} ({torch.cuda.get_device_name() if cuda else '1 torch thread'})"
    common = (
        f"ResNet-18 width {sizes['width']}, {h}x{w}x{c} images, batch {BATCH}, "
        f"{n_images} poisoned images/epoch ({math.ceil(n_images / BATCH)} steps), "
        f"on {where}; "
        f"best of {len(ours)} timed epochs after warm-up, interleaved with the plain "
        f"loop; first-epoch losses agree to {abs(ours_loss - plain_loss):.2g}"
    )
    extra = {
        "device": device,
        "width": sizes["width"],
        "image_shape": list(sizes["shape"]),
        "batch_size": BATCH,
        "images_per_epoch": n_images,
        "images_per_second_plain": 1 / per_image["plain"],
        "images_per_second_ours": 1 / per_image["ours"],
        "images_per_second_ours_augmented": 1 / per_image["aug"],
        "epoch_seconds_plain": plain,
        "epoch_seconds_ours": ours,
        "epoch_seconds_ours_augmented": ours_aug,
    }
    baseline = "plain torch loop (gather, forward, backward, SGD step), no augmentation"
    return [
        Figure(
            name="resnet.train_step",
            value=per_image["ours"],
            unit="training image",
            baseline=baseline,
            baseline_value=per_image["plain"],
            goal=GOAL,
            note=f"augmentation off in both; {common}",
            extra=extra,
        ),
        Figure(
            name="resnet.train_step_augmented",
            value=per_image["aug"],
            unit="training image",
            baseline=baseline,
            baseline_value=per_image["plain"],
            goal=GOAL_AUGMENTED,
            note=f"ours with random crop + flip on the device; {common}",
            extra=extra,
        ),
    ]
