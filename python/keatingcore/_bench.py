"""Benchmark harness: run the ``bench_*.py`` files of a folder and record the figures.

A bench file ``bench/bench_<topic>.py`` defines functions named ``bench_*`` that take
no argument (or a keyword ``quick``) and return a list of :class:`Figure`. Each figure
is one timing of ours against a baseline. :func:`run` imports every bench file by its
path, calls every ``bench_*`` function, and collects figures and failures; a failing
benchmark is recorded with its traceback and the run goes on. :func:`write_report`
saves the result as JSON with the machine, the build and the git commit, and
:func:`format_table` renders the text table. ``keatingcore bench`` and
``python -m bench`` both go through :func:`run_cli`.

Timings inside a benchmark use :func:`time_call` (best of several repeats) for fast
calls and one ``time.perf_counter`` interval for slow ones. A benchmark should also
check what it times (convergence, agreement with the baseline) and raise if that fails.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._result import _format_seconds

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FUNCTION_PREFIX = "bench_"
MAX_WARNINGS = 10


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured figure: our time for a unit of work, against a baseline.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"backdoor.logistic_point"``.
    value : float
        Our seconds per unit of work.
    unit : str
        The unit of work, e.g. ``"point"`` or ``"100x100 grid"``.
    baseline : str, optional
        What we compare with.
    baseline_value : float, optional
        The baseline's seconds for the same unit of work.
    goal : str, optional
        The target, as text (e.g. ``"< 2 ms; >= 100x"``).
    note : str
        Anything a reader needs: problem size, threads, whether the baseline was
        extrapolated, measured agreement.
    extra : dict
        Further JSON-ready numbers (iterations, differences, ...).

    Attributes
    ----------
    ratio : float or None
        Speed-up ``baseline_value / value``; ``None`` without a baseline.
    """

    name: str
    value: float
    unit: str = "call"
    baseline: str | None = None
    baseline_value: float | None = None
    goal: str | None = None
    note: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None or not self.value > 0:
            return None
        return self.baseline_value / self.value

    def to_dict(self) -> dict[str, Any]:
        """The fields and the ratio as a JSON-ready ``dict``."""
        out = dataclasses.asdict(self)
        out["ratio"] = self.ratio
        return _jsonable(out)


def time_call(
    fn: Callable[[], Any], *, min_time: float = 0.2, repeat: int = 5
) -> float:
    """Best wall-clock seconds per call of ``fn``.

    After one warm-up call, each of ``repeat`` rounds calls ``fn`` until ``min_time``
    seconds have passed and divides by the number of calls; the minimum over the
    rounds is returned (the least disturbed estimate).

    Parameters
    ----------
    fn : callable
        Called with no arguments.
    min_time : float
        Seconds each round runs at least, >= 0.
    repeat : int
        Number of rounds, >= 1.

    Returns
    -------
    float
        Seconds per call.
    """
    if not min_time >= 0:
        raise ValueError(f"min_time must be >= 0, got {min_time!r}")
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat!r}")
    fn()
    best = math.inf
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


# --- discovery -------------------------------------------------------------------


def _package_name(bench_dir: Path) -> str:
    digest = hashlib.sha1(str(bench_dir).encode()).hexdigest()[:12]
    return f"_keatingcore_bench_{digest}"


def _bench_package(bench_dir: Path) -> str:
    """A fresh synthetic package whose path is ``bench_dir``.

    Bench files are loaded as its submodules, so ``from . import helper`` works in
    them without ``bench_dir`` on ``sys.path``. Earlier loads are dropped, so a
    second run sees edited files.
    """
    name = _package_name(bench_dir)
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(bench_dir)]
    sys.modules[name] = package
    return name


def _load(package: str, path: Path) -> types.ModuleType:
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _functions(module: types.ModuleType) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The module's own ``bench_*`` functions, in definition order."""
    for name, obj in list(vars(module).items()):
        if (
            name.startswith(FUNCTION_PREFIX)
            and inspect.isfunction(obj)
            and obj.__module__ == module.__name__
        ):
            yield name, obj


# --- running ---------------------------------------------------------------------


def _as_figures(result: Any, where: str) -> list[Figure]:
    if isinstance(result, Figure):
        return [result]
    if isinstance(result, str | bytes) or not hasattr(result, "__iter__"):
        raise TypeError(
            f"{where} must return a list of Figure, got {type(result).__name__}"
        )
    figures = list(result)
    for item in figures:
        if not isinstance(item, Figure):
            raise TypeError(
                f"{where} must return a list of Figure, found {type(item).__name__}"
            )
    return figures


