"""The attention heatmaps of a sample: inter-epoch (with its stage strip), channel and temporal.

The app shows these charts as they are, the reports embed their specs and
:mod:`mesa_report.render.vega` turns them into PNG, SVG or PDF files. They take NumPy arrays and
names, never a model, and change neither their inputs nor any Altair setting. Each takes its
colour scale from the view model (:meth:`mesa_report.explain.views.SampleAttention.span`).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np

from mesa_report.charts.data import table
from mesa_report.charts.parts import (
    checked_array,
    composed,
    encoding_field,
    js_list,
    label_array,
    same_length,
    square_array,
    title_params,
    tooltip_field,
)
from mesa_report.charts.scales import (
    CHANNEL_CMAP,
    EPOCH_CMAP,
    TEMPORAL_CMAP,
    TEXT_COLOUR,
    contrast_text,
    stage_colour_scale,
    weight_colour,
)
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import (CLASS_NAMES_6, UNSCORED_COLOUR, WRONG_COLOUR, channel_label,
                                         stage_name)
from mesa_report.explain.view_scales import ColourSpan

EPOCH_SELECTION = "epoch"
"""Name of the inter-epoch chart's point selection (``event.selection[EPOCH_SELECTION]`` in Streamlit)."""

EPOCH_FIELD = "query_epoch"
"""Field the :data:`EPOCH_SELECTION` selection holds: the clicked row's epoch index."""

INTER_EPOCH_PX = 440
CHANNEL_PX = 220
TEMPORAL_PX = 300
CELL_OVERLAP = 0.08
"""Share of its length by which a temporal heatmap's cell is drawn past its end, under the next one."""


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
        f"indexof({js_list(wrong)}, datum.value) >= 0 ? '{WRONG_COLOUR}' : "
        f"indexof({js_list(unscored)}, datum.value) >= 0 ? '{UNSCORED_COLOUR}' : '{TEXT_COLOUR}'"
    )


