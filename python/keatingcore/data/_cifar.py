"""CIFAR-10 from a local archive, read without trusting it.

The python version of CIFAR-10 stores each batch as a pickle. Plain ``pickle.load``
runs whatever the file asks for, so this module never calls it: batches go through
:class:`_BatchUnpickler`, which admits only the handful of globals a pickled numpy
array refers to, and maps each of them to a stand-in written here that checks its
arguments and builds the array with ``np.frombuffer``. numpy never sees the pickle's
own state objects, and nothing the pickle names is imported.

Tar archives are read member by member into memory (nothing is extracted to disk);
any member that is absolute, climbs out with ``..``, is a link or a device, or is
too large makes the whole archive refused.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import lzma
import math
import os
import pickle
import re
import tarfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np

from ._dataset import ImageDataset

logger = logging.getLogger(__name__)

__all__ = ["CIFAR10_CLASSES", "UnsafeArchiveError", "load_cifar10"]

#: The ten CIFAR-10 class names, in label order (used when the archive has no meta).
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_N_CLASSES = 10
_IMAGE_BYTES = 3 * 32 * 32
_RECORD_BYTES = 1 + _IMAGE_BYTES

# Limits on what an archive may hold; module globals so tests can lower them.
_MAX_MEMBER_BYTES = 200 * 2**20  # one batch is about 31 MB
_MAX_ARCHIVE_BYTES = 2**30  # all members together (the real one: ~180 MB)
_MAX_MEMBERS = 1000  # the real archives have fewer than 10
_MAX_TRAILING_BYTES = 2**24  # after the tar's end (normally < 10 kB of zeros)

_PY_DIR, _BIN_DIR = "cifar-10-batches-py", "cifar-10-batches-bin"
_PY_ARCHIVE, _BIN_ARCHIVE = "cifar-10-python.tar.gz", "cifar-10-binary.tar.gz"
_PY_TRAIN = tuple(f"data_batch_{k}" for k in range(1, 6))
_PY_TEST, _PY_META = "test_batch", "batches.meta"
_BIN_TRAIN = tuple(f"data_batch_{k}.bin" for k in range(1, 6))
_BIN_TEST, _BIN_META = "test_batch.bin", "batches.meta.txt"
_PY_NAMES = frozenset((*_PY_TRAIN, _PY_TEST, _PY_META))
_BIN_NAMES = frozenset((*_BIN_TRAIN, _BIN_TEST, _BIN_META))

_WHERE_TO_GET = (
    "keatingcore never downloads data, and CIFAR-10 cannot be downloaded here. Get "
    "the 'CIFAR-10 python version' archive (cifar-10-python.tar.gz, about 163 MB) "
    "from the dataset authors' CIFAR page at the University of Toronto (Alex "
    "Krizhevsky's page; the address is in the load_cifar10 docstring), copy it to "
    "this machine, and pass the archive, its unpacked cifar-10-batches-py folder, or "
    "the folder that holds either. The binary version (cifar-10-binary.tar.gz) works "
    "too."
)


class UnsafeArchiveError(ValueError):
    """An archive or pickle asked for something a CIFAR-10 file never needs.

    Raised for a pickle that references a global outside the numpy-array whitelist
    (or uses a whitelisted one in a way an array never does), and for a tar member
    that is absolute, contains ``..``, is a link or device, or exceeds the size caps.
    """


# --------------------------------------------------------------------------------------
# Restricted unpickling
# --------------------------------------------------------------------------------------


class _NdarrayMarker:
    """Stands for ``numpy.ndarray`` in a pickle; only ``_reconstruct`` accepts it."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsafeArchiveError(
            "the pickle calls numpy.ndarray directly, which a pickled array never does"
        )

    def __setstate__(self, state: Any) -> None:
        raise UnsafeArchiveError("the pickle sets state on numpy.ndarray itself")

    def __reduce__(self) -> Any:  # pragma: no cover - never pickled
        raise TypeError("not picklable")


_NDARRAY = _NdarrayMarker()
_DTYPE_CODE = re.compile(r"[biufc][0-9]{1,2}")


def _text(value: Any, what: str) -> str:
    """A short str from a str or (Python 2 era) bytes value."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(f"{what} is not ASCII: {value[:40]!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _raw_bytes(value: Any, what: str) -> bytes | bytearray:
    """Array memory as stored by the pickle (latin-1 str when read as text)."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    raise ValueError(f"{what} must be bytes, got {type(value).__name__}")