def _failure(name: str, exc: BaseException) -> dict[str, Any]:
    """``benchmark``, ``error`` (one line) and ``traceback`` of a failure."""
    return {
        "benchmark": name,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)
        ),
    }


def _call(name: str, func: Callable[..., Any], quick: bool) -> dict[str, Any]:
    """Run one benchmark function, recording any ``Exception`` instead of raising."""
    record: dict[str, Any] = {
        "name": name,
        "status": "ok",
        "seconds": 0.0,
        "figures": [],
        "error": None,
        "traceback": None,
    }
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            takes_quick = "quick" in inspect.signature(func).parameters
            result = func(quick=quick) if takes_quick else func()
            record["figures"] = _as_figures(result, name)
        except Exception as exc:  # a failing benchmark must not stop the run
            failure = _failure(name, exc)
            record.update(
                status="error", error=failure["error"], traceback=failure["traceback"]
            )
            logger.debug("benchmark %s failed", name, exc_info=True)
    record["seconds"] = time.perf_counter() - start
    seen: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.append(text)
    record["warnings"] = seen[:MAX_WARNINGS]
    record["n_warnings"] = len(caught)
    return record


def run(
    bench_dir: str | os.PathLike[str] = "bench",
    only: str | None = None,
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Discover and run every benchmark in a folder.

    Parameters
    ----------
    bench_dir : path
        Folder holding ``bench_*.py`` files (need not be a package or on
        ``sys.path``; sibling modules are importable with ``from . import name``).
    only : str, optional
        Run only benchmarks whose full name ``<file stem>.<function>`` contains it.
    quick : bool
        Passed to benchmark functions that take a ``quick`` keyword (smaller sizes).
    progress : callable, optional
        Called with a one-line message before each benchmark (the CLI shows them).

    Returns
    -------
    dict
        The JSON-ready report: ``schema``, ``timestamp`` (UTC, ISO 8601),
        ``machine``, ``build_info``, ``git_commit``, ``git_dirty``, ``bench_dir``,
        ``only``, ``quick``, ``elapsed``, ``benchmarks`` (one record per function:
        name, status, seconds, warnings, error), ``figures`` (each with the
        ``benchmark`` that produced it) and ``failures`` (name, error, traceback;
        import errors of a bench file included).

    Raises
    ------
    FileNotFoundError
        If ``bench_dir`` is not a folder.
    """
    root = Path(bench_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"bench folder not found: {bench_dir}")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    package = _bench_package(root)
    records: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for path in sorted(root.glob(f"{FUNCTION_PREFIX}*.py")):
        try:
            module = _load(package, path)
        except Exception as exc:
            if only is None or only in path.stem:
                failures.append(_failure(f"{path.stem} (import)", exc))
            else:
                logger.warning("skipped %s, which failed to import: %s", path.name, exc)
            continue
        for fname, func in _functions(module):
            name = f"{path.stem}.{fname}"
            if only is not None and only not in name:
                continue
            if progress is not None:
                progress(f"running {name}")
            logger.info("running benchmark %s", name)
            records.append(_call(name, func, quick))
    figures = []
    for record in records:
        figures += [
            dict(f.to_dict(), benchmark=record["name"]) for f in record.pop("figures")
        ]
        tb = record.pop("traceback")
        if record["status"] == "error":
            failures.append(
                {"benchmark": record["name"], "error": record["error"], "traceback": tb}
            )
    commit, dirty = git_state(root)
    report = {
        "schema": SCHEMA_VERSION,
        "timestamp": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine_info(),
        "build_info": _build_info(),
        "git_commit": commit,
        "git_dirty": dirty,
        "bench_dir": str(root),
        "only": only,
        "quick": bool(quick),
        "elapsed": time.perf_counter() - t0,
        "benchmarks": records,
        "figures": figures,
        "failures": failures,
    }
    return _jsonable(report)


# --- environment -----------------------------------------------------------------


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info() -> dict[str, Any]:
    """Platform, CPU model and counts of the machine running the benchmarks."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
    }


