"""``keatingcore sweep-status STORE``: what a sweep store holds and what is missing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._store import store_status


def _ranges(numbers: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` as ``"0-2, 5, 7-8"``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return text or "none"


def format_status(status: dict[str, Any]) -> str:
    """The status of :func:`~keatingcore.sweeps.store_status` as text."""
    ident = status["identity"]
    shape = " x ".join(str(n) for n in ident["grid_shape"])
    names = ", ".join(ident["grid_names"])
    in_use = {True: "yes", False: "no", None: "unknown"}[status["in_use"]]
    rows = [
        ("store", status["path"]),
        ("function", ident["fn"]),
        ("grid", f"{ident['grid_kind']} of {names} ({shape}; {ident['n_points']} pts)"),
        ("chunks", f"{status['n_done']} of {status['n_chunks']} done"),
        ("missing", _ranges(status["missing"])),
        ("set aside", ", ".join(status["set_aside"]) or "none"),
        ("in use", in_use),
        (
            "created",
            f"{status['created']} by keatingcore {status['keatingcore_version']}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}} : {v}" for k, v in rows)


def _run(args: argparse.Namespace) -> int:
    status = store_status(args.store)
    if args.json:
        sys.stdout.write(json.dumps(status, indent=2) + "\n")
    else:
        sys.stdout.write(format_status(status) + "\n")
    return 0 if not status["missing"] else 2


def add_parser(sub: Any) -> None:
    """Register ``sweep-status`` on the ``keatingcore`` subparsers."""
    parser = sub.add_parser(
        "sweep-status",
        help="show what a sweep store holds and which chunks are missing",
        description=(
            "Read a store written by keatingcore.sweep (without locking it) and show "
            "its function, grid and chunks. Exit status 0 when complete, 2 when "
            "chunks are missing."
        ),
    )
    parser.add_argument("store", help="the store folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead")
    parser.set_defaults(func=_run)
