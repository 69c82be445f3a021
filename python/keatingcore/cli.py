"""The ``keatingcore`` command line.

Each topic registers its own subcommand through an ``add_parser(subparsers)``
function; ``keatingcore --help`` lists them all.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._config import format_config


def _info(args: argparse.Namespace) -> int:
    sys.stdout.write(format_config() + "\n")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ._bench import run_cli

    return run_cli(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from .backdoor import _cli as backdoor_cli
    from .dynamics import _cli as dynamics_cli
    from .landscape import _cli as landscape_cli

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
    bench.add_argument(
        "--bench-dir",
        default="bench",
        help="folder holding bench_*.py files (default: ./bench)",
    )
    bench.add_argument(
        "--only", default=None, help="run benchmarks whose name has this"
    )
    bench.add_argument(
        "--out",
        default=None,
        help="JSON output path (default: bench/results/bench-<time>.json)",
    )
    bench.add_argument(
        "--quick", action="store_true", help="smaller problem sizes, for a fast check"
    )
    bench.set_defaults(func=_bench)

    for topic in (backdoor_cli, dynamics_cli, landscape_cli):
        topic.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keatingcore`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        parser.exit(2, f"keatingcore: error: {exc}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
