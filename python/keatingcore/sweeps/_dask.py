"""The dask.distributed backend: chunks as tasks, results written by the caller.

Only a short window of chunks is submitted at a time (twice the cluster's worker
threads), so the scheduler never holds more than a few dozen tasks however large the
grid, and a killed sweep loses at most that window. Workers only compute; the process
that called :func:`keatingcore.sweep` writes the store, so workers need no shared
filesystem. Task keys are derived from the sweep's identity and the chunk number, so
resubmitting a chunk to the same cluster is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._chunk import Outputs, evaluate_pickled

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install keatingcore[distributed]"
LOOPBACK = "127.0.0.1"


def import_distributed() -> Any:
    """The ``distributed`` module, or an ImportError saying what to install."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"backend='dask' needs dask.distributed: {INSTALL_HINT}"
        ) from exc
    return distributed


def local_cluster(num_workers: int | None = None, **kwargs: Any) -> Any:
    """A ``distributed.LocalCluster`` that listens on 127.0.0.1 only.

    Worker processes with one thread each; no dashboard, and the scheduler's small
    HTTP endpoint on a free loopback port (not 8787, so several clusters can run).
    Use it as a context manager and pass it (or a Client of it) to several sweeps
    to pay the start-up (about 1-2 s) once. ``processes=False`` gives thread
    workers in this process that talk in memory (no sockets but the HTTP one):
    cheaper, but only for functions that release the GIL.

    Parameters
    ----------
    num_workers : int, optional
        Worker processes (default: the usable cores).
    **kwargs
        Passed to ``LocalCluster`` (e.g. ``threads_per_worker``).
    """
    distributed = import_distributed()
    options = {
        "n_workers": num_workers or usable_cores(),
        "threads_per_worker": 1,
        "processes": True,
        "host": LOOPBACK,
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": f"{LOOPBACK}:0"},
    }
    options.update(kwargs)
    if not options["processes"]:  # threads in this process talk in memory
        options.pop("host")
        options.setdefault("protocol", "inproc://")
    return distributed.LocalCluster(**options)


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@contextlib.contextmanager
def connect(client: Any, num_workers: int) -> Iterator[Any]:
    """A ``distributed.Client`` for the sweep, closed afterwards if sweep made it.

    ``None`` starts :func:`local_cluster` with ``num_workers`` processes and shuts
    it down at the end; a string is a scheduler address; a Client is used as is; a
    cluster object is wrapped in a new Client.
    """
    distributed = import_distributed()
    if isinstance(client, distributed.Client):
        yield client
        return
    if client is None:
        with (
            local_cluster(num_workers) as cluster,
            distributed.Client(cluster, set_as_default=False) as made,
        ):
            logger.info("started a LocalCluster at %s", cluster.scheduler_address)
            yield made
        return
    if isinstance(client, str) or hasattr(client, "scheduler_address"):
        with distributed.Client(client, set_as_default=False) as made:
            yield made
        return
    raise TypeError(
        "client must be None, a scheduler address, a distributed.Client or a "
        f"cluster, got {type(client).__name__}"
    )


def run_dask(
    todo: list[int],
    fn: Callable[..., Any],
    columns: Callable[[int], dict[str, np.ndarray]],
    kwargs: dict[str, Any],
    on_done: Callable[[int, tuple[Outputs, float]], None],
    *,
    client: Any,
    num_workers: int,
    key_prefix: str,
) -> None:
    """Run the chunks in ``todo`` on a Dask cluster, calling ``on_done`` per chunk.

    ``fn`` is pickled once with cloudpickle and loaded inside each task. On an
    error (in fn, or the cluster) the remaining tasks are cancelled and the error
    is raised; chunks already handed to ``on_done`` stay written.
    """
    distributed = import_distributed()
    import cloudpickle

    payload = cloudpickle.dumps(fn)
    with connect(client, num_workers) as cl:
        threads = sum(cl.nthreads().values()) or num_workers
        window = max(2, 2 * threads)
        chunks = iter(todo)
        in_flight: dict[Any, tuple[int, Any]] = {}  # task key -> (chunk, future)
        pending = distributed.as_completed(loop=cl.loop)

        def submit() -> None:
            k = next(chunks, None)
            if k is None:
                return
            future = cl.submit(
                evaluate_pickled, payload, columns(k), kwargs, key=f"{key_prefix}-{k}"
            )
            in_flight[future.key] = (k, future)
            pending.add(future)

        logger.info("dask: %d chunks, %d in flight at a time", len(todo), window)
        for _ in range(window):
            submit()
        try:
            for future in pending:
                k, _ = in_flight.pop(future.key)
                try:
                    result = future.result()
                except Exception as exc:
                    if hasattr(exc, "add_note"):
                        exc.add_note(f"(raised by fn on sweep chunk {k})")
                    raise
                submit()
                on_done(k, result)
                future.release()
        finally:
            if in_flight:
                cl.cancel([f for _, f in in_flight.values()])
