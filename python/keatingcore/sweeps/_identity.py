"""What a sweep is: the function, its fixed settings, the grid and the chunking.

A store remembers this identity and refuses a sweep with another one, so results of
two different computations never mix. Settings are reduced to a canonical JSON form
(floats exactly, arrays by dtype, shape and SHA-256) and hashed.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._grid import Grid

logger = logging.getLogger(__name__)


def canonical(obj: Any, where: str = "value") -> Any:
    """A JSON-ready form of ``obj`` that is equal exactly when the values are.

    Raises
    ------
    TypeError
        For objects with no stable form (open files, arbitrary classes, ...).
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return {"float": obj.hex()}
    if isinstance(obj, np.generic):
        return canonical(obj.item(), where)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            return {"object_array": [canonical(v, where) for v in obj.ravel()]}
        data = np.ascontiguousarray(obj)
        return {
            "ndarray": data.dtype.str,
            "shape": list(data.shape),
            "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        }
    if isinstance(obj, enum.Enum):
        return {"enum": f"{type(obj).__qualname__}.{obj.name}"}
    if isinstance(obj, os.PathLike):
        return {"path": os.fspath(obj)}
    if isinstance(obj, Mapping):
        items = sorted((str(k), canonical(v, where)) for k, v in obj.items())
        return {"dict": items}
    if isinstance(obj, list | tuple):
        return [canonical(v, where) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {
            f.name: canonical(getattr(obj, f.name), where)
            for f in dataclasses.fields(obj)
        }
        return {"dataclass": qualified_name(type(obj)), "fields": fields}
    if callable(obj):
        return {"callable": qualified_name(obj)}
    raise TypeError(
        f"{where} holds a {type(obj).__name__}, which has no stable identity; pass "
        "numbers, strings, arrays, lists, dicts or dataclasses"
    )


def digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj``."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def qualified_name(fn: Any) -> str:
    """``module.qualname`` of a function or class (the type's for other callables).

    Where a private module's object is re-exported by a parent package (as
    ``keatingcore.landscape._complexity.complexity`` is by ``keatingcore.landscape``),
    the public name is used, so moving code between private modules keeps stores
    valid.
    """
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    module = getattr(target, "__module__", None) or "?"
    qualname = target.__qualname__
    parts = module.split(".")
    for i in range(1, len(parts)):
        if not parts[i].startswith("_"):
            continue
        parent = sys.modules.get(".".join(parts[:i]))
        if parent is not None and getattr(parent, qualname, None) is target:
            return f"{'.'.join(parts[:i])}.{qualname}"
        break
    return f"{module}.{qualname}"


def function_identity(fn: Callable[..., Any]) -> tuple[str, Any]:
    """The name of ``fn`` and the canonical form of the settings it carries.

    A plain function is known by its qualified name only (edits to its code are not
    detected); a ``functools.partial`` adds its bound arguments; a dataclass instance
    (like :func:`~keatingcore.sweeps.backdoor_points`) adds its fields; another
    callable object adds its ``__dict__`` when that has a stable form.
    """
    if isinstance(fn, functools.partial):
        name, inner = function_identity(fn.func)
        bound = canonical({"args": fn.args, "keywords": fn.keywords}, "fn")
        return name, {"partial": bound, "inner": inner}
    if dataclasses.is_dataclass(fn) and not isinstance(fn, type):
        return qualified_name(type(fn)), canonical(fn, "fn")["fields"]
    if hasattr(fn, "__qualname__") or not hasattr(fn, "__dict__"):
        return qualified_name(fn), None
    try:
        return qualified_name(fn), canonical(vars(fn), "fn")
    except TypeError:
        logger.debug("settings of %r have no stable form; using the type only", fn)
        return qualified_name(fn), None


def sweep_identity(
    fn: Callable[..., Any],
    fn_kwargs: Mapping[str, Any],
    grid: Grid,
    chunk_size: int,
) -> dict[str, Any]:
    """Everything that must match for a store to be resumed, as a flat ``dict``."""
    name, settings = function_identity(fn)
    return {
        "fn": name,
        "fn_settings": digest(settings),
        "fn_kwargs": digest(canonical(dict(fn_kwargs), "fn_kwargs")),
        **grid.describe(),
        "n_points": grid.n_points,
        "chunk_size": chunk_size,
    }
