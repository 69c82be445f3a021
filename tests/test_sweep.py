"""keatingcore.sweep: grids, stores, resume after SIGKILL, local and dask backends."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import keatingcore
from keatingcore import landscape
from keatingcore.backdoor import Setup, solve
from keatingcore.backdoor import sweep as backdoor_sweep
from keatingcore.sweeps import (
    POINT_ID,
    Grid,
    StoreMismatchError,
    StoreWarning,
    backdoor_points,
    local_cluster,
    store_status,
    sweep,
)
from keatingcore.sweeps import _cli as sweeps_cli
from keatingcore.sweeps._store import ParquetStore
from keatingcore.warnings import ConvergenceWarning

needs_pyarrow = pytest.mark.skipif(
    importlib.util.find_spec("pyarrow") is None, reason="a store needs pyarrow"
)

SETUP = Setup(kappa=0.5, lam=0.1, snr=4.0, eps=0.1, alpha=2.0, alpha_test=2.0)
XY = {"x": np.arange(6.0), "y": np.array([10, 20, 30])}


def add_mul(x, y):
    """A user function: two outputs per point."""
    return {"sum": x + y, "prod": x * y}


def other(x, y):
    return {"sum": x - y}


FAIL_AT = [None]


def fails_sometimes(x, y):
    """Raises on the chunk holding x == FAIL_AT[0]."""
    if FAIL_AT[0] is not None and np.any(x == FAIL_AT[0]):
        raise RuntimeError("boom")
    return {"sum": x + y}


def assert_same_table(a, b):
    """Same columns, same values, same dtypes (strings: any width)."""
    assert list(a.table) == list(b.table)
    for name in a.table:
        assert_array_equal(a[name], b[name], err_msg=name)
        if a[name].dtype.kind != "U":
            assert a[name].dtype == b[name].dtype, name


def chunk_files(store):
    return sorted(p.name for p in Path(store, "chunks").glob("chunk-*.parquet"))


# --- grids and results -----------------------------------------------------------


def test_product_grid_is_c_order_with_point_ids():
    run = sweep(add_mul, XY, chunk_size=4)
    X, Y = np.meshgrid(XY["x"], XY["y"], indexing="ij")
    assert_array_equal(run[POINT_ID], np.arange(18))
    assert_array_equal(run["x"], X.ravel())
    assert_array_equal(run["y"], Y.ravel())
    assert_array_equal(run.on_grid("sum"), X + Y)
    assert run["y"].dtype.kind == "i"  # dtypes survive
    assert (run.n_chunks, run.n_computed, run.n_skipped) == (5, 5, 0)
    assert run.inputs == ("x", "y") and run.outputs == ("sum", "prod")
    assert run.store is None and "18 points" in repr(run)


def test_table_grids_in_row_order():
    pd = pytest.importorskip("pandas")
    cols = {"x": np.array([3.0, 1.0, 2.0]), "y": np.array([1, 1, 5])}
    structured = np.array(list(zip(*cols.values(), strict=True)), dtype="f8,i8")
    structured.dtype.names = ("x", "y")
    runs = [
        sweep(add_mul, grid, chunk_size=2)
        for grid in (Grid.table(cols), pd.DataFrame(cols), structured)
    ]
    for run in runs:
        assert_array_equal(run["sum"], cols["x"] + cols["y"])
        assert_array_equal(run[POINT_ID], [0, 1, 2])
    with pytest.raises(ValueError, match="on_grid needs a product"):
        runs[0].on_grid("sum")


def test_array_output_fn_kwargs_and_frame():
    pd = pytest.importorskip("pandas")

    def scaled(x, y, scale):
        return scale * (x + y)

    run = sweep(scaled, XY, fn_kwargs={"scale": 2.0})
    assert run.outputs == ("value",)
    frame = run.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.name == POINT_ID
    assert_array_equal(frame["value"].to_numpy(), 2.0 * (run["x"] + run["y"]))


def test_landscape_complexity_matches_direct_call():
    u = np.linspace(-1.75, -1.55, 9)
    p = np.array([3, 4, 5])
    run = sweep(landscape.complexity, {"u": u, "p": p}, chunk_size=5, num_threads=1)
    U, P = np.meshgrid(u, p, indexing="ij")
    assert_array_equal(run.on_grid("value"), landscape.complexity(U, P))


def test_backdoor_points_match_solve_and_backdoor_sweep():
    fn = backdoor_points(SETUP, "logistic")
    kappa = np.array([0.3, 0.8, 1.5, 0.6])
    alpha = np.array([0.5, 2.0, 4.0, 0.0])
    run = sweep(fn, Grid.table(kappa=kappa, alpha=alpha), chunk_size=3)
    for i in range(kappa.size):
        one = solve(SETUP.replace(kappa=kappa[i], alpha=alpha[i]), "logistic")
        for name in ("clean_accuracy", "attack_success", "Q", "V", "b", "w_dot_t"):
            assert_allclose(run[name][i], getattr(one, name), rtol=1e-13, atol=1e-15)
        assert run["n_iter"][i] == one.n_iter
    # One swept axis has no warm-start chain: backdoor.sweep solves the same points.
    grid = backdoor_sweep(SETUP, "hinge", kappa=kappa, num_threads=2)
    run = sweep(backdoor_points(SETUP, "hinge"), {"kappa": kappa}, chunk_size=3)
    for name in ("clean_accuracy", "attack_success", "V", "V_hat", "noise_floor"):
        assert_array_equal(run[name], getattr(grid, name), err_msg=name)


def test_backdoor_points_validate_the_whole_grid_first():
    fn = backdoor_points(SETUP, "logistic")
    with pytest.raises(ValueError, match="eps must be finite and in"):
        sweep(fn, {"eps": [0.1, 1.5]})
    with pytest.raises(TypeError, match="cannot sweep \\['foo'\\]"):
        sweep(fn, {"foo": [1.0]})
    with pytest.raises(ValueError, match="lam must be > 0 where kappa >= 1"):
        sweep(backdoor_points(SETUP, "square"), {"lam": [0.0, 1.0], "kappa": [2.0]})
    table = Grid.table(lam=[0.0, 1.0], kappa=[0.5, 2.0])  # no bad pair
    assert sweep(backdoor_points(SETUP, "square"), table)["converged"].all()
    with pytest.raises(ValueError, match="loss must be one of"):
        backdoor_points(SETUP, "cubic")


def test_results_do_not_depend_on_workers_threads_or_chunks():
    fn = backdoor_points(SETUP, "logistic")
    grid = {"kappa": np.linspace(0.3, 1.5, 5), "alpha": np.linspace(0.0, 3.0, 4)}
    ref = sweep(fn, grid, chunk_size=20, num_threads=1)
    for kw in (
        {"num_workers": 2, "chunk_size": 3},
        {"num_threads": 2, "chunk_size": 7},
    ):
        assert_same_table(sweep(fn, grid, **kw), ref)


def test_converged_flag_warns_once():
    def half(x, y):
        return {"converged": x > 2, "v": x}

    with pytest.warns(ConvergenceWarning, match="9 of 18 point"):
        sweep(half, XY, chunk_size=2)


def test_progress_bar_on_stderr(capsys):
    sweep(add_mul, XY, chunk_size=3, progress=True)
    assert "sweep add_mul" in capsys.readouterr().err
    sweep(add_mul, XY, chunk_size=3, progress=False)
    assert capsys.readouterr().err == ""


def test_top_level_export():
    assert keatingcore.sweep is sweep
    assert keatingcore.sweeps.Grid is Grid


# --- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": -3}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": 2.5}, TypeError, "chunk_size must be an int"),
        ({"chunk_size": True}, TypeError, "chunk_size must be an int"),
        ({"backend": "ray"}, ValueError, "backend must be one of"),
        ({"num_workers": 0}, ValueError, "num_workers must be >= 1"),
        ({"num_threads": 0}, ValueError, "num_threads must be >= 1"),
        ({"num_threads": 2}, TypeError, "no num_threads parameter"),
        ({"client": "tcp://127.0.0.1:1"}, ValueError, "client is for backend='dask'"),
        ({"fn_kwargs": {"x": 1}}, ValueError, "fn_kwargs repeats \\['x'\\]"),
        ({"fn_kwargs": {"z": 1}}, TypeError, "fn cannot be called"),
        ({"progress": "yes"}, TypeError, "progress must be True, False or None"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep(add_mul, XY, **kwargs)


@pytest.mark.parametrize(
    ("grid", "error", "match"),
    [
        ({}, ValueError, "at least one parameter"),
        ({"x": [], "y": [1]}, ValueError, "grid\\['x'\\] is empty"),
        ({"x": [[1, 2]], "y": [1]}, ValueError, "grid\\['x'\\] must be a 1-D array"),
        ({"x": 1.0, "y": [1]}, ValueError, "grid\\['x'\\] must be a 1-D array"),
        ({"x": [1, None], "y": [1]}, ValueError, "grid\\['x'\\] must hold bools"),
        ({"point_id": [1], "y": [1]}, ValueError, "reserved"),
        ([1, 2, 3], TypeError, "grid must be a dict"),
        ("unequal table", ValueError, "equal lengths"),
    ],
)
def test_bad_grids(grid, error, match):
    with pytest.raises(error, match=match):
        if grid == "unequal table":
            grid = Grid.table(x=[1.0, 2.0], y=[1.0])
        sweep(add_mul, grid)


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x, y: x[:-1], "shape"),
        (lambda x, y: {"x": x}, "column of the grid"),
        (lambda x, y: 3.0, "must return a dict"),
        (lambda x, y: {}, "no outputs"),
        (lambda x, y: {"o": np.array([{}] * x.size)}, "dtype object"),
    ],
)
def test_bad_outputs(fn, match):
    with pytest.raises((ValueError, TypeError), match=match):
        sweep(fn, XY)


@needs_pyarrow
def test_error_in_fn_keeps_finished_chunks(tmp_path):
    store = tmp_path / "s"
    FAIL_AT[0] = 3.0
    try:
        with pytest.raises(RuntimeError, match="boom"):
            sweep(fails_sometimes, XY, chunk_size=3, store=store)
    finally:
        FAIL_AT[0] = None
    assert chunk_files(store) == [f"chunk-{k:08d}.parquet" for k in range(3)]
    run = sweep(fails_sometimes, XY, chunk_size=3, store=store)
    assert (run.n_skipped, run.n_computed) == (3, 3)
    assert_same_table(run, sweep(fails_sometimes, XY, chunk_size=3))


# --- the store -------------------------------------------------------------------


@needs_pyarrow
def test_store_resumes_only_missing_chunks(tmp_path):
    store = tmp_path / "s"
    first = sweep(add_mul, XY, chunk_size=4, store=store)
    assert first.store == store and len(chunk_files(store)) == 5
    again = sweep(add_mul, XY, chunk_size=4, store=store)
    assert (again.n_computed, again.n_skipped) == (0, 5)
    assert_same_table(again, first)
    for name in chunk_files(store)[1:3]:
        (store / "chunks" / name).unlink()
    resumed = sweep(add_mul, XY, chunk_size=4, store=store)
    assert (resumed.n_computed, resumed.n_skipped) == (2, 3)
    assert_same_table(resumed, first)


def tagged(loss, kappa):
    return {"square": loss == "square", "tag": np.char.add(loss, "!"), "k": kappa}


@needs_pyarrow
def test_strings_bools_and_ints_round_trip_through_the_store(tmp_path):
    grid = {"loss": ["square", "logistic"], "kappa": np.array([1, 2, 3], np.int32)}
    ref = sweep(tagged, grid, chunk_size=4)
    sweep(tagged, grid, chunk_size=4, store=tmp_path)
    run = sweep(tagged, grid, chunk_size=4, store=tmp_path)
    assert run.n_skipped == 2
    assert_same_table(run, ref)
    assert run["square"].dtype == bool and run["kappa"].dtype == np.int32
    assert list(run["tag"][:3]) == ["square!"] * 3


@needs_pyarrow
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fn": other}, "fn is"),
        ({"chunk_size": 5}, "chunk_size is"),
        ({"grid": {"x": np.arange(6.0) + 1, "y": XY["y"]}}, "grid_sha256 is"),
        ({"grid": {"y": XY["y"], "x": np.arange(6.0)}}, "grid_names is"),
        ({"grid": Grid.table(x=[1.0], y=[2.0])}, "grid_kind is"),
    ],
)
def test_store_refuses_another_sweep(tmp_path, change, field):
    sweep(add_mul, XY, chunk_size=4, store=tmp_path)
    args = {"fn": add_mul, "grid": XY, "chunk_size": 4, **change}
    with pytest.raises(StoreMismatchError, match=f"holds another sweep: its {field}"):
        sweep(args.pop("fn"), args.pop("grid"), store=tmp_path, **args)


@needs_pyarrow
def test_store_refuses_other_settings_of_the_same_function(tmp_path):
    grid = {"kappa": [0.5, 1.0]}
    sweep(backdoor_points(SETUP, "square"), grid, store=tmp_path)
    with pytest.raises(StoreMismatchError, match="fn_settings"):
        sweep(backdoor_points(SETUP, "hinge"), grid, store=tmp_path)
    with pytest.raises(StoreMismatchError, match="fn_settings"):
        sweep(backdoor_points(SETUP.replace(snr=2.0), "square"), grid, store=tmp_path)

    def scaled(x, y, scale):
        return {"v": scale * x}

    sweep(scaled, XY, fn_kwargs={"scale": 2.0}, store=tmp_path / "k")
    with pytest.raises(StoreMismatchError, match="fn_kwargs"):
        sweep(scaled, XY, fn_kwargs={"scale": 3.0}, store=tmp_path / "k")


@needs_pyarrow
def test_store_refuses_foreign_folders(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n")
    with pytest.raises(StoreMismatchError, match="not a sweep store"):
        sweep(add_mul, XY, store=tmp_path)
    with pytest.raises(ValueError, match="is a file"):
        sweep(add_mul, XY, store=tmp_path / "data.csv")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(StoreMismatchError, match="not a readable sweep manifest"):
        sweep(add_mul, XY, store=tmp_path / "bad")


@needs_pyarrow
def test_store_in_use_is_refused(tmp_path):
    sweep(add_mul, XY, chunk_size=4, store=tmp_path)
    from keatingcore.sweeps._identity import sweep_identity

    grid = Grid.product(XY)
    ident = sweep_identity(add_mul, {}, grid, 4)
    assert store_status(tmp_path)["in_use"] is False
    holder = ParquetStore(tmp_path, ident, 5, lambda k: min(4, 18 - 4 * k))
    try:
        assert store_status(tmp_path)["in_use"] is True
        with pytest.raises(RuntimeError, match="in use by another sweep"):
            sweep(add_mul, XY, chunk_size=4, store=tmp_path)
    finally:
        holder.close()
    assert sweep(add_mul, XY, chunk_size=4, store=tmp_path).n_skipped == 5


@needs_pyarrow
def test_store_removes_temporaries_and_recomputes_bad_chunks(tmp_path):
    ref = sweep(add_mul, XY, chunk_size=4, store=tmp_path)
    chunks = tmp_path / "chunks"
    stale = chunks / ".chunk-00000001.parquet.0123abcd.tmp"
    stale.write_bytes(b"PAR1 half a file")
    data = (chunks / "chunk-00000002.parquet").read_bytes()
    (chunks / "chunk-00000002.parquet").write_bytes(data[: len(data) // 2])
    (chunks / "chunk-00000003.parquet").write_bytes(
        (chunks / "chunk-00000000.parquet").read_bytes()  # wrong chunk's file
    )
    with pytest.warns(StoreWarning) as record:
        run = sweep(add_mul, XY, chunk_size=4, store=tmp_path)
    assert len(record) == 2
    assert (run.n_computed, run.n_skipped) == (2, 3)
    assert_same_table(run, ref)
    assert not stale.exists()
    assert sorted(p.name for p in chunks.glob("*.bad")) == [
        "chunk-00000002.parquet.bad",
        "chunk-00000003.parquet.bad",
    ]


@needs_pyarrow
def test_store_status_and_cli(tmp_path, capsys):
    sweep(add_mul, XY, chunk_size=2, store=tmp_path)
    for k in (1, 2, 3, 7):
        (tmp_path / "chunks" / f"chunk-{k:08d}.parquet").unlink()
    status = store_status(tmp_path)
    assert (status["n_chunks"], status["n_done"]) == (9, 5)
    assert status["missing"] == [1, 2, 3, 7]
    assert status["identity"]["fn"].endswith("add_mul")

    parser = argparse.ArgumentParser()
    sweeps_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["sweep-status", str(tmp_path)])
    assert args.func(args) == 2  # incomplete
    out = capsys.readouterr().out
    assert "5 of 9 done" in out and "1-3, 7" in out
    sweep(add_mul, XY, chunk_size=2, store=tmp_path)
    args = parser.parse_args(["sweep-status", "--json", str(tmp_path)])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["missing"] == []
    with pytest.raises(ValueError, match="not a readable sweep store"):
        store_status(tmp_path / "chunks")


def test_store_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install keatingcore\\[distributed\\]"):
        sweep(add_mul, XY, store=tmp_path)
    assert sweep(add_mul, XY).n_points == 18  # memory needs no pyarrow


# --- killed midway ---------------------------------------------------------------

HELPER = """
import os
import time

