"""Every attention view of mesa-report, as an Altair chart.

These functions are the single source of each view: the Streamlit app shows the charts as they
are, the HTML reports embed their specs and :mod:`mesa_report.render.vega` turns them into PNG, SVG or
PDF files. They take NumPy arrays (or anything ``numpy.asarray`` reads) and names, never a model,
and change neither their inputs nor any Altair setting.

Colour maps are given by their matplotlib names (``viridis``, ``plasma``, ``YlOrRd`` …, with an
optional ``_r`` to reverse) or by Vega scheme names; see :data:`COLOUR_SCHEMES`.

Data go into the charts as Altair inline data (:func:`table`: rows built straight from NumPy
columns, not through pandas, whose sanitising and Altair's validation of every row would cost
more than the rest of a chart); :func:`chart_frame` reads them back as a pandas frame. Turn a
chart into a spec with :func:`mesa_report.render.vega.chart_spec` rather than ``chart.to_dict()``: its
data sets come out as plain JSON lists, and the schema check can be skipped.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import altair as alt
import numpy as np
import pandas as pd

from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.explain.view_scales import ColourSpan, colour_span
from mesa_report.core.vocabulary import (
    CLASS_NAMES_6,
    REM_BAND_COLOUR,
    STAGE_COLOURS,
    UNSCORED_COLOUR,
    UNSCORED_NAME,
    WRONG_COLOUR,
    channel_label,
    stage_name,
)
from mesa_report.core.time_axis import TimeAxis

EPOCH_SELECTION = "epoch"
"""Name of the inter-epoch chart's point selection (``event.selection[EPOCH_SELECTION]`` in Streamlit)."""

EPOCH_FIELD = "query_epoch"
"""Field the :data:`EPOCH_SELECTION` selection holds: the clicked row's epoch index."""

NIGHT_EPOCH_SELECTION = "night_epoch"
"""Name of the point selection of the night's charts (hypnogram, hypnodensity); it holds ``epoch``."""

EPOCH_CMAP = "plasma"
CHANNEL_CMAP = "YlOrRd"
TEMPORAL_CMAP = "viridis"
CONFUSION_CMAP = "Blues"

COLOUR_SCHEMES: Mapping[str, str] = {
    "viridis": "viridis",
    "plasma": "plasma",
    "inferno": "inferno",
    "magma": "magma",
    "cividis": "cividis",
    "turbo": "turbo",
    "YlOrRd": "yelloworangered",
    "YlOrBr": "yelloworangebrown",
    "YlGnBu": "yellowgreenblue",
    "YlGn": "yellowgreen",
    "OrRd": "orangered",
    "RdPu": "redpurple",
    "BuPu": "bluepurple",
    "GnBu": "greenblue",
    "PuBu": "purpleblue",
    "Blues": "blues",
    "Greens": "greens",
    "Greys": "greys",
    "Oranges": "oranges",
    "Purples": "purples",
    "Reds": "reds",
}
"""Sequential colour maps, matplotlib name -> Vega scheme name."""

