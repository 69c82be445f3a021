"""The ``keatingcore`` command line.

Each topic registers its own subcommand through an ``add_parser(subparsers)``
function; ``keatingcore --help`` lists them all.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ._bench import add_arguments as add_bench_arguments
from ._cliutil import join_negative_values
from ._config import format_config


def _info(args: argparse.Namespace) -> int:
    sys.stdout.write(format_config() + "\n")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ._bench import run_cli

    return run_cli(args)


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import STEPS, reproduce

    steps = [s for s in STEPS if args.topic in ("all", s.topic)]
    report = reproduce(
        steps,
        args.out,
        quick=args.quick,
        data_dir=args.data_dir,
        force=args.force,
        progress=None,
    )
    for r in report.records:
        status = "pass" if r["passed"] else "FAIL"
        sys.stdout.write(f"{status}  {r['name']}: {r['check']}\n")
    sys.stdout.write(f"report: {report.index}\n")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from .backdoor import _cli as backdoor_cli
    from .dynamics import _cli as dynamics_cli
    from .landscape import _cli as landscape_cli
    from .sweeps import _cli as sweeps_cli
    from .ufm import _cli as ufm_cli

    parser = argparse.ArgumentParser(
        prog="keatingcore",
        description="Solvers for the high-dimensional theory of deep learning.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress (-vv for debug output)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="print the build configuration")
    info.set_defaults(func=_info)

    bench = sub.add_parser("bench", help="run the benchmarks in bench/")
    add_bench_arguments(bench, "bench")
    bench.set_defaults(func=_bench)

    rep = sub.add_parser(
        "reproduce", help="every paper's headline results, with checks"
    )
    rep.add_argument(
        "topic",
        nargs="?",
        default="all",
        choices=("backdoor", "dynamics", "ufm", "landscape", "all"),
    )
    speed = rep.add_mutually_exclusive_group()
    speed.add_argument(
        "--quick",
        dest="quick",
        action="store_true",
        default=True,
        help="minutes on 2 cores (default)",
    )
    speed.add_argument(
        "--full", dest="quick", action="store_false", help="the settings of the figures"
    )
    rep.add_argument("--out", type=Path, required=True, help="output folder")
    rep.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="CIFAR-10 archive or folder (adds the CIFAR-10 results)",
    )
    rep.add_argument("--force", action="store_true", help="recompute finished results")
    rep.set_defaults(func=_reproduce)

    for topic in (backdoor_cli, dynamics_cli, ufm_cli, landscape_cli, sweeps_cli):
        topic.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keatingcore`` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(join_negative_values(argv))
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError) as exc:
        parser.exit(2, f"keatingcore: error: {exc}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
