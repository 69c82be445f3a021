"""The sweep driver: validate, open the store, run the missing chunks, assemble."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import operator
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from .._config import check_num_threads, get_num_threads
from ..warnings import ConvergenceWarning
from ._chunk import Outputs, evaluate_chunk
from ._dask import import_distributed, run_dask, usable_cores
from ._grid import POINT_ID, Grid, as_grid
from ._identity import digest, sweep_identity
from ._result import SweepRun
from ._store import MemoryStore, ParquetStore

logger = logging.getLogger(__name__)

BACKENDS = ("local", "dask")
#: Chunks a grid is cut into when ``chunk_size`` is not given.
DEFAULT_N_CHUNKS = 100


# --- validation ------------------------------------------------------------------


def _check_chunk_size(chunk_size: Any, n_points: int) -> int:
    if chunk_size is None:
        return max(1, -(-n_points // DEFAULT_N_CHUNKS))
    if isinstance(chunk_size, bool):
        raise TypeError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    try:
        value = operator.index(chunk_size)
    except TypeError:
        raise TypeError(f"chunk_size must be an int >= 1, got {chunk_size!r}") from None
    if value < 1:
        raise ValueError(f"chunk_size must be >= 1, got {value}")
    return value


def _check_num_workers(num_workers: Any) -> int | None:
    if num_workers is None:
        return None
    if isinstance(num_workers, bool):
        raise TypeError(f"num_workers must be an int >= 1, got {num_workers!r}")
    try:
        value = operator.index(num_workers)
    except TypeError:
        raise TypeError(
            f"num_workers must be an int >= 1 or None, got {num_workers!r}"
        ) from None
    if value < 1:
        raise ValueError(f"num_workers must be >= 1, got {value}")
    return value


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none
        return None


def _takes_num_threads(sig: inspect.Signature | None) -> bool:
    return sig is not None and "num_threads" in sig.parameters


def _check_call(
    sig: inspect.Signature | None, grid: Grid, fn_kwargs: Mapping[str, Any]
) -> None:
    """Fail before any work if ``fn`` cannot take the grid's parameters."""
    if sig is None:
        return
    try:
        sig.bind(**dict.fromkeys(grid.names), **fn_kwargs)
    except TypeError as exc:
        raise TypeError(
            f"fn cannot be called with the grid's parameters {list(grid.names)} and "
            f"fn_kwargs {list(fn_kwargs)}: {exc}"
        ) from None


def _check_client(backend: str, client: Any, num_workers: int | None) -> None:
    if backend == "local" and client is not None:
        raise ValueError("client is for backend='dask'; the local backend takes none")
    if client is not None and num_workers is not None:
        raise ValueError(
            "num_workers sizes the LocalCluster that sweep starts; with a client "
            "the cluster is already sized, so leave num_workers=None"
        )


# --- running ---------------------------------------------------------------------


def _run_local(
    todo: list[int],
    compute: Callable[[int], tuple[Outputs, float]],
    on_done: Callable[[int, tuple[Outputs, float]], None],
    num_workers: int,
) -> None:
    """Run chunks on a thread pool, keeping exactly ``num_workers`` in flight.

    The next chunk is submitted before a finished one is written, so writing the
    store overlaps computing. After an error no new chunk starts; those in flight
    finish and are written, then the error is raised.
    """
    chunks = iter(todo)
    running = {}
    error: BaseException | None = None
    with ThreadPoolExecutor(num_workers, thread_name_prefix="keatingcore-sweep") as ex:

        def submit() -> None:
            k = next(chunks, None)
            if k is not None:
                running[ex.submit(compute, k)] = k

        for _ in range(num_workers):
            submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                k = running.pop(future)
                try:
                    result = future.result()
                except Exception as exc:
                    if error is None:
                        error = _annotate(exc, k)
                    continue
                if error is None:
                    submit()
                on_done(k, result)
    if error is not None:
        raise error


def _annotate(exc: BaseException, k: int) -> BaseException:
    if hasattr(exc, "add_note"):
        exc.add_note(f"(raised by fn on sweep chunk {k})")
    return exc