TEXT_COLOUR = "#1f2430"
WINDOW_COLOUR = "#4d4d4d"
"""Outline and light fill of the band marking the shown sample on the hypnogram (a grey no stage uses)."""
FALLBACK_COLOURS = ("#7f7f7f", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#1f77b4")

INTER_EPOCH_PX = 440
CHANNEL_PX = 220
TEMPORAL_PX = 300
CONFUSION_PX = 300
TRACE_WIDTH_PX = 760
TRACE_HEIGHT_PX = 200
RELEVANCE_HEIGHT_PX = 70
HYPNOGRAM_WIDTH_PX = 760
HYPNOGRAM_ROW_PX = 18
CONFIDENCE_HEIGHT_PX = 70
NIGHT_Y_AXIS_PX = 40
"""Room for the y axis labels of the night's charts, so the hypnodensity's plot lines up under the hypnogram's."""
DASHBOARD_EPOCH_PX = 380
DASHBOARD_PANEL_PX = 170


# --------------------------------------------------------------------------------------------
# Colour schemes and stage vocabulary
# --------------------------------------------------------------------------------------------
def colour_scale(cmap: str, domain: Sequence[float] | None = None) -> alt.Scale:
    """Altair colour scale for a matplotlib or Vega colour-map name.

    Parameters
    ----------
    cmap : str
        A key of :data:`COLOUR_SCHEMES` (case-insensitive, ``_r`` reverses) or a Vega scheme name
        among its values.
    domain : (low, high), optional
        Fixed ends of the scale (values beyond are drawn at the nearer end); by default the
        data's range.

    Returns
    -------
    altair.Scale

    Raises
    ------
    ReportError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> colour_scale("YlOrRd", domain=(0, 1)).to_dict()
    {'clamp': True, 'domain': [0.0, 1.0], 'scheme': 'yelloworangered'}
    >>> colour_scale("viridis_r").to_dict()["reverse"]
    True
    """
    name = str(cmap)
    reverse = name.endswith("_r")
    base = name[:-2] if reverse else name
    by_lower = {k.lower(): v for k, v in COLOUR_SCHEMES.items()}
    by_lower.update({v: v for v in COLOUR_SCHEMES.values()})
    scheme = by_lower.get(base.lower())
    if scheme is None:
        raise ReportError(
            f"unknown colour map {cmap!r}; choose one of {', '.join(COLOUR_SCHEMES)} "
            "(add _r to reverse)"
        )
    kwargs: dict = {"scheme": scheme}
    if domain is not None:
        kwargs["domain"] = [float(v) for v in domain]
        kwargs["clamp"] = True
    if reverse:
        kwargs["reverse"] = True
    return alt.Scale(**kwargs)


def stage_colour_scale(class_names: Sequence[str]) -> alt.Scale:
    """Colour scale from stage name to the seed's stage colour; unscored ``?`` is grey.

    Examples
    --------
    >>> stage_colour_scale(["W", "REM"]).to_dict()["range"]
    ['#3498db', '#1abc9c', '#b0b0b0']
    """
    names = [str(n) for n in class_names]
    extra = iter(FALLBACK_COLOURS * (len(names) // len(FALLBACK_COLOURS) + 1))
    colours = [STAGE_COLOURS.get(n) or next(extra) for n in names]
    return alt.Scale(domain=[*names, UNSCORED_NAME], range=[*colours, UNSCORED_COLOUR])


def epoch_labels(true_labels: np.ndarray, pred_labels: np.ndarray, class_names: Sequence[str],
                 first_epoch: int = 0) -> list[str]:
    """Axis label ``index true→pred`` of each epoch; unscored stages read ``?``.

    Examples
    --------
    >>> epoch_labels(np.array([2, -1]), np.array([1, 0]), ("W", "N1", "N2"), first_epoch=10)
    ['10 N2→N1', '11 ?→W']
    """
    return [
        f"{first_epoch + i} {stage_name(t, class_names)}→{stage_name(p, class_names)}"
        for i, (t, p) in enumerate(zip(np.asarray(true_labels), np.asarray(pred_labels)))
    ]


def received_attention(weights: np.ndarray) -> np.ndarray:
    """Attention each key receives, averaged over the queries: ``(..., N, N) -> (..., N)``.

    With rows that sum to 1 (softmax weights) the result sums to 1 over the keys.

    Examples
    --------
    >>> received_attention(np.array([[0.5, 0.5], [1.0, 0.0]])).tolist()
    [0.75, 0.25]
    """
    return np.asarray(weights, dtype=np.float64).mean(axis=-2)  # (..., N)


# --------------------------------------------------------------------------------------------
# Chart data
# --------------------------------------------------------------------------------------------
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
    >>> chart_frame(channel_chart(np.eye(2), ["EEG1", "EEG2"]))["weight"].tolist()
    [1.0, 0.0, 0.0, 1.0]
    """
    data = getattr(chart_or_data, "data", chart_or_data)
    if not isinstance(data, alt.InlineData):
        raise ConfigError(f"no inline data here ({type(data).__name__}); pass a chart of this module "
                          "or one of its layers")
    return pd.DataFrame(list(data.values))


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _array(value, name: str, ndim: int, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise ConfigError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if dtype is np.float64 and not np.isfinite(arr).all():
        raise ConfigError(f"{name} contains NaN or infinite values")
    return arr


def _square(value, name: str) -> np.ndarray:
    arr = _array(value, name, 2)
    if arr.shape[0] != arr.shape[1]:
        raise ConfigError(f"{name} must be square (query × key); got shape {arr.shape}")
    return arr


def _same_length(expected: int, what: str, **arrays: np.ndarray) -> None:
    for name, arr in arrays.items():
        if arr.shape[0] != expected:
            raise ConfigError(f"{name} has {arr.shape[0]} entries but {what} has {expected}")


def _labels(value, name: str) -> np.ndarray:
    return _array(value, name, 1, dtype=np.int64)


def _title(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text=text, subtitle=subtitle or alt.Undefined, anchor="start")


def _field(name: str, type_: str, **props) -> dict:
    """One encoding channel as its Vega-Lite dict (for charts built without Altair's channel objects)."""
    return {"field": name, "type": type_, **props}


def _tooltip(field: str, title: str, fmt: str | None = None) -> alt.Tooltip:
    return alt.Tooltip(field, title=title, format=fmt) if fmt else alt.Tooltip(field, title=title)


DARK_LOW_SCHEMES = ("viridis", "plasma", "inferno", "magma", "cividis")
"""Vega schemes that start dark and end light; the other sequential ones start light (turbo is
dark at both ends)."""


def _contrast_text(field: str, cmap: str = CONFUSION_CMAP, domain: Sequence[float] = (0.0, 1.0)) -> alt.ColorValue:
    """Text colour readable on a cell: white where the colour map is dark there, black elsewhere.

    Written as the channel class itself: ``alt.when`` builds the same condition through a
    validated ``from_dict`` that costs about 20 ms per chart.

    Examples
    --------
    >>> _contrast_text("w", "viridis", (0, 0.5)).to_dict()["condition"]["test"]
    '((datum["w"] - 0.0) / 0.5) < 0.5'
    """
    scale = colour_scale(cmap).to_dict()
    low, high = float(domain[0]), float(domain[1])
    t = f"((datum[{json.dumps(field)}] - {low!r}) / {max(high - low, 1e-12)!r})"
    if scale.get("reverse"):
        t = f"(1 - {t})"
    if scale["scheme"] == "turbo":
        test = f"{t} < 0.2 || {t} > 0.8"
    else:
        test = f"{t} < 0.5" if scale["scheme"] in DARK_LOW_SCHEMES else f"{t} > 0.55"
    return alt.ColorValue(value="black", condition={"test": test, "value": "white"})


def _weight_colour(field: str, cmap: str, span: ColourSpan | None, title: str,
                   fixed: Sequence[float] | None = None) -> dict:
    """A heatmap's colour channel: the span's scale (with its notes under the legend's title), or
    ``fixed``, or the data's range."""
    domain = span.domain if span is not None else fixed
    notes = span.notes if span is not None else ()
    colour = {"field": field, "type": "quantitative", "scale": colour_scale(cmap, domain).to_dict(),
              "title": [title, *notes] if notes else title}
    return {**colour, "legend": {"titleLimit": 320}} if notes else colour  # notes are whole sentences


def _envelope(signal: np.ndarray, n_columns: int) -> np.ndarray:
    """Indices of the samples that draw ``signal`` at ``n_columns`` pixels: each column's min and max.

    A line through the lowest and the highest sample of every pixel column looks the same as the
    whole trace at that width, with at most two points per column.

    Examples
    --------
    >>> _envelope(np.arange(10.0), 20).tolist() == list(range(10))
    True
    >>> _envelope(np.array([0., 5., -3., 1., 2., 2., 9., 0.]), 2).tolist()  # columns 0-3, 4-7
    [1, 2, 6, 7]
    """
    n = signal.shape[0]
    if n <= 2 * n_columns:
        return np.arange(n)
    column = np.arange(n) * n_columns // n  # (T,) pixel column of each sample, non-decreasing
    order = np.lexsort((signal, column))  # (T,) by column, then by value
    first = np.searchsorted(column, np.arange(n_columns))  # (n_columns,) where each column starts
    last = np.append(first[1:], n) - 1  # (n_columns,)
    return np.unique(np.concatenate([order[first], order[last]]))  # (≤ 2·n_columns,) in time order


def _js_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Inter-epoch attention
# --------------------------------------------------------------------------------------------
def _epoch_table(weights: np.ndarray, labels: list[str], true: np.ndarray, pred: np.ndarray,
                 class_names: Sequence[str], first_epoch: int) -> alt.InlineData:
    n = weights.shape[0]
    query, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # (S, S) each
    query, key = query.ravel(), key.ravel()  # (S·S,)
    stages = np.array([f"{stage_name(t, class_names)}→{stage_name(p, class_names)}"
                       for t, p in zip(true, pred)])  # (S,)
    names = np.asarray(labels)  # (S,)
    return table(
        query_epoch=query + first_epoch,
        key_epoch=key + first_epoch,
        query_label=names[query],
        key_label=names[key],
        query_stage=stages[query],
        key_stage=stages[key],
        weight=weights.ravel(),
    )


def _label_colour_expr(labels: list[str], true: np.ndarray, pred: np.ndarray) -> alt.ExprRef:
    wrong = [lab for lab, t, p in zip(labels, true, pred) if t >= 0 and t != p]
    unscored = [lab for lab, t in zip(labels, true) if t < 0]
    return alt.ExprRef(
        f"indexof({_js_list(wrong)}, datum.value) >= 0 ? '{WRONG_COLOUR}' : "
        f"indexof({_js_list(unscored)}, datum.value) >= 0 ? '{UNSCORED_COLOUR}' : '{TEXT_COLOUR}'"
    )


def _label_weight_expr(labels: list[str], true: np.ndarray, pred: np.ndarray) -> alt.ExprRef:
    wrong = [lab for lab, t, p in zip(labels, true, pred) if t >= 0 and t != p]
    return alt.ExprRef(f"indexof({_js_list(wrong)}, datum.value) >= 0 ? 'bold' : 'normal'")


def inter_epoch_chart(weights, true_labels, pred_labels, *,
                      class_names: Sequence[str] = CLASS_NAMES_6, first_epoch: int = 0,
                      cmap: str = EPOCH_CMAP, title: str | None = None,
                      subtitle: str | None = None, span: ColourSpan | None = None) -> alt.Chart:
    """Inter-epoch attention: how much each query epoch attends to each key epoch.

    Each axis label reads ``index true→pred``; labels of wrong predictions are bold in
    :data:`WRONG_COLOUR`, those of unscored epochs grey. Clicking a cell selects its query epoch
    through the point selection :data:`EPOCH_SELECTION` (field :data:`EPOCH_FIELD`); the selected
    row is outlined and every cell keeps its colour.

    Parameters
    ----------
    weights : array, shape (S, S)
        Attention weights, query epoch × key epoch (one layer; one head or the mean of heads).
    true_labels, pred_labels : int array, shape (S,)
        Scored and predicted stage codes; ``-1`` is unscored.
    class_names : sequence of str
        Stage name of each code.
    first_epoch : int
        Index of the first epoch within the night (labels count from it).
    cmap : str
        Colour map (see :func:`colour_scale`); the seed's ``plasma`` by default.
    title, subtitle : str, optional
        Chart title (default ``inter-epoch attention``) and subtitle.
    span : ColourSpan, optional
        The colour scale (:meth:`mesa_report.explain.views.SampleAttention.span`); by default
        the data's range.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> w = np.full((3, 3), 1 / 3)
    >>> chart = inter_epoch_chart(w, [0, 2, 5], [0, 1, 5])
    >>> chart_frame(chart)["key_label"].unique().tolist()
    ['0 W→W', '1 N2→N1', '2 REM→REM']
    """
    w = _square(weights, "weights")
    true, pred = _labels(true_labels, "true_labels"), _labels(pred_labels, "pred_labels")
    _same_length(w.shape[0], "weights", true_labels=true, pred_labels=pred)
    labels = epoch_labels(true, pred, class_names, first_epoch)
    data = _epoch_table(w, labels, true, pred, class_names, first_epoch)
    selection = alt.selection_point(name=EPOCH_SELECTION, fields=[EPOCH_FIELD], on="click",
                                    clear="dblclick")
    axis = dict(labelColor=_label_colour_expr(labels, true, pred),
                labelFontWeight=_label_weight_expr(labels, true, pred), labelFontSize=10)
    n = w.shape[0]
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("key_label:O", sort=labels, title="key epoch (true→predicted)",
                    axis=alt.Axis(labelAngle=-60, **axis)),
            y=alt.Y("query_label:O", sort=labels, title="query epoch (true→predicted)",
                    axis=alt.Axis(**axis)),
            color=_weight_colour("weight", cmap, span, "attention"),
            stroke=alt.StrokeValue(value=None, condition={"param": EPOCH_SELECTION, "empty": False,
                                                          "value": TEXT_COLOUR}),
            strokeWidth=alt.StrokeWidthValue(value=0, condition={"param": EPOCH_SELECTION, "empty": False,
                                                                 "value": 1.5}),
            tooltip=[
                _tooltip("query_epoch:O", "query epoch"),
                _tooltip("query_stage:N", "query true→pred"),
                _tooltip("key_epoch:O", "key epoch"),
                _tooltip("key_stage:N", "key true→pred"),
                _tooltip("weight:Q", "attention", ".4f"),
            ],
        )
        .add_params(selection)
        .properties(
            width=INTER_EPOCH_PX, height=INTER_EPOCH_PX,
            title=_title(title or "inter-epoch attention",
                         subtitle or f"{n} epochs · magenta labels: wrong prediction"),
        )
    )


def prediction_strip_chart(true_labels, pred_labels, confidence, *,
                           class_names: Sequence[str] = CLASS_NAMES_6, first_epoch: int = 0,
                           width_px: int = INTER_EPOCH_PX) -> alt.VConcatChart:
    """Scored and predicted stage of each epoch as coloured tiles, with the prediction's confidence.

    Drawn under :func:`inter_epoch_chart` with the same width, its columns line up with the
    heatmap's key epochs.

    Parameters
    ----------
    true_labels, pred_labels : int array, shape (S,)
        Stage codes; ``-1`` is unscored (grey ``?``).
    confidence : array, shape (S,)
        Probability of the predicted stage, 0-1.
    class_names : sequence of str
        Stage name of each code.
    first_epoch : int
        Index of the first epoch within the night.
    width_px : int
        Width of the strip in pixels.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> strip = prediction_strip_chart([0, 2], [0, 1], [0.9, 0.4])
    >>> len(strip.vconcat)
    2
    """
    true, pred = _labels(true_labels, "true_labels"), _labels(pred_labels, "pred_labels")
    conf = _array(confidence, "confidence", 1)
    _same_length(true.shape[0], "true_labels", pred_labels=pred, confidence=conf)
    labels = epoch_labels(true, pred, class_names, first_epoch)
    n = true.shape[0]
    epoch = np.arange(n) + first_epoch  # (S,)
    scored = [stage_name(c, class_names) for c in true]
    predicted = [stage_name(c, class_names) for c in pred]
    both = table(epoch_label=labels * 2, epoch=np.tile(epoch, 2), series=["scored"] * n + ["predicted"] * n,
                 stage=scored + predicted, confidence=np.tile(conf, 2))
    # plain Vega-Lite encodings, as in trace_chart: Altair's channel objects are copied at every step
    x = _field("epoch_label", "ordinal", sort=labels, axis=None)
    tooltip = [_field("epoch", "ordinal", title="epoch"), _field("series", "nominal", title="row"),
               _field("stage", "nominal", title="stage"),
               _field("confidence", "quantitative", title="confidence", format=".3f")]
    y = _field("series", "nominal", sort=["scored", "predicted"], title=None)
    tiles = alt.Chart(mark={"type": "rect", "stroke": "white", "strokeWidth": 0.5}, encoding=alt.FacetedEncoding(
        x=x, y=y, tooltip=tooltip,
        color=_field("stage", "nominal", scale=stage_colour_scale(class_names).to_dict(), title="stage")))
    text = alt.Chart(mark={"type": "text", "fontSize": 8, "color": "white"}, encoding=alt.FacetedEncoding(
        x=x, y=y, text={"field": "stage", "type": "nominal"}))
    bars = alt.Chart(
        table(epoch_label=labels, epoch=epoch, series=["predicted"] * n, stage=predicted, confidence=conf),
        mark={"type": "bar", "color": "#555555"}, width=width_px, height=40,
        encoding=alt.FacetedEncoding(
            x=x, tooltip=tooltip,
            y=_field("confidence", "quantitative", scale={"domain": [0, 1]}, title="confidence",
                     axis={"values": [0, 0.5, 1], "format": ".1f"})))
    return alt.vconcat(alt.layer(tiles, text, data=both, width=width_px, height=36), bars, spacing=4)


# --------------------------------------------------------------------------------------------
# Channel and temporal attention
# --------------------------------------------------------------------------------------------
def channel_chart(weights, channel_names: Sequence[str], *, cmap: str = CHANNEL_CMAP,
                  title: str | None = None, subtitle: str | None = None,
                  span: ColourSpan | None = None) -> alt.LayerChart:
    """Channel attention of one epoch (query × key channel), values printed dark or light by cell.

    The scale is ``span``'s, by default the seed's fixed 0-1.

    Parameters
    ----------
    weights : array, shape (C, C)
        Channel-fusion attention weights (one head or the mean of heads).
    channel_names : sequence of str
        One name per channel; MESA names gain their derivation, e.g. ``EEG1 (Fz-Cz)``.
    cmap : str
        Colour map; the seed's ``YlOrRd`` by default.
    title, subtitle : str, optional
        Chart title (default ``channel attention``) and subtitle.
    span : ColourSpan, optional
        The colour scale; by default 0-1.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    >>> sorted(chart_frame(chart)["key_channel"].unique())
    ['EEG1 (Fz-Cz)', 'EEG2 (Cz-Oz)', 'EEG3 (C4-M1)']
    """
    w = _square(weights, "weights")
    names = [channel_label(str(n)) for n in channel_names]
    if len(names) != w.shape[0]:
        raise ConfigError(
            f"{len(names)} channel names ({', '.join(names)}) for {w.shape[0]} channels; "
            "give one name per channel"
        )
    query, key = np.meshgrid(np.arange(len(names)), np.arange(len(names)), indexing="ij")
    data = table(query_channel=np.asarray(names)[query.ravel()], key_channel=np.asarray(names)[key.ravel()],
                 weight=w.ravel())
    base = alt.Chart().encode(
        x=alt.X("key_channel:N", sort=names, title="key channel",
                axis=alt.Axis(labelAngle=0, labelExpr="split(datum.label, ' ')")),
        y=alt.Y("query_channel:N", sort=names, title="query channel"),
    )
    tooltip = [_tooltip("query_channel:N", "query channel"), _tooltip("key_channel:N", "key channel"),
               _tooltip("weight:Q", "attention", ".4f")]
    colour = _weight_colour("weight", cmap, span, "attention", fixed=(0.0, 1.0))
    cells = base.mark_rect().encode(color=colour, tooltip=tooltip)
    values = base.mark_text(fontSize=12).encode(
        text=alt.Text("weight:Q", format=".2f"),
        color=_contrast_text("weight", cmap, colour["scale"]["domain"]),
        tooltip=tooltip,
    )
    return alt.layer(cells, values, data=data, width=CHANNEL_PX, height=CHANNEL_PX,
                     title=_title(title or "channel attention", subtitle))


def _token_check(n: int, token_start_s, token_end_s) -> tuple[np.ndarray, np.ndarray]:
    start, end = _array(token_start_s, "token_start_s", 1), _array(token_end_s, "token_end_s", 1)
    _same_length(n, "the attention map's tokens", token_start_s=start, token_end_s=end)
    if np.any(end <= start):
        raise ConfigError("every token must end after it starts (token_end_s > token_start_s)")
    return start, end


def temporal_chart(weights, token_start_s, token_end_s, *, cmap: str = TEMPORAL_CMAP,
                   title: str | None = None, subtitle: str | None = None,
                   span: ColourSpan | None = None) -> alt.Chart:
    """Temporal attention of one epoch and channel: query token × key token, axes in seconds.

    Parameters
    ----------
    weights : array, shape (N, N)
        Attention weights between the epoch's time tokens (query × key).
    token_start_s, token_end_s : array, shape (N,)
        Where each token starts and ends within the epoch, in seconds (the model's
        ``token_times.start_s`` / ``end_s``).
    cmap : str
        Colour map; the seed's ``viridis`` by default.
    title, subtitle : str, optional
        Chart title (default ``temporal attention``) and subtitle.
    span : ColourSpan, optional
        The colour scale; by default the data's range.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> edges = np.arange(21) * 1.5
    >>> chart = temporal_chart(np.full((20, 20), 0.05), edges[:-1], edges[1:])
    >>> float(chart_frame(chart)["key_end_s"].max())
    30.0
    """
    w = _square(weights, "weights")
    start, end = _token_check(w.shape[0], token_start_s, token_end_s)
    n = w.shape[0]
    query, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    query, key = query.ravel(), key.ravel()  # (N·N,)
    data = table(query_token=query, key_token=key, query_start_s=start[query], query_end_s=end[query],
                 key_start_s=start[key], key_end_s=end[key], weight=w.ravel())
    time_span = [float(start.min()), float(end.max())]
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("key_start_s:Q", scale=alt.Scale(domain=time_span, nice=False, zero=False),
                    title="key time in epoch (s)"),
            x2=alt.X2("key_end_s"),
            y=alt.Y("query_start_s:Q", scale=alt.Scale(domain=time_span, nice=False, zero=False, reverse=True),
                    title="query time in epoch (s)"),
            y2=alt.Y2("query_end_s"),
            color=_weight_colour("weight", cmap, span, "attention"),
            tooltip=[
                _tooltip("query_token:O", "query token"),
                _tooltip("query_start_s:Q", "query from (s)", ".2f"),
                _tooltip("query_end_s:Q", "query to (s)", ".2f"),
                _tooltip("key_token:O", "key token"),
                _tooltip("key_start_s:Q", "key from (s)", ".2f"),
                _tooltip("key_end_s:Q", "key to (s)", ".2f"),
                _tooltip("weight:Q", "attention", ".4f"),
            ],
        )
        .properties(width=TEMPORAL_PX, height=TEMPORAL_PX,
                    title=_title(title or "temporal attention", subtitle))
    )


