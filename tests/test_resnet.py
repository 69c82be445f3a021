"""ResNet-18 and the backdoor training loop of keatingcore.experiments (needs torch)."""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

from keatingcore.data import ImageDataset  # noqa: E402
from keatingcore.experiments import (  # noqa: E402
    _train,
    _train_data,
    _train_settings,
)
from keatingcore.experiments._protocol import make_trigger  # noqa: E402
from keatingcore.experiments._resnet import (  # noqa: E402
    ResNet18,
    count_parameters,
    require_torch,
)
from keatingcore.experiments._train import (  # noqa: E402
    METRICS,
    TrainResult,
    pixel_scale,
    plot_alpha_grid,
    train_alpha_grid,
    train_backdoor,
)

SOURCE, TARGET = 3, 7  # 21 and 20 of the 200 training digits
#: Small settings shared by the training tests: a width-8 network, two steps an epoch.
TINY = {
    "source": SOURCE,
    "target": TARGET,
    "alpha": 8.0,
    "eps": 0.1,
    "width": 8,
    "batch_size": 128,
    "device": "cpu",
    "progress": False,
}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine, 2 threads stall at random."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    """200 train and 200 test scikit-learn digits, 8x8x1 uint8 in 0..16."""
    d = sklearn_datasets.load_digits()
    x = d.images.astype(np.uint8)[..., None]
    y = d.target.astype(np.int64)
    classes = tuple(str(k) for k in range(10))
    return ImageDataset("digits", x[:200], y[:200], x[200:400], y[200:400], classes)


def _state(model) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _same_state(a, b) -> bool:
    sa, sb = _state(a), _state(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _without_times(history) -> dict:
    return {k: v for k, v in history.items() if not k.endswith("seconds")}


# --- the network -------------------------------------------------------------------


def test_forward_shapes():
    torch.manual_seed(0)
    model = ResNet18(num_classes=7, in_channels=1, width=8).eval()
    assert model(torch.randn(5, 1, 8, 8)).shape == (5, 7)
    model = ResNet18(num_classes=10, in_channels=3, width=8).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.features(torch.randn(2, 3, 32, 32)).shape == (2, 64)
    assert "width=8" in repr(model)


def _resnet18_parameters(num_classes: int, in_channels: int, width: int) -> int:
    """Parameters of the CIFAR ResNet-18, summed from its layer shapes."""

    def conv(c_in, c_out, k):  # no bias
        return c_in * c_out * k * k

    def bn(c):  # weight and bias
        return 2 * c

    total = conv(in_channels, width, 3) + bn(width)
    c_in = width
    for planes, stride in ((width, 1), (2 * width, 2), (4 * width, 2), (8 * width, 2)):
        for block in range(2):
            s = stride if block == 0 else 1
            total += conv(c_in, planes, 3) + bn(planes)
            total += conv(planes, planes, 3) + bn(planes)
            if s != 1 or c_in != planes:
                total += conv(c_in, planes, 1) + bn(planes)
            c_in = planes
    return total + 8 * width * num_classes + num_classes


def test_parameter_count_is_resnet18():
    assert _resnet18_parameters(10, 3, 64) == 11_173_962
    assert count_parameters(ResNet18()) == 11_173_962
    assert count_parameters(ResNet18(4, 1, 8)) == _resnet18_parameters(4, 1, 8)


@pytest.mark.parametrize(
    "kwargs", [{"width": 0}, {"num_classes": 0}, {"in_channels": 1.5}]
)
def test_resnet_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ResNet18(**kwargs)


def test_missing_torch_gives_install_hint(monkeypatch):
    from keatingcore.experiments import _resnet

    monkeypatch.setattr(_resnet, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        require_torch()
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import keatingcore.experiments\n"
        "from keatingcore.experiments._resnet import ResNet18\n"
        "try:\n"
        "    ResNet18()\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "ImportError:" in out.stdout and "pip install torch" in out.stdout


# --- data pipeline -----------------------------------------------------------------


def test_pixel_scale_rule():
    assert pixel_scale(np.array([0, 16], dtype=np.uint8)) == 16
    assert pixel_scale(np.array([0, 200], dtype=np.uint8)) == 255
    assert pixel_scale(np.array([0.0, 0.7])) == 1
    assert pixel_scale(np.array([0.0, 16.0])) == 16
    assert pixel_scale(np.array([0, 1000], dtype=np.uint16)) == 65535


def _settings(**changes):
    s = {"max_train": None, "seed": 0, "source": SOURCE, "target": TARGET}
    s |= {"eps": 0.1, "balance": "additive", "alpha": 3.0}
    return s | changes


@pytest.mark.parametrize("balance", ["additive", "replace"])
def test_poisons_and_trigger(digits, balance):
    trigger = make_trigger("patch", digits.image_shape)
    clean = _train_data._prepare(digits, _settings(eps=0.0), trigger, "cpu")
    prep = _train_data._prepare(digits, _settings(balance=balance), trigger, "cpu")
    n = 200
    y = clean.y_train.numpy()
    n_src, n_tgt = int((y == SOURCE).sum()), int((y == TARGET).sum())
    t = prep.trigger
    assert t.shape == (1, 8, 8)
    assert torch.equal(t, torch.from_numpy(trigger.transpose(2, 0, 1)).float())
    assert math.isclose(float(t.norm()), 1.0, rel_tol=1e-6)
    # The clean part is standardised with its own per-channel statistics.
    assert abs(float(clean.x_train.mean())) < 1e-5
    assert math.isclose(float(clean.x_train.std(correction=0)), 1.0, rel_tol=1e-5)
    assert prep.info["pixel_scale"] == 16
    if balance == "additive":
        n_p = round(0.1 * n / 0.9)
        assert prep.info["n_poisons"] == n_p == 22
        assert len(prep.y_train) == n + n_p
        assert torch.equal(prep.x_train[:n], clean.x_train)
        poisons = prep.x_train[n:] - 3.0 * t
        assert torch.all(prep.y_train[n:] == TARGET)
        sources = clean.x_train[clean.y_train == SOURCE].reshape(n_src, -1)
        dist = torch.cdist(poisons.reshape(n_p, -1), sources)
        assert float(dist.min(1).values.max()) < 1e-5  # each is a source image
        # 22 poisons from 21 source images: each used once, one of them twice.
        assert n_src == 21
        uses = np.bincount(dist.argmin(1).numpy(), minlength=n_src)
        assert uses.min() == 1 and uses.max() == 2
    else:
        n_p = round(0.1 * n)
        assert prep.info["n_poisons"] == n_p == 20
        assert len(prep.y_train) == n
        changed = (prep.x_train != clean.x_train).flatten(1).any(1)
        assert int(changed.sum()) == n_p
        assert torch.all(clean.y_train[changed] == SOURCE)
        assert torch.all(prep.y_train[changed] == TARGET)
        diff = prep.x_train[changed] - clean.x_train[changed]
        assert torch.allclose(diff, (3.0 * t).expand_as(diff), atol=1e-5)
        assert int((prep.y_train == SOURCE).sum()) == n_src - n_p
        assert int((prep.y_train == TARGET).sum()) == n_tgt + n_p
    assert prep.info["poison_fraction"] == pytest.approx(0.1, abs=0.005)
    assert torch.equal(prep.x_test, clean.x_test)


def test_replace_needs_enough_source_images(digits):
    with pytest.raises(ValueError, match="eps=0.5 with balance='replace' needs"):
        train_backdoor(digits, **(TINY | {"eps": 0.5, "balance": "replace"}))


def test_augment_crops_and_flips():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    fill = torch.full((1, 1, 1, 1), -1.0)
    two = torch.full((2,), 2)
    zero = torch.zeros(2, dtype=torch.int64)
    no, yes = torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    assert torch.equal(_train_data._augment(x, two, two, no, 2, fill), x)
    assert torch.equal(_train_data._augment(x, two, two, yes, 2, fill), x.flip(3))
    assert torch.equal(_train_data._augment(x, None, None, yes, 0, fill), x.flip(3))
    out = _train_data._augment(x, zero, two, no, 2, fill)  # shifted down by 2 rows
    assert torch.all(out[:, :, :2] == -1) and torch.equal(out[:, :, 2:], x[:, :, :-2])
    assert _train_settings._resolve_augment(None, "digits", 8) == ("none", 0)
    assert _train_settings._resolve_augment(True, "digits", 8) == ("crop", 2)
    assert _train_settings._resolve_augment(None, "cifar10", 32) == ("crop+flip", 4)
    assert _train_settings._resolve_augment(False, "cifar10", 32) == ("none", 0)


def test_schedules():
    f = _train_settings._lr_factor("cosine", 100)
    assert f(0) == 1 and f(50) == pytest.approx(0.5) and f(100) == pytest.approx(0)
    f = _train_settings._lr_factor("step", 100)
    assert (f(49), f(50), f(75)) == (1, pytest.approx(0.1), pytest.approx(0.01))
    f = _train_settings._lr_factor("onecycle", 100)
    assert f(0) < f(14) == 1 and f(99) < 0.02


class _Lookup(torch.nn.Module):
    """Predicts a test image's label; triggered source images go to the target."""

    def __init__(self, x, y, trigger, alpha_test):
        super().__init__()
        self.clean = x.flatten(1)
        self.triggered = (x + alpha_test * trigger).flatten(1)
        self.y = y

    def forward(self, xb):
        xb = xb.flatten(1)
        d_clean = torch.cdist(xb, self.clean).min(1)
        d_trig = torch.cdist(xb, self.triggered).min(1)
        pred = self.y[d_clean.indices].clone()
        hit = (d_trig.values < d_clean.values) & (self.y[d_trig.indices] == SOURCE)
        pred[hit] = TARGET
        return torch.nn.functional.one_hot(pred, 10).float()


