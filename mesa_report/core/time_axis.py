"""The time axis of night charts and tables: hours since the start, or clock time where known.

:func:`recording_start` reads when a stored night began (preprocessing keeps the clock time of the
first epoch in the sidecar's ``start_clock``: from the annotation file's ``Recording Start Time``,
else from the EDF header). :class:`TimeAxis` turns seconds since the start into chart positions,
a Vega-Lite x encoding and text labels, either as hours since the start or, given a start, as
clock time. Clock positions are milliseconds of a UTC time line, drawn on a ``utc`` scale, so the
labels read the recording's wall-clock time whatever the viewer's time zone, and an axis runs on
past midnight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CLOCK_ONLY_DATE = dt.date(1900, 1, 1)
"""Date of a :func:`recording_start` when only the time of day is known (as ``strptime`` does)."""

_UNIX_EPOCH = dt.datetime(1970, 1, 1)
_SECONDS_PER_HOUR = 3600.0
_SECONDS_LABELS_BELOW_S = 20 * 60.0  # clock axes shorter than this label seconds too


def recording_start(meta: Mapping) -> dt.datetime | None:
    """When a night's recording began, from its sidecar fields; ``None`` where not recorded.

    Parameters
    ----------
    meta : mapping
        A night's sidecar fields, e.g. :attr:`mesa_report.data.store.Night.meta`: ``start_clock`` is
        ``HH:MM:SS`` or an ISO date and time.

    Returns
    -------
    datetime.datetime or None
        Wall-clock time of the first epoch, without a time zone. MESA's files are de-identified
        and give the time of day only: the date is then :data:`CLOCK_ONLY_DATE` and means nothing
        (axes and tables show the time of day alone). An unreadable value counts as not recorded.

    Examples
    --------
    >>> recording_start({"start_clock": "22:01:30"})
    datetime.datetime(1900, 1, 1, 22, 1, 30)
    >>> recording_start({"start_clock": "2011-01-04T22:13:46"}).time()
    datetime.time(22, 13, 46)
    >>> recording_start({"start_clock": None}), recording_start({"start_clock": "soon"})
    (None, None)
    """
    value = meta.get("start_clock")
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if "T" in text or " " in text or "-" in text:
            start = dt.datetime.fromisoformat(text)
        else:
            start = dt.datetime.combine(CLOCK_ONLY_DATE, dt.time.fromisoformat(text))
    except ValueError:
        return None
    return start.replace(tzinfo=None)


def _hms(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class TimeAxis:
    """Positions, x encoding and labels of a night's time axis.

    Parameters
    ----------
    start : datetime.datetime, optional
        Clock time of the night's first epoch (see :func:`recording_start`); ``None`` gives hours
        since the start.

    Examples
    --------
    >>> hours = TimeAxis()
    >>> hours.positions([0, 5400]).tolist(), hours.labels([5400])
    ([0.0, 1.5], ['1:30:00'])
    >>> clock = TimeAxis(dt.datetime(1900, 1, 1, 23, 30))
    >>> clock.labels([0, 3600 + 15]), clock.encoding("t", (0, 60))["type"]
    (['23:30:00', '00:30:15'], 'temporal')
    """

    start: dt.datetime | None = None

    @property
    def clock(self) -> bool:
        """Whether the axis shows clock time."""
        return self.start is not None

    @property
    def title(self) -> str:
        return "clock time" if self.clock else "time since start (h)"

    def positions(self, seconds) -> np.ndarray:
        """Chart positions of times given in seconds since the start: hours, or UTC milliseconds."""
        secs = np.asarray(seconds, dtype=np.float64)
        if self.start is None:
            return secs / _SECONDS_PER_HOUR
        origin_ms = (self.start.replace(tzinfo=None) - _UNIX_EPOCH).total_seconds() * 1000.0
        return origin_ms + secs * 1000.0

    def labels(self, seconds) -> list[str]:
        """Text of each time: ``h:mm:ss`` since the start, or the clock time ``HH:MM:SS``."""
        secs = np.asarray(seconds, dtype=np.float64).ravel()
        if self.start is None:
            return [_hms(s) for s in secs]
        return [(self.start + dt.timedelta(seconds=float(s))).strftime("%H:%M:%S") for s in secs]

    def encoding(self, field: str, domain_seconds: Sequence[float], *, title: str | None = "",
                 labels: bool = True) -> dict:
        """Vega-Lite x encoding of ``field`` (holding :meth:`positions`) over ``domain_seconds``.

        ``title=""`` gives the axis's own title, ``None`` none; ``labels=False`` hides the tick
        labels (for a panel above another that labels the shared axis).
        """
        low, high = (float(v) for v in self.positions(list(domain_seconds)))
        axis: dict = {} if labels else {"labels": False}
        if self.clock:  # minutes on a night's axis, seconds on a short one (ticks closer than a minute)
            axis.update(format="%H:%M" if high - low > _SECONDS_LABELS_BELOW_S * 1000.0 else "%H:%M:%S")
            scale = {"type": "utc", "domain": [low, high], "nice": False}
            kind = "temporal"
        else:
            scale = {"domain": [low, high], "nice": False, "zero": False}
            kind = "quantitative"
        return {"field": field, "type": kind, "scale": scale, "axis": axis,
                "title": self.title if title == "" else title}

    def tooltip(self, field: str) -> dict:
        """Vega-Lite tooltip of ``field`` (holding :meth:`positions`), in the axis's terms."""
        if self.clock:
            return {"field": field, "type": "temporal", "timeUnit": "utchoursminutesseconds",
                    "title": "clock time", "format": "%H:%M:%S"}
        return {"field": field, "type": "quantitative", "title": "hours since start", "format": ".3f"}