def trace_chart(signal, sfreq_hz: float, token_relevance, token_start_s, token_end_s, *,
                channel_name: str, cmap: str = TEMPORAL_CMAP, title: str | None = None,
                amplitude_unit: str = "a.u.",
                relevance_title: str = "attention received",
                span: ColourSpan | None = None) -> alt.VConcatChart:
    """One epoch's signal for one channel, each time token shaded by the attention it receives.

    Token boundaries are outlined in white; a bar strip under the trace gives each token's
    value on a scale.

    Parameters
    ----------
    signal : array, shape (T,)
        The epoch's samples for the channel.
    sfreq_hz : float
        Sampling rate of ``signal``.
    token_relevance : array, shape (N,)
        Relevance of each token, e.g. :func:`received_attention` of the temporal map.
    token_start_s, token_end_s : array, shape (N,)
        Token limits in seconds within the epoch.
    channel_name : str
        Channel shown (MESA names gain their derivation).
    cmap : str
        Colour map of the relevance.
    title : str, optional
        Chart title (default: the channel label).
    amplitude_unit : str
        Unit of ``signal`` for the y-axis title.
    relevance_title : str
        What ``token_relevance`` is, for the legend and the strip's axis.
    span : ColourSpan, optional
        The shading's colour scale; by default the data's range.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> edges = np.arange(21) * 1.5
    >>> chart = trace_chart(np.zeros(3840), 128.0, np.full(20, 0.05), edges[:-1], edges[1:],
    ...                     channel_name="EEG2")
    >>> chart_frame(chart.vconcat[0].layer[1])["time_s"].iloc[-1]
    np.float64(29.9921875)
    """
    sig = _array(signal, "signal", 1)
    if not sfreq_hz > 0:
        raise ConfigError(f"sfreq_hz must be positive, not {sfreq_hz}")
    relevance = _array(token_relevance, "token_relevance", 1)
    start, end = _token_check(relevance.shape[0], token_start_s, token_end_s)
    label = channel_label(str(channel_name))
    duration_s = sig.shape[0] / float(sfreq_hz)
    # Encodings are plain Vega-Lite dicts here: Altair copies every channel object each time a
    # chart is layered, concatenated or turned into a spec, and this chart is drawn three times
    # per epoch shown (half the cost of building and converting it went into those copies).
    x_scale = {"domain": [0.0, max(duration_s, float(end.max()))], "nice": False, "zero": True}
    tokens = table(token=np.arange(relevance.shape[0]), start_s=start, end_s=end, relevance=relevance)
    kept = _envelope(sig, TRACE_WIDTH_PX)  # what the plot's pixels can show, not every sample
    trace = table(time_s=kept / float(sfreq_hz), amplitude=sig[kept])
    colour = _weight_colour("relevance", cmap, span, relevance_title)
    tooltip = [_field("token", "ordinal", title="token"),
               _field("start_s", "quantitative", title="from (s)", format=".2f"),
               _field("end_s", "quantitative", title="to (s)", format=".2f"),
               _field("relevance", "quantitative", title=relevance_title, format=".4f")]
    unlabelled_x = {"labels": False}  # the strip below labels the time axis
    # white outlines mark the token boundaries (a rule layer would cost a third of the chart)
    shade = alt.Chart(tokens, mark={"type": "rect", "fillOpacity": 0.55, "stroke": "white", "strokeWidth": 0.8},
                      encoding=alt.FacetedEncoding(
                          x=_field("start_s", "quantitative", scale=x_scale, title=None, axis=unlabelled_x),
                          x2={"field": "end_s"}, color=colour, tooltip=tooltip))
    line = alt.Chart(trace, mark={"type": "line", "color": "#111111", "strokeWidth": 0.7},
                     encoding=alt.FacetedEncoding(
                         x=_field("time_s", "quantitative", scale=x_scale, title=None, axis=unlabelled_x),
                         y=_field("amplitude", "quantitative", title=f"{label} ({amplitude_unit})"),
                         tooltip=[_field("time_s", "quantitative", title="time (s)", format=".3f"),
                                  _field("amplitude", "quantitative", title=amplitude_unit, format=".3f")]))
    strip = alt.Chart(tokens, mark={"type": "rect", "stroke": "white", "strokeWidth": 0.8},
                      width=TRACE_WIDTH_PX, height=RELEVANCE_HEIGHT_PX,
                      encoding=alt.FacetedEncoding(
                          x=_field("start_s", "quantitative", scale=x_scale, title="time in epoch (s)"),
                          x2={"field": "end_s"},
                          y=_field("relevance", "quantitative", title=relevance_title, axis={"tickCount": 2}),
                          color=colour, tooltip=tooltip))
    title = {"text": title or label, "subtitle": "shading: attention each time token receives (mean over queries)",
             "anchor": "start"}
    return alt.vconcat(alt.layer(shade, line, width=TRACE_WIDTH_PX, height=TRACE_HEIGHT_PX), strip,
                       spacing=4, title=title)


