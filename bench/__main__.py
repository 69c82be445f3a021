"""``python -m bench``: run the benchmarks in this folder, like ``keatingcore bench``.

Examples
--------
``python -m bench``                      every benchmark, JSON in bench/results/
``python -m bench --quick``              smaller problem sizes
``python -m bench --only logistic_point --out /tmp/point.json``
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from keatingcore._bench import add_arguments, run_cli

HERE = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    """Flags of ``python -m bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the keatingcore benchmarks."
    )
    add_arguments(parser, str(HERE))
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress (-vv for debug output)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, run the benchmarks, print the table and write the JSON."""
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
