"""The seed's attention dashboard: a sample's inter-epoch attention, then its chosen epochs in detail."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt

from mesa_report.charts.heatmaps import channel_chart, inter_epoch_chart, temporal_chart
from mesa_report.charts.parts import checked_array, label_array, same_length, square_array, title_params
from mesa_report.charts.scales import CHANNEL_CMAP, EPOCH_CMAP, TEMPORAL_CMAP
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import CLASS_NAMES_6, channel_label, stage_name
from mesa_report.explain.view_scales import colour_span

DASHBOARD_EPOCH_PX = 400
"""Height of the inter-epoch heatmap."""

DASHBOARD_PANEL_PX = 170
"""Side of each detail panel (channel and temporal attention)."""

DASHBOARD_COLUMN_PX = 305
"""Width a detail panel takes in its row with its axis, legend and spacing (as drawn)."""

DASHBOARD_EPOCH_AXES_PX = 190
"""Width the inter-epoch heatmap's row labels and legend take beside its plot (as drawn)."""

NOTE_CHAR_PX = 5.5
"""Width of a character of a legend's note (11 px type)."""


def dashboard_chart(epoch_weights, channel_weights, temporal_weights, true_labels, pred_labels, *,
                    epochs: Sequence[int], channel_names: Sequence[str], token_start_s, token_end_s,
                    class_names: Sequence[str] = CLASS_NAMES_6, first_epoch: int = 0,
                    epoch_cmap: str = EPOCH_CMAP, channel_cmap: str = CHANNEL_CMAP,
                    temporal_cmap: str = TEMPORAL_CMAP, title: str | None = None,
                    method: str | None = None) -> alt.VConcatChart:
    """The seed's dashboard: inter-epoch attention on top, then one row per selected epoch.

    Each row holds the epoch's channel attention and its temporal attention for every channel; the
    inter-epoch heatmap is as wide as the rows, so the dashboard is filled.

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
    >>> import numpy as np
    >>> S, C, N = 4, 3, 20
    >>> edges = np.arange(N + 1) * 1.5
    >>> chart = dashboard_chart(np.full((S, S), 1 / S), np.full((S, C, C), 1 / C),
    ...                         np.full((S, C, N, N), 1 / N), [0, 1, 2, 2], [0, 2, 2, 2],
    ...                         epochs=[1], channel_names=["EEG1", "EEG2", "EEG3"],
    ...                         token_start_s=edges[:-1], token_end_s=edges[1:])
    >>> len(chart.vconcat), len(chart.vconcat[1].hconcat)
    (2, 4)
    """
    epoch_w = square_array(epoch_weights, "epoch_weights")
    channel_w = checked_array(channel_weights, "channel_weights", 3)
    temporal_w = checked_array(temporal_weights, "temporal_weights", 4)
    true, pred = label_array(true_labels, "true_labels"), label_array(pred_labels, "pred_labels")
    n_epochs = epoch_w.shape[0]
    same_length(n_epochs, "epoch_weights", channel_weights=channel_w, temporal_weights=temporal_w,
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

    # the inter-epoch heatmap spans the rows under it, so that the dashboard has no blank corner;
    # the notes under its legend's title (whole sentences) widen the legend
    epoch_span = span(epoch_w, "epoch")
    notes_px = max((len(note) for note in (epoch_span.notes if epoch_span else ())), default=0) * NOTE_CHAR_PX
    width_px = (n_channels + 1) * DASHBOARD_COLUMN_PX - DASHBOARD_EPOCH_AXES_PX - notes_px
    rows: list = [inter_epoch_chart(epoch_w, true, pred, class_names=class_names, first_epoch=first_epoch,
                                    cmap=epoch_cmap, span=epoch_span)
                  .properties(width=width_px, height=DASHBOARD_EPOCH_PX)]
    for e in chosen:
        truth, guess = stage_name(true[e], class_names), stage_name(pred[e], class_names)
        verdict = "unscored" if true[e] < 0 else "wrong" if true[e] != pred[e] else "correct"
        panels = [channel_chart(channel_w[e], channel_names, cmap=channel_cmap,
                                title=f"epoch {first_epoch + e}: {truth}→{guess} ({verdict})",
                                subtitle="channel attention", span=span(channel_w[e], "channel"))]
        panels += [temporal_chart(temporal_w[e, c], token_start_s, token_end_s, cmap=temporal_cmap,
                                  title=channel_label(str(name)), subtitle="temporal attention",
                                  span=span(temporal_w[e, c], "temporal"))
                   for c, name in enumerate(channel_names)]
        rows.append(alt.hconcat(*(panel.properties(width=DASHBOARD_PANEL_PX, height=DASHBOARD_PANEL_PX)
                                  for panel in panels), spacing=24).resolve_scale(color="independent"))
    return alt.vconcat(*rows, spacing=28).resolve_scale(color="independent").properties(
        title=title_params(title or "attention dashboard",
                     f"{n_epochs} epochs · {len(chosen)} in detail"))