# --------------------------------------------------------------------------------------------
# Night views
# --------------------------------------------------------------------------------------------
def hypnogram_order(class_names: Sequence[str], with_unscored: bool = False) -> list[str]:
    """Stages top to bottom as sleep scorers draw them: W, REM, then N1 … N4; ``?`` last.

    Examples
    --------
    >>> hypnogram_order(("W", "N1", "N2", "N3", "N4", "REM"), with_unscored=True)
    ['W', 'REM', 'N1', 'N2', 'N3', 'N4', '?']
    """
    names = [str(n) for n in class_names]
    ordered = [n for n in ("W", "REM") if n in names] + [n for n in names if n not in ("W", "REM")]
    return ordered + [UNSCORED_NAME] if with_unscored else ordered


def _stage_runs(stages: np.ndarray, start: np.ndarray, end: np.ndarray) -> dict[str, np.ndarray]:
    """Runs of equal consecutive stages: where each starts and ends on the time axis, and its stage."""
    change = np.flatnonzero(stages[1:] != stages[:-1]) + 1  # (R-1,) first epoch of each new run
    first = np.concatenate([[0], change])  # (R,)
    last = np.concatenate([change, [stages.shape[0]]]) - 1  # (R,)
    return {"t": start[first], "t_end": end[last], "stage": stages[first]}


