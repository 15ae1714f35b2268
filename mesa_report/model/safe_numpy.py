"""The numpy types a seed checkpoint's metrics need, allowed to ``torch.load(weights_only=True)``.

The seed's checkpoints hold numpy scalars and arrays (accuracy, kappa, a confusion matrix). Their
pickles name numpy's rebuild functions under numpy 2's module (``numpy._core.multiarray``) or,
when written under numpy 1.x, under ``numpy.core.multiarray``; both spellings are allowed here,
for the same objects and nothing more: the array rebuild function, the scalar constructor,
:class:`numpy.dtype` and the numeric dtype classes.

Those functions would allocate whatever a pickle declares (an array of 10^12 elements, or an
object array of 10^8 entries in a 500-byte file), so the versions handed to the unpickler check
first: numeric dtypes only (no object arrays), and no array or scalar larger than the file's real
size, whose bytes must all be in the file. Arrays come out of the unpickler as a checked
subclass; :func:`plain_arrays` turns them back into plain :class:`numpy.ndarray`.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mesa_report.core.errors import CheckpointError

NUMPY_MULTIARRAY_MODULES = ("numpy._core.multiarray", "numpy.core.multiarray")
"""Module names under which numpy 2.x and 1.x pickle their array and scalar rebuild functions."""

NUMERIC_DTYPES = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                  np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)
"""Element types a checkpoint's numpy metrics may have."""


def _multiarray():
    for name in NUMPY_MULTIARRAY_MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("numpy has neither numpy._core.multiarray nor numpy.core.multiarray")


def _refuse(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"refused to load {path}: {what}; a checkpoint's numpy metrics are "
                           "small numeric arrays and scalars. Re-save it from a trusted copy, or "
                           "pick the .pth written by training")


def _numeric_dtype(dtype: Any, path: Path) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise _refuse(path, f"it declares a numpy array of type {dtype!r}") from None
    if dtype.hasobject:
        raise _refuse(path, "it holds a numpy object array (Python objects, not numbers)")
    return dtype


def _check_size(shape: Any, dtype: np.dtype, path: Path, limit_bytes: int) -> tuple[int, ...]:
    if (not isinstance(shape, tuple)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise _refuse(path, f"it declares a numpy array of shape {shape!r}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > limit_bytes:
        raise _refuse(path, f"it declares a numpy array of shape {shape} ({nbytes:,} bytes) in a "
                            f"file of {limit_bytes:,} bytes")
    return shape


class CheckedArray(np.ndarray):
    """An array rebuilt from a checkpoint; its pickled state is checked before numpy reads it."""

    _checked_for: tuple[Path, int] = (Path("<checkpoint>"), 0)

    def __new__(cls, *args, **kwargs):
        # Only the checked rebuild function may make one; a pickle calling the class is refused.
        raise _refuse(cls._checked_for[0], "it calls numpy.ndarray directly")

    def __setstate__(self, state: Any) -> None:
        path, limit_bytes = self._checked_for
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _refuse(path, "its numpy array state is malformed")
        shape, dtype, _, raw = state[-4:]
        dtype = _numeric_dtype(dtype, path)
        shape = _check_size(shape, dtype, path, limit_bytes)
        if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dtype.itemsize:
            raise _refuse(path, f"its numpy array of shape {shape} does not hold that many bytes")
        np.ndarray.__setstate__(self, state)


def numpy_safe_globals(path: str | os.PathLike, limit_bytes: int) -> list[tuple[Any, str]]:
    """``(object, "module.name")`` pairs for ``torch.serialization.safe_globals``, checked versions.

    Parameters
    ----------
    path : path-like
        The file being loaded (named in refusals).
    limit_bytes : int
        Most bytes any one array or scalar may declare (the file's size).

    Examples
    --------
    >>> names = [name for _, name in numpy_safe_globals("ck.pth", 1000)]
    >>> "numpy.core.multiarray._reconstruct" in names, "numpy._core.multiarray.scalar" in names
    (True, True)
    """
    path = Path(path)
    multiarray = _multiarray()
    checked = type("CheckedArray", (CheckedArray,), {"_checked_for": (path, int(limit_bytes))})

    def reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        if subtype is not checked:
            raise _refuse(path, f"it rebuilds a numpy array as {subtype!r}")
        shape = _check_size(tuple(shape) if isinstance(shape, list) else shape,
                            _numeric_dtype(dtype, path), path, limit_bytes)
        return multiarray._reconstruct(checked, shape, dtype)

    def scalar(dtype: Any, data: Any = None) -> np.generic:
        dtype = _numeric_dtype(dtype, path)
        if not isinstance(data, bytes) or len(data) != dtype.itemsize:
            raise _refuse(path, f"its numpy {dtype} scalar does not hold {dtype.itemsize} bytes")
        return multiarray.scalar(dtype, data)

    functions: dict[str, Callable] = {"_reconstruct": reconstruct, "scalar": scalar}
    allowed = [(checked, "numpy.ndarray"), (np.dtype, "numpy.dtype")]
    allowed += [(function, f"{module}.{name}") for module in NUMPY_MULTIARRAY_MODULES
                for name, function in functions.items()]
    for dtype_class in {type(np.dtype(t)) for t in NUMERIC_DTYPES}:
        allowed.append((dtype_class, f"{dtype_class.__module__}.{dtype_class.__qualname__}"))
    return allowed


def plain_arrays(value: Any) -> Any:
    """``value`` with every :class:`CheckedArray` inside dicts, lists and tuples made plain.

    Examples
    --------
    >>> plain_arrays({"a": [np.arange(2)]})["a"][0].tolist()
    [0, 1]
    """
    if isinstance(value, CheckedArray):
        return value.view(np.ndarray)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = plain_arrays(item)
        return value
    if isinstance(value, list):
        value[:] = [plain_arrays(item) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(plain_arrays(item) for item in value)
    return value
