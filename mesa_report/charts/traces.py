"""An epoch's EEG, every channel stacked, with the attention each time token receives.

One chart serves the app's epoch detail, the reports and the files: each channel's trace over the
epoch, faintly shaded by the attention its time tokens receive, with a band of the same colours
right under it, so the trace stays readable where the shading is darkest. Every channel shares one
colour scale (its legend under the chart) and the time axis is labelled once, at the bottom. The
amplitude is the stored signal's (:data:`mesa_report.core.vocabulary.SIGNAL_UNIT`), and the
subtitle says how it was scaled.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import altair as alt
import numpy as np

from mesa_report.charts.data import table
from mesa_report.charts.heatmaps import token_limits
from mesa_report.charts.parts import checked_array, composed, encoding_field
from mesa_report.charts.scales import TEMPORAL_CMAP, weight_colour
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import SIGNAL_SCALING, SIGNAL_UNIT, channel_label
from mesa_report.explain.view_scales import ColourSpan

TRACE_WIDTH_PX = 760
"""Width of the traces' plot in the app and the files."""

TRACE_HEIGHT_PX = 90
"""Height of one channel's trace."""

BAND_HEIGHT_PX = 14
"""Height of the colour band under each trace."""

SHADE_OPACITY = 0.22
"""Opacity of the shading behind a trace: light enough that the trace reads over the darkest colour."""

AXIS_FONT_PX = 11
"""Tick labels and axis titles (8 pt when a report page shows the chart at its size)."""

NOTE_CHARS = 90
"""Longest line of the subtitle's notes, in characters (about 560 px)."""