def _night_overlays(axis: TimeAxis, epoch_data: alt.InlineData, x: dict, tooltip: list,
                    window_seconds: tuple[float, float] | None, pick_view: str) -> list[alt.Chart]:
    """Layers over each hypnogram panel: the current window's band, and a clickable bar per epoch.

    The bar's view is named ``pick_view``, so that the chart's one selection can list it.
    """
    layers = []
    if window_seconds is not None:
        low, high = axis.positions(list(window_seconds)).tolist()
        layers.append(alt.Chart(table(t=[low], t_end=[high]), mark={
            "type": "rect", "fill": WINDOW_COLOUR, "fillOpacity": 0.18, "stroke": WINDOW_COLOUR,
            "strokeWidth": 1.5}, encoding=alt.FacetedEncoding(x=x, x2={"field": "t_end"})))
    layers.append(alt.Chart(
        epoch_data, name=pick_view,
        mark={"type": "rect", "fill": "#000000", "fillOpacity": 0, "cursor": "pointer"},
        encoding=alt.FacetedEncoding(x=x, x2={"field": "t_end"}, tooltip=tooltip)))
    return layers


def hypnogram_chart(true_labels, pred_labels, confidence, *,
                    class_names: Sequence[str] = CLASS_NAMES_6, epoch_seconds: float = 30.0,
                    first_epoch: int = 0, title: str | None = None, start: datetime | None = None,
                    window: tuple[int, int] | None = None) -> alt.VConcatChart:
    """Scored and predicted hypnograms over the night, with the prediction's confidence.

    W is on top and the REM row is shaded; stages keep the seed's colours, unscored epochs are
    grey ``?``. Wrong predictions are ticked in :data:`WRONG_COLOUR` on the confidence panel. Every epoch can be
    hovered and clicked in every panel (point selection :data:`NIGHT_EPOCH_SELECTION`, field
    ``epoch``), and a ``window`` of epochs can be marked by a band across the panels.

    Parameters
    ----------
    true_labels, pred_labels : int array, shape (E,)
        Scored and predicted stage per epoch; ``-1`` is unscored.
    confidence : array, shape (E,)
        Probability of the predicted stage, 0-1.
    class_names : sequence of str
        Stage name of each code.
    epoch_seconds : float
        Length of one epoch.
    first_epoch : int
        Index of the first epoch within the night (sets the time axis origin).
    title : str, optional
        Chart title (default ``hypnogram``).
    start : datetime.datetime, optional
        Clock time of the night's epoch 0 (:func:`mesa_report.core.time_axis.recording_start`): the
        axis shows clock time, as the hypnodensity's does; by default hours since the start.
    window : (int, int), optional
        First and last night epoch of the window to mark (e.g. the sample shown).

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> chart = hypnogram_chart([0, 2, 5, -1], [0, 1, 5, 2], [0.9, 0.5, 0.8, 0.6])
    >>> chart_frame(chart.vconcat[0].layer[1])["stage"].tolist()
    ['W', 'N2', 'REM', '?']
    >>> chart_frame(chart.vconcat[1].layer[1])["stage"].tolist()
    ['W', 'N1', 'REM', 'N2']
    """
    true, pred = _labels(true_labels, "true_labels"), _labels(pred_labels, "pred_labels")
    conf = _array(confidence, "confidence", 1)
    _same_length(true.shape[0], "true_labels", pred_labels=pred, confidence=conf)
    if not epoch_seconds > 0:
        raise ConfigError(f"epoch_seconds must be positive, not {epoch_seconds}")
    axis = TimeAxis(start)
    epoch = np.arange(true.shape[0]) + int(first_epoch)  # (E,)
    seconds = epoch * float(epoch_seconds)  # (E,) start of each epoch
    t, t_end = axis.positions(seconds), axis.positions(seconds + float(epoch_seconds))  # (E,) each
    wrong = (true >= 0) & (true != pred)  # (E,)
    order = hypnogram_order(class_names, with_unscored=bool((true < 0).any() or (pred < 0).any()))
    common = {
        "epoch": epoch, "t": t if axis.clock else t.round(6), "t_end": t_end if axis.clock else t_end.round(6),
        "scored": np.array([stage_name(c, class_names) for c in true]),
        "predicted": np.array([stage_name(c, class_names) for c in pred]),
        "confidence": conf.round(4),
    }  # (E,) each
    epoch_data = table(**common)
    tooltip = [_field("epoch", "ordinal", title="epoch"), axis.tooltip("t"),
               _field("scored", "nominal", title="scored"), _field("predicted", "nominal", title="predicted"),
               _field("confidence", "quantitative", title="confidence", format=".3f")]
    # plain Vega-Lite encodings, as in trace_chart: Altair's channel objects are copied at every step
    domain = (float(seconds[0]), float(seconds[-1] + epoch_seconds))
    x_hidden = axis.encoding("t", domain, title=None, labels=False)  # the confidence panel labels it
    window_seconds = None if window is None else (int(window[0]) * float(epoch_seconds),
                                                  (int(window[1]) + 1) * float(epoch_seconds))
    overlays = functools.partial(_night_overlays, axis, epoch_data, tooltip=tooltip,
                                 window_seconds=window_seconds)
    views = [f"{NIGHT_EPOCH_SELECTION}_{panel}" for panel in ("scored", "predicted", "confidence")]
    panels = [alt.layer(*_stage_panel(common[series], series, order, class_names, t, t_end, x_hidden),
                        *overlays(x=x_hidden, pick_view=view), width=HYPNOGRAM_WIDTH_PX,
                        height=HYPNOGRAM_ROW_PX * len(order))
              for series, view in zip(("scored", "predicted"), views)]
    x = axis.encoding("t", domain)
    conf_line = alt.Chart(
        epoch_data, mark={"type": "area", "color": "#7f8c8d", "opacity": 0.5, "interpolate": "step-after"},
        encoding=alt.FacetedEncoding(
            x=x, y=_field("confidence", "quantitative", scale={"domain": [0, 1]}, title="confidence",
                          axis={"values": [0, 0.5, 1], "minExtent": NIGHT_Y_AXIS_PX})))
    wrong_ticks = alt.Chart(
        table(t=common["t"][wrong], epoch=epoch[wrong]),
        mark={"type": "rule", "color": WRONG_COLOUR, "strokeWidth": 1},
        encoding=alt.FacetedEncoding(x=x, y={"datum": 0.9}, y2={"datum": 1.0}))
    panels.append(alt.layer(conf_line, wrong_ticks, *overlays(x=x, pick_view=views[2]), width=HYPNOGRAM_WIDTH_PX,
                            height=CONFIDENCE_HEIGHT_PX))
    subtitle = "magenta ticks: wrong predictions" + ("; the band marks the sample shown" if window else "")
    chart = alt.vconcat(*panels, spacing=6, resolve={"scale": {"x": "shared"}},
                        title={"text": title or "hypnogram", "subtitle": subtitle, "anchor": "start"})
    # one selection over the three clickable layers, named after vconcat has numbered their views
    chart.params = [alt.TopLevelSelectionParameter(
        name=NIGHT_EPOCH_SELECTION, views=[panel.layer[-1].name for panel in chart.vconcat],
        select={"type": "point", "fields": ["epoch"], "on": "click"})]
    return chart


