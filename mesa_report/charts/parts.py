"""Pieces every chart family shares: checked inputs and encoding channels as plain dicts.

Inputs are checked before a chart is built (a :class:`mesa_report.core.errors.ConfigError`
names the array and what it should be). Encodings can be written as plain Vega-Lite dicts
(:func:`encoding_field`): Altair copies every channel object each time a chart is layered,
concatenated or turned into a spec, which costs more than building the chart.

Examples
--------
>>> square_array([[0.5, 0.5], [1, 0]], "weights").shape
(2, 2)
>>> encoding_field("t", "quantitative", title="time")
{'field': 't', 'type': 'quantitative', 'title': 'time'}
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import altair as alt
import numpy as np

from mesa_report.core.errors import ConfigError


def checked_array(value, name: str, ndim: int, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise ConfigError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if dtype is np.float64 and not np.isfinite(arr).all():
        raise ConfigError(f"{name} contains NaN or infinite values")
    return arr


def square_array(value, name: str) -> np.ndarray:
    arr = checked_array(value, name, 2)
    if arr.shape[0] != arr.shape[1]:
        raise ConfigError(f"{name} must be square (query × key); got shape {arr.shape}")
    return arr


def same_length(expected: int, what: str, **arrays: np.ndarray) -> None:
    for name, arr in arrays.items():
        if arr.shape[0] != expected:
            raise ConfigError(f"{name} has {arr.shape[0]} entries but {what} has {expected}")


def label_array(value, name: str) -> np.ndarray:
    return checked_array(value, name, 1, dtype=np.int64)


def title_params(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text=text, subtitle=subtitle or alt.Undefined, anchor="start")


def composed(kind: type, parts: Sequence, **props):
    """A layer or concatenation chart (``alt.LayerChart``, ``alt.VConcatChart`` ...) of ``parts``, as they are.

    Altair's constructors copy every part, at every level of nesting, to lift selection parameters
    up to the top; for parts without parameters that only costs time (about half of an epoch's
    traces chart). Parts with parameters go through the constructor. Each part keeps its own
    data (Altair would lift data that every part shares; give shared data to the whole instead).

    Examples
    --------
    >>> dot = alt.Chart(mark="point")
    >>> both = composed(alt.LayerChart, [dot, dot], width=100)
    >>> both.layer[0] is dot, both.to_dict()["width"]
    (True, 100)
    """
    field = {alt.LayerChart: "layer", alt.VConcatChart: "vconcat", alt.HConcatChart: "hconcat"}[kind]
    if any(_has_params(part) for part in parts):
        return kind(**{field: list(parts)}, **props)
    chart = kind(**props)
    setattr(chart, field, list(parts))
    return chart


def _has_params(chart) -> bool:
    params = getattr(chart, "params", alt.Undefined)
    return params is not alt.Undefined and bool(params)


def encoding_field(name: str, type_: str, **props) -> dict:
    """One encoding channel as its Vega-Lite dict (for charts built without Altair's channel objects)."""
    return {"field": name, "type": type_, **props}


SHORTHAND_TYPES = {"Q": "quantitative", "O": "ordinal", "N": "nominal", "T": "temporal"}
"""Vega-Lite's field types by their one-letter shorthand (``"weight:Q"``)."""


def tooltip_field(field: str, title: str, fmt: str | None = None) -> dict:
    """A tooltip entry as its Vega-Lite dict, from ``"name:T"`` shorthand.

    Examples
    --------
    >>> tooltip_field("weight:Q", "attention", ".4f")
    {'field': 'weight', 'type': 'quantitative', 'title': 'attention', 'format': '.4f'}
    """
    name, _, kind = field.rpartition(":")
    if not name or kind not in SHORTHAND_TYPES:
        raise ValueError(f"tooltip field {field!r}: write it as NAME:T with T one of {', '.join(SHORTHAND_TYPES)}")
    return encoding_field(name, SHORTHAND_TYPES[kind], title=title, **({"format": fmt} if fmt else {}))


def js_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)
