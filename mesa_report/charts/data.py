"""The charts' data: NumPy columns in, Altair inline data out, and back to pandas for reading.

Data go into the charts as Altair inline data (:func:`table`: rows built straight from NumPy
columns, not through pandas, whose sanitising and Altair's validation of every row would cost
more than the rest of a chart); :func:`chart_frame` reads them back as a pandas frame. Turn a
chart into a spec with :func:`mesa_report.render.vega.chart_spec` rather than ``chart.to_dict()``: its
data sets come out as plain JSON lists, and the schema check can be skipped.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from mesa_report.core.errors import ConfigError


def table(**columns) -> alt.InlineData:
    """Columns of equal length as a chart's inline data, one row per index.

    Values become plain Python numbers and strings; non-finite floats become ``None`` (JSON has
    no NaN). The rows are held in a tuple, which Altair's copies pass by reference, and they are
    not checked against the Vega-Lite schema one by one (the specs are, in the tests).

    Examples
    --------
    >>> table(epoch=np.arange(2), stage=["W", "N1"], p=[0.5, np.nan]).values
    ({'epoch': 0, 'stage': 'W', 'p': 0.5}, {'epoch': 1, 'stage': 'N1', 'p': None})
    """
    names = list(columns)
    values = []
    for name, column in columns.items():
        arr = np.asarray(column)
        if arr.ndim != 1:
            raise ConfigError(f"chart column {name!r} must be one-dimensional; got shape {arr.shape}")
        items = arr.tolist()
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            items = [v if math.isfinite(v) else None for v in items]
        values.append(items)
    lengths = {name: len(v) for name, v in zip(names, values)}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"chart columns differ in length: {lengths}")
    return _Rows(values=tuple(dict(zip(names, row)) for row in zip(*values)))


class _Rows(alt.InlineData):
    """Inline data that Altair does not check row by row when it is made (a chart's spec is checked
    as a whole when it is turned into one with validation, as the tests do)."""

    _class_is_valid_at_instantiation = False


def chart_frame(chart_or_data) -> pd.DataFrame:
    """The inline data of a chart (its top-level data) or of a :func:`table`, as a pandas frame.

    Examples
    --------
    >>> chart_frame(alt.Chart(table(weight=np.eye(2)[0]))).weight.tolist()
    [1.0, 0.0]
    """
    data = getattr(chart_or_data, "data", chart_or_data)
    if not isinstance(data, alt.InlineData):
        raise ConfigError(f"no inline data here ({type(data).__name__}); pass a chart of mesa_report.charts "
                          "or one of its layers")
    return pd.DataFrame(list(data.values))
