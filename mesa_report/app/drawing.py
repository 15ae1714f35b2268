"""Charts on the page: each drawn at its own size, its data inline, and the epoch a click picked.

Examples
--------
>>> picked_epoch({"selection": {"epoch": [{"query_epoch": 42}]}})
42
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import altair as alt
import numpy as np

from mesa_report.charts.heatmaps import EPOCH_FIELD, EPOCH_SELECTION
from mesa_report.render.vega import chart_spec


NATURAL_SIZE = {"type": "pad", "contains": "padding"}
"""Vega autosize that keeps a chart's own width and height for its plot area."""

CANVAS = {"embedOptions": {"renderer": "canvas"}}
"""A spec's ``usermeta`` that makes Streamlit's page draw it with Vega's canvas renderer."""

CONTENT_NAMED = re.compile(r"data-[0-9a-f]{32}")
"""Altair's names of the data sets it gathers into ``datasets``: a hash of their content."""


def inline_datasets(spec: dict) -> dict:
    """The spec with each data set Altair named by its content written where it is used.

    Streamlit turns a spec's ``datasets`` into Arrow tables (through pandas) on every run; data
    written inline travel as the spec's JSON, which costs a fraction of that for charts of a few
    thousand rows. Data sets of other names stay in ``datasets`` (see :func:`hoist_named`).

    Examples
    --------
    >>> inline_datasets({"datasets": {"data-" + "0" * 32: [{"x": 1}], "band": [{"x": 2}]},
    ...                  "layer": [{"data": {"name": "data-" + "0" * 32}, "mark": "tick"},
    ...                            {"data": {"name": "band"}, "mark": "rule"}]})
    {'layer': [{'data': {'values': [{'x': 1}]}, 'mark': 'tick'}, {'data': {'name': 'band'}, 'mark': 'rule'}], \
'datasets': {'band': [{'x': 2}]}}
    """
    named = spec.get("datasets") or {}
    datasets = {name: rows for name, rows in named.items() if CONTENT_NAMED.fullmatch(name)}
    if not datasets:
        return spec

    def inline(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and data.get("name") in datasets and len(data) == 1:
                node = {**node, "data": {"values": datasets[data["name"]]}}
            return {key: (value if key == "data" else inline(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    kept = {name: rows for name, rows in named.items() if name not in datasets}
    return {**inline({key: value for key, value in spec.items() if key != "datasets"}),
            **({"datasets": kept} if kept else {})}


def hoist_named(spec: dict) -> dict:
    """The spec with each inline data set that has a name of its own moved into ``datasets``.

    Streamlit sends ``datasets`` beside the spec; when a rerun changes only those (e.g. the
    hypnogram's band, :data:`mesa_report.charts.night.WINDOW_DATA`) the spec is unchanged, and
    Streamlit's page updates the drawn chart's data in place rather than building the chart
    again (a Vega view with thousands of marks). Content-named data sets (Altair's) are left alone.

    Examples
    --------
    >>> hoist_named({"layer": [{"data": {"values": [{"x": 2}], "name": "band"}, "mark": "rule"}]})
    {'layer': [{'data': {'name': 'band'}, 'mark': 'rule'}], 'datasets': {'band': [{'x': 2}]}}
    """
    hoisted: dict[str, list] = {}

    def hoist(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and set(data) == {"values", "name"} and not CONTENT_NAMED.fullmatch(data["name"]):
                hoisted[data["name"]] = data["values"]
                node = {**node, "data": {"name": data["name"]}}
            return {key: (value if key in ("data", "datasets") else hoist(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [hoist(item) for item in node]
        return node

    out = hoist(spec)
    return {**out, "datasets": {**spec.get("datasets", {}), **hoisted}} if hoisted else out


def draw_spec(where, spec: dict, *, canvas: bool = False, **options):
    """Show a Vega-Lite spec at its own size and in its own colours (see :func:`draw`).

    With ``canvas`` the browser draws it on a canvas rather than as SVG (:data:`CANVAS`): the
    same picture, tooltips and clicks without an SVG element per mark, so it is drawn faster (an
    epoch's traces: about a fifth faster in Chromium; the channel and temporal maps with them took
    a Next click from 0.70 to 0.52 s, the inter-epoch map then 0.51 to 0.44 s). The night's
    hypnogram and hypnodensity stay SVG: a Next click changes only their band, which SVG redraws
    alone.

    Examples
    --------
    >>> draw_spec(st, night_chart_specs(*night_args)["confusion"])  # doctest: +SKIP
    """
    shown = {**inline_datasets(spec), "autosize": NATURAL_SIZE, **({"usermeta": CANVAS} if canvas else {})}
    return where.vega_lite_chart(shown, width="content", theme=None, **options)


def draw(where, chart: alt.TopLevelMixin, **options):
    """Show a chart at its own size and in its own colours, as in the PNG files and reports.

    Streamlit would otherwise squeeze axes and legends into the chart's width and apply its
    theme. The spec is built without schema validation (the chart functions' tests validate
    theirs): that halves the time of a Next click. ``options`` go to :func:`draw_spec` and
    ``vega_lite_chart`` (``canvas``, ``key``, ``on_select`` ...); its return value is returned.

    Examples
    --------
    >>> event = draw(st, confusion_chart([[1, 0], [0, 1]], ["W", "N1"]))  # doctest: +SKIP
    """
    return draw_spec(where, chart_spec(chart, validate=False), **options)


def picked_epoch(event: dict | None, selection: str = EPOCH_SELECTION,
                 field: str = EPOCH_FIELD) -> int | None:
    """The night epoch clicked in a chart, from ``st.altair_chart``'s event.

    By default the inter-epoch chart's; ``selection`` and ``field`` name another chart's (e.g.
    :data:`mesa_report.charts.night.NIGHT_EPOCH_SELECTION` and ``epoch`` for the night's charts).

    Examples
    --------
    >>> picked_epoch({"selection": {"epoch": [{"query_epoch": 42}]}}), picked_epoch({"selection": {}})
    (42, None)
    >>> picked_epoch({"selection": {"night_epoch": [{"epoch": 7}]}}, "night_epoch", "epoch")
    7
    """
    points = ((event or {}).get("selection") or {}).get(selection) or []
    if not isinstance(points, Sequence) or not points or not isinstance(points[0], dict):
        return None
    value = points[0].get(field)
    return int(value) if isinstance(value, (int, float, np.integer)) else None
