"""Real-data backdoor experiments: protocol, linear learners, surrogate vs theory."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keatingcore import backdoor as bd
from keatingcore import data
from keatingcore import experiments as ex
from keatingcore.cli import main


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.mark.parametrize("kind", ["patch", "checkerboard", "noise"])
def test_triggers_have_unit_norm_and_the_image_shape(kind):
    t = ex.make_trigger(kind, (8, 8, 1))
    assert t.shape == (8, 8, 1)
    assert_allclose(np.linalg.norm(t), 1.0, rtol=1e-12)


def test_patch_trigger_sits_in_the_corner():
    t = ex.make_trigger("patch", (32, 32, 3), size=3)
    assert np.count_nonzero(t) == 27 and np.all(t[-3:, -3:] > 0)


def test_bad_triggers_raise():
    with pytest.raises(ValueError, match="trigger must be one of"):
        ex.make_trigger("star", (8, 8, 1))
    with pytest.raises(ValueError, match="shape"):
        ex.make_trigger(np.ones((4, 4, 1)), (8, 8, 1))
    with pytest.raises(ValueError, match="norm > 0"):
        ex.make_trigger(np.zeros((8, 8, 1)), (8, 8, 1))
    with pytest.raises(ValueError, match="size must be in"):
        ex.make_trigger("patch", (8, 8, 1), size=9)


@pytest.mark.parametrize("balance", ["additive", "replace"])
def test_cluster_counts_follow_the_theory_weights(balance):
    setup = bd.Setup(eps=0.15, balance=balance)
    n_t, n_s, n_p = ex.cluster_counts(400, 0.15, balance)
    assert n_t + n_s + n_p == 400
    assert_allclose(np.array([n_t, n_s, n_p]) / 400, setup.rho, atol=1 / 400)


def test_poisoned_set_has_the_protocol_structure():
    rng = np.random.default_rng(0)
    xt, xs = rng.normal(size=(50, 5)), rng.normal(size=(60, 5)) + 10.0
    t = np.eye(5)[2]
    X, y = ex.poison_binary(xt, xs, 40, 0.25, 3.0, t, np.random.default_rng(1))
    assert X.shape == (40, 5) and np.sum(y == 1) == 25 and np.sum(y == -1) == 15
    poisons = X[-10:]
    assert np.all(y[-10:] == 1)
    # Poisons are source rows plus alpha t: subtracting the shift finds them in xs.
    for row in poisons - 3.0 * t:
        assert np.min(np.abs(xs - row).sum(axis=1)) < 1e-12
    with pytest.raises(ValueError, match="lower n"):
        ex.poison_binary(xt, xs, 400, 0.1, 1.0, t, rng)


def test_standardizer_and_trigger_direction(digits):
    x = digits.x_train.reshape(len(digits.x_train), -1) / 16.0
    std = ex.Standardizer.fit(x)
    z = std.transform(x)
    assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)
    assert std.keep.sum() < 64  # the always-blank border pixels are dropped
    d = std.direction(ex.make_trigger("checkerboard", (8, 8, 1)))
    assert_allclose(np.linalg.norm(d), 1.0, rtol=1e-12)


def test_binary_task_eigenbasis_setup_equals_the_matrix_setup(digits):
    task = ex.binary_task(digits, 3, 8, "checkerboard")
    rotated = task.setup(kappa=1.0, lam=0.1, eps=0.1, alpha=2.0)
    direct = bd.Setup(
        kappa=1.0,
        lam=0.1,
        eps=0.1,
        alpha=2.0,
        cov=task.cov,
        mean=task.mu,
        trigger=task.trigger,
        snr=float(task.mu @ task.mu),
    )
    a, b = (
        bd.solve(rotated, "logistic", tol=1e-12),
        bd.solve(direct, "logistic", tol=1e-12),
    )
    assert_allclose(a.clean_accuracy, b.clean_accuracy, rtol=1e-8)
    assert_allclose(a.attack_success, b.attack_success, rtol=1e-8)


def test_digits_experiment_shows_the_effects_and_surrogate_matches_theory(digits):
    alphas = np.array([0.0, 1.0, 2.0, 3.0, 5.0, 8.0])
    res = ex.linear_experiment(
        digits, kappas=(0.5, 1.0), alphas=alphas, seeds=20, progress=False
    )
    real = res.curves["real"]
    # Attack success rises from alpha = 0, well beyond the error bars.
    for i in range(2):
        gain = real["attack_success"][i, 2] - real["attack_success"][i, 0]
        err = np.hypot(
            real["attack_success_sem"][i, 2], real["attack_success_sem"][i, 0]
        )
        assert gain > 3 * err
    # Theory on the surrogate's geometry matches the surrogate simulation (3 SE).
    assert res.max_z("surrogate", "attack_success") < 3.0
    assert res.max_z("surrogate", "clean_accuracy") < 3.0
    theory = res.curves["theory"]
    # Clean accuracy gains from strong triggers, in theory and on the real images.
    for model in ("theory", "real"):
        acc = res.curves[model]["clean_accuracy"]
        assert np.all(acc[:, -1] > acc[:, 0] + 0.01), model
    peak = np.argmax(theory["attack_success"], axis=1)
    assert np.all((peak > 0) & (peak < alphas.size - 1))
    rows = res.rows()
    assert len(rows) == 3 * 2 * alphas.size and rows[0]["clean_accuracy_sem"] == 0.0


def test_experiment_is_reproducible(digits):
    kw = dict(
        kappas=(1.0,),
        alphas=[0.0, 2.0],
        seeds=3,
        progress=False,
        models=("real", "surrogate"),
    )
    a = ex.linear_experiment(digits, **kw)
    b = ex.linear_experiment(digits, **kw)
    for m in ("real", "surrogate"):
        assert np.array_equal(
            a.curves[m]["attack_success"], b.curves[m]["attack_success"]
        )


def test_experiment_bad_input(digits):
    with pytest.raises(ValueError, match="models must be among"):
        ex.linear_experiment(digits, models=("real", "svm"))
    with pytest.raises(ValueError, match="source and target must differ"):
        ex.linear_experiment(digits, source=3, target=3)
    with pytest.raises(ValueError, match="seeds must be >= 2"):
        ex.linear_experiment(digits, seeds=1)
    with pytest.raises(ValueError, match="unknown class"):
        ex.linear_experiment(digits, source="cat")


def test_cli_experiment_writes_table_json_and_figures(tmp_path, capsys):
    out = tmp_path / "digits"
    assert (
        main(
            [
                "backdoor",
                "experiment",
                "--data",
                "digits",
                "--alpha",
                "0,2,4",
                "--kappa",
                "1",
                "--seeds",
                "3",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    for name in ("linear.csv", "linear.json", "linear.png", "linear.pdf"):
        assert (out / name).stat().st_size > 0
    with (out / "linear.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model"] for r in rows} == {"theory", "real", "surrogate"}
    payload = json.loads((out / "linear.json").read_text())
    assert payload["settings"]["data"] == "digits" and "build" in payload
    assert "max|z| theory vs surrogate" in capsys.readouterr().out


def test_cli_cifar_needs_a_data_dir(capsys):
    with pytest.raises(SystemExit):
        main(["backdoor", "experiment", "--data", "cifar10", "--out", "unused"])
    assert "--data-dir is required" in capsys.readouterr().err


def test_cli_resnet_on_digits_runs_and_resumes(tmp_path):
    pytest.importorskip("torch")
    args = [
        "backdoor",
        "experiment",
        "--data",
        "digits",
        "--model",
        "resnet18",
        "--alpha",
        "0,4",
        "--epochs",
        "1",
        "--width",
        "4",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = (tmp_path / "resnet18.csv").read_text()
    assert len(first.strip().splitlines()) == 3
    assert (tmp_path / "resnet18.png").stat().st_size > 0
    assert main(args) == 0  # finished runs are skipped, same numbers
    second = (tmp_path / "resnet18.csv").read_text()
    assert [r.split(",")[:4] for r in first.splitlines()] == [
        r.split(",")[:4] for r in second.splitlines()
    ]


def test_cli_max_train_caps_digits(tmp_path):
    out = tmp_path / "capped"
    assert (
        main(
            [
                "backdoor",
                "experiment",
                "--data",
                "digits",
                "--alpha",
                "0,2",
                "--kappa",
                "1",
                "--seeds",
                "2",
                "--quiet",
                "--max-train",
                "600",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    payload = json.loads((out / "linear.json").read_text())
    assert payload["max_train"] == 600
