"""Checks on a loaded night's tensor and sidecar before anything is sized from them.

A ``.pt`` night of a few hundred bytes can declare any shape: a tensor with no data (``meta``),
a stride-0 view of one sample, a sparse tensor of 10^12 zeros. Everything downstream (labels,
windows, charts) is sized from that shape, so the shape is checked here first: against a
stated bound (:data:`MAX_NIGHT_HOURS` at the store's rate, :data:`MAX_CHANNELS` channels) and
against the bytes the file really holds. Tensors that can be turned into a plain float tensor
exactly are (bfloat16 -> float32; sparse -> dense when the dense night is within
:data:`MAX_CONVERTED_BYTES`); anything else is refused with a one-line message naming the file.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch

from mesa_report.core.errors import DataError
from mesa_report.core.vocabulary import SFREQ_HZ

MAX_NIGHT_HOURS = 48.0
"""Longest night accepted, in hours (the same bound as annotation files)."""

MAX_NIGHT_SAMPLES = int(MAX_NIGHT_HOURS * 3600 * SFREQ_HZ)
"""Samples per channel of the longest night at the store's rate (22,118,400)."""

MAX_CHANNELS = 64
"""Most channels a stored night may have."""

MAX_CONVERTED_BYTES = 1 << 30
"""Largest dense night a sparse night is expanded to (1 GiB)."""

_SCIENTIFIC = re.compile(r"\s*[0-9](\.[0-9]*)?[eE][+-]?[0-9]+\s*")
_FIX = "write it again with torch.save(signal, path), signal a float tensor (channels, T)"


def _refuse(path: Path, what: str) -> DataError:
    return DataError(f"preprocessed night {path} {what}; {_FIX}")


def _check_shape(value: torch.Tensor, path: Path) -> None:
    shape = tuple(value.shape)
    if len(shape) != 2:
        raise _refuse(path, f"holds a tensor of shape {shape}, not (channels, T)")
    channels, samples = shape
    if channels > MAX_CHANNELS and samples <= MAX_CHANNELS:
        raise DataError(f"preprocessed night {path} looks transposed: shape {shape} is (T, "
                        f"channels); the store keeps (channels, T) — save signal.T.contiguous()")
    if channels > MAX_CHANNELS or samples > MAX_NIGHT_SAMPLES:
        raise _refuse(path, f"declares shape {shape}: more than {MAX_CHANNELS} channels or "
                            f"{MAX_NIGHT_HOURS:g} h at {SFREQ_HZ:g} Hz ({MAX_NIGHT_SAMPLES:,} "
                            "samples)")


def checked_night_tensor(value: torch.Tensor, path: str | Path) -> torch.Tensor:
    """The night's tensor as a plain strided float tensor ``(channels, T)``, after the checks.

    Parameters
    ----------
    value : torch.Tensor
        As loaded from ``path``.
    path : path-like
        The ``.pt`` file (its size bounds the bytes a dense tensor may declare).

    Raises
    ------
    DataError
        For a tensor without data, of another shape or type, larger than the bounds, or
        declaring more samples than the file holds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "n.pt"
    >>> torch.save(torch.ones(4, 3840, dtype=torch.bfloat16), path)
    >>> checked_night_tensor(torch.load(path), path).dtype
    torch.float32
    """
    path = Path(path)
    if value.is_meta:
        raise _refuse(path, f"holds a tensor of shape {tuple(value.shape)} without data (a meta "
                            "tensor)")
    _check_shape(value, path)
    if not value.is_floating_point():
        raise _refuse(path, f"holds samples of dtype {value.dtype}, not floats")
    if value.layout != torch.strided:
        dense_bytes = value.numel() * 4
        if value.layout != torch.sparse_coo or dense_bytes > MAX_CONVERTED_BYTES:
            raise _refuse(path, f"holds a {value.layout} tensor of shape {tuple(value.shape)} "
                                f"({dense_bytes:,} bytes once dense; at most "
                                f"{MAX_CONVERTED_BYTES:,} are expanded)")
        value = value.to_dense()
    else:
        declared = value.numel() * value.element_size()
        if declared > path.stat().st_size:
            raise _refuse(path, f"declares {declared:,} bytes of samples (shape "
                                f"{tuple(value.shape)}) but the file has {path.stat().st_size:,}")
    if value.dtype == torch.bfloat16:
        value = value.float()  # exact: every bfloat16 is a float32
    return value


def sidecar_rate_hz(sidecar: dict[str, Any], path: str | Path) -> float | None:
    """A sidecar's ``sfreq_hz`` as a positive finite number, ``None`` if it has none.

    Raises
    ------
    DataError
        If the value is not a positive number (names the sidecar and the fix).

    Examples
    --------
    >>> sidecar_rate_hz({"sfreq_hz": 128}, "n.json"), sidecar_rate_hz({}, "n.json")
    (128.0, None)
    """
    value = sidecar.get("sfreq_hz")
    if value is None:
        return None
    try:
        rate = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise DataError(f"sidecar {path} has sfreq_hz {value!r}, not a sampling rate in Hz; set it "
                        f"to the night's rate (the store's is {SFREQ_HZ:g}) or delete the sidecar")
    return rate


def stage_string_warning(stages: str, night: str) -> str | None:
    """A warning for a ``sleep_stages`` string with characters that are not digits, or ``None``.

    Such characters are skipped (the seed's rule); the warning counts them, and says so when the
    string looks like a number in scientific notation (a spreadsheet turned it into a number,
    and the digits it dropped are lost).

    Examples
    --------
    >>> print(stage_string_warning("0012", "mesa-sleep-0001"))
    None
    >>> stage_string_warning("1.2E+15", "mesa-sleep-0001")[:80]
    'mesa-sleep-0001: its sleep_stages 1.2E+15 has 3 characters that are not digits; '
    """
    text = str(stages)
    skipped = sum(1 for ch in text if not (ch.isascii() and ch.isdigit()))
    if not skipped:
        return None
    shown = text if len(text) <= 40 else text[:40] + "..."
    note = (f"{night}: its sleep_stages {shown} has {skipped} characters that are not digits; "
            "they are skipped")
    if _SCIENTIFIC.fullmatch(text):
        note += (" — it looks like a number in scientific notation (a spreadsheet turned the "
                 "stages into a number and dropped digits); write the column as text again")
    return note
