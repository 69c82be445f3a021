"""Where finished chunks go: a Parquet folder on disk, or memory.

Layout of a store folder::

    manifest.json          identity of the sweep, written once, atomically
    .lock                  held (flock) while a sweep writes; freed if it dies
    chunks/chunk-00000012.parquet   point_id, the parameters and the outputs

Each chunk file is written to a temporary name, flushed to disk and renamed into
place (``os.replace`` is atomic), so a file with the final name is always complete:
a sweep killed at any moment loses at most the chunks it was computing. Temporary
files left by a killed sweep are removed when the store is next opened.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import re
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..warnings import StoreWarning
from ._grid import POINT_ID
from ._identity import digest

logger = logging.getLogger(__name__)

FORMAT = "keatingcore.sweep"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"
CHUNK_DIR = "chunks"
CHUNK_RE = re.compile(r"^chunk-(\d{8})\.parquet$")
TMP_SUFFIX = ".tmp"
META_KEY = b"keatingcore.sweep"
#: Identity fields in the order a mismatch is reported.
IDENTITY_ORDER = (
    "fn",
    "fn_settings",
    "fn_kwargs",
    "grid_kind",
    "grid_names",
    "grid_dtypes",
    "grid_shape",
    "grid_sha256",
    "n_points",
    "chunk_size",
)


class StoreMismatchError(ValueError):
    """A store holds results of another sweep (function, settings, grid or chunks)."""


def _require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError(
            "a sweep store needs pyarrow: pip install keatingcore[distributed] "
            "(or pip install pyarrow), or pass store=None to keep results in memory"
        ) from exc
    return pyarrow


def _chunk_name(k: int) -> str:
    return f"chunk-{k:08d}.parquet"


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _short(value: Any) -> str:
    text = repr(value)
    if isinstance(value, str) and len(value) == 64:  # a hash
        text = repr(value[:12] + "...")
    return text


def _mismatch(path: Path, there: Mapping[str, Any], here: Mapping[str, Any]) -> str:
    keys = [k for k in IDENTITY_ORDER if there.get(k) != here.get(k)]
    keys += sorted(k for k in set(there) | set(here) if k not in IDENTITY_ORDER)
    key = next(k for k in keys if there.get(k) != here.get(k))
    return (
        f"store {str(path)!r} holds another sweep: its {key} is "
        f"{_short(there.get(key))}, this sweep's is {_short(here.get(key))}; "
        "use a new store path, or delete the old store to start over"
    )


class MemoryStore:
    """Chunks kept in memory (``store=None``): nothing is resumable."""

    path: Path | None = None

    def __init__(self) -> None:
        self._chunks: dict[int, dict[str, np.ndarray]] = {}

    def done(self) -> set[int]:
        return set(self._chunks)

    def write(self, k: int, table: dict[str, np.ndarray]) -> None:
        self._chunks[k] = table

    def read(self, k: int) -> dict[str, np.ndarray]:
        return self._chunks[k]

    def close(self) -> None:
        pass


class ParquetStore:
    """A store folder of one Parquet file per chunk; see the module docstring.

    Parameters
    ----------
    path : path-like
        The folder; created if missing. An existing folder must be a store of the
        same sweep, or empty.
    identity : dict
        From :func:`~keatingcore.sweeps._identity.sweep_identity`.
    n_chunks : int
    expected_rows : callable
        ``expected_rows(k)`` is the number of points of chunk ``k``.

    Raises
    ------
    StoreMismatchError
        If the folder holds another sweep.
    RuntimeError
        If another process is writing to the store.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        identity: dict[str, Any],
        n_chunks: int,
        expected_rows: Any,
    ) -> None:
        self._pa = _require_pyarrow()
        self.path = Path(path)
        self.identity = dict(identity)
        self.fingerprint = digest(self.identity)
        self.n_chunks = n_chunks
        self._expected_rows = expected_rows
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"store must be a folder, {str(self.path)!r} is a file")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._lock()
        try:
            self._open_manifest()
            self._chunks = self.path / CHUNK_DIR
            self._chunks.mkdir(exist_ok=True)
            self._remove_temporaries()
            self._done = self._scan()
        except BaseException:
            self.close()
            raise

    # --- opening ---------------------------------------------------------------

    def _lock(self) -> int | None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no protection against two writers
            return None
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RuntimeError(
                f"store {str(self.path)!r} is in use by another sweep; wait for it "
                "to finish or use another store path"
            ) from None
        return fd

    def close(self) -> None:
        """Release the lock (the store stays on disk)."""
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def _open_manifest(self) -> None:
        manifest = self.path / MANIFEST
        if manifest.exists():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StoreMismatchError(
                    f"{str(manifest)!r} is not a readable sweep manifest: {exc}"
                ) from exc
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise StoreMismatchError(
                    f"{str(self.path)!r} is not a keatingcore sweep store"
                )
            if data.get("format_version") != FORMAT_VERSION:
                raise StoreMismatchError(
                    f"store {str(self.path)!r} has format version "
                    f"{data.get('format_version')!r}; this keatingcore writes "
                    f"{FORMAT_VERSION}"
                )
            there = data.get("identity", {})
            if there != self.identity:
                raise StoreMismatchError(_mismatch(self.path, there, self.identity))
            self.manifest = data
            return
        others = [p.name for p in self.path.iterdir() if p.name not in (LOCK,)]
        if others:
            raise StoreMismatchError(
                f"{str(self.path)!r} is not empty and has no {MANIFEST}: not a sweep "
                f"store (found {sorted(others)[:3]}); give an empty or new folder"
            )
        from .. import __version__

        self.manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "identity": self.identity,
            "fingerprint": self.fingerprint,
            "n_chunks": self.n_chunks,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "keatingcore_version": __version__,
        }
        text = json.dumps(self.manifest, indent=2) + "\n"
        self._atomic_write(manifest, text.encode())
        logger.info("created sweep store %s", self.path)

    def _atomic_write(self, target: Path, data: bytes) -> None:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TMP_SUFFIX}")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(target.parent)

    def _remove_temporaries(self) -> None:
        for folder in (self.path, self._chunks):
            for p in folder.iterdir():
                if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX):
                    logger.info("removing %s, left by an interrupted sweep", p)
                    with contextlib.suppress(OSError):
                        p.unlink()

    def _scan(self) -> set[int]:
        """Chunks on disk whose footer shows the right sweep and row count."""
        pq = self._pa.parquet
        done = set()
        for p in self._chunks.iterdir():
            m = CHUNK_RE.match(p.name)
            if not m:
                continue
            k = int(m.group(1))
            problem = None
            if k >= self.n_chunks:
                problem = f"chunk {k} is beyond the {self.n_chunks} chunks of the grid"
            else:
                try:
                    meta = pq.read_metadata(p)
                    tag = (meta.metadata or {}).get(META_KEY, b"").decode()
                    if tag != self._tag(k):
                        problem = "its tag does not match this sweep"
                    elif meta.num_rows != self._expected_rows(k):
                        problem = f"it has {meta.num_rows} rows"
                except Exception as exc:  # any unreadable file is recomputed
                    problem = f"it is unreadable ({type(exc).__name__}: {exc})"
            if problem is None:
                done.add(k)
                continue
            bad = p.with_name(p.name + ".bad")
            warnings.warn(
                f"sweep store {str(self.path)!r}: {p.name} is set aside as "
                f"{bad.name} and recomputed: {problem}",
                StoreWarning,
                stacklevel=4,
            )
            os.replace(p, bad)
        return done

    def _tag(self, k: int) -> str:
        return f"{self.fingerprint}:{k}"

    # --- chunks ----------------------------------------------------------------

    def done(self) -> set[int]:
        """Chunk numbers already in the store."""
        return set(self._done)

    def write(self, k: int, table: dict[str, np.ndarray]) -> None:
        """Write chunk ``k`` atomically (temporary file, fsync, rename)."""
        pa = self._pa
        arrow = pa.table({name: pa.array(v) for name, v in table.items()})
        arrow = arrow.replace_schema_metadata({META_KEY: self._tag(k).encode()})
        target = self._chunks / _chunk_name(k)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TMP_SUFFIX}")
        try:
            with open(tmp, "wb") as fh:
                pa.parquet.write_table(arrow, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self._chunks)
        self._done.add(k)

    def read(self, k: int) -> dict[str, np.ndarray]:
        """The columns of chunk ``k`` as numpy arrays."""
        arrow = self._pa.parquet.read_table(self._chunks / _chunk_name(k))
        out = {}
        for name in arrow.column_names:
            column = arrow.column(name)
            values = column.to_numpy()
            if self._pa.types.is_string(column.type) or self._pa.types.is_large_string(
                column.type
            ):
                values = values.astype(str)
            out[name] = values
        if POINT_ID not in out:
            raise ValueError(f"chunk file {k} of {str(self.path)!r} has no {POINT_ID}")
        return out


