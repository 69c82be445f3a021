"""Build configuration report and the package-wide thread setting."""

from __future__ import annotations

import importlib.metadata
import operator
import platform
import sys
from typing import Any

from . import _core


def set_num_threads(n: int) -> None:
    """Set the number of threads parallel kernels use when ``num_threads`` is not given.

    Parameters
    ----------
    n : int
        A positive thread count. A build without OpenMP always runs one thread.
    """
    _core.set_default_threads(check_num_threads(n, "n"))


def get_num_threads() -> int:
    """Threads a parallel kernel uses by default (1 in a build without OpenMP)."""
    return _core.resolve_threads(0)


def check_num_threads(n: Any, name: str = "num_threads") -> int:
    """Validate a thread count: ``None`` means the package default, else an int >= 1."""
    if n is None:
        return 0
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an int >= 1 or None, got {n!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (or None for the default), got {value}")
    return value


def _version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_info() -> dict[str, Any]:
    """Everything that describes this installation, as a ``dict``.

    Returns
    -------
    dict
        ``version``, ``compiler``, ``cxx_flags``, ``build_type``, ``cxx_standard``,
        ``openmp``, ``num_threads``, ``max_threads``, ``cuda_compiled``,
        ``cuda_devices``, ``cuda_status``, ``python``, ``platform`` and the versions
        of numpy, scipy, matplotlib and torch (``None`` where not installed).
    """
    info = dict(_core.build_info())
    info["num_threads"] = get_num_threads()
    info["max_threads"] = _core.max_threads()
    info["cuda_devices"] = _core.cuda_device_count()
    info["cuda_status"] = _core.cuda_status()
    info["python"] = sys.version.split()[0]
    info["platform"] = platform.platform()
    for package in ("numpy", "scipy", "matplotlib", "torch"):
        info[package] = _version_of(package)
    return info


def format_config(info: dict[str, Any] | None = None) -> str:
    """The configuration report as text, one ``key: value`` per line."""
    info = build_info() if info is None else info
    std = {201703: "C++17", 202002: "C++20"}.get(info["cxx_standard"])
    rows = [
        ("keatingcore", info["version"]),
        ("compiler", f"{info['compiler']} ({info['build_type']})"),
        ("flags", info["cxx_flags"].strip() or "-"),
        ("C++ standard", std or str(info["cxx_standard"])),
        ("OpenMP", f"on, {info['num_threads']} threads" if info["openmp"] else "off"),
        ("CUDA", _cuda_line(info)),
        ("python", f"{info['python']} on {info['platform']}"),
    ]
    rows += [(p, info[p] or "not installed") for p in ("numpy", "scipy", "torch")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}} : {v}" for k, v in rows)


def _cuda_line(info: dict[str, Any]) -> str:
    if not info["cuda_compiled"]:
        return "not compiled"
    return f"compiled, {info['cuda_devices']} device(s): {info['cuda_status']}"


def show_config(file: Any = None) -> None:
    """Print the configuration report (to ``sys.stdout`` unless ``file`` is given)."""
    (sys.stdout if file is None else file).write(format_config() + "\n")
