"""Building a night's report model once: header facts, metrics, night figures, the detailed samples and
the measured explanations; :mod:`mesa_report.report.document` renders it."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mesa_report import __version__
from mesa_report.charts.night import confusion_chart, hypnogram_chart
from mesa_report.core.errors import ReportError
from mesa_report.core.time_axis import recording_start
from mesa_report.core.vocabulary import channel_label
from mesa_report.data.night_ids import record_id
from mesa_report.explain.selection import choose_samples
from mesa_report.report.explanations import explanation_section
from mesa_report.report.formats import DASH, format_duration
from mesa_report.report.model import (
    AgreementColumn,
    F1Cell,
    Fact,
    Figure,
    StageRow,
    SubjectReport,
    figure_spec,
    stage_colour,
)
from mesa_report.report.night_section import NightOverview, night_overview
from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES
from mesa_report.report.samples import sample_figures, sample_sections, samples_intro
from mesa_report.scoring.metrics import ClassificationMetrics, NightMetrics, night_metrics


# --------------------------------------------------------------------------------------------
# Building the report model
# --------------------------------------------------------------------------------------------
def build_report(result, *, night=None, subject: str | None = None,
                 checkpoint: Mapping[str, Any] | None = None,
                 meta: Mapping[str, Any] | None = None,
                 n_samples: int = DEFAULT_SAMPLES,
                 epochs_per_sample: int = DEFAULT_EPOCHS_PER_SAMPLE,
                 created: dt.datetime | None = None,
                 fingerprint: str = "", model=None,
                 on_figures: Callable[[dict[str, dict]], None] | None = None) -> SubjectReport:
    """Build the format-neutral report of one night.

    Parameters
    ----------
    result : mesa_report.inference.night.NightInference
        The night's predictions and attention maps.
    night : mesa_report.data.store.Night, optional
        The night itself; needed for the EEG traces of the detailed epochs (left out without it)
        and read for its metadata when ``meta`` is not given.
    subject : str, optional
        How the report names the subject; default the record id (``mesa-sleep-0001``).
    checkpoint : mapping, optional
        :func:`mesa_report.model.checkpoint.checkpoint_summary` of the model's checkpoint.
    meta : mapping, optional
        The night's metadata (:attr:`mesa_report.data.store.Night.meta`): start time, source files,
        preprocessing notes.
    n_samples : int
        Samples shown in detail (0 for none): the most uncertain, those with wrong predictions
        and those with stage transitions, taken in turn.
    epochs_per_sample : int
        Epochs of each sample shown with channel and temporal attention and traces.
    created : datetime, optional
        Time of the report; default now.
    fingerprint : str
        Digest of the report's inputs; :func:`write_reports` keeps it in the stamp next to the
        files, so that up-to-date reports can be skipped.
    model : MesaTransformer, optional
        The model; with it (and ``night``) the report measures how far its explanations can be
        trusted on the detailed samples (:mod:`mesa_report.report.explanations`).
    on_figures : callable, optional
        Called with every figure's spec by key as soon as the figures are made, before the
        explanations are measured: e.g. :meth:`mesa_report.render.pdf_workers.PdfWorkers.start_charts`
        draws them meanwhile.

    Returns
    -------
    SubjectReport

    Raises
    ------
    ReportError
        For a negative ``n_samples`` or an ``epochs_per_sample`` outside ``1..seq_len``.

    Examples
    --------
    >>> report = build_report(result)  # doctest: +SKIP
    >>> render_html(report)[:15]  # doctest: +SKIP
    '<!DOCTYPE html>'
    """
    if n_samples < 0:
        raise ReportError(f"the number of samples must be 0 or more, not {n_samples}")
    if not 1 <= epochs_per_sample <= result.seq_len:
        raise ReportError(f"epochs per sample must lie in 1..{result.seq_len} (the sample length), "
                          f"not {epochs_per_sample}")
    names = tuple(result.class_names)
    metrics = night_metrics(result.labels, result.pred, class_names=names,
                            epoch_seconds=result.epoch_seconds)
    meta = dict(meta if meta is not None else (night.meta if night is not None else {}))
    checkpoint = dict(checkpoint or {})
    created = created or dt.datetime.now(dt.timezone.utc).astimezone()
    subject = str(subject) if subject is not None else record_id(result.mesaid)
    config = checkpoint.get("config") or {}
    samples = tuple(sample_sections(result, night, n_samples, epochs_per_sample))
    overview = night_overview(result, meta, detailed_samples=[i for i, _ in choose_samples(result, n_samples)])
    hypnogram = _hypnogram_figure(result, recording_start(meta))
    hypnodensity = _hypnodensity_figure(overview)
    confusion = _confusion_figures(metrics)
    figures = (hypnogram, hypnodensity, *confusion,
               *(f for s in samples for f in sample_figures(s)))
    if on_figures is not None:
        on_figures({figure.key: figure.spec for figure in figures})
    explanations = None
    if model is not None and night is not None:
        explanations = explanation_section(result, night, model, [s.first_epoch for s in samples])
    return SubjectReport(
        subject=subject,
        title=f"Sleep-staging explainability report: {subject}",
        description=f"MESA Transformer sleep staging and attention of subject {subject}",
        keywords=("sleep staging", "MESA Transformer", "attention", "explainability", subject),
        created=created,
        software_version=__version__,
        summary=tuple(_summary_facts(result, metrics, meta, checkpoint, config, created)),
        checkpoint=tuple(_checkpoint_facts(checkpoint)),
        training=tuple(_training_facts(checkpoint)),
        config=tuple(Fact(str(k), _plain_text(v)) for k, v in config.items()),
        notices=tuple(_notices(metrics, meta)),
        metrics=metrics,
        agreement_columns=tuple(_agreement_columns(metrics)),
        stage_rows=tuple(_stage_rows(metrics)),
        sleep_note=("The predicted statistics cover the epochs the scorer staged."
                    if metrics.n_scored else
                    "No epoch is scored: the predicted statistics cover the whole recording."),
        hypnogram=hypnogram,
        confusion=confusion,
        samples_intro=samples_intro(result, len(samples), epochs_per_sample, night is not None),
        samples=samples,
        n_channels=len(result.channel_names),
        seq_len=int(result.seq_len),
        token_seconds=float(np.median(result.token_times.end_s - result.token_times.start_s)),
        fingerprint=fingerprint,
        figures=figures,
        explanations=explanations,
        night=overview,
        hypnodensity=hypnodensity,
    )



def _plain_text(value: Any) -> str:
    """Any value of a checkpoint summary as short text."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: DASH}[value]
    if isinstance(value, (float, np.floating)):
        return DASH if not math.isfinite(value) else f"{float(value):.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain_text(v) for v in value)
    return str(value)