def store_status(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a store holds, read without locking it (safe while a sweep runs).

    Parameters
    ----------
    path : path-like
        A store folder made by :func:`keatingcore.sweep`.

    Returns
    -------
    dict
        ``path``, ``identity`` (function, grid, chunk size, ...), ``created``,
        ``keatingcore_version``, ``n_chunks``, ``n_done``, ``missing`` (chunk
        numbers not on disk), ``set_aside`` (files renamed ``*.bad``) and ``in_use``
        (a sweep holds the lock now; ``None`` where locks are not supported).
    """
    root = Path(path)
    manifest = root / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(root)!r} is not a readable sweep store: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{str(root)!r} is not a keatingcore sweep store")
    n_chunks = int(data["n_chunks"])
    chunk_dir = root / CHUNK_DIR
    names = [p.name for p in chunk_dir.iterdir()] if chunk_dir.is_dir() else []
    done = {int(m.group(1)) for m in map(CHUNK_RE.match, names) if m}
    return {
        "path": str(root),
        "identity": data["identity"],
        "created": data.get("created"),
        "keatingcore_version": data.get("keatingcore_version"),
        "n_chunks": n_chunks,
        "n_done": len(done & set(range(n_chunks))),
        "missing": sorted(set(range(n_chunks)) - done),
        "set_aside": sorted(n for n in names if n.endswith(".bad")),
        "in_use": _in_use(root / LOCK),
    }


def _in_use(lock: Path) -> bool | None:
    try:
        import fcntl
    except ImportError:
        return None
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