class _DtypeStub:
    """Stand-in for a pickled ``numpy.dtype``: plain numeric dtypes only."""

    __slots__ = ("dtype", "_state_set")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._state_set = False

    def __setstate__(self, state: Any) -> None:
        if self._state_set:
            raise UnsafeArchiveError("the pickle sets a dtype's state twice")
        self._state_set = True
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise ValueError("unexpected numpy dtype state in the pickle")
        version, endian, subarray, names, fields = state[:5]
        if version not in (3, 4):
            raise ValueError(f"unsupported numpy dtype state version {version!r}")
        if subarray is not None or names is not None or fields is not None:
            raise UnsafeArchiveError(
                "the pickle holds a structured or sub-array "
                "dtype; CIFAR-10 batches hold plain uint8 arrays"
            )
        if len(state) == 9 and state[8] is not None:
            raise UnsafeArchiveError("the pickle attaches metadata to a dtype")
        endian = _text(endian, "dtype byte order")
        if endian not in ("<", ">", "|", "="):
            raise ValueError(f"bad dtype byte order {endian!r} in the pickle")
        if endian in ("<", ">") and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(endian)


def _make_dtype(obj: Any, align: Any = False, copy: Any = False) -> _DtypeStub:
    """Replaces ``numpy.dtype`` while unpickling."""
    code = _text(obj, "dtype code")
    if not _DTYPE_CODE.fullmatch(code):
        raise UnsafeArchiveError(
            f"the pickle asks for numpy dtype {code!r}; only "
            "plain numeric dtypes are allowed (no object or "
            "structured)"
        )
    try:
        dtype = np.dtype(code)
    except TypeError as exc:
        raise ValueError(f"bad numpy dtype code {code!r} in the pickle") from exc
    if dtype.kind not in "biufc":  # pragma: no cover - the regex already ensures it
        raise UnsafeArchiveError(f"numpy dtype {code!r} is not allowed")
    return _DtypeStub(dtype)


def _get_dtype(value: Any) -> np.dtype:
    if not isinstance(value, _DtypeStub):
        raise UnsafeArchiveError(
            "an array in the pickle has a dtype that was not built by numpy.dtype"
        )
    return value.dtype


def _check_shape(shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, tuple)
        or len(shape) > 32
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise ValueError(f"bad array shape {shape!r} in the pickle")
    return shape