def _label_weight_expr(labels: list[str], true: np.ndarray, pred: np.ndarray) -> alt.ExprRef:
    wrong = [lab for lab, t, p in zip(labels, true, pred) if t >= 0 and t != p]
    return alt.ExprRef(f"indexof({js_list(wrong)}, datum.value) >= 0 ? 'bold' : 'normal'")


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
    >>> from mesa_report.charts.data import chart_frame
    >>> w = np.full((3, 3), 1 / 3)
    >>> chart = inter_epoch_chart(w, [0, 2, 5], [0, 1, 5])
    >>> chart_frame(chart)["key_label"].unique().tolist()
    ['0 W→W', '1 N2→N1', '2 REM→REM']
    """
    w = square_array(weights, "weights")
    true, pred = label_array(true_labels, "true_labels"), label_array(pred_labels, "pred_labels")
    same_length(w.shape[0], "weights", true_labels=true, pred_labels=pred)
    labels = epoch_labels(true, pred, class_names, first_epoch)
    data = _epoch_table(w, labels, true, pred, class_names, first_epoch)
    selection = alt.selection_point(name=EPOCH_SELECTION, fields=[EPOCH_FIELD], on="click",
                                    clear="dblclick")
    axis = dict(labelColor=_label_colour_expr(labels, true, pred),
                labelFontWeight=_label_weight_expr(labels, true, pred), labelFontSize=10)
    n = w.shape[0]
    picked = {"param": EPOCH_SELECTION, "empty": False}
    encoding = alt.FacetedEncoding(  # plain Vega-Lite dicts: Altair's channel objects cost more than the chart
        x=encoding_field("key_label", "ordinal", scale={"domain": labels}, title="key epoch (true→predicted)",
                         axis={"labelAngle": -60, **axis}),
        y=encoding_field("query_label", "ordinal", scale={"domain": labels}, title="query epoch (true→predicted)",
                         axis=axis),
        color=weight_colour("weight", cmap, span, "attention"),
        stroke={"value": None, "condition": {**picked, "value": TEXT_COLOUR}},
        strokeWidth={"value": 0, "condition": {**picked, "value": 1.5}},
        tooltip=[
            tooltip_field("query_epoch:O", "query epoch"),
            tooltip_field("query_stage:N", "query true→pred"),
            tooltip_field("key_epoch:O", "key epoch"),
            tooltip_field("key_stage:N", "key true→pred"),
            tooltip_field("weight:Q", "attention", ".4f"),
        ],
    )
    return alt.Chart(data, mark={"type": "rect"}, encoding=encoding, width=INTER_EPOCH_PX, height=INTER_EPOCH_PX,
                     title=title_params(title or "inter-epoch attention",
                                        subtitle or f"{n} epochs · magenta labels: wrong prediction"),
                     ).add_params(selection)


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
    true, pred = label_array(true_labels, "true_labels"), label_array(pred_labels, "pred_labels")
    conf = checked_array(confidence, "confidence", 1)
    same_length(true.shape[0], "true_labels", pred_labels=pred, confidence=conf)
    labels = epoch_labels(true, pred, class_names, first_epoch)
    n = true.shape[0]
    epoch = np.arange(n) + first_epoch  # (S,)
    scored = [stage_name(c, class_names) for c in true]
    predicted = [stage_name(c, class_names) for c in pred]
    both = table(epoch_label=labels * 2, epoch=np.tile(epoch, 2), series=["scored"] * n + ["predicted"] * n,
                 stage=scored + predicted, confidence=np.tile(conf, 2))
    # plain Vega-Lite encodings, as in traces_chart: Altair's channel objects are copied at every step
    x = encoding_field("epoch_label", "ordinal", scale={"domain": labels}, axis=None)
    tooltip = [encoding_field("epoch", "ordinal", title="epoch"), encoding_field("series", "nominal", title="row"),
               encoding_field("stage", "nominal", title="stage"),
               encoding_field("confidence", "quantitative", title="confidence", format=".3f")]
    y = encoding_field("series", "nominal", scale={"domain": ["scored", "predicted"]}, title=None)
    tiles = alt.Chart(mark={"type": "rect", "stroke": "white", "strokeWidth": 0.5}, encoding=alt.FacetedEncoding(
        x=x, y=y, tooltip=tooltip,
        color=encoding_field("stage", "nominal", scale=stage_colour_scale(class_names).to_dict(), title="stage")))
    text = alt.Chart(mark={"type": "text", "fontSize": 8, "color": "white"}, encoding=alt.FacetedEncoding(
        x=x, y=y, text={"field": "stage", "type": "nominal"}))
    bars = alt.Chart(
        table(epoch_label=labels, epoch=epoch, series=["predicted"] * n, stage=predicted, confidence=conf),
        mark={"type": "bar", "color": "#555555"}, width=width_px, height=40,
        encoding=alt.FacetedEncoding(
            x=x, tooltip=tooltip,
            y=encoding_field("confidence", "quantitative", scale={"domain": [0, 1]}, title="confidence",
                     axis={"values": [0, 0.5, 1], "format": ".1f"})))
    return alt.vconcat(alt.layer(tiles, text, data=both, width=width_px, height=36), bars, spacing=4)


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
    >>> from mesa_report.charts.data import chart_frame
    >>> chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    >>> sorted(chart_frame(chart)["key_channel"].unique())
    ['EEG1 (Fz-Cz)', 'EEG2 (Cz-Oz)', 'EEG3 (C4-M1)']
    """
    w = square_array(weights, "weights")
    names = [channel_label(str(n)) for n in channel_names]
    if len(names) != w.shape[0]:
        raise ConfigError(
            f"{len(names)} channel names ({', '.join(names)}) for {w.shape[0]} channels; "
            "give one name per channel"
        )
    query, key = np.meshgrid(np.arange(len(names)), np.arange(len(names)), indexing="ij")
    data = table(query_channel=np.asarray(names)[query.ravel()], key_channel=np.asarray(names)[key.ravel()],
                 weight=w.ravel())
    xy = {  # plain Vega-Lite dicts: Altair's channel objects cost more than the chart
        "x": encoding_field("key_channel", "nominal", scale={"domain": names}, title="key channel",
                            axis={"labelAngle": 0, "labelExpr": "split(datum.label, ' ')"}),
        "y": encoding_field("query_channel", "nominal", scale={"domain": names}, title="query channel"),
    }
    tooltip = [tooltip_field("query_channel:N", "query channel"), tooltip_field("key_channel:N", "key channel"),
               tooltip_field("weight:Q", "attention", ".4f")]
    colour = weight_colour("weight", cmap, span, "attention", fixed=(0.0, 1.0))
    cells = alt.Chart(mark={"type": "rect"}, encoding=alt.FacetedEncoding(**xy, color=colour, tooltip=tooltip))
    values = alt.Chart(mark={"type": "text", "fontSize": 12}, encoding=alt.FacetedEncoding(
        **xy, text=encoding_field("weight", "quantitative", format=".2f"),
        color=contrast_text("weight", cmap, colour["scale"]["domain"]), tooltip=tooltip))
    return composed(alt.LayerChart, [cells, values], data=data, width=CHANNEL_PX, height=CHANNEL_PX,
                    title=title_params(title or "channel attention", subtitle))


