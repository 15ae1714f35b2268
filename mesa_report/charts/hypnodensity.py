"""The hypnodensity: each epoch's probability of every stage, as a stacked strip over the night.

One chart function serves the app, the HTML report and the PDF, like those of
:mod:`mesa_report.charts.heatmaps`: it returns an Altair chart whose encodings are plain Vega-Lite dicts;
:func:`mesa_report.render.vega.chart_spec` turns it into a spec and :func:`mesa_report.render.vega.render_chart`
into PNG, SVG or PDF. Stages are stacked as a hypnogram draws them, the deepest at the bottom and W
on top, in the seed's stage colours; the time axis is hours since the start or clock time
(:class:`mesa_report.core.time_axis.TimeAxis`), so the strip lines up under a hypnogram of the same
width.

The data hold one row per epoch, ``epoch``, ``t`` (its start on the time axis) and one column per
stage; a last row at the night's end closes the step line. A transparent bar over each epoch shows
every probability on hover, and a click on it selects the epoch (selection
:data:`HYPNODENSITY_SELECTION`, field ``epoch``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import altair as alt
import numpy as np

from mesa_report.charts.data import table
from mesa_report.charts.night import HYPNOGRAM_WIDTH_PX, NIGHT_EPOCH_SELECTION, NIGHT_Y_AXIS_PX, hypnogram_order
from mesa_report.charts.scales import stage_colour_scale
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_6
from mesa_report.core.time_axis import TimeAxis

HYPNODENSITY_SELECTION = NIGHT_EPOCH_SELECTION
"""Name of the hypnodensity's point selection (the hypnogram's too); it holds the clicked epoch's ``epoch``."""

HYPNODENSITY_HEIGHT_PX = 80
PROBABILITY_DECIMALS = 4
"""Probabilities are written with this many decimals (a night's spec stays small)."""


def _checked(probs, class_names: Sequence[str], epoch_seconds: float) -> tuple[np.ndarray, list[str]]:
    arr = np.asarray(probs, dtype=np.float64)
    names = [str(n) for n in class_names]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != len(names):
        raise ConfigError(f"probs must be (epochs, {len(names)} stages) for stages {names}; got shape "
                          f"{arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ConfigError("probs must be finite and non-negative (softmax outputs)")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
        raise ConfigError("each epoch's probabilities must sum to 1; pass softmax outputs, not logits")
    if len(set(names)) != len(names) or any(set(n) & set(".[]\\") for n in names):
        raise ConfigError(f"stage names must be distinct and free of . [ ] \\ to be chart fields; got {names}")
    if not epoch_seconds > 0:
        raise ConfigError(f"epoch_seconds must be positive, not {epoch_seconds}")
    return arr, names


def hypnodensity_chart(probs, *, class_names: Sequence[str] = CLASS_NAMES_6, epoch_seconds: float = 30.0,
                       first_epoch: int = 0, start: datetime | None = None, title: str | None = None,
                       time_labels: bool = True) -> alt.LayerChart:
    """Stacked probability of every stage per epoch over the night.

    Parameters
    ----------
    probs : array, shape (E, K)
        Stage probabilities of each epoch (rows sum to 1), e.g.
        :attr:`mesa_report.inference.night.NightInference.probs`.
    class_names : sequence of str
        Stage name of each column.
    epoch_seconds : float
        Length of one epoch.
    first_epoch : int
        Index of the first row's epoch within the night.
    start : datetime.datetime, optional
        Clock time of the night's epoch 0 (:func:`mesa_report.core.time_axis.recording_start`): the
        axis shows clock time; by default hours since the start.
    title : str, optional
        Chart title (default ``hypnodensity``).
    time_labels : bool
        Label the time axis (off for a strip placed above another that labels it).

    Returns
    -------
    altair.LayerChart

    Raises
    ------
    ConfigError
        For probabilities of another shape than ``(E, len(class_names))``, negative ones, or rows
        that do not sum to 1.

    Examples
    --------
    >>> from mesa_report.charts.data import chart_frame
    >>> chart = hypnodensity_chart([[0.9, 0.1, 0, 0, 0, 0], [0.2, 0.5, 0.3, 0, 0, 0]])
    >>> frame = chart_frame(chart)
    >>> frame["epoch"].tolist(), frame["t"].tolist(), frame["N1"].tolist()
    ([0, 1, 2], [0.0, 0.008333, 0.016667], [0.1, 0.5, 0.5])
    """
    arr, names = _checked(probs, class_names, float(epoch_seconds))
    n_epochs = arr.shape[0]
    epochs = np.arange(n_epochs + 1) + int(first_epoch)  # (E+1,) the last row closes the step line
    axis = TimeAxis(start)
    seconds = epochs * float(epoch_seconds)  # (E+1,)
    rows = np.vstack([arr, arr[-1:]]).round(PROBABILITY_DECIMALS)  # (E+1, K)
    positions = axis.positions(seconds)
    data = table(epoch=epochs, t=positions if axis.clock else positions.round(6),
                 **{name: rows[:, k] for k, name in enumerate(names)})
    step = float(positions[1] - positions[0])  # one epoch on the axis
    x = axis.encoding("t", (seconds[0], seconds[-1]), labels=time_labels)
    stack_order = json.dumps(hypnogram_order(names)[::-1])  # deepest stage at the bottom
    probability = {"field": "probability", "type": "quantitative", "stack": "zero",
                   "scale": {"domain": [0, 1]}, "axis": {"values": [0, 0.5, 1], "minExtent": NIGHT_Y_AXIS_PX}, "title": "probability"}
    colour = {"field": "stage", "type": "nominal", "title": "stage",
              "scale": stage_colour_scale(names).to_dict(), "legend": {"values": hypnogram_order(names)}}
    area = alt.Chart(
        mark={"type": "area", "interpolate": "step-after", "opacity": 1},
        transform=[{"fold": names, "as": ["stage", "probability"]},
                   {"calculate": f"indexof({stack_order}, datum.stage)", "as": "stack_rank"}],
        encoding=alt.FacetedEncoding(x=x, y=probability, color=colour,
                                     order={"field": "stack_rank", "type": "quantitative"}))
    hover = alt.Chart(
        mark={"type": "rect", "fill": "#000000", "fillOpacity": 0, "cursor": "pointer"},
        transform=[{"filter": f"datum.epoch < {int(epochs[-1])}"},
                   {"calculate": f"datum.t + {step!r}", "as": "t_end"}],
        encoding=alt.FacetedEncoding(
            x=x, x2={"field": "t_end"}, y={"datum": 0}, y2={"datum": 1},
            tooltip=[{"field": "epoch", "type": "ordinal", "title": "epoch"}, axis.tooltip("t"),
                     *({"field": name, "type": "quantitative", "title": f"P({name})", "format": ".3f"}
                       for name in hypnogram_order(names))]),
    ).add_params(alt.selection_point(name=HYPNODENSITY_SELECTION, fields=["epoch"], on="click"))
    subtitle = "each epoch's probability of every stage (the model's softmax output)"
    return alt.layer(area, hover, data=data, width=HYPNOGRAM_WIDTH_PX, height=HYPNODENSITY_HEIGHT_PX,
                     title={"text": title or "hypnodensity", "subtitle": subtitle, "anchor": "start"})