def _array_from(
    raw: Any, dtype: np.dtype, shape: tuple[int, ...], fortran: bool
) -> np.ndarray:
    raw = _raw_bytes(raw, "array data")
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"array data has {len(raw)} bytes, but shape {shape} of "
            f"{dtype} needs {expected}"
        )
    if expected == 0:
        return np.zeros(shape, dtype=dtype)
    flat = np.frombuffer(raw, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C")


class _ArrayStub:
    """Stand-in for the empty array ``numpy _reconstruct`` returns; filled by BUILD."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise UnsafeArchiveError("the pickle sets an array's state twice")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ValueError("unexpected numpy array state in the pickle")
        if len(state) == 5:
            if state[0] != 1:
                raise ValueError(f"unsupported numpy array state version {state[0]!r}")
            state = state[1:]
        shape, dtype, fortran, raw = state
        if not isinstance(fortran, (bool, int)):
            raise ValueError("bad array order flag in the pickle")
        self.array = _array_from(
            raw, _get_dtype(dtype), _check_shape(shape), bool(fortran)
        )


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _ArrayStub:
    """Replaces ``numpy.core.multiarray._reconstruct``."""
    if subtype is not _NDARRAY:
        raise UnsafeArchiveError(
            "numpy _reconstruct is called with something other than numpy.ndarray"
        )
    if not isinstance(typecode, (bytes, str)):
        raise ValueError("bad type code for numpy _reconstruct in the pickle")
    _check_shape(shape)
    return _ArrayStub()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Replaces ``numpy.core.numeric._frombuffer`` (pickle protocol 5)."""
    order = _text(order, "array order")
    if order not in ("C", "F"):
        raise ValueError(f"bad array order {order!r} in the pickle")
    if not isinstance(buf, (bytes, bytearray)):
        raise ValueError("protocol-5 array data must be stored in the pickle itself")
    return _array_from(buf, _get_dtype(dtype), _check_shape(shape), order == "F")


def _scalar(dtype: Any, data: Any) -> Any:
    """Replaces ``numpy.core.multiarray.scalar`` (a pickled numpy scalar)."""
    return _array_from(data, _get_dtype(dtype), (1,), False)[0]


def _latin1_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """Replaces ``_codecs.encode``: Python 3 pickles bytes this way below protocol 3."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeArchiveError(
            "the pickle calls _codecs.encode other than the way "
            "pickle stores bytes (str, 'latin1')"
        )
    return text.encode("latin-1")


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _make_dtype,
    ("_codecs", "encode"): _latin1_encode,
}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED_GLOBALS[(f"{_module}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED_GLOBALS[(f"{_module}.multiarray", "scalar")] = _scalar
    _ALLOWED_GLOBALS[(f"{_module}.numeric", "_frombuffer")] = _frombuffer
del _module


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals of a pickled numpy array.

    Every global (GLOBAL, STACK_GLOBAL, INST, OBJ and the copyreg EXT opcodes all go
    through :meth:`find_class`) is looked up in ``_ALLOWED_GLOBALS``; the values there
    are stand-ins defined in this module, so nothing is imported.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeArchiveError(
                f"the pickle references the forbidden global {module}.{name}; a "
                "CIFAR-10 batch only needs numpy's array reconstruction, so the file "
                "was refused"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeArchiveError("the pickle uses persistent ids")


def _resolve_in(value: Any, label: str) -> Any:
    """:func:`_resolve`, with errors naming the file."""
    try:
        return _resolve(value)
    except UnsafeArchiveError as exc:
        raise UnsafeArchiveError(f"{label}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


def _resolve(value: Any, nested: bool = False) -> Any:
    """Replace array stand-ins by their arrays; lists may hold only flat values.

    CIFAR batches hold arrays and flat lists (labels, file names, class names), so a
    list inside a list is refused: shared or self-referencing nested lists are how a
    tiny pickle expands exponentially or recurses without end.
    """
    if isinstance(value, _ArrayStub):
        if value.array is None:
            raise ValueError("the pickle holds an array without data")
        return value.array
    if isinstance(value, (list, tuple)):
        if nested:
            raise UnsafeArchiveError("the pickle nests lists; CIFAR lists are flat")
        return [_resolve(v, nested=True) for v in value]
    if isinstance(value, (_DtypeStub, _NdarrayMarker, dict, set, frozenset)):
        raise ValueError(f"the pickle holds an unexpected {type(value).__name__}")
    return value


def _unpickle_dict(raw: bytes, label: str) -> dict[str, Any]:
    """Unpickle a CIFAR batch/meta dict restrictedly; keys as str."""
    try:
        obj = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        if not isinstance(obj, dict):
            raise ValueError(f"expected a dict, got {type(obj).__name__}")
        out = {}
        for key, value in obj.items():
            if isinstance(key, bytes):
                key = key.decode("latin-1")
            if isinstance(key, str):
                out[key] = value
        return out
    except UnsafeArchiveError as exc:
        raise UnsafeArchiveError(f"{label}: {exc}") from None
    except Exception as exc:  # anything a malformed pickle can raise
        raise ValueError(
            f"{label} is not a valid CIFAR-10 pickle ({type(exc).__name__}: {exc})"
        ) from None


# --------------------------------------------------------------------------------------
# Batch parsing
# --------------------------------------------------------------------------------------


def _labels(values: Any, n: int, label: str) -> np.ndarray:
    if isinstance(values, np.ndarray):
        y = values
    elif isinstance(values, list):
        try:
            y = np.asarray(values)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"{label}: labels are not integers ({exc})") from None
    else:
        raise ValueError(f"{label}: labels must be a list, got {type(values).__name__}")
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise ValueError(f"{label}: labels must be a flat list of integers")
    if y.shape[0] != n:
        raise ValueError(f"{label}: {y.shape[0]} labels for {n} images")
    if y.size and (y.min() < 0 or y.max() >= _N_CLASSES):
        raise ValueError(
            f"{label}: labels must lie in [0, {_N_CLASSES}), found {y.min()}..{y.max()}"
        )
    return y.astype(np.int64)


def _to_hwc(flat: np.ndarray) -> np.ndarray:
    """(N, 3072) channel-major rows -> (N, 32, 32, 3)."""
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _parse_python_batch(raw: bytes, label: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle_dict(raw, label)
    for key in ("data", "labels"):
        if key not in batch:
            raise ValueError(f"{label}: the batch has no {key!r} entry")
    data, labels = (
        _resolve_in(batch["data"], label),
        _resolve_in(batch["labels"], label),
    )
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise ValueError(f"{label}: 'data' must be a uint8 array")
    if data.ndim != 2 or data.shape[1] != _IMAGE_BYTES or data.shape[0] == 0:
        raise ValueError(
            f"{label}: 'data' must have shape (N, {_IMAGE_BYTES}) with "
            f"N >= 1, got {data.shape}"
        )
    return _to_hwc(data), _labels(labels, data.shape[0], label)


def _parse_binary_batch(raw: bytes, label: str) -> tuple[np.ndarray, np.ndarray]:
    if len(raw) == 0 or len(raw) % _RECORD_BYTES:
        hint = ""
        if len(raw) and len(raw) % (_RECORD_BYTES + 1) == 0:
            hint = " (3074-byte records look like CIFAR-100, which is not supported)"
        raise ValueError(
            f"{label}: {len(raw)} bytes is not a positive multiple of the "
            f"{_RECORD_BYTES}-byte CIFAR-10 record (1 label byte + {_IMAGE_BYTES} "
            f"pixel bytes); the file is truncated or not a CIFAR-10 binary batch{hint}"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD_BYTES)
    y = records[:, 0].astype(np.int64)
    if y.max() >= _N_CLASSES:
        raise ValueError(f"{label}: label byte {y.max()} is not in [0, {_N_CLASSES})")
    return _to_hwc(records[:, 1:]), y


def _check_class_names(names: Any, label: str) -> tuple[str, ...]:
    if not isinstance(names, list) or len(names) != _N_CLASSES:
        raise ValueError(f"{label}: expected {_N_CLASSES} class names")
    out = []
    for name in names:
        try:
            text = _text(name, "class name").strip()
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
        if not text or len(text) > 64 or not text.isprintable():
            raise ValueError(f"{label}: bad class name {text[:64]!r}")
        out.append(text)
    return tuple(out)


def _parse_python_meta(raw: bytes, label: str) -> tuple[str, ...]:
    meta = _unpickle_dict(raw, label)
    if "label_names" not in meta:
        raise ValueError(f"{label}: no 'label_names' entry")
    return _check_class_names(_resolve_in(meta["label_names"], label), label)


def _parse_binary_meta(raw: bytes, label: str) -> tuple[str, ...]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not UTF-8 text") from None
    return _check_class_names(
        [s.strip() for s in text.splitlines() if s.strip()], label
    )


# --------------------------------------------------------------------------------------
# Sources: a folder on disk or a tar archive read into memory
# --------------------------------------------------------------------------------------


class _Source:
    """Named CIFAR files available from a folder or an archive."""

    def __init__(
        self, description: str, names: Iterable[str], read: Callable[[str], bytes]
    ) -> None:
        self.description = description
        self.names = frozenset(names)
        self.read = read


def _folder_source(folder: Path) -> _Source:
    def read(name: str) -> bytes:
        file = folder / name
        size = file.stat().st_size
        if size > _MAX_MEMBER_BYTES:
            raise UnsafeArchiveError(
                f"{file}: {size} bytes exceeds the "
                f"{_MAX_MEMBER_BYTES}-byte limit for one batch"
            )
        with open(file, "rb") as fh:
            return fh.read(_MAX_MEMBER_BYTES + 1)

    names = [n for n in _PY_NAMES | _BIN_NAMES if (folder / n).is_file()]
    return _Source(f"folder {folder}", names, read)


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a tar member is refused, or None if it is a plain file or folder."""
    name = member.name
    if not name or "\x00" in name:
        return "has an empty or invalid name"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "contains '..'"
    if member.issym() or member.islnk():
        return f"is a link (to {member.linkname!r})"
    if member.ischr() or member.isblk() or member.isfifo():
        return "is a device or pipe"
    if not (member.isreg() or member.isdir()):
        return "is not a regular file or folder"
    if member.isreg() and member.size > _MAX_MEMBER_BYTES:
        return f"is {member.size} bytes, over the {_MAX_MEMBER_BYTES}-byte limit"
    return None


def _decompressing(fh: BinaryIO) -> BinaryIO:
    """``fh`` itself or a decompressor over it, chosen by the magic bytes.

    The stdlib decompressors check the gzip CRC and length, the bzip2 CRCs and the
    xz check once read to the end (tarfile's own stream reader does not).
    """
    magic = fh.read(6)
    fh.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=fh, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(fh)
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(fh)
    return fh


def _archive_source(archive: Path) -> _Source:
    """Read the expected members of a (compressed) tar into memory, checking all."""
    contents: dict[str, bytes] = {}
    with open(archive, "rb") as fh:
        try:
            with _decompressing(fh) as stream:
                _read_members(archive, stream, contents)
                # Read to the end so that the compressor's checksum is verified.
                left = _MAX_TRAILING_BYTES
                while chunk := stream.read(2**20):
                    left -= len(chunk)
                    if left < 0:
                        raise UnsafeArchiveError(
                            f"{archive}: more than {_MAX_TRAILING_BYTES} bytes after "
                            "the end of the tar; the archive was refused"
                        )
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            raise ValueError(
                f"{archive} is not a readable tar archive (corrupt or "
                f"truncated?): {type(exc).__name__}: {exc}"
            ) from None
    return _Source(f"archive {archive}", contents, lambda name: contents[name])


def _read_members(archive: Path, fh: BinaryIO, contents: dict[str, bytes]) -> None:
    """Fill ``contents`` with the wanted members of the tar stream ``fh``."""
    wanted = _PY_NAMES | _BIN_NAMES
    total = count = 0
    with tarfile.open(fileobj=fh, mode="r|") as tar:
        for member in tar:
            count += 1
            if count > _MAX_MEMBERS:
                raise UnsafeArchiveError(
                    f"{archive}: more than {_MAX_MEMBERS} "
                    "members; not a CIFAR-10 archive"
                )
            problem = _member_problem(member)
            if problem:
                raise UnsafeArchiveError(
                    f"{archive}: member {member.name!r} "
                    f"{problem}; the archive was refused"
                )
            if not member.isreg():
                continue
            total += member.size
            if total > _MAX_ARCHIVE_BYTES:
                raise UnsafeArchiveError(
                    f"{archive}: members add up to more than {_MAX_ARCHIVE_BYTES} bytes"
                )
            parts = PurePosixPath(member.name).parts
            base = parts[-1] if parts else ""
            if len(parts) > 2 or base not in wanted:
                continue  # e.g. readme.html; skipped unread
            if base in contents:
                raise ValueError(f"{archive}: more than one member named {base!r}")
            fobj = tar.extractfile(member)
            data = fobj.read(member.size + 1) if fobj is not None else b""
            if len(data) != member.size:
                raise ValueError(
                    f"{archive}: member {member.name!r} should have "
                    f"{member.size} bytes, read {len(data)}"
                )
            contents[base] = data


def _has_batches(folder: Path, names: Iterable[str]) -> bool:
    return any((folder / n).is_file() for n in names)


def _locate(path: Path) -> _Source:
    """The source at ``path``: an archive, a batches folder, or a parent of either."""
    if path.is_file():
        return _archive_source(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 was not found: {path} does not exist. {_WHERE_TO_GET}"
        )
    py_names, bin_names = (*_PY_TRAIN, _PY_TEST), (*_BIN_TRAIN, _BIN_TEST)
    if _has_batches(path, py_names) or _has_batches(path, bin_names):
        return _folder_source(path)
    for sub, names in ((_PY_DIR, py_names), (_BIN_DIR, bin_names)):
        if _has_batches(path / sub, names):
            return _folder_source(path / sub)
    for name in (_PY_ARCHIVE, _BIN_ARCHIVE):
        if (path / name).is_file():
            return _archive_source(path / name)
    raise FileNotFoundError(
        f"CIFAR-10 was not found in {path}: it holds no {_PY_DIR}/ or {_BIN_DIR}/ "
        f"folder, no {_PY_ARCHIVE} or {_BIN_ARCHIVE}, and no batch files. "
        f"{_WHERE_TO_GET}"
    )


def _take(
    names: list[str],
    limit: int | None,
    parse: Callable[[str], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Parse batches in order until ``limit`` images are in hand; stack them."""
    xs, ys, have = [], [], 0
    for name in names:
        if limit is not None and have >= limit:
            break
        x, y = parse(name)
        if limit is not None:
            x, y = x[: limit - have], y[: limit - have]
        xs.append(x)
        ys.append(y)
        have += len(y)
    if not xs:
        return np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


def _check_limit(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int or None, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def load_cifar10(
    path: str | os.PathLike[str],
    *,
    max_train: int | None = None,
    max_test: int | None = None,
) -> ImageDataset:
    """Load CIFAR-10 from a local copy, treating the files as untrusted.

    Parameters
    ----------
    path : str or path-like
        One of: the ``cifar-10-python.tar.gz`` or ``cifar-10-binary.tar.gz`` archive
        (any tar, compressed or not, with the batch files at its top or in one
        folder); the unpacked ``cifar-10-batches-py/`` or ``cifar-10-batches-bin/``
        folder; or a folder holding one of these. The python version's batches are
        ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``;
        the binary version's are the same with ``.bin`` and ``batches.meta.txt``.
        Any subset of the five training batches is accepted (at least one), and the
        test batch is required.
    max_train, max_test : int, optional
        Keep only the first this many training / test images (later batch files are
        then not parsed).

    Returns
    -------
    ImageDataset
        Named ``"cifar10"``; ``x`` is uint8 of shape (N, 32, 32, 3), ``y`` int64 in
        ``[0, 10)``, ``classes`` the names from the archive's meta file (the standard
        :data:`CIFAR10_CLASSES` when there is none).

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``, or no CIFAR-10 data in that folder. CIFAR-10 is never
        downloaded: get the "CIFAR-10 python version" from the dataset authors' page
        at the University of Toronto, https://www.cs.toronto.edu/~kriz/cifar.html
    UnsafeArchiveError
        A pickle references anything but numpy's array reconstruction, or a tar
        member is absolute, contains ``..``, is a link or device, or is too large.
    ValueError
        A corrupt or truncated archive or batch (the message names the file).

    Notes
    -----
    The pickles are read by a restricted unpickler: only the globals a pickled numpy
    array refers to are admitted (``numpy.core.multiarray._reconstruct`` and its
    ``numpy._core`` twin, ``numpy.ndarray``, ``numpy.dtype``, the numpy scalar and
    protocol-5 ``_frombuffer`` helpers, and ``_codecs.encode`` as used for bytes below
    protocol 3), each mapped to a checking stand-in; plain numeric dtypes only.
    Archives are read into memory member by member; nothing is written to disk.
    """
    max_train = _check_limit(max_train, "max_train")
    max_test = _check_limit(max_test, "max_test")
    source = _locate(Path(os.fspath(path)).expanduser())
    names = source.names
    if names & {*_PY_TRAIN, _PY_TEST}:
        train, test, meta = _PY_TRAIN, _PY_TEST, _PY_META
        parse_batch, parse_meta = _parse_python_batch, _parse_python_meta
        kind = "python"
    elif names & {*_BIN_TRAIN, _BIN_TEST}:
        train, test, meta = _BIN_TRAIN, _BIN_TEST, _BIN_META
        parse_batch, parse_meta = _parse_binary_batch, _parse_binary_meta
        kind = "binary"
    else:
        raise ValueError(
            f"{source.description} holds no CIFAR-10 batch files "
            f"(data_batch_1 .. data_batch_5 and test_batch). "
            f"{_WHERE_TO_GET}"
        )
    train_names = [n for n in train if n in names]
    if not train_names:
        raise ValueError(
            f"{source.description} has no training batch ({train[0]} .. "
            f"{train[-1]}); the CIFAR-10 copy is incomplete"
        )
    if test not in names:
        raise ValueError(
            f"{source.description} has no {test}; the CIFAR-10 copy is incomplete"
        )

    def parse(name: str) -> tuple[np.ndarray, np.ndarray]:
        return parse_batch(source.read(name), f"{source.description}: {name}")

    x_train, y_train = _take(train_names, max_train, parse)
    x_test, y_test = _take([test], max_test, parse)
    if meta in names:
        classes = parse_meta(source.read(meta), f"{source.description}: {meta}")
    else:
        logger.info(
            "%s has no %s; using the standard CIFAR-10 class names",
            source.description,
            meta,
        )
        classes = CIFAR10_CLASSES
    logger.info(
        "loaded CIFAR-10 (%s version) from %s: %d train / %d test images",
        kind,
        source.description,
        len(y_train),
        len(y_test),
    )
    return ImageDataset("cifar10", x_train, y_train, x_test, y_test, classes)