def token_limits(n: int, token_start_s, token_end_s) -> tuple[np.ndarray, np.ndarray]:
    start, end = checked_array(token_start_s, "token_start_s", 1), checked_array(token_end_s, "token_end_s", 1)
    same_length(n, "the attention map's tokens", token_start_s=start, token_end_s=end)
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
    >>> from mesa_report.charts.data import chart_frame
    >>> edges = np.arange(21) * 1.5
    >>> chart = temporal_chart(np.full((20, 20), 0.05), edges[:-1], edges[1:])
    >>> float(chart_frame(chart)["key_end_s"].max())
    30.0
    """
    w = square_array(weights, "weights")
    start, end = token_limits(w.shape[0], token_start_s, token_end_s)
    n = w.shape[0]
    query, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    query, key = query.ravel(), key.ravel()  # (N·N,)
    # Each cell is drawn a little past its end, under the next cell (drawn after it), so that no
    # seam between cells lets the background through where a PDF viewer smooths their edges.
    drawn_end = end + CELL_OVERLAP * (end - start)  # (N,)
    data = table(query_token=query, key_token=key, query_start_s=start[query], query_end_s=end[query],
                 key_start_s=start[key], key_end_s=end[key], query_drawn_end_s=drawn_end[query],
                 key_drawn_end_s=drawn_end[key], weight=w.ravel())
    time_span = [float(start.min()), float(end.max())]
    scale = {"domain": time_span, "nice": False, "zero": False}
    encoding = alt.FacetedEncoding(  # plain Vega-Lite dicts: Altair's channel objects cost more than the chart
        x=encoding_field("key_start_s", "quantitative", scale=scale, title="key time in epoch (s)",
                         axis={"grid": False}),
        x2={"field": "key_drawn_end_s"},
        y=encoding_field("query_start_s", "quantitative", scale={**scale, "reverse": True},
                         title="query time in epoch (s)", axis={"grid": False}),
        y2={"field": "query_drawn_end_s"},
        color=weight_colour("weight", cmap, span, "attention"),
        tooltip=[
            tooltip_field("query_token:O", "query token"),
            tooltip_field("query_start_s:Q", "query from (s)", ".2f"),
            tooltip_field("query_end_s:Q", "query to (s)", ".2f"),
            tooltip_field("key_token:O", "key token"),
            tooltip_field("key_start_s:Q", "key from (s)", ".2f"),
            tooltip_field("key_end_s:Q", "key to (s)", ".2f"),
            tooltip_field("weight:Q", "attention", ".4f"),
        ],
    )
    return alt.Chart(data, mark={"type": "rect", "clip": True}, encoding=encoding, width=TEMPORAL_PX,
                     height=TEMPORAL_PX, title=title_params(title or "temporal attention", subtitle))
