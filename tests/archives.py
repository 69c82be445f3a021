"""Write small CIFAR-10 files in the real formats, and hostile ones, for the tests.

Loaded by the ``archives`` fixture in ``conftest.py`` (the tests run with
``--import-mode=importlib``, so a plain sibling import would not find this module).

Real python-version batches were written by Python 2 (``cPickle``, protocol 2): every
string is a byte string (``BINSTRING``) and the array is rebuilt through
``numpy.core.multiarray._reconstruct``. :class:`Py2Pickler` reproduces that layout so
the loader is tested against the bytes it meets in the wild, not only against what
Python 3 writes.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

PY_DIR, BIN_DIR = "cifar-10-batches-py", "cifar-10-batches-bin"
PY_ARCHIVE, BIN_ARCHIVE = "cifar-10-python.tar.gz", "cifar-10-binary.tar.gz"
#: Pickle flavours: Python 2 layout, Python 3 protocol 2 with bytes keys (bytes go
#: through ``_codecs.encode``), Python 3 protocols 4 and 5 with str keys.
STYLES = ("py2", "proto2", "str4", "str5")

_NUMPY_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]


class Py2Pickler(pickle._Pickler):
    """Protocol-2 pickler that writes str and bytes the way Python 2 wrote ``str``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes | str) -> None:
        data = obj.encode("ascii") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        if obj is _NUMPY_RECONSTRUCT:  # numpy 1.x name, as in the real files
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def dumps(obj: object, style: str) -> bytes:
    """Pickle ``obj`` in one of :data:`STYLES` (keys already of the right type)."""
    if style == "py2":
        buf = io.BytesIO()
        Py2Pickler(buf, protocol=2).dump(obj)
        return buf.getvalue()
    protocol = {"proto2": 2, "str4": 4, "str5": 5}[style]
    return pickle.dumps(obj, protocol=protocol)


def _key(name: str, style: str) -> str | bytes:
    return name.encode() if style in ("py2", "proto2") else name


def random_split(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random images (N, 32, 32, 3) uint8 and labels in [0, 10)."""
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    return x, rng.integers(0, 10, size=n).astype(np.int64)


def to_rows(x: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> (N, 3072) channel-major rows, as CIFAR stores them."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1))


def python_batch(x: np.ndarray, y: np.ndarray, style: str, name: str = "b") -> bytes:
    """A python-version batch file's bytes."""
    k = lambda s: _key(s, style)  # noqa: E731
    text = (lambda s: s.encode()) if style in ("py2", "proto2") else (lambda s: s)
    batch = {
        k("batch_label"): text(f"batch {name}"),
        k("labels"): [int(v) for v in y],
        k("data"): to_rows(x),
        k("filenames"): [text(f"img_{i}.png") for i in range(len(y))],
    }
    return dumps(batch, style)


def python_meta(classes: Iterable[str], style: str) -> bytes:
    k = lambda s: _key(s, style)  # noqa: E731
    names = [c.encode() if style in ("py2", "proto2") else c for c in classes]
    return dumps({k("num_cases_per_batch"): 10000, k("label_names"): names,
                  k("num_vis"): 3072}, style)


def binary_batch(x: np.ndarray, y: np.ndarray) -> bytes:
    """A binary-version batch: per image 1 label byte then 3072 channel-major bytes."""
    records = np.concatenate([y.astype(np.uint8)[:, None], to_rows(x)], axis=1)
    return records.tobytes()


def binary_meta(classes: Iterable[str]) -> bytes:
    return ("\n".join(classes) + "\n\n").encode()


def cifar_files(fmt: str, train: list[tuple[np.ndarray, np.ndarray]],
                test: tuple[np.ndarray, np.ndarray], classes: Iterable[str] | None,
                style: str = "py2", train_ids: Iterable[int] | None = None,
                ) -> dict[str, bytes]:
    """File name -> bytes of a CIFAR-10 copy in ``fmt`` ("python" or "binary")."""
    ids = list(train_ids) if train_ids is not None else list(range(1, len(train) + 1))
    files = {}
    if fmt == "python":
        for k, (x, y) in zip(ids, train, strict=True):
            files[f"data_batch_{k}"] = python_batch(x, y, style, str(k))
        files["test_batch"] = python_batch(*test, style, "test")
        if classes is not None:
            files["batches.meta"] = python_meta(classes, style)
    elif fmt == "binary":
        for k, (x, y) in zip(ids, train, strict=True):
            files[f"data_batch_{k}.bin"] = binary_batch(x, y)
        files["test_batch.bin"] = binary_batch(*test)
        if classes is not None:
            files["batches.meta.txt"] = binary_meta(classes)
    else:
        raise ValueError(fmt)
    return files


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


def dir_member(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def special_member(name: str, kind: bytes, linkname: str = "",
                   ) -> tuple[tarfile.TarInfo, None]:
    """A link or device member (``kind`` is e.g. ``tarfile.SYMTYPE``)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def write_tar(archive: Path, members: Iterable[tuple[tarfile.TarInfo, bytes | None]],
              compression: str = "gz") -> Path:
    """Write ``members`` verbatim (names are not sanitised) to ``archive``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(archive, mode, format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return archive


def cifar_members(top: str | None, files: dict[str, bytes],
                  ) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """Members of a CIFAR archive: ``top/`` folder, the files, and a readme."""
    prefix = f"{top}/" if top else ""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    if top:
        members.append(dir_member(top))
    members += [file_member(prefix + name, data) for name, data in files.items()]
    members.append(file_member(prefix + "readme.html", b"<html>CIFAR-10</html>"))
    return members


# --------------------------------------------------------------------------------------
# Hostile pickles
# --------------------------------------------------------------------------------------

class _Call:
    """Pickles as a call ``func(*args)``: what a malicious file would do."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


def hostile_system(marker: Path) -> bytes:
    """A batch whose data is ``os.system("touch marker")``."""
    return pickle.dumps({b"data": _Call(os.system, f"touch {marker}"), b"labels": []},
                        protocol=2)


def hostile_eval(marker: Path) -> bytes:
    """A batch that calls ``builtins.eval`` to create ``marker``."""
    code = f"open({str(marker)!r}, 'w').close()"
    return pickle.dumps({"data": _Call(eval, code), "labels": []}, protocol=4)


def raw_call(module: str, name: str, arg: bytes = b"x") -> bytes:
    """Protocol-2 bytes of ``module.name(arg)`` written opcode by opcode."""
    return (b"\x80\x02" + pickle.GLOBAL + f"{module}\n{name}\n".encode()
            + pickle.SHORT_BINBYTES + bytes([len(arg)]) + arg
            + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)


def snapshot(root: Path) -> set[str]:
    """All paths under ``root`` (to show that loading wrote nothing)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}