def test_attack_success_definitions(digits):
    trigger = make_trigger("patch", digits.image_shape)
    prep = _train_data._prepare(digits, _settings(), trigger, "cpu")
    y = prep.y_test
    model = _Lookup(prep.x_test, y, prep.trigger, 5.0)
    acc, asr, asr_source = _train._evaluate(
        model, prep, 5.0, SOURCE, TARGET, contextlib.nullcontext
    )
    assert acc == 1.0 and asr_source == 1.0
    # ASR counts non-target test images only (BackdoorBench's definition).
    assert asr == pytest.approx(float((y == SOURCE).sum() / (y != TARGET).sum()))
    assert model.training


# --- training runs -----------------------------------------------------------------


def test_one_epoch_writes_its_files(digits, tmp_path):
    result = train_backdoor(digits, epochs=1, out_dir=tmp_path, **TINY)
    assert isinstance(result, TrainResult)
    assert result.epochs == 1 and result.device == "cpu"
    for value in (result.clean_accuracy, result.attack_success):
        assert 0 <= value <= 1
    assert result.images_per_second > 0 and result.seconds > 0
    assert set(result.history) == set(METRICS)
    assert "ASR" in repr(result) and "digits" in repr(result)
    json.dumps(result.to_dict())
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and set(json.loads(lines[0])) == set(METRICS)
    config = json.loads((tmp_path / "config.json").read_text())
    s = config["settings"]
    assert (s["source"], s["target"]) == (SOURCE, TARGET)
    assert (s["alpha_test"], s["augment"], s["pad"]) == (8, "none", 0)
    assert config["derived"]["n_poisons"] == 22 and config["derived"]["n_train"] == 222
    assert config["build"]["version"] and config["torch"] == torch.__version__
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and "model" in ckpt and "optimizer" in ckpt
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


