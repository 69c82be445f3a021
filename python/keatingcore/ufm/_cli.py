"""``keatingcore ufm``: closed-form optima, CE comparisons, training and Hessians.

Every action writes data (JSON or CSV) and, where it has one, a figure (PNG and
PDF without a suffix).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._cliutil import parse_floats, parse_ints, write_csv, write_json

logger = logging.getLogger(__name__)


def _lam(values: list[float]) -> float | list[float]:
    return values[0] if len(values) == 1 else values


def _save(fig: Any, path: Path) -> None:
    from .._plotting import save_figure

    for target in save_figure(fig, path):
        logger.info("wrote %s", target)


def _add_model(p: argparse.ArgumentParser, width: bool = True) -> None:
    p.add_argument("--K", type=int, default=3, help="classes (>= 2; default 3)")
    p.add_argument("--n", type=int, default=4, help="samples per class (default 4)")
    p.add_argument(
        "--depth", type=int, default=4, help="factors L + 1, H_1 included (default 4)"
    )
    if width:
        p.add_argument(
            "--width",
            type=parse_ints,
            default=None,
            help="hidden width(s) >= K (default K)",
        )


def _add_lams(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lam-W",
        type=parse_floats,
        default=[1e-2],
        help="weight decay: one value or one per weight matrix (default 1e-2)",
    )
    p.add_argument(
        "--lam-H", type=float, default=None, help="strength on H_1 (default lam-W)"
    )


def _width(args: argparse.Namespace) -> Any:
    if args.width is None:
        return None
    return args.width[0] if len(args.width) == 1 else args.width


def _optimum(args: argparse.Namespace) -> int:
    from ._mse import mse_optimum

    opt = mse_optimum(args.K, args.n, args.depth, _lam(args.lam_W), args.lam_H)
    out = opt.to_dict()
    out["hessian"] = [
        opt.hessian_prediction(l, _width(args), include_reg=args.include_reg)
        for l in range(args.depth)
    ]
    write_json(args.out, out)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ._compare import ce_compare, ce_map
    from ._plot import plot_compare_map

    if args.Ks is None and args.depths is None:
        res = ce_compare(args.K, args.n, args.depth, args.lam, num_threads=args.threads)
        write_json(args.out, res.to_dict())
        return 0
    Ks = args.Ks or [args.K]
    depths = args.depths or [args.depth]
    cmap = ce_map(Ks, depths, args.n, args.lam, num_threads=args.threads)
    head = ["K", "L", "depth", "dnc_loss", "lowrank_loss", "margin", "relative_margin"]
    head += ["dnc_scale", "lowrank_scale", "penalty_ratio", "lowrank_wins"]
    rows = []
    for i, K in enumerate(cmap.Ks):
        for j, d in enumerate(cmap.depths):
            rows.append(
                [
                    int(K),
                    int(d) - 1,
                    int(d),
                    cmap.dnc_loss[i, j],
                    cmap.lowrank_loss[i, j],
                    cmap.margin[i, j],
                    cmap.margin[i, j] / cmap.dnc_loss[i, j],
                    cmap.dnc_scale[i, j],
                    cmap.lowrank_scale[i, j],
                    cmap.penalty_ratio[i, j],
                    bool(cmap.lowrank_wins[i, j]),
                ]
            )
    write_csv(args.out, head, rows)
    if args.plot is not None:
        _save(plot_compare_map(cmap), args.plot)
    return 0


def _train(args: argparse.Namespace) -> int:
    from ._plot import plot_hessian_track, plot_singular_values, plot_training
    from ._train import train

    res = train(
        args.K,
        args.n,
        args.depth,
        _width(args),
        loss=args.loss,
        activation=args.activation,
        lam_W=_lam(args.lam_W),
        lam_H=args.lam_H,
        optimizer=args.optimizer,
        lr=args.lr,
        steps=args.steps,
        init_scale=args.init_scale,
        seed=args.seed,
        tol=args.tol,
        hessian_layer=args.hessian_layer,
        device=args.device,
        num_threads=args.threads,
        progress=not args.quiet,
    )
    reference, predicted = _references(args)
    out = args.out_dir
    head = ["step", "time", "loss", "fit", "reg", "grad_norm"]
    depth = args.depth
    for key in ("nc1", "nc2", "nc2_orth"):
        head += [f"{key}_{l}" for l in range(1, depth + 1)]
    head += [f"logit_sv_{k}" for k in range(1, args.K + 1)]
    rows = []
    for r in range(res.step.size):
        row = [int(res.step[r])] + [
            float(getattr(res, k)[r])
            for k in ("time", "loss", "fit", "reg", "grad_norm")
        ]
        for key in ("nc1", "nc2", "nc2_orth"):
            row += [float(v) for v in getattr(res, key)[r]]
        rows.append(row + [float(v) for v in res.logit_svals[r]])
    write_csv(out / "history.csv", head, rows)
    summary = res.to_dict()
    summary["predicted_minima"] = predicted
    write_json(out / "summary.json", summary)
    _save(plot_training(res, reference), out / "training")
    from ._model import forward

    reps = forward(res.factors, args.activation)
    _save(plot_singular_values(res.factors, reps), out / "singular_values")
    if args.hessian_layer is not None:
        outlier = None
        if args.loss == "mse" and args.activation == "linear":
            from ._mse import mse_optimum

            opt = mse_optimum(args.K, args.n, depth, _lam(args.lam_W), args.lam_H)
            outlier = float(opt.outliers[args.hessian_layer])
        _save(plot_hessian_track(res, outlier), out / "hessian_track")
    return 0


def _references(args: argparse.Namespace) -> tuple[float | None, dict[str, float]]:
    if args.activation != "linear":
        return None, {}
    if args.loss == "mse":
        from ._mse import mse_optimum

        opt = mse_optimum(args.K, args.n, args.depth, _lam(args.lam_W), args.lam_H)
        return opt.loss, {"mse_optimum": opt.loss}
    from ._compare import ce_compare

    cmp = ce_compare(args.K, args.n, args.depth, _lam(args.lam_W), args.lam_H)
    return None, cmp.minima


def _hessian(args: argparse.Namespace) -> int:
    from ._compare import ce_compare
    from ._construct import construct
    from ._hessian import count_outliers, layer_hessian
    from ._mse import mse_optimum
    from ._plot import plot_hessian_spectrum

    lam_W = _lam(args.lam_W)
    if args.loss == "mse":
        opt = mse_optimum(args.K, args.n, args.depth, lam_W, args.lam_H)
        pred = opt.hessian_prediction(args.layer, _width(args))
    else:
        cmp = ce_compare(args.K, args.n, args.depth, lam_W, args.lam_H)
        opt = cmp.candidates[args.frame]
        pred = {"outlier": None, "count": None}
    factors = construct(opt, _width(args), seed=args.seed)
    if args.method == "kronecker":
        evals = layer_hessian(factors, args.layer, args.loss).eigenvalues
    elif args.method == "autograd":
        from ._autograd import autograd_hessian

        H = autograd_hessian(
            factors, args.n, params=args.layer, loss=args.loss, num_threads=args.threads
        )
        evals = np.sort(np.linalg.eigvalsh(H))[::-1]
    else:
        from ._lanczos import lanczos

        res = lanczos(
            factors,
            args.n,
            args.k,
            params=args.layer,
            loss=args.loss,
            num_threads=args.threads,
            device=args.device,
        )
        evals = res.eigenvalues
    count = count_outliers(evals, max_count=min(evals.size - 1, 4 * args.K**2))
    summary = {
        "method": args.method,
        "layer": args.layer,
        "loss": args.loss,
        "measured_count": count,
        "measured_outlier_mean": float(np.mean(evals[:count])),
        "measured_next": float(evals[count]) if count < evals.size else None,
        "predicted": pred,
    }
    out = args.out_dir
    write_csv(out / "spectrum.csv", ["eigenvalue"], [[float(v)] for v in evals])
    write_json(out / "hessian.json", summary)
    title = f"{args.method} Hessian of factor {args.layer} ({args.loss})"
    _save(
        plot_hessian_spectrum(evals, pred["outlier"], pred["count"], title),
        out / "spectrum",
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``keatingcore ufm``."""
    top = sub.add_parser(
        "ufm",
        help="deep linear unconstrained-feature models",
        description="Closed-form MSE optima (paper A), DNC vs low-rank CE "
        "configurations (paper B), training in torch and layer-wise Hessians.",
    )
    cmds = top.add_subparsers(dest="ufm_command", required=True)

    p = cmds.add_parser("optimum", help="closed-form MSE optimum (JSON)")
    _add_model(p)
    _add_lams(p)
    p.add_argument("--include-reg", action="store_true", help="Hessian with lam I")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default stdout)")
    p.set_defaults(func=_optimum)

    p = cmds.add_parser(
        "compare", help="DNC vs low rank (JSON), or a (K, depth) map (CSV + figure)"
    )
    _add_model(p, width=False)
    p.add_argument(
        "--lam", type=float, default=2.0**-10, help="strength (default 2^-10)"
    )
    p.add_argument("--Ks", type=parse_ints, default=None, help="class counts for a map")
    p.add_argument("--depths", type=parse_ints, default=None, help="depths for a map")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=None, help="JSON/CSV (default stdout)")
    p.add_argument("--plot", type=Path, default=None, help="figure of the map")
    p.set_defaults(func=_compare)

    p = cmds.add_parser("train", help="train in torch; history CSV, JSON, figures")
    _add_model(p)
    _add_lams(p)
    p.add_argument("--loss", choices=("mse", "ce"), default="mse")
    p.add_argument("--activation", choices=("linear", "relu"), default="linear")
    p.add_argument("--optimizer", choices=("gd", "adam"), default="gd")
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--init-scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=1e-9, help="gradient-norm target")
    p.add_argument("--hessian-layer", type=int, default=None, help="track W_l")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out-dir", type=Path, default=Path("ufm-train"))
    p.set_defaults(func=_train)

    p = cmds.add_parser("hessian", help="layer Hessian at a constructed optimum")
    _add_model(p)
    _add_lams(p)
    p.add_argument("--loss", choices=("mse", "ce"), default="mse")
    p.add_argument(
        "--frame",
        choices=("dnc", "lowrank"),
        default="dnc",
        help="CE configuration (default dnc)",
    )
    p.add_argument("--layer", type=int, default=1, help="0 for H_1, l for W_l")
    p.add_argument(
        "--method", choices=("kronecker", "autograd", "lanczos"), default="kronecker"
    )
    p.add_argument("--k", type=int, default=None, help="Lanczos eigenvalues")
    p.add_argument("--seed", type=int, default=0, help="of the orthonormal bases")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out-dir", type=Path, default=Path("ufm-hessian"))
    p.set_defaults(func=_hessian)
