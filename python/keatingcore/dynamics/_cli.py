"""``keatingcore dynamics``: integrate, phenomena, codes and gradient descent.

Every action writes its data (CSV or JSON) and, with ``--plot``, a figure (PNG/PDF
by suffix, both without one).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._cliutil import (
    parse_floats,
    parse_ints,
    positive_float,
    positive_int,
    write_csv,
    write_json,
)

logger = logging.getLogger(__name__)


def _emit(result: Any, args: argparse.Namespace) -> int:
    from ._phenomena import table

    head, rows = table(result)
    write_csv(args.out, head, rows)
    if args.plot is not None:
        result.plot(args.plot)
    return 0


def _integrate(args: argparse.Namespace) -> int:
    from ._ode import integrate
    from ._phenomena import perturbed_start

    start = perturbed_start(
        args.K, args.depth, args.sigma0, args.delta, args.batch, args.n, args.seed
    )
    t = np.concatenate([[0.0], np.geomspace(args.t_min, args.t_max, args.num - 1)])
    traj = integrate(
        start,
        n=args.n,
        t=t,
        basis=args.basis,
        rtol=args.rtol,
        atol=args.atol,
        method=args.method,
        max_steps=args.max_steps,
        num_threads=args.threads,
        device=args.device,
    )
    head = ["trajectory", "t", "loss"] + [
        f"sigma_{l}_{k}" for l in range(args.depth) for k in range(1, args.K)
    ]
    flat = traj.sigma.reshape(traj.sigma.shape[0], t.size, -1)
    rows = [
        [b, ti, traj.loss[b, i], *flat[b, i]]
        for b in range(flat.shape[0])
        for i, ti in enumerate(t)
    ]
    write_csv(args.out, head, rows)
    if args.json is not None:
        summary = {
            k: v for k, v in traj.to_dict().items() if k not in ("sigma", "loss", "t")
        }
        write_json(args.json, summary)
    if args.plot is not None:
        from ._plot import plot_trajectories

        plot_trajectories(traj, 0, args.plot)
    return 0


def _closed_form(args: argparse.Namespace) -> int:
    from ._closed_form import nc_loss, nc_trajectory

    t = np.concatenate([[0.0], np.geomspace(args.t_min, args.t_max, args.num - 1)])
    s = nc_trajectory(t, args.s0, args.K, args.n, args.depth)
    rows = [list(r) for r in zip(t, s, nc_loss(s, args.K), strict=True)]
    write_csv(args.out, ["t", "s", "loss"], rows)
    return 0


def _convergence(args: argparse.Namespace) -> int:
    from ._phenomena import nc_convergence

    res = nc_convergence(
        args.K,
        args.depth,
        args.n,
        args.s0,
        args.spread,
        args.t_max,
        args.num,
        args.seed,
    )
    return _emit(res, args)


def _repulsion(args: argparse.Namespace) -> int:
    from ._phenomena import repulsion

    res = repulsion(
        args.K,
        args.depths,
        args.sigma0,
        args.delta,
        args.n,
        args.t_max,
        args.num,
        args.seed,
    )
    return _emit(res, args)


def _low_rank(args: argparse.Namespace) -> int:
    from ._phenomena import low_rank

    res = low_rank(
        args.K,
        args.depths,
        args.starts,
        args.sigma0,
        args.delta,
        args.n,
        args.t_max,
        args.threshold,
        args.seed,
        args.threads,
    )
    return _emit(res, args)


def _basin(args: argparse.Namespace) -> int:
    from ._phenomena import nc_basin, table

    rho = np.linspace(args.rho_min, args.rho_max, args.num_rho)
    res = nc_basin(
        args.K,
        args.depths,
        args.sigma0,
        rho,
        args.n,
        num_threads=args.threads,
        progress=not args.quiet,
        out=args.out,
    )
    head, rows = table(res)
    write_json(
        args.summary,
        {
            "trajectories": res.trajectories,
            "elapsed": res.elapsed,
            "columns": head,
            "rho_star": rows,
        },
    )
    if args.plot is not None:
        res.plot(args.plot)
    return 0


def _width(args: argparse.Namespace) -> int:
    from ._phenomena import rank_vs_width

    res = rank_vs_width(
        args.K,
        args.depth,
        args.widths,
        args.seeds,
        args.scale,
        args.lr,
        args.steps,
        args.n,
        args.rank_tol,
        args.device_torch,
    )
    return _emit(res, args)


def _code(args: argparse.Namespace) -> int:
    from ._codes import softmax_code

    code = softmax_code(args.K, args.rank, args.restarts, args.seed)
    write_json(
        args.out,
        {
            "K": args.K,
            "rank": args.rank,
            "margin": code.margin,
            "distances": code.distances.tolist(),
            "vectors": code.vectors.tolist(),
        },
    )
    return 0


def _gd(args: argparse.Namespace) -> int:
    from ._gd import gradient_descent
    from ._phenomena import perturbed_start

    sigma0 = None
    if args.init == "spectral":
        sigma0 = perturbed_start(
            args.K, args.depth, args.sigma0, args.delta, n=args.n, seed=args.seed
        )
    res = gradient_descent(
        args.K,
        args.n,
        args.depth,
        args.width,
        args.lr,
        args.steps,
        init=args.init,
        sigma0=sigma0,
        scale=args.scale,
        record_every=args.record_every,
        seed=args.seed,
        device=args.device_torch,
    )
    head = ["t", "loss", "rank", "nc1", "nc2", "nc3"] + [
        f"sv{k}" for k in range(args.K)
    ]
    cols = [
        res.t,
        res.loss[0],
        res.rank[0],
        res.nc1[0],
        res.nc2[0],
        res.nc3[0],
        *res.logit_spectrum[0].T,
    ]
    write_csv(args.out, head, [list(r) for r in zip(*cols, strict=True)])
    return 0


def _common(p: argparse.ArgumentParser, depth: int = 3, K: int = 8) -> None:
    p.add_argument("--K", type=int, default=K, help=f"classes (default {K})")
    p.add_argument(
        "--depth",
        type=int,
        default=depth,
        help=f"factors, features included (default {depth})",
    )
    p.add_argument("--n", type=int, default=1, help="samples per class (default 1)")
    p.add_argument("--seed", type=int, default=0)


def _outputs(p: argparse.ArgumentParser, what: str = "CSV") -> None:
    p.add_argument("--out", type=Path, required=True, help=f"{what} path")
    p.add_argument("--plot", type=Path, default=None, help="figure path (.png/.pdf)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``keatingcore dynamics`` and its actions."""
    top = sub.add_parser(
        "dynamics",
        help="cross-entropy dynamics of (deep) unconstrained-feature models",
        description="Reduced singular-value ODEs of the deep UFM under spectral "
        "initialisation (Garrod, Keating & Thrampoulidis, arXiv 2512.04006, "
        "2605.23087): integration, phenomena, softmax codes, gradient descent.",
    )
    cmds = top.add_subparsers(dest="dynamics_command", metavar="ACTION", required=True)

    p = cmds.add_parser("integrate", help="integrate a batch of perturbed starts")
    _common(p)
    p.add_argument("--sigma0", type=float, default=0.1, help="per-layer start scale")
    p.add_argument("--delta", type=float, default=0.1, help="relative perturbation")
    p.add_argument("--batch", type=positive_int, default=10, help="number of starts")
    p.add_argument("--t-min", type=positive_float, default=1e-2)
    p.add_argument("--t-max", type=positive_float, default=1e12)
    p.add_argument(
        "--num", type=positive_int, default=100, help="output times (log-spaced)"
    )
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-12)
    p.add_argument("--method", choices=("dopri5", "dop853"), default="dopri5")
    p.add_argument("--basis", choices=("auto", "walsh", "fourier"), default="auto")
    p.add_argument("--max-steps", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--json", type=Path, default=None, help="per-trajectory status JSON")
    _outputs(p)
    p.set_defaults(func=_integrate)

    p = cmds.add_parser("closed-form", help="exact NC trajectory s(t) (equal modes)")
    _common(p, depth=2)
    p.add_argument("--s0", type=float, default=0.5)
    p.add_argument("--t-min", type=positive_float, default=1e-2)
    p.add_argument("--t-max", type=positive_float, default=1e9)
    p.add_argument("--num", type=positive_int, default=100)
    p.add_argument("--out", type=Path, required=True, help="CSV path")
    p.set_defaults(func=_closed_form)

    p = cmds.add_parser("convergence", help="convergence to NC with the exact curve")
    _common(p, depth=2)
    p.add_argument("--s0", type=float, default=0.5)
    p.add_argument("--spread", type=float, default=0.5)
    p.add_argument("--t-max", type=positive_float, default=1e9)
    p.add_argument("--num", type=positive_int, default=200)
    _outputs(p)
    p.set_defaults(func=_convergence)

    p = cmds.add_parser("repulsion", help="early-time repulsion of singular values")
    _common(p)
    p.add_argument("--depths", type=parse_ints, default=[2, 3, 4, 6])
    p.add_argument("--sigma0", type=float, default=0.1)
    p.add_argument("--delta", type=float, default=0.1)
    p.add_argument("--t-max", type=positive_float, default=1e6)
    p.add_argument("--num", type=positive_int, default=200)
    _outputs(p)
    p.set_defaults(func=_repulsion)

    p = cmds.add_parser("low-rank", help="number of diverging modes against depth")
    _common(p)
    p.add_argument("--depths", type=parse_ints, default=[2, 3, 4, 6])
    p.add_argument("--starts", type=int, default=30)
    p.add_argument("--sigma0", type=float, default=0.1)
    p.add_argument("--delta", type=float, default=0.3)
    p.add_argument("--t-max", type=positive_float, default=1e12)
    p.add_argument("--threshold", type=float, default=0.3)
    p.add_argument("--threads", type=int, default=None)
    _outputs(p)
    p.set_defaults(func=_low_rank)

    p = cmds.add_parser("basin", help="NC basin rho*(depth), CSV written as it goes")
    _common(p, K=4)
    p.add_argument("--depths", type=parse_ints, default=[3, 4, 5, 6, 7, 8])
    p.add_argument("--sigma0", type=parse_floats, default=[0.1, 0.5])
    p.add_argument("--rho-min", type=float, default=0.001)
    p.add_argument("--rho-max", type=float, default=0.999)
    p.add_argument("--num-rho", type=int, default=1000)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--summary", type=Path, default=None, help="rho* JSON (default stdout)"
    )
    _outputs(p, "per-start CSV")
    p.set_defaults(func=_basin)

    p = cmds.add_parser("width", help="rank against width, random init (torch)")
    _common(p, depth=4)
    p.add_argument("--widths", type=parse_ints, default=[8, 16, 64, 128])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--lr", type=positive_float, default=0.2)
    p.add_argument("--steps", type=positive_int, default=10_000)
    p.add_argument("--rank-tol", type=float, default=0.1)
    p.add_argument("--device", dest="device_torch", default=None, help="torch device")
    _outputs(p)
    p.set_defaults(func=_width)

    p = cmds.add_parser("code", help="max-margin softmax code (JSON)")
    p.add_argument("--K", type=int, default=8)
    p.add_argument("--rank", type=int, default=3)
    p.add_argument("--restarts", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON path (default stdout)")
    p.set_defaults(func=_code)

    p = cmds.add_parser("gd", help="full-matrix gradient descent records (torch)")
    _common(p)
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--lr", type=positive_float, default=0.05)
    p.add_argument("--steps", type=positive_int, default=2000)
    p.add_argument("--init", choices=("spectral", "gaussian"), default="spectral")
    p.add_argument("--sigma0", type=float, default=0.5)
    p.add_argument("--delta", type=float, default=0.3)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--record-every", type=int, default=None)
    p.add_argument("--device", dest="device_torch", default=None, help="torch device")
    p.add_argument("--out", type=Path, required=True, help="CSV path")
    p.set_defaults(func=_gd)