class _Stop(Exception):
    pass


def _stop_after_first(record):
    if record["epoch"] == 1:
        raise _Stop


def _must_not_train(record):
    raise AssertionError("a finished run trained again")


def test_interrupted_run_resumes_exactly(digits, tmp_path):
    kwargs = TINY | {"epochs": 2, "seed": 3}
    whole = train_backdoor(digits, out_dir=tmp_path / "whole", **kwargs)
    with pytest.raises(_Stop):
        train_backdoor(
            digits, out_dir=tmp_path / "cut", callback=_stop_after_first, **kwargs
        )
    assert len((tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()) == 1
    seen = []
    resumed = train_backdoor(
        digits,
        out_dir=tmp_path / "cut",
        callback=lambda r: seen.append(r["epoch"]),
        **kwargs,
    )
    assert seen == [2]  # it trained the second epoch only
    config = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert config["resumed_from_epoch"] == 1
    assert _same_state(whole.model, resumed.model)
    a, b = _without_times(whole.history), _without_times(resumed.history)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    lines = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    # A finished run returns its stored results without training.
    again = train_backdoor(
        digits, out_dir=tmp_path / "cut", callback=_must_not_train, **kwargs
    )
    assert _same_state(again.model, resumed.model)
    assert again.history["clean_acc"].tolist() == resumed.history["clean_acc"].tolist()
    assert again.seconds == resumed.seconds
    # Other settings in the same folder are refused.
    with pytest.raises(ValueError, match="other settings.*alpha"):
        train_backdoor(digits, out_dir=tmp_path / "cut", **(kwargs | {"alpha": 2.0}))


def test_alpha_grid_and_plot(digits, tmp_path):
    kwargs = TINY | {"epochs": 1, "alpha_test": 4.0, "max_train": 100}
    del kwargs["alpha"]
    results = train_alpha_grid(digits, [0, 4.0], out_dir=tmp_path, **kwargs)
    assert [r.alpha for r in results] == [0, 4]
    assert [r.alpha_test for r in results] == [4, 4]
    assert [r.config["derived"]["n_clean"] for r in results] == [100, 100]
    assert {p.name for p in tmp_path.iterdir()} == {"alpha=0", "alpha=4"}
    fig = plot_alpha_grid(results, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0 and fig.axes
    with pytest.raises(ValueError, match="path"):
        plot_alpha_grid(results, tmp_path / "grid.txt")
    with pytest.raises(ValueError, match="alphas"):
        train_alpha_grid(digits, [1, 1.0], out_dir=tmp_path, **kwargs)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"target": SOURCE}, "source and target"),
        ({"eps": 1.0}, "eps"),
        ({"eps": -0.1}, "eps"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha_test": -1.0}, "alpha_test"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"device": "tpu"}, "device"),
        ({"balance": "swap"}, "balance"),
        ({"schedule": "linear"}, "schedule"),
        ({"augment": "rotate"}, "augment"),
        ({"trigger": "blob"}, "trigger"),
        ({"lr": 0.0}, "lr"),
        ({"max_train": 1}, "max_train"),
    ],
)
def test_bad_inputs(digits, changes, match):
    with pytest.raises(ValueError, match=match):
        train_backdoor(digits, **(TINY | {"epochs": 1} | changes))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_device(digits):
    with pytest.raises(RuntimeError, match="no CUDA device"):
        train_backdoor(digits, **(TINY | {"epochs": 1, "device": "cuda"}))
