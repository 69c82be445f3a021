"""Linear learners on real images against their Gaussian surrogate and the theory.

The experimental programme of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481
(real data, a Gaussian surrogate with the data's moments, and the asymptotic theory on
the same axes), with the stand-in protocol of :mod:`._protocol`: two classes of
standardised pixels, n = p / kappa training images, poisons from the source class.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._result import timer
from ..backdoor import Setup, fit_glm, simulate, sweep
from ..data import ImageDataset
from ._protocol import (
    Standardizer,
    binary_metrics,
    make_trigger,
    poison_binary,
)

logger = logging.getLogger(__name__)

MODELS = ("real", "surrogate", "theory")


@dataclasses.dataclass(frozen=True)
class BinaryTask:
    """Two classes of a data set in standardised feature space, with their moments.

    Attributes
    ----------
    train_target, train_source, test_target, test_source : ndarray, shape (N, p)
        Standardised features of the clean images.
    trigger : ndarray, shape (p,)
        Unit trigger direction in feature space.
    mu : ndarray, shape (p,)
        Half the difference of the class means (target minus source).
    sigma, basis : ndarray, shapes (p,) and (p, p)
        Eigenvalues and eigenvectors of the pooled within-class covariance of the
        training features.
    """

    train_target: np.ndarray
    train_source: np.ndarray
    test_target: np.ndarray
    test_source: np.ndarray
    trigger: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    basis: np.ndarray

    @property
    def p(self) -> int:
        return self.mu.size

    @property
    def cov(self) -> np.ndarray:
        return (self.basis * self.sigma) @ self.basis.T

    def setup(self, **params: Any) -> Setup:
        """The backdoor theory's problem with this task's geometry.

        It is written in the covariance's eigenbasis (a spectrum and rotated
        directions): the Gaussian model and ridge/logistic/hinge fits are invariant
        under the rotation, and the eigendecomposition is then done once.
        """
        return Setup(
            snr=float(self.mu @ self.mu),
            cov=self.sigma,
            mean=self.basis.T @ self.mu,
            trigger=self.basis.T @ self.trigger,
            **params,
        )


def binary_task(
    data: ImageDataset,
    source: int | str,
    target: int | str,
    trigger: Any = "patch",
    *,
    ridge: float = 1e-6,
    seed: int = 0,
) -> BinaryTask:
    """Select two classes, standardise their pixels and estimate their moments.

    Parameters
    ----------
    data : ImageDataset
    source, target : int or str
        Class poisoned from, and class the poisons are labelled as.
    trigger : {"patch", "checkerboard", "noise", "min_eig"} or array
        A pixel pattern (mapped to feature space and normalised there), or "min_eig":
        the pooled covariance's eigenvector of smallest eigenvalue.
    ridge : float
        Added to the pooled covariance's diagonal (relative to its mean eigenvalue)
        so the theory sees a positive definite matrix.
    seed : int
        Seed of the "noise" trigger.
    """
    s, t = data.class_index(source), data.class_index(target)
    if s == t:
        raise ValueError(f"source and target must differ, both are {s}")
    scale = (
        255.0 if data.x_train.dtype == np.uint8 and data.x_train.max() > 16 else 16.0
    )
    pick = {
        split: {
            c: getattr(data, f"x_{split}")[getattr(data, f"y_{split}") == c] / scale
            for c in (s, t)
        }
        for split in ("train", "test")
    }
    std = Standardizer.fit(np.concatenate([pick["train"][s], pick["train"][t]]))
    feats = {k: {c: std.transform(v) for c, v in d.items()} for k, d in pick.items()}
    mean_t, mean_s = feats["train"][t].mean(0), feats["train"][s].mean(0)
    centred = np.concatenate([feats["train"][t] - mean_t, feats["train"][s] - mean_s])
    cov = centred.T @ centred / (len(centred) - 2)
    cov += ridge * np.trace(cov) / len(cov) * np.eye(len(cov))
    sigma, basis = np.linalg.eigh(cov)
    if isinstance(trigger, str) and trigger == "min_eig":
        direction = basis[:, 0]
    else:
        direction = std.direction(make_trigger(trigger, data.image_shape, seed=seed))
    return BinaryTask(
        feats["train"][t],
        feats["train"][s],
        feats["test"][t],
        feats["test"][s],
        direction,
        0.5 * (mean_t - mean_s),
        sigma,
        basis,
    )


@dataclasses.dataclass(frozen=True, repr=False)
class LinearExperimentResult:
    """Clean accuracy and attack success on a (kappa, alpha) grid for each model.

    ``curves[model][metric]`` is an array of shape (len(kappas), len(alphas)) for
    model in "real", "surrogate", "theory" and metric "clean_accuracy",
    "attack_success" plus their standard errors "clean_accuracy_sem",
    "attack_success_sem" for the two simulated models.
    """

    kappas: np.ndarray
    alphas: np.ndarray
    curves: dict[str, dict[str, np.ndarray]]
    settings: dict[str, Any]
    elapsed: float

    def __repr__(self) -> str:
        return (
            f"LinearExperimentResult({self.settings['data']}, "
            f"{self.settings['loss']}; kappa {self.kappas.tolist()}, "
            f"{self.alphas.size} alphas; models {list(self.curves)}; "
            f"{self.elapsed:.1f} s)"
        )

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (model, kappa, alpha): a tidy table (theory has sem 0)."""
        out = []
        for model, curves in self.curves.items():
            for i, kappa in enumerate(self.kappas):
                for j, alpha in enumerate(self.alphas):
                    row = {"model": model, "kappa": float(kappa), "alpha": float(alpha)}
                    for metric in ("clean_accuracy", "attack_success"):
                        row[metric] = float(curves[metric][i, j])
                        sem = curves.get(f"{metric}_sem")
                        row[f"{metric}_sem"] = 0.0 if sem is None else float(sem[i, j])
                    out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "elapsed": self.elapsed, "rows": self.rows()}

    def max_z(self, model: str = "surrogate", metric: str = "attack_success") -> float:
        """Largest |theory - model| / sem over the grid (points with sem > 0)."""
        diff = self.curves["theory"][metric] - self.curves[model][metric]
        sem = self.curves[model][f"{metric}_sem"]
        ok = sem > 0
        return float(np.max(np.abs(diff[ok]) / sem[ok])) if np.any(ok) else 0.0