def _stage_panel(stages: np.ndarray, series: str, order: list[str], class_names: Sequence[str],
                 t: np.ndarray, t_end: np.ndarray, x: dict) -> list[alt.Chart]:
    """Layers of one hypnogram row: the REM band, the stage runs and the scorer's step line."""
    y = _field("stage", "nominal", sort=order, scale={"domain": order}, title=series,
               axis={"minExtent": NIGHT_Y_AXIS_PX})
    layers = []
    if "REM" in order:
        layers.append(alt.Chart(table(stage=["REM"]), mark={"type": "rect", "color": REM_BAND_COLOUR},
                                encoding=alt.FacetedEncoding(y=y)))
    runs = _stage_runs(stages, t, t_end)
    layers.append(alt.Chart(table(**runs), mark={"type": "rect"}, encoding=alt.FacetedEncoding(
        x=x, x2={"field": "t_end"}, y=y,
        color=_field("stage", "nominal", scale=stage_colour_scale(class_names).to_dict(), title="stage"))))
    # the scorer's step line: along each run, then down or up to the next (one point per run)
    layers.append(alt.Chart(
        table(at=np.append(runs["t"], runs["t_end"][-1]), stage=np.append(runs["stage"], runs["stage"][-1])),
        mark={"type": "line", "color": "#333333", "strokeWidth": 0.8, "interpolate": "step-after"},
        encoding=alt.FacetedEncoding(x={**x, "field": "at"}, y=y, order=_field("at", "quantitative"))))
    return layers


