"""``keatingcore backdoor``: theory, simulation, sweeps and figures from the shell."""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._cliutil import parse_values, write_json
from ._setup import SCALAR_FIELDS, Setup

logger = logging.getLogger(__name__)


def _add_setup_args(p: argparse.ArgumentParser, grid: bool = False) -> None:
    kind = parse_values if grid else float
    defaults = Setup()
    for name in SCALAR_FIELDS:
        flag = "--" + name.replace("_", "-")
        p.add_argument(
            flag,
            type=kind,
            default=None,
            help=f"default {getattr(defaults, name)}"
            + (" (a value, list x,y,z or range a:b:n)" if grid else ""),
        )
    p.add_argument("--balance", choices=("additive", "replace"), default="additive")
    p.add_argument("--no-intercept", action="store_true", help="fix b = 0")
    p.add_argument("--asr", choices=("all", "conditional"), default="all")
    p.add_argument(
        "--spectrum",
        type=Path,
        default=None,
        help="covariance spectrum or matrix (.npy or whitespace text)",
    )
    p.add_argument("--mean", default="uniform", choices=("uniform", "min", "max"))
    p.add_argument("--trigger", default="orth", choices=("orth", "min", "max"))
    p.add_argument("--loss", default="square", choices=("square", "logistic", "hinge"))


def _setup_from(args: argparse.Namespace, scalars: dict[str, Any]) -> Setup:
    cov = None
    if args.spectrum is not None:
        path = args.spectrum
        if not path.exists():
            raise FileNotFoundError(f"--spectrum file not found: {path}")
        cov = np.load(path) if path.suffix == ".npy" else np.loadtxt(path)
    return Setup(
        balance=args.balance,
        intercept=not args.no_intercept,
        asr=args.asr,
        cov=cov,
        mean=args.mean,
        trigger=args.trigger,
        **scalars,
    )


def _scalars(args: argparse.Namespace) -> dict[str, float]:
    return {k: getattr(args, k) for k in SCALAR_FIELDS if getattr(args, k) is not None}


def _theory(args: argparse.Namespace) -> int:
    from ._ridge import ridge_theory
    from ._solve import solve

    setup = _setup_from(args, _scalars(args))
    result = solve(setup, args.loss) if args.loss != "square" else ridge_theory(setup)
    write_json(args.out, result.to_dict())
    return 0


def _peak(args: argparse.Namespace) -> int:
    from ._attack import peak_attack

    result = peak_attack(_setup_from(args, _scalars(args)), args.loss)
    write_json(args.out, result.to_dict())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from ._simulate import simulate

    setup = _setup_from(args, _scalars(args))
    result = simulate(
        setup, n=args.n, loss=args.loss, seeds=args.seeds, progress=not args.quiet
    )
    write_json(args.out, result.to_dict())
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from ._solve import sweep

    grid = {k: getattr(args, k) for k in SCALAR_FIELDS if getattr(args, k) is not None}
    base = {k: float(v[0]) for k, v in grid.items()}
    setup = _setup_from(args, base)
    result = sweep(setup, args.loss, num_threads=args.threads, **grid)
    _write_sweep_csv(args.out, result)
    if args.plot is not None:
        _plot_sweep(result, args.plot)
    return 0


def _write_sweep_csv(path: Path, result: Any) -> None:
    cols = result.columns()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(cols))
        writer.writerows(zip(*(c.tolist() for c in cols.values()), strict=True))
    logger.info("wrote %s (%d rows)", path, len(next(iter(cols.values()))))


def _plot_sweep(result: Any, path: Path) -> None:
    from ._plot import plot_sweep

    plot_sweep(result, path=path)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``keatingcore backdoor`` and its subcommands."""
    top = sub.add_parser(
        "backdoor",
        help="backdoor-attack theory, simulation and sweeps",
        description="Backdoor attacks on regularised GLMs "
        "(Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481).",
    )
    cmds = top.add_subparsers(dest="backdoor_command", metavar="ACTION", required=True)

    theory = cmds.add_parser("theory", help="asymptotic metrics at one point (JSON)")
    _add_setup_args(theory)
    theory.add_argument(
        "--out", type=Path, default=None, help="JSON path (default stdout)"
    )
    theory.set_defaults(func=_theory)

    peak = cmds.add_parser("peak", help="alpha* where attack success peaks (JSON)")
    _add_setup_args(peak)
    peak.add_argument(
        "--out", type=Path, default=None, help="JSON path (default stdout)"
    )
    peak.set_defaults(func=_peak)

    simulate = cmds.add_parser("simulate", help="finite-n simulation with error bars")
    _add_setup_args(simulate)
    simulate.add_argument("--n", type=int, default=2000, help="training samples")
    simulate.add_argument("--seeds", type=int, default=20, help="number of seeds")
    simulate.add_argument("--quiet", action="store_true", help="no progress bar")
    simulate.add_argument("--out", type=Path, default=None, help="JSON path")
    simulate.set_defaults(func=_simulate)

    grid = cmds.add_parser("sweep", help="grid of fixed points to CSV (and a figure)")
    _add_setup_args(grid, grid=True)
    grid.add_argument("--out", type=Path, required=True, help="CSV path")
    grid.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="figure path (.png/.pdf) of the metrics vs alpha",
    )
    grid.add_argument("--threads", type=int, default=None, help="threads (default all)")
    grid.set_defaults(func=_sweep)

    from ..experiments._cli import add_parser as add_experiment_parser

    add_experiment_parser(cmds)