import numpy as np


def slow(x, y, nap=None):
    \"\"\"Naps per chunk; blocks for good at x == KC_BLOCK_AT if that is set.\"\"\"
    block = os.environ.get("KC_BLOCK_AT")
    if block is not None and np.any(x == int(block)):
        time.sleep(600)
    time.sleep(float(os.environ.get("KC_NAP", "0.005")) if nap is None else nap)
    return {"s": x * 1000 + y, "x_again": x.astype(float)}
"""

CHILD = """
import sys
sys.path.insert(0, {helper!r})
import numpy as np
from keatingcore.sweeps import sweep
import sweep_kill_helper
{prelude}
sweep(sweep_kill_helper.slow, {{"x": np.arange(40), "y": np.arange(5)}}, chunk_size=5,
      store={store!r}, progress=False{options})
"""
GRID40 = {"x": np.arange(40), "y": np.arange(5)}


@pytest.fixture
def kill_helper(tmp_path, monkeypatch):
    (tmp_path / "sweep_kill_helper.py").write_text(HELPER)
    monkeypatch.syspath_prepend(str(tmp_path))
    import sweep_kill_helper

    yield sweep_kill_helper
    sys.modules.pop("sweep_kill_helper", None)


def _start_child(tmp_path, store, env, prelude="", options=""):
    script = CHILD.format(
        helper=str(tmp_path), store=str(store), prelude=prelude, options=options
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_chunks(child, store, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(store, "chunks").is_dir() and len(chunk_files(store)) >= n:
            return
        if child.poll() is not None:
            pytest.fail(f"child exited early: {child.stderr.read().decode()}")
        time.sleep(0.01)
    child.kill()
    pytest.fail(f"no {n} chunks after {timeout} s")


def _kill(child, may_have_finished=False):
    os.kill(child.pid, signal.SIGKILL)
    allowed = (-signal.SIGKILL, 0) if may_have_finished else (-signal.SIGKILL,)
    assert child.wait(timeout=30) in allowed
    child.stderr.close()


@needs_pyarrow
def test_sigkill_midway_then_resume_loses_only_the_chunk_in_flight(
    tmp_path, kill_helper
):
    store = tmp_path / "store"
    child = _start_child(tmp_path, store, {"KC_BLOCK_AT": "9"})
    _wait_for_chunks(child, store, 9)  # chunks 0..8 written, chunk 9 in flight
    _kill(child)
    assert chunk_files(store) == [f"chunk-{k:08d}.parquet" for k in range(9)]

    run = sweep(kill_helper.slow, GRID40, chunk_size=5, store=store)
    assert (run.n_skipped, run.n_computed, run.n_chunks) == (9, 31, 40)
    assert_array_equal(run[POINT_ID], np.arange(200))
    assert_same_table(run, sweep(kill_helper.slow, GRID40, chunk_size=5))


@needs_pyarrow
def test_sigkill_at_any_moment_loses_nothing_written(tmp_path, kill_helper):
    """Killed at an arbitrary time (possibly mid-write): nothing lost or doubled."""
    ref = sweep(kill_helper.slow, GRID40, chunk_size=5)
    store = tmp_path / "store"
    for round_ in range(3):
        child = _start_child(tmp_path, store, {"KC_NAP": "0.02"})
        _wait_for_chunks(child, store, 8 * (round_ + 1))
        _kill(child, may_have_finished=True)  # under heavy load it might have
        before = chunk_files(store)
        run = sweep(kill_helper.slow, GRID40, chunk_size=5, store=store)
        assert run.n_skipped == len(before) and run.n_computed == 40 - len(before)
        assert_same_table(run, ref)
        for p in Path(store, "chunks").iterdir():
            p.unlink()


# --- dask ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        local_cluster(2) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def test_dask_cluster_listens_on_loopback_only(dask_client):
    info = dask_client.scheduler_info()
    addresses = [info["address"], *info["workers"]]
    assert len(info["workers"]) == 2
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    assert dask_client.cluster.scheduler.http_server.address == "127.0.0.1"


def test_dask_and_local_give_identical_results(dask_client):
    fn = backdoor_points(SETUP, "logistic")
    grid = {"kappa": np.linspace(0.3, 1.5, 6), "alpha": np.linspace(0.0, 3.0, 5)}
    local = sweep(fn, grid, chunk_size=4)
    remote = sweep(fn, grid, chunk_size=4, backend="dask", client=dask_client)
    assert remote.backend == "dask" and remote.n_computed == 8
    assert_same_table(remote, local)

    def user_fn(u, p):  # defined here: cloudpickle sends it by value
        return {"theta": landscape.complexity(u, p), "u2": u * u}

    grid = {"u": np.linspace(-1.8, -1.5, 7), "p": np.array([3, 4])}
    remote = sweep(user_fn, grid, chunk_size=3, backend="dask", client=dask_client)
    assert_same_table(remote, sweep(user_fn, grid, chunk_size=3))


@needs_pyarrow
def test_dask_by_scheduler_address_resumes_a_local_store(dask_client, tmp_path):
    grid = {"x": np.arange(6.0), "y": np.array([10, 20, 30])}

    def add(x, y):
        return {"sum": x + y}

    ref = sweep(add, grid, chunk_size=2, store=tmp_path)
    for name in chunk_files(tmp_path)[::3]:
        (tmp_path / "chunks" / name).unlink()
    address = dask_client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    run = sweep(add, grid, chunk_size=2, store=tmp_path, backend="dask", client=address)
    assert (run.n_computed, run.n_skipped) == (3, 6)
    assert_same_table(run, ref)


@needs_pyarrow
def test_dask_sweep_killed_midway_resumes(tmp_path, kill_helper, dask_client):
    """The client process (the store's writer) dies by SIGKILL; the cluster lives."""
    cloudpickle = pytest.importorskip("cloudpickle")
    store = tmp_path / "store"
    nap = {"nap": 0.05}
    options = f", backend='dask', client={dask_client.scheduler.address!r}, "
    options += f"fn_kwargs={nap!r}"
    prelude = (
        "import cloudpickle\ncloudpickle.register_pickle_by_value(sweep_kill_helper)"
    )
    child = _start_child(tmp_path, store, {}, prelude=prelude, options=options)
    _wait_for_chunks(child, store, 8)
    _kill(child, may_have_finished=True)
    before = chunk_files(store)
    assert len(before) >= 8

    cloudpickle.register_pickle_by_value(kill_helper)  # workers can't import it
    try:
        run = sweep(
            kill_helper.slow,
            GRID40,
            chunk_size=5,
            store=store,
            backend="dask",
            client=dask_client,
            fn_kwargs=nap,
        )
    finally:
        cloudpickle.unregister_pickle_by_value(kill_helper)
    assert (run.n_skipped, run.n_computed) == (len(before), 40 - len(before))
    assert_same_table(run, sweep(kill_helper.slow, GRID40, chunk_size=5))


def test_dask_fn_the_workers_cannot_import_is_an_error(kill_helper, dask_client):
    with pytest.raises(RuntimeError, match="a worker could not load fn"):
        sweep(kill_helper.slow, GRID40, backend="dask", client=dask_client)
    assert len(dask_client.scheduler_info()["workers"]) == 2  # no worker died


def test_dask_error_in_fn_is_raised(dask_client):
    def bad(x, y):
        if np.any(x == 4):
            raise ArithmeticError("no fours")
        return {"v": x}

    with pytest.raises(ArithmeticError, match="no fours"):
        sweep(bad, XY, chunk_size=3, backend="dask", client=dask_client)


def test_dask_default_starts_and_stops_a_loopback_cluster(caplog):
    pytest.importorskip("distributed")
    fn = backdoor_points(SETUP, "hinge")
    grid = {"kappa": np.linspace(0.3, 1.5, 4), "alpha": [0.0, 1.0]}
    with caplog.at_level(logging.INFO, logger="keatingcore.sweeps"):
        run = sweep(fn, grid, chunk_size=3, backend="dask", num_workers=2)
    started = [r.getMessage() for r in caplog.records if "LocalCluster" in r.message]
    assert started and "tcp://127.0.0.1:" in started[0]
    assert_same_table(run, sweep(fn, grid, chunk_size=3))
    with pytest.raises(ValueError, match="leave num_workers=None"):
        sweep(fn, grid, backend="dask", client="tcp://127.0.0.1:1", num_workers=2)


def test_dask_thread_workers_talk_in_memory():
    pytest.importorskip("distributed")
    grid = {"kappa": np.linspace(0.3, 1.5, 4), "alpha": [0.0, 1.0]}
    fn = backdoor_points(SETUP, "hinge")
    with local_cluster(2, processes=False) as cluster:  # a cluster, not a Client
        assert cluster.scheduler_address.startswith("inproc://")
        assert cluster.scheduler.http_server.address == "127.0.0.1"
        run = sweep(fn, grid, chunk_size=3, backend="dask", client=cluster)
    assert_same_table(run, sweep(fn, grid, chunk_size=3))


def test_dask_missing_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match="pip install keatingcore\\[distributed\\]"):
        sweep(add_mul, XY, backend="dask", store=tmp_path / "s")
    assert not (tmp_path / "s").exists()  # refused before touching the store