def confusion_chart(matrix, class_names: Sequence[str], *, cmap: str = CONFUSION_CMAP,
                    title: str | None = None) -> alt.LayerChart:
    """Confusion matrix (rows scored, columns predicted) coloured by the share of each row.

    Parameters
    ----------
    matrix : int array, shape (K, K)
        Epoch counts, row = scored stage, column = predicted stage.
    class_names : sequence of str
        Stage name of each row/column.
    cmap : str
        Colour map of the row share.
    title : str, optional
        Chart title (default ``confusion matrix``).

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> chart = confusion_chart([[8, 2], [1, 9]], ["W", "N1"])
    >>> chart_frame(chart)["row_share"].round(2).tolist()
    [0.8, 0.2, 0.1, 0.9]
    """
    counts = _square(matrix, "matrix")
    names = [str(n) for n in class_names]
    if len(names) != counts.shape[0]:
        raise ConfigError(f"{len(names)} class names for a {counts.shape[0]}×{counts.shape[0]} matrix")
    row_total = counts.sum(axis=1, keepdims=True)  # (K, 1)
    share = np.divide(counts, row_total, out=np.zeros_like(counts), where=row_total > 0)  # (K, K)
    true, pred = np.meshgrid(np.arange(len(names)), np.arange(len(names)), indexing="ij")
    count, row_share = counts.ravel().astype(np.int64), share.ravel()  # (K·K,) each
    data = table(scored=np.asarray(names)[true.ravel()], predicted=np.asarray(names)[pred.ravel()],
                 count=count, row_share=row_share,
                 text=[f"{c}\n{s:.0%}" for c, s in zip(count, row_share)])
    base = alt.Chart().encode(
        x=alt.X("predicted:N", sort=names, title="predicted stage", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("scored:N", sort=names, title="scored stage"),
    )
    tooltip = [_tooltip("scored:N", "scored"), _tooltip("predicted:N", "predicted"),
               _tooltip("count:Q", "epochs"), _tooltip("row_share:Q", "share of scored", ".1%")]
    cells = base.mark_rect().encode(
        color=alt.Color("row_share:Q", scale=colour_scale(cmap, domain=(0, 1)), title="share of row"),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11, lineBreak="\n").encode(
        text=alt.Text("text:N"),
        color=_contrast_text("row_share"),
        tooltip=tooltip,
    )
    return alt.layer(cells, text, data=data, width=CONFUSION_PX, height=CONFUSION_PX,
                     title=_title(title or "confusion matrix"))


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------
def dashboard_chart(epoch_weights, channel_weights, temporal_weights, true_labels, pred_labels, *,
                    epochs: Sequence[int], channel_names: Sequence[str], token_start_s, token_end_s,
                    class_names: Sequence[str] = CLASS_NAMES_6, first_epoch: int = 0,
                    epoch_cmap: str = EPOCH_CMAP, channel_cmap: str = CHANNEL_CMAP,
                    temporal_cmap: str = TEMPORAL_CMAP, title: str | None = None,
                    method: str | None = None) -> alt.VConcatChart:
    """The seed's dashboard: inter-epoch attention on top, then one row per selected epoch.

    Each row holds the epoch's channel attention and its temporal attention for every channel.

    Parameters
    ----------
    epoch_weights : array, shape (S, S)
        Inter-epoch attention of the sequence.
    channel_weights : array, shape (S, C, C)
        Channel attention of every epoch.
    temporal_weights : array, shape (S, C, N, N)
        Temporal attention of every epoch and channel.
    true_labels, pred_labels : int array, shape (S,)
        Scored and predicted stages; ``-1`` is unscored.
    epochs : sequence of int
        Positions within the sequence (0 … S-1) that get a row.
    channel_names : sequence of str
        One name per channel.
    token_start_s, token_end_s : array, shape (N,)
        Token limits in seconds within the epoch.
    class_names : sequence of str
        Stage name of each code.
    first_epoch : int
        Index of the sequence's first epoch within the night.
    epoch_cmap, channel_cmap, temporal_cmap : str
        Colour map of each kind of view.
    title : str, optional
        Dashboard title.
    method : str, optional
        The maps' explanation method: each panel then takes its colour scale from
        :func:`mesa_report.explain.view_scales.colour_span`; by default the data's range.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> S, C, N = 4, 3, 20
    >>> edges = np.arange(N + 1) * 1.5
    >>> chart = dashboard_chart(np.full((S, S), 1 / S), np.full((S, C, C), 1 / C),
    ...                         np.full((S, C, N, N), 1 / N), [0, 1, 2, 2], [0, 2, 2, 2],
    ...                         epochs=[1], channel_names=["EEG1", "EEG2", "EEG3"],
    ...                         token_start_s=edges[:-1], token_end_s=edges[1:])
    >>> len(chart.vconcat), len(chart.vconcat[1].hconcat)
    (2, 4)
    """
    epoch_w = _square(epoch_weights, "epoch_weights")
    channel_w = _array(channel_weights, "channel_weights", 3)
    temporal_w = _array(temporal_weights, "temporal_weights", 4)
    true, pred = _labels(true_labels, "true_labels"), _labels(pred_labels, "pred_labels")
    n_epochs = epoch_w.shape[0]
    _same_length(n_epochs, "epoch_weights", channel_weights=channel_w, temporal_weights=temporal_w,
                 true_labels=true, pred_labels=pred)
    n_channels = channel_w.shape[1]
    if temporal_w.shape[1] != n_channels or len(channel_names) != n_channels:
        raise ConfigError(
            f"channel_weights has {n_channels} channels, temporal_weights {temporal_w.shape[1]} and "
            f"channel_names {len(channel_names)} ({', '.join(map(str, channel_names))}); they must agree"
        )
    chosen = [int(e) for e in epochs]
    bad = [e for e in chosen if not 0 <= e < n_epochs]
    if bad:
        raise ConfigError(f"epochs {bad} are out of range: the sequence has epochs 0-{n_epochs - 1}")
    def span(values, level):
        return None if method is None else colour_span(values, level, method)

    rows: list = [inter_epoch_chart(epoch_w, true, pred, class_names=class_names, first_epoch=first_epoch,
                                    cmap=epoch_cmap, span=span(epoch_w, "epoch"))
                  .properties(width=DASHBOARD_EPOCH_PX, height=DASHBOARD_EPOCH_PX)]
    for e in chosen:
        truth, guess = stage_name(true[e], class_names), stage_name(pred[e], class_names)
        verdict = "unscored" if true[e] < 0 else "wrong" if true[e] != pred[e] else "correct"
        heading = f"epoch {first_epoch + e}: {truth}→{guess} ({verdict})"
        panels = [channel_chart(channel_w[e], channel_names, cmap=channel_cmap, title=heading,
                                subtitle="channel attention", span=span(channel_w[e], "channel"))
                  .properties(width=DASHBOARD_PANEL_PX, height=DASHBOARD_PANEL_PX)]
        for c in range(n_channels):
            panels.append(
                temporal_chart(temporal_w[e, c], token_start_s, token_end_s, cmap=temporal_cmap,
                               title=channel_label(str(channel_names[c])), subtitle="temporal attention",
                               span=span(temporal_w[e, c], "temporal"))
                .properties(width=DASHBOARD_PANEL_PX, height=DASHBOARD_PANEL_PX)
            )
        rows.append(alt.hconcat(*panels, spacing=24).resolve_scale(color="independent"))
    return alt.vconcat(*rows, spacing=28).resolve_scale(color="independent").properties(
        title=_title(title or "attention dashboard",
                     f"{n_epochs} epochs · {len(chosen)} in detail"))