def _check_progress(show: Any) -> None:
    if show is not None and not isinstance(show, bool | np.bool_):
        raise TypeError(f"progress must be True, False or None, got {show!r}")


def _progress_bar(show: bool | None, total: int, initial: int, desc: str) -> Any:
    enabled = sys.stderr.isatty() if show is None else bool(show)
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="chunk",
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _assemble(
    tables: dict[int, dict[str, np.ndarray]], grid: Grid
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    names = tuple(tables[0])
    for k in sorted(tables):
        if set(tables[k]) != set(names):
            raise ValueError(
                f"chunk {k} has columns {sorted(tables[k])}, chunk 0 has "
                f"{sorted(names)}: fn must return the same outputs for every chunk"
            )
    order = sorted(tables)
    table = {name: np.concatenate([tables[k][name] for k in order]) for name in names}
    if not np.array_equal(table[POINT_ID], np.arange(grid.n_points)):
        raise RuntimeError("the store's point numbers are not 0..n-1: corrupt store")
    outputs = tuple(n for n in names if n != POINT_ID and n not in grid.columns)
    ordered = {POINT_ID: table[POINT_ID]}
    ordered.update((n, table[n]) for n in grid.names)
    ordered.update((n, table[n]) for n in outputs)
    return ordered, outputs


def _warn_unconverged(table: dict[str, np.ndarray]) -> None:
    flag = table.get("converged")
    if flag is None or flag.dtype != bool or flag.all():
        return
    warnings.warn(
        f"sweep: {int((~flag).sum())} of {flag.size} point(s) did not converge "
        "(see the 'converged' column); the solver's options (max_iter, damping) "
        "can be passed through the function",
        ConvergenceWarning,
        stacklevel=3,
    )


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A validated sweep: what to call, on which chunks, where."""

    fn: Callable[..., Any]
    grid: Grid
    chunk_size: int
    backend: str
    client: Any
    workers: int
    call_kwargs: dict[str, Any]
    identity: dict[str, Any]

    @property
    def n_chunks(self) -> int:
        return self.grid.n_chunks(self.chunk_size)

    def rows(self, k: int) -> int:
        first, stop = self.grid.chunk_range(k, self.chunk_size)
        return stop - first

    def columns(self, k: int) -> dict[str, np.ndarray]:
        return self.grid.points(*self.grid.chunk_range(k, self.chunk_size))

    def table(self, k: int, outputs: Outputs) -> dict[str, np.ndarray]:
        first, stop = self.grid.chunk_range(k, self.chunk_size)
        return {POINT_ID: np.arange(first, stop), **self.columns(k), **outputs}


def _plan(
    fn: Callable[..., Any],
    grid: Any,
    backend: str,
    chunk_size: Any,
    client: Any,
    num_workers: Any,
    num_threads: Any,
    fn_kwargs: Mapping[str, Any] | None,
) -> _Plan:
    """Check every argument, before any work, and settle the defaults."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    g = as_grid(grid)
    chunk_size = _check_chunk_size(chunk_size, g.n_points)
    num_workers = _check_num_workers(num_workers)
    _check_client(backend, client, num_workers)
    fn_kwargs = dict(fn_kwargs or {})
    clash = sorted(set(fn_kwargs) & (set(g.names) | {"num_threads"}))
    if clash:
        raise ValueError(
            f"fn_kwargs repeats {clash}: grid parameters and num_threads are set by "
            "sweep itself"
        )
    sig = _signature(fn)
    _check_call(sig, g, fn_kwargs)
    threads = None if num_threads is None else check_num_threads(num_threads)
    if threads is not None and not _takes_num_threads(sig):
        raise TypeError("fn has no num_threads parameter; leave num_threads=None")
    check_grid = getattr(fn, "check_grid", None)
    if callable(check_grid):
        check_grid(g)

    if backend == "dask":
        import_distributed()  # fail before touching the store
        workers = num_workers or usable_cores()
        per_call = threads or 1
    else:
        workers = num_workers or 1
        per_call = threads or (None if workers == 1 else _share_threads(workers))
    call_kwargs = dict(fn_kwargs)
    if _takes_num_threads(sig):
        call_kwargs["num_threads"] = per_call
    identity = sweep_identity(fn, fn_kwargs, g, chunk_size)
    return _Plan(fn, g, chunk_size, backend, client, workers, call_kwargs, identity)


def _share_threads(workers: int) -> int:
    return max(1, get_num_threads() // workers)


def _execute(plan: _Plan, todo: list[int], on_done: Callable[..., None]) -> None:
    """Compute the chunks in ``todo`` on the plan's backend."""
    if not todo:
        return
    if plan.backend == "local":
        _run_local(
            todo,
            lambda k: evaluate_chunk(plan.fn, plan.columns(k), plan.call_kwargs),
            on_done,
            plan.workers,
        )
        return
    run_dask(
        todo,
        plan.fn,
        plan.columns,
        plan.call_kwargs,
        on_done,
        client=plan.client,
        num_workers=plan.workers,
        key_prefix=f"keatingcore-sweep-{digest(plan.identity)[:16]}",
    )


def sweep(
    fn: Callable[..., Any],
    grid: Any,
    *,
    backend: str = "local",
    chunk_size: int | None = None,
    store: str | os.PathLike[str] | None = None,
    client: Any = None,
    num_workers: int | None = None,
    num_threads: int | None = None,
    fn_kwargs: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> SweepRun:
    """Evaluate a vectorised function over a parameter grid, chunk by chunk.

    Each chunk of points is one call ``fn(**columns, **fn_kwargs)`` on 1-D arrays
    (for the package's functions, one C++ call with the GIL released). Finished
    chunks go to ``store`` as they come; calling again with the same store computes
    only the chunks it lacks, so a sweep killed midway (even by SIGKILL) loses at
    most the chunks in flight: those being computed (``num_workers`` locally, twice
    the worker threads on Dask) and the one being written. Ctrl-C stops once the
    chunks being computed locally finish.

    Parameters
    ----------
    fn : callable
        Takes the grid's parameters as keyword arrays of equal length n and returns
        a dict of 1-D arrays of length n (or one such array, stored as ``"value"``).
        The package's vectorised functions qualify, e.g.
        :func:`keatingcore.landscape.complexity`; for the backdoor fixed point use
        :func:`~keatingcore.sweeps.backdoor_points`. An output named ``converged``
        (bool) is checked and a :class:`~keatingcore.warnings.ConvergenceWarning`
        names how many points failed. With ``backend="dask"`` fn must be picklable
        and importable on the workers.
    grid : dict, Grid, DataFrame or structured array
        A dict of name -> 1-D array is the Cartesian product of the axes in C order
        (the last varies fastest); a :class:`Grid`, DataFrame or structured array
        gives the points row by row (:meth:`Grid.table`). Points are numbered
        ``0 .. n - 1`` in this order (the ``point_id`` column).
    backend : {"local", "dask"}
        "local": chunks run on a pool of ``num_workers`` threads in this process.
        "dask": chunks run as tasks on a ``dask.distributed`` cluster (needs
        ``pip install keatingcore[distributed]``); results are identical.
    chunk_size : int, optional
        Points per chunk (default: the grid in about 100 chunks). Aim for chunks of
        0.5 s or more: the engine costs about 0.1 ms per chunk in memory, 1-4 ms
        with a store (mostly the fsync) and several ms per task on Dask, most of it
        overlapped with computing.
    store : path-like, optional
        Folder of the on-disk store (one Parquet file per chunk; needs pyarrow).
        ``None`` keeps results in memory only. A store made by another sweep
        (another fn, settings, grid or chunk_size) is refused with
        :class:`StoreMismatchError`; a store in use by another process is refused.
    client : None, str, dask Client or cluster, optional
        Dask only. ``None`` starts a ``LocalCluster`` of ``num_workers`` worker
        processes, one thread each, listening on 127.0.0.1 only, and shuts it down
        at the end. A scheduler address (``"tcp://host:8786"``) is connected to;
        a ``distributed.Client`` (or a cluster object) is used as is and left open.
    num_workers : int, optional
        Local: concurrent chunks (default 1: chunks in sequence, each using the
        function's own threads). Dask: worker processes of the LocalCluster sweep
        starts (default: the usable cores).
    num_threads : int, optional
        Threads per call, for functions with a ``num_threads`` parameter. Default:
        the package default divided among local workers; 1 per task on Dask, where
        the cluster's worker threads are the parallelism.
    fn_kwargs : dict, optional
        Fixed keyword arguments of every call; part of the store's identity.
    progress : bool, optional
        tqdm bar over chunks on stderr (default: when stderr is a terminal).

    Returns
    -------
    SweepRun
        The table (``point_id``, parameters, outputs) in point order, counts of
        chunks computed and skipped, timings and the store path.

    Raises
    ------
    ValueError
        Bad ``grid``, ``chunk_size``, ``backend`` or ``num_workers``.
    StoreMismatchError
        ``store`` holds another sweep.
    ImportError
        ``backend="dask"`` without dask.distributed, or a store without pyarrow.

    Notes
    -----
    The dask backend's default cluster uses worker processes: a pure-Python fn
    holds the GIL, so threads would serialise it, and processes exercise the same
    pickling as a multi-machine cluster. Processes are spawned, so a script that
    calls ``sweep(..., backend="dask")`` needs an ``if __name__ == "__main__":``
    guard. A plain function is known to the store by its qualified name only:
    after editing its code, use a new store.

    Examples
    --------
    >>> import numpy as np
    >>> import keatingcore
    >>> from keatingcore.landscape import complexity
    >>> run = keatingcore.sweep(
    ...     complexity, {"u": np.linspace(-1.7, -1.6, 4), "p": [3, 4]}, chunk_size=4
    ... )
    >>> run.on_grid("value").shape
    (4, 2)
    """
    start = time.perf_counter()
    _check_progress(progress)
    plan = _plan(
        fn, grid, backend, chunk_size, client, num_workers, num_threads, fn_kwargs
    )
    n_chunks = plan.n_chunks
    if store is None:
        target: MemoryStore | ParquetStore = MemoryStore()
    else:
        target = ParquetStore(store, plan.identity, n_chunks, plan.rows)
    tables: dict[int, dict[str, np.ndarray]] = {}
    computed = [0, 0.0]  # chunks, seconds inside fn
    bar = None
    try:
        done = target.done()
        todo = [k for k in range(n_chunks) if k not in done]
        name = plan.identity["fn"]
        logger.info(
            "sweep %s: %d points in %d chunks of %d, %d in the store; %s backend",
            name,
            plan.grid.n_points,
            n_chunks,
            plan.chunk_size,
            len(done),
            backend,
        )
        bar = _progress_bar(
            progress, n_chunks, len(done), f"sweep {name.rsplit('.', 1)[-1]}"
        )

        def on_done(k: int, result: tuple[Outputs, float]) -> None:
            table = plan.table(k, result[0])
            target.write(k, table)
            tables[k] = table
            computed[0] += 1
            computed[1] += result[1]
            if bar is not None:
                bar.update(1)

        _execute(plan, todo, on_done)
        for k in sorted(done):
            tables[k] = target.read(k)
    finally:
        if bar is not None:
            bar.close()
        target.close()

    table, outputs = _assemble(tables, plan.grid)
    _warn_unconverged(table)
    run = SweepRun(
        table=table,
        grid=plan.grid,
        inputs=plan.grid.names,
        outputs=outputs,
        n_chunks=n_chunks,
        n_computed=int(computed[0]),
        n_skipped=len(done),
        elapsed=time.perf_counter() - start,
        compute_seconds=float(computed[1]),
        backend=backend,
        store=target.path,
    )
    logger.info("%r", run)
    return run


__all__ = ["BACKENDS", "sweep"]
