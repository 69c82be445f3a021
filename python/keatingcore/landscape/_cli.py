"""``keatingcore landscape``: complexity, thresholds, finite-N counts, activations."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._cliutil import parse_ints, parse_values, write_csv, write_json

logger = logging.getLogger(__name__)


def _save(fig: Any, path: Path | None) -> None:
    if path is not None:
        from .._plotting import save_figure

        for target in save_figure(fig, path):
            logger.info("wrote %s", target)


def _complexity(args: argparse.Namespace) -> int:
    from ._complexity import complexity
    from ._plot import plot_complexity, plot_index_complexity

    header = ["u"]
    columns = [args.u]
    for p in args.p:
        for k in args.index if args.index is not None else [None]:
            header.append(f"p{p}" + ("" if k is None else f"_k{k}"))
            columns.append(complexity(args.u, p, k, num_threads=args.threads))
    write_csv(args.out, header, np.column_stack(columns).tolist())
    if args.plot is not None:
        if args.index is None:
            fig = plot_complexity(args.p, args.u)
        else:
            fig = plot_index_complexity(args.p[0], args.index)
        _save(fig, args.plot)
    return 0


def _thresholds(args: argparse.Namespace) -> int:
    from ._complexity import thresholds

    res = thresholds(args.p, args.k_max, num_threads=args.threads)
    payload = {
        "p": res.p.tolist(),
        "E_inf": res.E_inf.tolist(),
        "E": {int(p): row.tolist() for p, row in zip(res.p, res.E, strict=True)},
        "converged": res.converged,
        "max_residual": res.residual,
    }
    write_json(args.out, payload)
    return 0


def _count(args: argparse.Namespace) -> int:
    from ._finite import count_monte_carlo, expected_counts

    theta = [] if args.theta is None else list(args.theta)
    if args.method == "exact" and not theta:
        res = expected_counts(
            args.N, args.p, args.u, args.k_max, num_threads=args.threads
        )
    else:
        res = count_monte_carlo(
            args.N,
            args.p,
            args.u,
            args.k_max,
            n_samples=args.samples,
            theta=theta,
            seed=args.seed,
            num_threads=args.threads,
        )
    header = ["u", "total"] + [f"k{k}" for k in range(res.by_index.shape[0])]
    rows = np.column_stack([res.u, res.total, res.by_index.T])
    if res.stderr_total is not None:
        header += ["stderr_total"] + [
            f"stderr_k{k}" for k in range(res.by_index.shape[0])
        ]
        rows = np.column_stack([rows, res.stderr_total, res.stderr_by_index.T])
    write_csv(args.out, header, rows.tolist())
    if args.plot is not None:
        from ._finite import EXACT_MAX_N
        from ._plot import plot_finite_n

        exact = [args.N] if args.N <= EXACT_MAX_N else []
        mc = [] if exact else [args.N]
        _save(plot_finite_n(args.p, exact, u=args.u, mc_N=mc), args.plot)
    return 0


def _activations(args: argparse.Namespace) -> int:
    from ._activations import (
        deformation_strength,
        gaussian_statistics,
        piecewise_linear,
    )

    out = {}
    for name in args.names:
        pl = piecewise_linear(name, args.pieces)
        exact = gaussian_statistics(name)
        out[name] = {
            "piecewise_linear": pl.to_dict(),
            "exact_statistics": exact.to_dict(),
            "theta_reconstruction": deformation_strength(exact),
        }
    write_json(args.out, out)
    if args.plot is not None:
        from ._plot import plot_activations

        _save(
            plot_activations(args.names, args.pieces, n_samples=args.samples), args.plot
        )
    return 0


def _figures(args: argparse.Namespace) -> int:
    from . import _plot
    from ._critical import gradient_descent

    out = args.out_dir
    _save(_plot.plot_complexity(), out / "complexity")
    _save(_plot.plot_index_complexity(), out / "complexity_by_index")
    _save(_plot.plot_finite_n(mc_N=(64,)), out / "finite_n_total")
    _save(_plot.plot_finite_n(index=0, mc_N=(64,)), out / "finite_n_minima")
    runs = [gradient_descent(n, 3, args.runs, seed=n) for n in (25, 50, 100)]
    _save(_plot.plot_descent_band(runs), out / "descent_band")
    _save(_plot.plot_activations(n_samples=args.samples), out / "activations")
    _save(_plot.plot_bbp(), out / "bbp")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``keatingcore landscape``."""
    top = sub.add_parser("landscape", help="spin-glass complexity of loss surfaces")
    cmds = top.add_subparsers(dest="landscape_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser, out_help: str) -> None:
        p.add_argument("--out", type=Path, default=None, help=out_help)
        p.add_argument("--threads", type=int, default=None, help="OpenMP threads")

    c = cmds.add_parser("complexity", help="Theta_p(u) or Theta_{k,p}(u) as CSV")
    c.add_argument("--p", type=parse_ints, default=[3], help="degrees, e.g. 3,4 or 3:6")
    c.add_argument(
        "--u",
        type=parse_values,
        default=np.linspace(-2, 0.5, 251),
        help="energies a:b:n or x,y (default -2:0.5:251)",
    )
    c.add_argument(
        "--index", type=parse_ints, default=None, help="indices k (default total)"
    )
    c.add_argument("--plot", type=Path, default=None, help="figure path (.png/.pdf)")
    common(c, "CSV path (default stdout)")
    c.set_defaults(func=_complexity)

    t = cmds.add_parser("thresholds", help="E_inf and E_0..E_kmax as JSON")
    t.add_argument("--p", type=parse_ints, default=[3], help="degrees, e.g. 3:10")
    t.add_argument("--k-max", type=int, default=10)
    common(t, "JSON path (default stdout)")
    t.set_defaults(func=_thresholds)

    n = cmds.add_parser("count", help="finite-N expected critical points as CSV")
    n.add_argument("--N", type=int, required=True, help="dimension N >= 2")
    n.add_argument("--p", type=int, default=3)
    n.add_argument("--u", type=parse_values, default=np.array([np.inf]))
    n.add_argument("--k-max", type=int, default=None)
    n.add_argument("--method", choices=("exact", "mc"), default="exact")
    n.add_argument("--samples", type=int, default=100_000)
    n.add_argument(
        "--theta",
        type=parse_values,
        default=None,
        help="[reconstruction] deformation strengths (implies mc)",
    )
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--plot", type=Path, default=None)
    common(n, "CSV path (default stdout)")
    n.set_defaults(func=_count)

    a = cmds.add_parser("activations", help="piecewise-linear fits and statistics")
    a.add_argument(
        "--names",
        type=lambda s: s.split(","),
        default=["relu", "leaky_relu", "tanh", "sigmoid", "gelu"],
    )
    a.add_argument("--pieces", type=int, default=8)
    a.add_argument("--samples", type=int, default=20_000)
    a.add_argument("--plot", type=Path, default=None)
    common(a, "JSON path (default stdout)")
    a.set_defaults(func=_activations)

    f = cmds.add_parser("figures", help="every figure of the module into a folder")
    f.add_argument("--out-dir", type=Path, default=Path("figures/landscape"))
    f.add_argument("--runs", type=int, default=8, help="descents per N")
    f.add_argument("--samples", type=int, default=20_000)
    f.set_defaults(func=_figures)