def _summary_facts(result, metrics: NightMetrics, meta: Mapping[str, Any],
                   checkpoint: Mapping[str, Any], config: Mapping[str, Any],
                   created: dt.datetime) -> Iterable[Fact]:
    start = meta.get("start_clock")
    yield Fact("Recording start", str(start).replace("T", " ") if start else "not recorded")
    yield Fact("Recording length", f"{format_duration(metrics.n_epochs * result.epoch_seconds)} "
                                   f"({metrics.n_epochs} epochs of {result.epoch_seconds:g} s)")
    yield Fact("Scored epochs", f"{metrics.n_scored} of {metrics.n_epochs}")
    yield Fact("Channels", ", ".join(channel_label(str(c)) for c in result.channel_names))
    sources = [str(meta[k]) for k in ("edf_file", "annotation_file") if meta.get(k)]
    if sources:
        yield Fact("Source files", ", ".join(sources))
    if checkpoint:
        yield Fact("Checkpoint", f"{checkpoint.get('name', DASH)} "
                                 f"(SHA-256 {str(checkpoint.get('sha256', ''))[:16]}…)")
    if config:
        yield Fact("Model", f"{len(result.class_names)} stages ({', '.join(result.class_names)}), "
                            f"{config.get('seq_len', result.seq_len)} epochs per sample, "
                            f"d_model {config.get('d_model', DASH)}")
    yield Fact("Software", f"mesa-report {__version__}")
    yield Fact("Report created", created.strftime("%Y-%m-%d %H:%M %Z").strip())