def _real_point(
    task: BinaryTask,
    n: int,
    alpha: float,
    args: dict[str, Any],
    rng: np.random.Generator,
) -> tuple[float, float]:
    X, y = poison_binary(
        task.train_target,
        task.train_source,
        n,
        args["eps"],
        alpha,
        task.trigger,
        rng,
        args["balance"],
    )
    w, b = fit_glm(args["loss"], X, y, args["lam"], args["intercept"])[:2]
    triggered = task.test_source + args["alpha_test"] * task.trigger
    return binary_metrics(
        task.test_target @ w + b, task.test_source @ w + b, triggered @ w + b
    )


def _progress(total: int, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc)


def linear_experiment(
    data: ImageDataset,
    *,
    source: int | str = 3,
    target: int | str = 8,
    kappas: Sequence[float] = (0.5, 1.0),
    alphas: Any = None,
    eps: float = 0.1,
    lam: float = 0.1,
    loss: str = "square",
    trigger: Any = "patch",
    alpha_test: float = 2.0,
    balance: str = "additive",
    intercept: bool = True,
    seeds: int = 10,
    models: Sequence[str] = MODELS,
    progress: bool | None = None,
) -> LinearExperimentResult:
    """Real data, its Gaussian surrogate and the theory on one (kappa, alpha) grid.

    Parameters
    ----------
    data : ImageDataset
        E.g. :func:`keatingcore.data.load_digits` (the default in the CLI).
    source, target : int or str
        The class poisoned from and the class the poisons claim (defaults ours:
        3 and 8, a pair that a linear model separates well but not perfectly).
    kappas : sequence of float
        Aspect ratios; n = round(p / kappa) training images per run.
    alphas : array, optional
        Training trigger strengths in feature-space units (default 0..8, 17 points).
    eps, lam, loss, balance, intercept, alpha_test
        As in :class:`keatingcore.backdoor.Setup`.
    trigger : str or array
        See :func:`binary_task`.
    seeds : int
        Repetitions of the real and surrogate experiments (error bars = SE).
    models : sequence of {"real", "surrogate", "theory"}
    progress : bool, optional
        Progress bar (default: when stderr is a terminal).

    Returns
    -------
    LinearExperimentResult
    """
    alphas = np.linspace(0.0, 8.0, 17) if alphas is None else np.asarray(alphas, float)
    kappas = np.asarray(kappas, dtype=float)
    bad = [m for m in models if m not in MODELS]
    if bad:
        raise ValueError(f"models must be among {MODELS}, got {bad}")
    if seeds < 2:
        raise ValueError(f"seeds must be >= 2 for error bars, got {seeds}")
    task = binary_task(data, source, target, trigger)
    args = dict(
        eps=eps,
        lam=lam,
        loss=loss,
        balance=balance,
        intercept=intercept,
        alpha_test=alpha_test,
    )
    base = task.setup(
        kappa=float(kappas[0]),
        lam=lam,
        eps=eps,
        alpha_test=alpha_test,
        balance=balance,
        intercept=intercept,
    )
    shape = (kappas.size, alphas.size)
    curves: dict[str, dict[str, np.ndarray]] = {}
    bar = _progress(len(models) * kappas.size * alphas.size, progress, "experiment")
    with timer() as elapsed:
        if "theory" in models:
            grid = sweep(base, loss, kappa=kappas, alpha=alphas)
            curves["theory"] = {
                "clean_accuracy": grid.clean_accuracy,
                "attack_success": grid.attack_success,
            }
            if bar is not None:
                bar.update(grid.clean_accuracy.size)
        for model in (m for m in ("real", "surrogate") if m in models):
            values = np.zeros((2, seeds) + shape)
            for i, kappa in enumerate(kappas):
                n = int(round(task.p / kappa))
                for j, alpha in enumerate(alphas):
                    if model == "real":
                        for s in range(seeds):
                            rng = np.random.default_rng([s, i])
                            values[:, s, i, j] = _real_point(task, n, alpha, args, rng)
                    else:
                        point = base.replace(kappa=task.p / n, alpha=alpha)
                        sim = simulate(
                            point, n=n, loss=loss, seeds=seeds, progress=False
                        )
                        values[0, :, i, j] = sim.clean_accuracy
                        values[1, :, i, j] = sim.attack_success
                    if bar is not None:
                        bar.update(1)
            mean = values.mean(axis=1)
            sem = values.std(axis=1, ddof=1) / np.sqrt(seeds)
            curves[model] = {
                "clean_accuracy": mean[0],
                "attack_success": mean[1],
                "clean_accuracy_sem": sem[0],
                "attack_success_sem": sem[1],
            }
    if bar is not None:
        bar.close()
    settings = dict(
        data=data.name,
        source=str(source),
        target=str(target),
        p=task.p,
        eps=eps,
        lam=lam,
        loss=loss,
        balance=balance,
        intercept=intercept,
        alpha_test=alpha_test,
        seeds=seeds,
        trigger=trigger if isinstance(trigger, str) else "array",
        snr=float(task.mu @ task.mu),
    )
    return LinearExperimentResult(kappas, alphas, curves, settings, elapsed[0])
