"""Night ids and the file names derived from them: ``mesa-sleep-0001``, ``..._preprocessed.pt``.

An id from a file name, an index CSV or a URL goes through :func:`parse_record_id` before it is
used in a path, so that only digits ever reach the file system.
"""

from __future__ import annotations

import re

import numpy as np

from mesa_report.core.errors import DataError

_RECORD_PREFIX = "mesa-sleep-"
_ID_PATTERN = re.compile(r"(?:mesa-sleep-)?0*([0-9]{1,9})(?:\.0*)?", re.IGNORECASE)
_MAX_ID_SHOWN = 60


def record_id(mesaid: int) -> str:
    """NSRR record id of a night.

    Examples
    --------
    >>> record_id(1)
    'mesa-sleep-0001'
    """
    return f"{_RECORD_PREFIX}{int(mesaid):04d}"


def night_filename(mesaid: int) -> str:
    """File name of a preprocessed night.

    Examples
    --------
    >>> night_filename(42)
    'mesa-sleep-0042_preprocessed.pt'
    """
    return f"{record_id(mesaid)}_preprocessed.pt"


def sidecar_filename(mesaid: int) -> str:
    """File name of a night's JSON sidecar.

    Examples
    --------
    >>> sidecar_filename(42)
    'mesa-sleep-0042_preprocessed.json'
    """
    return f"{record_id(mesaid)}_preprocessed.json"


def parse_record_id(text: str | int) -> int:
    """Turn ``mesa-sleep-0001``, ``0001`` or ``1`` into the integer id ``1``.

    Anything else (path separators, markup, spaces inside, letters) is refused, so that an id is
    never used raw as part of a file name.

    Parameters
    ----------
    text : str or int
        A record id, a zero-padded number or a plain number.

    Returns
    -------
    int
        The MESA id.

    Raises
    ------
    DataError
        If ``text`` is not one of the accepted spellings.

    Examples
    --------
    >>> parse_record_id("mesa-sleep-0042"), parse_record_id("0042"), parse_record_id(42)
    (42, 42, 42)
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        if text < 0:
            raise DataError(f"night id {int(text)} is negative; MESA ids are 0 or more")
        return int(text)
    match = _ID_PATTERN.fullmatch(str(text).strip())
    if match is None:
        shown = str(text)
        shown = shown if len(shown) <= _MAX_ID_SHOWN else shown[:_MAX_ID_SHOWN] + "..."
        raise DataError(
            f"{shown!r} is not a night id; write it as mesa-sleep-NNNN, NNNN or a plain number"
        )
    return int(match.group(1))
