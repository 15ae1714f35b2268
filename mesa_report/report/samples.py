"""The samples a report details: why each was chosen, its inter-epoch attention, and its epochs in detail
(channel and temporal attention, and every channel's EEG shaded by the attention it receives)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mesa_report.charts.heatmaps import (
    channel_chart,
    inter_epoch_chart,
    prediction_strip_chart,
    temporal_chart,
)
from mesa_report.charts.traces import traces_chart
from mesa_report.render.vega import concat_specs
from mesa_report.explain.selection import choose_samples, informative_epochs, stage_transitions, wrong_predictions
from mesa_report.explain.views import SampleAttention, night_sample_views
from mesa_report.core.vocabulary import UNSCORED, channel_label, stage_name
from mesa_report.explain.wrong_epochs import report_anchor
from mesa_report.report.model import EpochDetail, Figure, SampleSection, figure_spec, stage_colour

DETAIL_PANEL_PX = 170
"""Side of the channel and temporal heatmaps of a detailed epoch."""

REPORT_TRACE_WIDTH_PX = 620
"""Width of the EEG traces' plots: with their y axis, the text width of an A4 page (180 mm, 680
CSS px), so that the PDF shows them at their size and their tick labels at 8 pt."""


def sample_figures(sample: SampleSection) -> Iterable[Figure]:
    yield sample.overview
    for epoch in sample.epochs:
        yield epoch.heatmaps
        if epoch.traces is not None:
            yield epoch.traces



def count_text(n: int, noun: str) -> str:
    """``1 epoch``, ``3 epochs``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def samples_intro(result, n_shown: int, epochs_per_sample: int, with_traces: bool) -> str:
    text = (f"The night is cut into {count_text(result.n_samples, 'sample')} of {result.seq_len} "
            f"consecutive epochs, the model's context. Shown here: {count_text(n_shown, 'sample')}, "
            "taken in turn as the most uncertain, the one with the most wrong predictions and the "
            f"one with the most stage transitions; in each, {count_text(epochs_per_sample, 'epoch')} "
            "in detail (wrong predictions first, then stage transitions, then the least "
            "confident).")
    if not with_traces:
        text += " The signal was not available, so the EEG traces are left out."
    return text


def sample_sections(result, night, count: int, epochs_per_sample: int) -> Iterable[SampleSection]:
    names = tuple(result.class_names)
    for index, reason in choose_samples(result, count):
        view = result.sample(index, night)
        att = night_sample_views(result, index)  # what the app and the PNG files show of this sample
        number = att.number
        first = int(view.first_epoch)
        last = first + len(view.labels) - 1
        confidence = view.probs.max(axis=1)  # (S,)
        wrong = wrong_predictions(view.labels, view.pred)  # (S,)
        transition = stage_transitions(view.labels)  # (S,)
        scored = view.labels != UNSCORED  # (S,)
        badges = [reason]
        if wrong.any():
            badges.append(f"{int(wrong.sum())} wrong")
        if transition.any():
            badges.append(count_text(int(np.count_nonzero(np.diff(view.labels[scored]))), "transition"))
        overview = Figure(
            key=f"sample-{number}",
            spec=concat_specs([
                figure_spec(inter_epoch_chart(att.epoch, view.labels, view.pred, class_names=names,
                                               first_epoch=first, subtitle=f"{att.name} · {att.detail}",
                                               span=att.span("epoch"))),
                figure_spec(prediction_strip_chart(view.labels, view.pred, confidence,
                                                    class_names=names, first_epoch=first)),
            ], "vconcat", spacing=6, colour_scales="independent"),
            caption=f"Inter-epoch attention ({att.detail}); under it the scored and "
                    "predicted stage of each epoch and the prediction's confidence.",
            alt_text=f"Inter-epoch attention of epochs {first} to {last}",
        )
        positions = informative_epochs(view.labels, view.pred, view.uncertainty, epochs_per_sample)
        epochs = tuple(
            _epoch_detail(result, view, att, pos, wrong[pos], transition[pos])
            for pos in positions
        )
        yield SampleSection(
            anchor=report_anchor(number),
            heading=att.name,
            reasons=tuple(badges),
            first_epoch=first,
            last_epoch=last,
            start_s=first * result.epoch_seconds,
            end_s=(last + 1) * result.epoch_seconds,
            accuracy=float((view.labels == view.pred)[scored].mean()) if scored.any() else None,
            mean_confidence=float(confidence.mean()),
            overview=overview,
            epochs=epochs,
        )


def _epoch_detail(result, view, att: SampleAttention, pos: int, wrong: bool, transition: bool) -> EpochDetail:
    names = tuple(result.class_names)
    epoch = att.first_epoch + int(pos)
    times = result.token_times
    channel = figure_spec(channel_chart(att.channel[pos], result.channel_names, subtitle=f"epoch {epoch}",
                                         span=att.span("channel", pos)), DETAIL_PANEL_PX)
    shared = att.span("temporal", pos)  # every channel of the epoch on one scale
    temporal = [
        figure_spec(temporal_chart(att.temporal[pos, c], times.start_s, times.end_s,
                                    subtitle=channel_label(str(name)), span=shared), DETAIL_PANEL_PX)
        for c, name in enumerate(result.channel_names)
    ]
    heatmaps = concat_specs(
        [channel, concat_specs(temporal, "hconcat", spacing=12, colour_scales="shared")],
        "hconcat", spacing=24, colour_scales="independent")
    scored, predicted = stage_name(view.labels[pos], names), stage_name(view.pred[pos], names)
    why = ("wrong prediction" if wrong else "stage transition" if transition
           else "among the least confident of the sample")
    key = f"sample-{att.number}-epoch-{epoch}"
    return EpochDetail(
        epoch=epoch,
        start_s=epoch * result.epoch_seconds,
        scored=scored,
        scored_colour=stage_colour(scored),
        predicted=predicted,
        predicted_colour=stage_colour(predicted),
        wrong=bool(wrong),
        confidence=float(view.probs[pos].max()),
        uncertainty=float(view.uncertainty[pos]),
        why=why,
        heatmaps=Figure(
            key=f"{key}-attention", spec=heatmaps,
            caption="Channel attention on a fixed 0–1 scale, then the temporal attention of each "
                    f"channel on one shared scale ({att.detail}).",
            alt_text=f"Channel and temporal attention of epoch {epoch}",
        ),
        traces=_traces_figure(result, view, att, pos, key) if view.features is not None else None,
    )


def _traces_figure(result, view, att: SampleAttention, pos: int, key: str) -> Figure:
    times = result.token_times
    chart = traces_chart(view.features[pos], result.sfreq_hz, att.received(pos), times.start_s,
                                times.end_s, channel_names=result.channel_names, span=att.span("trace", pos),
                                width_px=REPORT_TRACE_WIDTH_PX)
    epoch = int(view.first_epoch) + int(pos)
    return Figure(
        key=f"{key}-traces", spec=figure_spec(chart),
        caption="Each channel's signal, its time tokens shaded by the attention they receive "
                "(mean over the queries of the temporal map) on one scale for every channel, with a "
                "band of the same colours under each trace.",
        alt_text=f"EEG traces of epoch {epoch} shaded by temporal attention",
    )