def envelope(signal: np.ndarray, n_columns: int) -> np.ndarray:
    """Indices of the samples that draw ``signal`` at ``n_columns`` pixels: each column's min and max.

    A line through the lowest and the highest sample of every pixel column looks the same as the
    whole trace at that width, with at most two points per column.

    Examples
    --------
    >>> envelope(np.arange(10.0), 20).tolist() == list(range(10))
    True
    >>> envelope(np.array([0., 5., -3., 1., 2., 2., 9., 0.]), 2).tolist()  # columns 0-3, 4-7
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


def _checked(signals, token_relevance, channel_names, sfreq_hz: float) -> tuple[np.ndarray, np.ndarray]:
    sig = checked_array(signals, "signals", 2)  # (C, T)
    relevance = checked_array(token_relevance, "token_relevance", 2)  # (C, N)
    if not sfreq_hz > 0:
        raise ConfigError(f"sfreq_hz must be positive, not {sfreq_hz}")
    if not sig.shape[0] == relevance.shape[0] == len(channel_names):
        raise ConfigError(f"signals hold {sig.shape[0]} channels, token_relevance {relevance.shape[0]} and "
                          f"channel_names {len(channel_names)}; give one row and one name per channel")
    return sig, relevance


def _channel_chart(signal: np.ndarray, sfreq_hz: float, tokens: alt.InlineData, label: str, *, x: dict,
                   band_x: dict, colour: dict, tooltip: list, width_px: int,
                   amplitude_unit: str) -> alt.VConcatChart:
    """One channel: its trace over the faint shading, and the colour band under it (x axis ``band_x``)."""
    kept = envelope(signal, width_px)  # what the plot's pixels can show, not every sample
    trace = table(time_s=kept / float(sfreq_hz), amplitude=signal[kept])
    axis = {"labelFontSize": AXIS_FONT_PX, "titleFontSize": AXIS_FONT_PX, "tickCount": 3}
    shade = alt.Chart(tokens, mark={"type": "rect", "fillOpacity": SHADE_OPACITY},
                      encoding=alt.FacetedEncoding(x=x, x2={"field": "end_s"}, color=colour, tooltip=tooltip))
    line = alt.Chart(trace, mark={"type": "line", "color": "#111111", "strokeWidth": 0.8},
                     encoding=alt.FacetedEncoding(
                         x={**x, "field": "time_s"},
                         y=encoding_field("amplitude", "quantitative", title=label, axis=axis),
                         tooltip=[encoding_field("time_s", "quantitative", title="time (s)", format=".3f"),
                                  encoding_field("amplitude", "quantitative", title=amplitude_unit,
                                                 format=".3f")]))
    band = alt.Chart(tokens, mark={"type": "rect"}, width=width_px, height=BAND_HEIGHT_PX,
                     encoding=alt.FacetedEncoding(x=band_x, x2={"field": "end_s"}, color=colour, tooltip=tooltip))
    # composed as they are: alt.vconcat, alt.layer and the classes' constructors copy every part (same spec)
    return composed(alt.VConcatChart, [composed(alt.LayerChart, [shade, line], width=width_px,
                                                height=TRACE_HEIGHT_PX), band], spacing=2)


def traces_chart(signals, sfreq_hz: float, token_relevance, token_start_s, token_end_s, *,
                 channel_names: Sequence[str], cmap: str = TEMPORAL_CMAP, title: str | None = None,
                 span: ColourSpan | None = None, relevance_title: str = "attention received",
                 amplitude_unit: str = SIGNAL_UNIT, scaling: str | None = SIGNAL_SCALING,
                 width_px: int = TRACE_WIDTH_PX) -> alt.VConcatChart:
    """Every channel's signal over one epoch, stacked, each with the attention its time tokens receive.

    Parameters
    ----------
    signals : array, shape (C, T)
        The epoch's samples, one row per channel.
    sfreq_hz : float
        Sampling rate of ``signals``.
    token_relevance : array, shape (C, N)
        Relevance of each channel's tokens, e.g. the attention each receives
        (:meth:`mesa_report.explain.views.SampleAttention.received`).
    token_start_s, token_end_s : array, shape (N,)
        Token limits in seconds within the epoch.
    channel_names : sequence of str
        One name per channel (MESA names gain their derivation).
    cmap : str
        Colour map of the relevance.
    title : str, optional
        Chart title (default ``EEG traces``).
    span : ColourSpan, optional
        The colour scale, shared by every channel; by default the data's range.
    relevance_title : str
        What ``token_relevance`` is, for the legend.
    amplitude_unit : str
        Unit of ``signals``; ``scaling`` says in words how the signal was scaled (``None``: no note).
    width_px : int
        Width of the plots (the y axis adds about 50 px).

    Returns
    -------
    altair.VConcatChart
        Per channel a trace over its band; the last band carries the time axis.

    Examples
    --------
    >>> edges = np.arange(21) * 1.5
    >>> chart = traces_chart(np.zeros((2, 3840)), 128.0, np.full((2, 20), 0.05), edges[:-1], edges[1:],
    ...                      channel_names=["EEG1", "EEG2"])
    >>> len(chart.vconcat), chart.vconcat[1].vconcat[0].layer[1].encoding.y["title"]
    (2, 'EEG2 (Cz-Oz)')
    """
    sig, relevance = _checked(signals, token_relevance, channel_names, sfreq_hz)
    start, end = token_limits(relevance.shape[1], token_start_s, token_end_s)
    duration_s = sig.shape[1] / float(sfreq_hz)
    # Encodings are plain Vega-Lite dicts: Altair copies every channel object each time a chart is
    # layered, concatenated or turned into a spec.
    scale = {"domain": [0.0, max(duration_s, float(end.max()))], "nice": False, "zero": True}
    hidden = encoding_field("start_s", "quantitative", scale=scale, title=None, axis=None)
    colour = {**weight_colour("relevance", cmap, span, relevance_title),
              "legend": {"orient": "bottom", "direction": "horizontal", "gradientLength": 220,
                         "titleLimit": 2 * width_px, "labelFontSize": AXIS_FONT_PX}}
    tooltip = [encoding_field("token", "ordinal", title="token"),
               encoding_field("start_s", "quantitative", title="from (s)", format=".2f"),
               encoding_field("end_s", "quantitative", title="to (s)", format=".2f"),
               encoding_field("relevance", "quantitative", title=relevance_title, format=".4f")]
    time_axis = {**hidden, "title": "time in epoch (s)",
                 "axis": {"labelFontSize": AXIS_FONT_PX, "titleFontSize": AXIS_FONT_PX}}
    rows = []
    for c, name in enumerate(channel_names):
        tokens = table(token=np.arange(relevance.shape[1]), start_s=start, end_s=end, relevance=relevance[c])
        rows.append(_channel_chart(sig[c], sfreq_hz, tokens, channel_label(str(name)), x=hidden,
                                   band_x=time_axis if c == len(channel_names) - 1 else hidden, colour=colour,
                                   tooltip=tooltip, width_px=width_px, amplitude_unit=amplitude_unit))
    notes = [f"shading and the band under each trace: {relevance_title} by each time token (mean over the queries)",
             f"amplitude in {amplitude_unit}" + (f" ({scaling})" if scaling else "")]
    notes = [line for note in notes for line in textwrap.wrap(note, NOTE_CHARS)]  # no wider than the plots
    return composed(alt.VConcatChart, rows, spacing=10, resolve={"scale": {"color": "shared"}},
                    title={"text": title or "EEG traces", "subtitle": notes, "anchor": "start"})