def _checkpoint_facts(checkpoint: Mapping[str, Any]) -> Iterable[Fact]:
    labels = {"name": "File", "sha256": "SHA-256", "size_bytes": "Size (bytes)",
              "format": "Format", "parameters": "Parameters", "epoch": "Training epoch",
              "best_val": "Best validation macro-F1"}
    for key, label in labels.items():
        if checkpoint.get(key) is not None:
            yield Fact(label, _plain_text(checkpoint[key]))
    yield Fact("Software", f"mesa-report {__version__}")


def _training_facts(checkpoint: Mapping[str, Any]) -> Iterable[Fact]:
    for group in ("metrics", "training"):
        for key, value in (checkpoint.get(group) or {}).items():
            yield Fact(f"{group}: {key}" if group == "metrics" else str(key), _plain_text(value))


def _notices(metrics: NightMetrics, meta: Mapping[str, Any]) -> Iterable[str]:
    if metrics.n_scored == 0:
        yield ("No epoch of this night has a scored stage: agreement metrics cannot be computed. "
               "The report shows the model's prediction, its confidence and its attention.")
    for note in meta.get("warnings") or ():
        yield f"Preprocessing: {note}"


def _agreement_columns(metrics: NightMetrics) -> Iterable[AgreementColumn]:
    if metrics.stages is not None:
        yield AgreementColumn(f"{len(metrics.class_names)} classes", metrics.stages)
    if metrics.merged is not None:
        yield AgreementColumn(f"{len(metrics.merged.class_names)} classes (N3+N4)", metrics.merged)


def _stage_rows(metrics: NightMetrics) -> Iterable[StageRow]:
    if metrics.stages is None:
        return
    six = metrics.stages
    predicted = six.confusion.sum(axis=0)  # (K,)
    for k, name in enumerate(six.class_names):
        cells = [F1Cell(six.per_stage_f1[k], 1)]
        if metrics.merged is not None:
            cells.append(_merged_cell(name, six.class_names, metrics.merged))
        yield StageRow(name=name, colour=stage_colour(name), support=six.support[k],
                       predicted=int(predicted[k]), f1=tuple(cells))


def _merged_cell(name: str, names: Sequence[str], merged: ClassificationMetrics) -> F1Cell:
    """The 5-class F1 beside a 6-class stage: N3's cell spans N3 and N4 when they are adjacent."""
    adjacent = names.index("N4") == names.index("N3") + 1
    value = merged.per_stage_f1[merged.class_names.index("N3" if name == "N4" else name)]
    if adjacent and name == "N3":
        return F1Cell(value, 2)
    if adjacent and name == "N4":
        return F1Cell(value, 0)
    return F1Cell(value, 1)



def _hypnogram_figure(result, start: dt.datetime | None) -> Figure:
    chart = hypnogram_chart(result.labels, result.pred, result.confidence,
                                   class_names=result.class_names,
                                   epoch_seconds=result.epoch_seconds, start=start)
    return Figure(
        key="hypnogram", spec=figure_spec(chart),
        caption="Scored (top) and predicted (middle) stages over the night; below, the "
                "probability of the predicted stage, with wrong predictions ticked magenta.",
        alt_text="Hypnogram of the scored and the predicted stages with the prediction's confidence",
    )


def _hypnodensity_figure(overview: NightOverview) -> Figure:
    return Figure(
        key="hypnodensity", spec=overview.hypnodensity_spec,
        caption="The model's probability of every stage in each epoch, stacked as the hypnogram "
                "draws the stages (W on top); a thin band is a stage the model barely considered.",
        alt_text="Hypnodensity: the predicted probability of each stage over the night",
    )


def _confusion_figures(metrics: NightMetrics) -> tuple[Figure, ...]:
    figures = []
    for key, item in (("confusion-6", metrics.stages), ("confusion-5", metrics.merged)):
        if item is None:
            continue
        title = f"confusion matrix, {len(item.class_names)} classes"
        if key == "confusion-5":
            title += " (N3+N4 merged)"
        figures.append(Figure(
            key=key, spec=figure_spec(confusion_chart(item.confusion, item.class_names, title=title)),
            caption="Rows: scored stage; columns: predicted stage; each cell gives "
                    "the epochs and their share of the row.",
            alt_text=f"Confusion matrix of {len(item.class_names)} stages",
        ))
    return tuple(figures)
