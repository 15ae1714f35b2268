"""Charts of the whole night: the scored and predicted hypnograms and the confusion matrix.

The hypnogram draws W on top and shades the REM row; stages keep the seed's colours and unscored
epochs are grey ``?``. Every epoch can be clicked in every panel (:data:`NIGHT_EPOCH_SELECTION`).
The hypnodensity, drawn under it, is :mod:`mesa_report.charts.hypnodensity`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

import altair as alt
import numpy as np

from mesa_report.charts.data import table
from mesa_report.charts.parts import (
    composed,
    checked_array,
    encoding_field,
    label_array,
    same_length,
    square_array,
    title_params,
    tooltip_field,
)
from mesa_report.charts.scales import CONFUSION_CMAP, colour_scale, contrast_text, stage_colour_scale
from mesa_report.core.errors import ConfigError
from mesa_report.core.time_axis import TimeAxis
from mesa_report.core.vocabulary import CLASS_NAMES_6, REM_BAND_COLOUR, UNSCORED_NAME, WRONG_COLOUR, stage_name

NIGHT_EPOCH_SELECTION = "night_epoch"
"""Name of the point selection of the night's charts (hypnogram, hypnodensity); it holds ``epoch``."""

WINDOW_DATA = "sample_window"
"""Name of the hypnogram's inline data set holding the band's ``t`` and ``t_end`` (one row).

Named so that the app can carry it beside the spec (:func:`mesa_report.app.drawing.hoist_named`):
moving the band then changes that data set alone, and the page updates the drawn chart in place.
"""

WINDOW_COLOUR = "#4d4d4d"
"""Outline and light fill of the band marking the shown sample on the hypnogram (a grey no stage uses)."""

CONFUSION_PX = 300
HYPNOGRAM_WIDTH_PX = 760
HYPNOGRAM_ROW_PX = 18
CONFIDENCE_HEIGHT_PX = 70
NIGHT_Y_AXIS_PX = 40
"""Room for the y axis labels of the night's charts, so the hypnodensity's plot lines up under the hypnogram's."""


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


