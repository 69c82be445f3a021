"""Command line of keatingcore.backdoor."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``keatingcore backdoor``."""
    sub.add_parser("backdoor", help="backdoor-attack theory, simulation and sweeps")
