"""How a report writes numbers, percentages, quantities, clock times and durations (also the template's filters).

Examples
--------
>>> format_percent(0.1234), format_duration(5400)
('12.3 %', '1 h 30 min')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np



# --------------------------------------------------------------------------------------------
# Formatting (also the template's filters)
# --------------------------------------------------------------------------------------------
DASH = "–"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value))


def format_number(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; a dash when undefined.

    Examples
    --------
    >>> format_number(0.71234, 3), format_number(float("nan"))
    ('0.712', '–')
    """
    return DASH if _missing(value) else f"{float(value):.{digits}f}"


def format_percent(fraction: Any, digits: int = 1) -> str:
    """A fraction (0-1) as a percentage.

    Examples
    --------
    >>> format_percent(0.8342)
    '83.4 %'
    """
    return DASH if _missing(fraction) else f"{100.0 * float(fraction):.{digits}f} %"


def format_quantity(value: Any, unit: str, signed: bool = False, digits: int = 1) -> str:
    """A value with its unit (``min`` or ``%``), optionally with its sign.

    Examples
    --------
    >>> format_quantity(412.5, "min"), format_quantity(-3.25, "%", signed=True)
    ('412.5 min', '−3.2 %')
    """
    if _missing(value):
        return DASH
    text = f"{float(value):{'+' if signed else ''}.{digits}f}".replace("-", "−")
    return f"{text} {unit}".strip()


def format_clock(seconds: Any) -> str:
    """Seconds since the start of the recording as ``h:mm:ss``.

    Examples
    --------
    >>> format_clock(3725)
    '1:02:05'
    """
    if _missing(seconds):
        return DASH
    total = int(round(float(seconds)))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_duration(seconds: Any) -> str:
    """A length of time as ``7 h 32 min``.

    Examples
    --------
    >>> format_duration(27120), format_duration(600)
    ('7 h 32 min', '10 min')
    """
    if _missing(seconds):
        return DASH
    minutes = int(round(float(seconds) / 60.0))
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


FILTERS = {
    "number": format_number,
    "percent": format_percent,
    "quantity": format_quantity,
    "clock": format_clock,
    "duration": format_duration,
}
"""The template's named filters."""