def _night_overlays(epoch_data: alt.InlineData, x: dict, tooltip: list, window_data: alt.InlineData | None,
                    pick_view: str) -> list[alt.Chart]:
    """Layers over each hypnogram panel: the band (``window_data``), and a clickable bar per epoch.

    The bar's view is named ``pick_view``, so that the chart's one selection can list it.
    """
    layers = []
    if window_data is not None:
        layers.append(alt.Chart(window_data, mark={
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
        First and last night epoch of the window to mark (e.g. the sample shown); the band's
        data are the inline data set named :data:`WINDOW_DATA`.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> from mesa_report.charts.data import chart_frame
    >>> chart = hypnogram_chart([0, 2, 5, -1], [0, 1, 5, 2], [0.9, 0.5, 0.8, 0.6])
    >>> chart_frame(chart.vconcat[0].layer[1])["stage"].tolist()
    ['W', 'N2', 'REM', '?']
    >>> chart_frame(chart.vconcat[1].layer[1])["stage"].tolist()
    ['W', 'N1', 'REM', 'N2']
    """
    true, pred = label_array(true_labels, "true_labels"), label_array(pred_labels, "pred_labels")
    conf = checked_array(confidence, "confidence", 1)
    same_length(true.shape[0], "true_labels", pred_labels=pred, confidence=conf)
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
    tooltip = [encoding_field("epoch", "ordinal", title="epoch"), axis.tooltip("t"),
               encoding_field("scored", "nominal", title="scored"), encoding_field("predicted", "nominal", title="predicted"),
               encoding_field("confidence", "quantitative", title="confidence", format=".3f")]
    # plain Vega-Lite encodings, as in traces_chart: Altair's channel objects are copied at every step
    domain = (float(seconds[0]), float(seconds[-1] + epoch_seconds))
    x_hidden = axis.encoding("t", domain, title=None, labels=False)  # the confidence panel labels it
    window_data = None if window is None else alt.InlineData(
        values=window_rows(window, epoch_seconds=epoch_seconds, start=start), name=WINDOW_DATA)
    overlays = functools.partial(_night_overlays, epoch_data, tooltip=tooltip, window_data=window_data)
    views = [f"{NIGHT_EPOCH_SELECTION}_{panel}" for panel in ("scored", "predicted", "confidence")]
    panels = [alt.layer(*_stage_panel(common[series], series, order, class_names, t, t_end, x_hidden),
                        *overlays(x=x_hidden, pick_view=view), width=HYPNOGRAM_WIDTH_PX,
                        height=HYPNOGRAM_ROW_PX * len(order))
              for series, view in zip(("scored", "predicted"), views)]
    x = axis.encoding("t", domain)
    conf_line = alt.Chart(
        epoch_data, mark={"type": "area", "color": "#7f8c8d", "opacity": 0.5, "interpolate": "step-after"},
        encoding=alt.FacetedEncoding(
            x=x, y=encoding_field("confidence", "quantitative", scale={"domain": [0, 1]}, title="confidence",
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


def window_rows(window: tuple[int, int], *, epoch_seconds: float = 30.0,
                start: datetime | None = None) -> list[dict]:
    """The hypnogram's band data (:data:`WINDOW_DATA`): where the window of epochs starts and ends.

    Parameters
    ----------
    window : (int, int)
        First and last night epoch of the window.
    epoch_seconds : float
        Length of one epoch.
    start : datetime.datetime, optional
        Clock time of epoch 0, as for :func:`hypnogram_chart`; by default hours since the start.

    Examples
    --------
    >>> window_rows((0, 119))
    [{'t': 0.0, 't_end': 1.0}]
    """
    low, high = TimeAxis(start).positions([int(window[0]) * float(epoch_seconds),
                                           (int(window[1]) + 1) * float(epoch_seconds)]).tolist()
    return [{"t": low, "t_end": high}]


def _stage_panel(stages: np.ndarray, series: str, order: list[str], class_names: Sequence[str],
                 t: np.ndarray, t_end: np.ndarray, x: dict) -> list[alt.Chart]:
    """Layers of one hypnogram row: the REM band, the stage runs and the scorer's step line."""
    y = encoding_field("stage", "nominal", scale={"domain": order}, title=series,
               axis={"minExtent": NIGHT_Y_AXIS_PX})
    layers = []
    if "REM" in order:
        layers.append(alt.Chart(table(stage=["REM"]), mark={"type": "rect", "color": REM_BAND_COLOUR},
                                encoding=alt.FacetedEncoding(y=y)))
    runs = _stage_runs(stages, t, t_end)
    layers.append(alt.Chart(table(**runs), mark={"type": "rect"}, encoding=alt.FacetedEncoding(
        x=x, x2={"field": "t_end"}, y=y,
        color=encoding_field("stage", "nominal", scale=stage_colour_scale(class_names).to_dict(), title="stage"))))
    # the scorer's step line: along each run, then down or up to the next (one point per run)
    layers.append(alt.Chart(
        table(at=np.append(runs["t"], runs["t_end"][-1]), stage=np.append(runs["stage"], runs["stage"][-1])),
        mark={"type": "line", "color": "#333333", "strokeWidth": 0.8, "interpolate": "step-after"},
        encoding=alt.FacetedEncoding(x={**x, "field": "at"}, y=y, order=encoding_field("at", "quantitative"))))
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
    >>> from mesa_report.charts.data import chart_frame
    >>> chart = confusion_chart([[8, 2], [1, 9]], ["W", "N1"])
    >>> chart_frame(chart)["row_share"].round(2).tolist()
    [0.8, 0.2, 0.1, 0.9]
    """
    counts = square_array(matrix, "matrix")
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
    xy = {  # plain Vega-Lite dicts: Altair's channel objects cost more than the chart
        "x": encoding_field("predicted", "nominal", scale={"domain": names}, title="predicted stage",
                            axis={"labelAngle": 0}),
        "y": encoding_field("scored", "nominal", scale={"domain": names}, title="scored stage"),
    }
    tooltip = [tooltip_field("scored:N", "scored"), tooltip_field("predicted:N", "predicted"),
               tooltip_field("count:Q", "epochs"), tooltip_field("row_share:Q", "share of scored", ".1%")]
    cells = alt.Chart(mark={"type": "rect"}, encoding=alt.FacetedEncoding(
        **xy, color=alt.Color("row_share:Q", scale=colour_scale(cmap, domain=(0, 1)), title="share of row"),
        tooltip=tooltip))
    text = alt.Chart(mark={"type": "text", "fontSize": 11, "lineBreak": "\n"}, encoding=alt.FacetedEncoding(
        **xy, text=encoding_field("text", "nominal"), color=contrast_text("row_share"), tooltip=tooltip))
    return composed(alt.LayerChart, [cells, text], data=data, width=CONFUSION_PX, height=CONFUSION_PX,
                    title=title_params(title or "confusion matrix"))
