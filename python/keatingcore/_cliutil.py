"""Argument parsers and writers shared by every ``keatingcore`` subcommand."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def parse_values(text: str) -> np.ndarray:
    """``"a:b:n"`` (n points from a to b), ``"x,y,z"`` or a single number."""
    try:
        if ":" in text:
            a, b, n = text.split(":")
            if int(n) < 1:
                raise ValueError
            return np.linspace(float(a), float(b), int(n))
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected a number, a list 'x,y,z' or a range 'start:stop:count', "
            f"got {text!r}"
        ) from None


def parse_floats(text: str) -> list[float]:
    """The values of :func:`parse_values` as a list of floats."""
    return [float(v) for v in parse_values(text)]


def parse_ints(text: str) -> list[int]:
    """``"a:b"`` (inclusive) or ``"x,y,z"`` of integers."""
    try:
        if ":" in text:
            a, b = text.split(":")
            return list(range(int(a), int(b) + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers 'x,y,z' or a range 'a:b', got {text!r}"
        ) from None


def positive_int(text: str) -> int:
    """An int >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|inf)")


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """Write ``--opt -2:0:5`` as ``--opt=-2:0:5`` so argparse reads it as a value.

    argparse takes a token starting with ``-`` for an option unless it is a plain
    negative number; ranges and lists of negative numbers are common here.
    """
    out: list[str] = []
    for token in argv:
        prev = out[-1] if out else ""
        if NEGATIVE_VALUE.match(token) and prev.startswith("--") and "=" not in prev:
            out[-1] = f"{prev}={token}"
        else:
            out.append(token)
    return out


def write_csv(
    path: Path | None, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a table as CSV (to stdout when ``path`` is None)."""
    if path is None:
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    logger.info("wrote %s", path)


def write_json(path: Path | None, payload: Any) -> None:
    """Write JSON (to stdout when ``path`` is None); numpy scalars become floats."""
    text = json.dumps(payload, indent=2, default=float)
    if path is None:
        sys.stdout.write(text + "\n")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    logger.info("wrote %s", path)
