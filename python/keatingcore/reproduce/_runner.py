"""The resumable runner behind ``keatingcore reproduce``."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._config import build_info
from .._plotting import save_figure

logger = logging.getLogger(__name__)

SIDECAR = "result.json"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one step produces.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    header : list of str
        Column names of the numbers.
    rows : list of sequences
        The numbers behind the figure.
    check : str
        The check, stated with its measured value, e.g.
        ``"theory vs simulation: max |z| = 1.4 (pass below 3.5)"``.
    passed : bool
    settings : dict
        Every setting and seed the step used.
    """

    figure: Any
    header: list[str]
    rows: list[Sequence[Any]]
    check: str
    passed: bool
    settings: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Step:
    """One headline result: ``run(quick, data_dir)`` returns an :class:`Outcome`."""

    name: str
    topic: str
    title: str
    run: Callable[[bool, Path | None], Outcome]
    needs_data_dir: bool = False


@dataclasses.dataclass(frozen=True)
class ReproduceReport:
    """Records of every step (fresh or reused) and where the report is."""

    records: list[dict[str, Any]]
    index: Path
    computed: list[str]
    skipped: list[str]

    @property
    def passed(self) -> bool:
        return all(r["passed"] for r in self.records)


def _finished(folder: Path, mode: str) -> dict[str, Any] | None:
    """The step's record if every file of it is there and readable, else None."""
    files = [folder / SIDECAR, folder / "numbers.csv", folder / "figure.png"]
    if not all(f.exists() for f in files):
        return None
    try:
        record = json.loads(files[0].read_text())
    except (ValueError, OSError):
        logger.warning("%s is unreadable; the step is computed again", files[0])
        return None
    return record if isinstance(record, dict) and record.get("mode") == mode else None


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _write_step(
    step: Step, outcome: Outcome, folder: Path, mode: str, elapsed: float
) -> dict[str, Any]:
    # Everything goes to a scratch folder first; the rename publishes it whole.
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    save_figure(outcome.figure, scratch / "figure")
    with (scratch / "numbers.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(outcome.header)
        writer.writerows(outcome.rows)
    record = {
        "name": step.name,
        "topic": step.topic,
        "title": step.title,
        "mode": mode,
        "check": outcome.check,
        "passed": bool(outcome.passed),
        "settings": outcome.settings,
        "elapsed": elapsed,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build": build_info(),
    }
    (scratch / SIDECAR).write_text(json.dumps(record, indent=2, default=str) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(scratch, folder)
    return record


def _write_index(out: Path, records: list[dict[str, Any]], mode: str) -> Path:
    n_pass = sum(r["passed"] for r in records)
    lines = [
        "# keatingcore reproduce",
        "",
        f"Mode: {mode}. {n_pass} of {len(records)} checks passed. keatingcore "
        f"{records[0]['build']['version'] if records else ''}.",
        "",
        "| result | check | status |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| [{_cell(r['title'])}](#{r['name']}) | {_cell(r['check'])} | "
        f"{'pass' if r['passed'] else '**FAIL**'} |"
        for r in records
    ]
    for r in records:
        lines += [
            "",
            f"## {r['title']}",
            f'<a id="{r["name"]}"></a>',
            "",
            f"![{r['name']}]({r['name']}/figure.png)",
            "",
            f"- check: {r['check']} — **{'pass' if r['passed'] else 'FAIL'}**",
            f"- numbers: [{r['name']}/numbers.csv]({r['name']}/numbers.csv), "
            f"settings: [{r['name']}/{SIDECAR}]({r['name']}/{SIDECAR})",
            f"- computed in {r['elapsed']:.1f} s",
        ]
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _progress_bar(total: int, enabled: bool | None):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="reproduce", unit="result")


def reproduce(
    steps: Sequence[Step],
    out: str | Path,
    *,
    quick: bool = True,
    data_dir: str | Path | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> ReproduceReport:
    """Run the steps, skipping those already finished in ``out`` in the same mode.

    Parameters
    ----------
    steps : sequence of Step
        E.g. ``[s for s in STEPS if s.topic == "backdoor"]``.
    out : path
        Output folder: one subfolder per step and ``index.md``.
    quick : bool
        Quick settings (the whole of ``STEPS`` in minutes on 2 cores) or full ones.
    data_dir : path, optional
        CIFAR-10 archive or folder; steps that need it are skipped without it.
    force : bool
        Recompute finished steps too.
    progress : bool, optional
        Progress bar (default: when stderr is a terminal).

    Returns
    -------
    ReproduceReport
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mode = "quick" if quick else "full"
    data = None if data_dir is None else Path(data_dir)
    records, computed, skipped = [], [], []
    bar = _progress_bar(len(steps), progress)
    for step in steps:
        folder = out / step.name
        record = None if force else _finished(folder, mode)
        if record is None and step.needs_data_dir and data is None:
            logger.info("%s: skipped, needs --data-dir", step.name)
        elif record is not None:
            skipped.append(step.name)
        else:
            logger.info("%s: computing", step.name)
            start = time.perf_counter()
            outcome = step.run(quick, data)
            record = _write_step(
                step, outcome, folder, mode, time.perf_counter() - start
            )
            computed.append(step.name)
        if record is not None:
            records.append(record)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    # The report also lists finished results of earlier runs into the same folder
    # (another topic, say), so index.md always covers the whole folder.
    names = {step.name for step in steps}
    others = [
        r
        for folder in sorted(out.iterdir())
        if folder.is_dir()
        and folder.name not in names
        and (r := _finished(folder, mode)) is not None
    ]
    index = _write_index(out, records + others, mode)
    return ReproduceReport(records, index, computed, skipped)
