"""``keatingcore backdoor experiment``: real-data runs with the theory over them."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from .._cliutil import parse_values, positive_int
from .._config import build_info

logger = logging.getLogger(__name__)

MODELS = ("linear", "surrogate", "resnet18")


def _load(args: argparse.Namespace) -> Any:
    from .. import data

    if args.data == "digits":
        digits = data.load_digits()
        if args.max_train is None:
            return digits
        return dataclasses.replace(
            digits,
            x_train=digits.x_train[: args.max_train],
            y_train=digits.y_train[: args.max_train],
        )
    if args.data_dir is None:
        raise ValueError(
            "--data-dir is required with --data cifar10 (CIFAR-10 cannot be "
            "downloaded here; point it at the python or binary archive)"
        )
    return data.load_cifar10(args.data_dir, max_train=args.max_train)


def _models(text: str) -> list[str]:
    models = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise argparse.ArgumentTypeError(
            f"--model takes a list from {MODELS}, got {text!r}"
        )
    return models


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run_linear(args: argparse.Namespace, dataset: Any, models: list[str]) -> None:
    from ._linear import linear_experiment
    from ._plot import plot_linear_experiment

    chosen = ["theory"] + [
        {"linear": "real"}.get(m, m) for m in models if m in ("linear", "surrogate")
    ]
    result = linear_experiment(
        dataset,
        source=args.source,
        target=args.target,
        kappas=args.kappa,
        alphas=args.alpha,
        eps=args.eps,
        lam=args.lam,
        loss=args.loss,
        trigger=args.trigger,
        alpha_test=args.alpha_test,
        seeds=args.seeds,
        models=chosen,
        progress=not args.quiet,
    )
    checks = {
        f"max|z| theory vs {m} ({metric})": result.max_z(m, metric)
        for m in chosen
        if m != "theory"
        for metric in ("clean_accuracy", "attack_success")
    }
    _write_rows(args.out / "linear.csv", result.rows())
    payload = {
        **result.to_dict(),
        "checks": checks,
        "build": build_info(),
        "max_train": args.max_train,
    }
    (args.out / "linear.json").write_text(json.dumps(payload, indent=2) + "\n")
    plot_linear_experiment(result, args.out / "linear")
    lines = [
        f"{result!r}",
        *(f"  {k} = {v:.2f}" for k, v in checks.items()),
        f"  wrote {args.out}/linear.csv, linear.json, linear.png, linear.pdf",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _run_resnet(args: argparse.Namespace, dataset: Any) -> None:
    from ._train import plot_alpha_grid, train_alpha_grid

    results = train_alpha_grid(
        dataset,
        args.alpha,
        out_dir=args.out / "resnet18",
        source=args.source,
        target=args.target,
        eps=args.resnet_eps,
        trigger=args.trigger,
        alpha_test=args.alpha_test,
        epochs=args.epochs,
        width=args.width,
        seed=args.seed,
        progress=not args.quiet,
    )
    rows = [
        {
            "alpha": r.config["settings"]["alpha"],
            "clean_accuracy": r.clean_accuracy,
            "attack_success": r.attack_success,
            "attack_success_source": r.attack_success_source,
            "seconds": r.seconds,
        }
        for r in results
    ]
    _write_rows(args.out / "resnet18.csv", rows)
    for suffix in (".png", ".pdf"):
        plot_alpha_grid(results, (args.out / "resnet18").with_suffix(suffix))


def _experiment(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = _load(args)
    logger.info("%r", dataset)
    if any(m in ("linear", "surrogate") for m in args.model):
        _run_linear(args, dataset, args.model)
    if "resnet18" in args.model:
        _run_resnet(args, dataset)
    return 0


def add_parser(cmds: argparse._SubParsersAction) -> None:
    """Register ``keatingcore backdoor experiment``."""
    p = cmds.add_parser(
        "experiment",
        help="real images: linear learners, Gaussian surrogate, theory, ResNet-18",
        description="Backdoor experiment on real images with the theory "
        "laid over it. Protocol defaults are ours (the paper's settings could not be "
        "retrieved).",
    )
    p.add_argument("--data", choices=("digits", "cifar10"), default="digits")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="CIFAR-10 archive or folder (python or binary version)",
    )
    p.add_argument(
        "--max-train", type=positive_int, default=None, help="cap on training images"
    )
    p.add_argument(
        "--model",
        type=_models,
        default=["linear", "surrogate"],
        help=f"comma list from {MODELS} (default linear,surrogate)",
    )
    p.add_argument(
        "--alpha",
        type=parse_values,
        default=parse_values("0:8:17"),
        help="training trigger strengths (list x,y or range a:b:n)",
    )
    p.add_argument(
        "--kappa",
        type=parse_values,
        default=parse_values("0.5,1"),
        help="p/n values of the linear runs",
    )
    p.add_argument("--loss", choices=("square", "logistic", "hinge"), default="square")
    p.add_argument("--eps", type=float, default=0.1, help="poisoning fraction")
    p.add_argument("--lam", type=float, default=0.1, help="L2 strength (linear runs)")
    p.add_argument(
        "--alpha-test", type=float, default=2.0, help="test trigger strength"
    )
    p.add_argument("--source", default="3", help="class poisoned from (index or name)")
    p.add_argument("--target", default="8", help="class the poisons claim")
    p.add_argument(
        "--trigger",
        default="patch",
        choices=("patch", "checkerboard", "noise", "min_eig"),
    )
    p.add_argument("--seeds", type=int, default=10, help="repetitions (linear runs)")
    p.add_argument(
        "--resnet-eps",
        type=float,
        default=0.02,
        help="ResNet-18 poisoning fraction of the whole training set",
    )
    p.add_argument("--epochs", type=int, default=15, help="ResNet-18 epochs")
    p.add_argument("--width", type=int, default=64, help="ResNet-18 base width")
    p.add_argument("--seed", type=int, default=0, help="ResNet-18 seed")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=_experiment)