def _build_info() -> dict[str, Any]:
    try:
        from ._config import build_info

        return build_info()
    except Exception as exc:  # the report is still useful without it
        return {"error": f"{type(exc).__name__}: {exc}"}


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(root: str | os.PathLike[str]) -> tuple[str | None, bool | None]:
    """Commit hash of the repository holding ``root`` and whether tracked files
    differ from it (``(None, None)`` outside git)."""
    commit = _git(Path(root), "rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git(Path(root), "status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


# --- output ----------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, non-finite floats to ``None``."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return _jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)


def default_path(report: dict[str, Any]) -> Path:
    """``<bench_dir>/results/bench-<UTC timestamp>.json``."""
    stamp = report["timestamp"].replace("-", "").replace(":", "")
    return Path(report["bench_dir"]) / "results" / f"bench-{stamp}.json"


def write_report(
    report: dict[str, Any], out: str | os.PathLike[str] | None = None
) -> Path:
    """Write the report as JSON (to :func:`default_path` unless ``out`` is given)."""
    path = default_path(report) if out is None else Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(report), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def format_seconds(seconds: float | None) -> str:
    """Seconds with a readable unit, ``"-"`` for a missing value."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    return _format_seconds(seconds)


def format_table(report: dict[str, Any]) -> str:
    """The figures (and failures) as an aligned text table."""
    head = ("name", "ours", "baseline", "baseline time", "ratio", "goal")
    rows = []
    for f in report["figures"]:
        ratio = f.get("ratio")
        rows.append(
            (
                f["name"],
                f"{format_seconds(f['value'])}/{f['unit']}",
                f.get("baseline") or "-",
                format_seconds(f.get("baseline_value")),
                "-" if ratio is None else f"{ratio:.3g}x",
                f.get("goal") or "-",
            )
        )
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    if not rows:
        lines.append("(no figures)")
    for fail in report["failures"]:
        lines.append(f"FAILED {fail['benchmark']}: {fail['error']}")
    for record in report["benchmarks"]:
        if record.get("warnings"):
            lines.append(
                f"warnings in {record['name']} ({record['n_warnings']}): "
                + "; ".join(w.splitlines()[0] for w in record["warnings"])
            )
    return "\n".join(line.rstrip() for line in lines)


def compare(
    report: dict[str, Any], old: dict[str, Any], noise: float = 0.25
) -> list[dict[str, Any]]:
    """Figures whose time grew by more than the noise band against an older report.

    Parameters
    ----------
    report, old : dict
        Reports as written by :func:`write_report`.
    noise : float
        Relative band treated as noise (0.25: a figure must be 25 % slower to count;
        timings on a shared 2-core machine move by 10-20 % between runs).

    Returns
    -------
    list of dict
        ``name``, ``old``, ``new`` (seconds per unit) and ``change`` (new/old - 1)
        for every figure present in both reports, with ``regressed`` set where the
        change exceeds ``noise``.
    """
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    before = {f["name"]: f["value"] for f in old.get("figures", [])}
    rows = []
    for fig in report["figures"]:
        prev = before.get(fig["name"])
        if prev is None or not prev > 0 or fig["value"] is None:
            continue
        change = fig["value"] / prev - 1.0
        rows.append(
            {
                "name": fig["name"],
                "old": prev,
                "new": fig["value"],
                "change": change,
                "regressed": change > noise,
            }
        )
    return rows


def format_comparison(rows: list[dict[str, Any]], noise: float) -> str:
    """The comparison as a text table."""
    lines = [f"against the older report (noise band {100 * noise:.0f} %):"]
    for r in rows:
        flag = "REGRESSION" if r["regressed"] else "ok"
        lines.append(
            f"  {r['name']:<40} {format_seconds(r['old']):>10} -> "
            f"{format_seconds(r['new']):>10}  {100 * r['change']:+6.1f} %  {flag}"
        )
    return "\n".join(lines)


def add_arguments(parser: Any, bench_dir: str) -> None:
    """The flags shared by ``keatingcore bench`` and ``python -m bench``."""
    parser.add_argument(
        "--bench-dir",
        default=bench_dir,
        help=f"folder holding bench_*.py files (default: {bench_dir})",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="run benchmarks whose <file>.<function> name has this",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="JSON output path (default: bench/results/bench-<time>.json)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller problem sizes, for a fast check"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="OLD.json",
        help="flag figures slower than in an older report",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.25,
        help="relative slow-down treated as noise (default 0.25)",
    )


def run_cli(args: Any) -> int:
    """Run, print the table, write the JSON; the exit status is 1 if anything failed.

    ``args`` needs ``bench_dir``, ``only`` and ``out``; ``quick`` is optional.
    """

    def progress(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    quick = bool(getattr(args, "quick", False))
    report = run(args.bench_dir, only=args.only, quick=quick, progress=progress)
    path = write_report(report, args.out)
    sys.stdout.write(format_table(report) + "\n")
    sys.stdout.write(f"results written to {path}\n")
    regressed = False
    if getattr(args, "compare", None) is not None:
        noise = float(getattr(args, "noise", 0.25))
        rows = compare(report, json.loads(Path(args.compare).read_text()), noise)
        sys.stdout.write(format_comparison(rows, noise) + "\n")
        regressed = any(r["regressed"] for r in rows)
    return 1 if report["failures"] or regressed else 0
