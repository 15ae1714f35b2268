"""Per-subject explainability reports: one report model, rendered to standalone HTML or to PDF.

:func:`build_report` turns a night's inference (:class:`mesa_report.inference.night.NightInference`)
into a :class:`SubjectReport` once: the header facts, every figure of
:func:`mesa_report.scoring.metrics.night_metrics`, and the charts of :mod:`mesa_report.charts` as chart
objects. :func:`render_html` and :func:`render_pdf` lay that model out through the same Jinja
template (``mesa_report/report/templates/report.html.j2``):

- HTML: one self-contained file. The CSS is inline; every chart is its Vega-Lite spec, drawn in
  the browser by the Vega bundle inlined once (:func:`mesa_report.render.vega.vega_javascript`), so the
  file opens offline and the charts keep their tooltips. Nothing is loaded from the network.
- PDF: WeasyPrint lays out the same template with the print stylesheet (A4 or Letter, running
  header with the subject, page numbers, document metadata). Every chart is vector: vl-convert
  draws it as a PDF page, WeasyPrint keeps its place, and the page is laid onto that place
  (:mod:`mesa_report.render.pdf_charts`), so WeasyPrint never draws chart text. The archival and the
  tagged variant let WeasyPrint draw each chart from its SVG instead, so that the charts are part
  of the document's structure (slower). WeasyPrint may load nothing but the charts.

:func:`render_report_html` and :func:`render_report_pdf` do both steps (the app's download
buttons); :func:`write_reports` writes the files of the command line atomically, with a small
JSON stamp that records the report's inputs so that up-to-date reports can be skipped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.resources
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup, escape

from mesa_report import __version__

from mesa_report.charts.heatmaps import (
    channel_chart,
    inter_epoch_chart,
    prediction_strip_chart,
    temporal_chart,
)
from mesa_report.charts.night import confusion_chart, hypnogram_chart
from mesa_report.charts.traces import traces_chart
from mesa_report.core.errors import ReportError
from mesa_report.core.fileio import write_bytes_atomic, write_text_atomic
from mesa_report.scoring.metrics import ClassificationMetrics, NightMetrics, night_metrics
from mesa_report.render.pdf_charts import (FIGURE_URL, PLACE_PREFIX, chart_pdfs, chart_places, figure_fetcher,
                         lay_charts, placeholders)
from mesa_report.render.vega import chart_spec, concat_specs, render_spec, spec_json, vega_javascript
from mesa_report.report.explanations import ExplanationSection, explanation_section
from mesa_report.report.night_section import NightOverview, night_overview
from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES, FORMATS, PAGE_SIZES, PDF_VARIANTS
from mesa_report.explain.selection import informative_epochs, rank_samples, stage_transitions, wrong_predictions
from mesa_report.explain.views import SampleAttention, night_sample_views
from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED, UNSCORED_COLOUR, channel_label, stage_name
from mesa_report.data.night_ids import record_id
from mesa_report.explain.wrong_epochs import report_anchor
from mesa_report.core.time_axis import recording_start

TEMPLATE_NAME = "report.html.j2"
REPORT_SUFFIX = "_report"
"""File names are ``<record id>_report.html``, ``.pdf`` and the stamp ``.json``."""

PDF_FONT = "DejaVu Sans"
"""Typeface of the PDF (``report.css`` sets it on ``html``) and of its charts: vl-convert then
measures chart text as WeasyPrint draws it, so no label overflows its chart."""

DETAIL_PANEL_PX = 170
"""Side of the channel and temporal heatmaps of a detailed epoch."""

REPORT_TRACE_WIDTH_PX = 620
"""Width of the EEG traces' plots: with their y axis, the text width of an A4 page (180 mm, 680
CSS px), so that the PDF shows them at their size and their tick labels at 8 pt."""

_STAMP_VERSION = 1


# --------------------------------------------------------------------------------------------
# The report model
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Figure:
    """One chart of a report, independent of the output format.

    Attributes
    ----------
    key : str
        Unique within the report; letters, digits and hyphens (element ids derive from it).
    spec : dict
        Its Vega-Lite spec: charts of :mod:`mesa_report.charts`, alone or laid out together with
        :func:`mesa_report.render.vega.concat_specs`; made once, drawn by every format.
    caption : str
        Text under the chart.
    alt_text : str
        Text alternative (screen readers, tagged PDF).
    """

    key: str
    spec: dict
    caption: str
    alt_text: str


@dataclasses.dataclass(frozen=True)
class Fact:
    """One labelled value of the header or the appendix."""

    label: str
    value: str


@dataclasses.dataclass(frozen=True)
class AgreementColumn:
    """One column of the agreement tables: 6 classes, or 5 with N3 and N4 merged."""

    title: str
    metrics: ClassificationMetrics


@dataclasses.dataclass(frozen=True)
class F1Cell:
    """An F1 value of the per-stage table; ``rowspan`` 0 means covered by the cell above."""

    value: float
    rowspan: int


@dataclasses.dataclass(frozen=True)
class StageRow:
    """One stage of the per-stage table."""

    name: str
    colour: str
    support: int
    predicted: int
    f1: tuple[F1Cell, ...]


@dataclasses.dataclass(frozen=True)
class EpochDetail:
    """One epoch of a sample shown with its channel and temporal attention and its traces."""

    epoch: int
    start_s: float
    scored: str
    scored_colour: str
    predicted: str
    predicted_colour: str
    wrong: bool
    confidence: float
    uncertainty: float
    why: str
    heatmaps: Figure
    traces: Figure | None


@dataclasses.dataclass(frozen=True)
class SampleSection:
    """One selected sample: its inter-epoch attention and its detailed epochs."""

    anchor: str
    heading: str
    reasons: tuple[str, ...]
    first_epoch: int
    last_epoch: int
    start_s: float
    end_s: float
    accuracy: float | None
    mean_confidence: float
    overview: Figure
    epochs: tuple[EpochDetail, ...]


@dataclasses.dataclass(frozen=True)
class SubjectReport:
    """Everything one subject's report shows, built once by :func:`build_report`."""

    subject: str
    title: str
    description: str
    keywords: tuple[str, ...]
    created: dt.datetime
    software_version: str
    summary: tuple[Fact, ...]
    checkpoint: tuple[Fact, ...]
    training: tuple[Fact, ...]
    config: tuple[Fact, ...]
    notices: tuple[str, ...]
    metrics: NightMetrics
    agreement_columns: tuple[AgreementColumn, ...]
    stage_rows: tuple[StageRow, ...]
    sleep_note: str
    hypnogram: Figure
    confusion: tuple[Figure, ...]
    samples_intro: str
    samples: tuple[SampleSection, ...]
    n_channels: int
    seq_len: int
    token_seconds: float
    fingerprint: str = ""
    figures: tuple[Figure, ...] = dataclasses.field(default=(), repr=False)
    explanations: ExplanationSection | None = None
    night: NightOverview | None = None
    hypnodensity: Figure | None = None

    @property
    def created_iso(self) -> str:
        """Creation time, ISO 8601."""
        return self.created.isoformat(timespec="seconds")

    @property
    def created_text(self) -> str:
        """Creation time for people, e.g. ``2025-03-01 14:05 UTC+01:00``."""
        return self.created.strftime("%Y-%m-%d %H:%M %Z").strip()


# --------------------------------------------------------------------------------------------
# Formatting (also the template's filters)
# --------------------------------------------------------------------------------------------
DASH = "–"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value))


def format_number(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; a dash when undefined.

    Examples
    --------
    >>> format_number(0.71234, 3), format_number(float("nan"))
    ('0.712', '–')
    """
    return DASH if _missing(value) else f"{float(value):.{digits}f}"


def format_percent(fraction: Any, digits: int = 1) -> str:
    """A fraction (0-1) as a percentage.

    Examples
    --------
    >>> format_percent(0.8342)
    '83.4 %'
    """
    return DASH if _missing(fraction) else f"{100.0 * float(fraction):.{digits}f} %"


def format_quantity(value: Any, unit: str, signed: bool = False, digits: int = 1) -> str:
    """A value with its unit (``min`` or ``%``), optionally with its sign.

    Examples
    --------
    >>> format_quantity(412.5, "min"), format_quantity(-3.25, "%", signed=True)
    ('412.5 min', '−3.2 %')
    """
    if _missing(value):
        return DASH
    text = f"{float(value):{'+' if signed else ''}.{digits}f}".replace("-", "−")
    return f"{text} {unit}".strip()


def format_clock(seconds: Any) -> str:
    """Seconds since the start of the recording as ``h:mm:ss``.

    Examples
    --------
    >>> format_clock(3725)
    '1:02:05'
    """
    if _missing(seconds):
        return DASH
    total = int(round(float(seconds)))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_duration(seconds: Any) -> str:
    """A length of time as ``7 h 32 min``.

    Examples
    --------
    >>> format_duration(27120), format_duration(600)
    ('7 h 32 min', '10 min')
    """
    if _missing(seconds):
        return DASH
    minutes = int(round(float(seconds) / 60.0))
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


FILTERS = {
    "number": format_number,
    "percent": format_percent,
    "quantity": format_quantity,
    "clock": format_clock,
    "duration": format_duration,
}
"""The template's named filters."""


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------
def templates_dir() -> Path:
    """The folder of the report templates and stylesheets, shipped inside the package.

    Examples
    --------
    >>> (templates_dir() / "report.html.j2").is_file()
    True
    """
    return Path(str(importlib.resources.files("mesa_report.report") / "templates"))


@functools.lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The Jinja environment of the reports, built once per process (autoescape on).

    Examples
    --------
    >>> env = template_environment()
    >>> env.from_string("{{ x }} {{ y | percent }}").render(x="<b>", y=0.5)
    '&lt;b&gt; 50.0 %'
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters.update(FILTERS)
    return env


@functools.lru_cache(maxsize=len(FORMATS))
def stylesheet(fmt: str) -> str:
    """The CSS inlined into a report of format ``fmt``.

    HTML gets the shared rules, the screen rules and the print rules (for printing from a
    browser); the PDF gets the shared and the print rules.

    Examples
    --------
    >>> "@page" in stylesheet("pdf"), "@media screen" in stylesheet("html")
    (True, True)
    """
    folder = templates_dir()
    shared = (folder / "report.css").read_text(encoding="utf-8")
    printed = (folder / "print.css").read_text(encoding="utf-8")
    if fmt == "pdf":
        return f"{shared}\n{printed}"
    screen = (folder / "screen.css").read_text(encoding="utf-8")
    return f"{shared}\n@media screen {{\n{screen}\n}}\n@media print {{\n{printed}\n}}"


# --------------------------------------------------------------------------------------------
# Building the report model
# --------------------------------------------------------------------------------------------
def build_report(result, *, night=None, subject: str | None = None,
                 checkpoint: Mapping[str, Any] | None = None,
                 meta: Mapping[str, Any] | None = None,
                 n_samples: int = DEFAULT_SAMPLES,
                 epochs_per_sample: int = DEFAULT_EPOCHS_PER_SAMPLE,
                 created: dt.datetime | None = None,
                 fingerprint: str = "", model=None) -> SubjectReport:
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
    samples = tuple(_sample_sections(result, night, n_samples, epochs_per_sample))
    overview = night_overview(result, meta, detailed_samples=[i for i, _ in choose_samples(result, n_samples)])
    hypnogram = _hypnogram_figure(result, recording_start(meta))
    hypnodensity = _hypnodensity_figure(overview)
    confusion = _confusion_figures(metrics)
    figures = (hypnogram, hypnodensity, *confusion,
               *(f for s in samples for f in _sample_figures(s)))
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
        samples_intro=_samples_intro(result, len(samples), epochs_per_sample, night is not None),
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


def _sample_figures(sample: SampleSection) -> Iterable[Figure]:
    yield sample.overview
    for epoch in sample.epochs:
        yield epoch.heatmaps
        if epoch.traces is not None:
            yield epoch.traces


def _stage_colour(name: str) -> str:
    return STAGE_COLOURS.get(name, UNSCORED_COLOUR)


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
        yield StageRow(name=name, colour=_stage_colour(name), support=six.support[k],
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


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def _spec(chart, size_px: int | None = None) -> dict:
    """A chart's spec for a figure (square ``size_px`` when given), without the schema check."""
    spec = chart_spec(chart, validate=False)
    return spec if size_px is None else {**spec, "width": size_px, "height": size_px}


def _hypnogram_figure(result, start: dt.datetime | None) -> Figure:
    chart = hypnogram_chart(result.labels, result.pred, result.confidence,
                                   class_names=result.class_names,
                                   epoch_seconds=result.epoch_seconds, start=start)
    return Figure(
        key="hypnogram", spec=_spec(chart),
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
            key=key, spec=_spec(confusion_chart(item.confusion, item.class_names, title=title)),
            caption="Rows: scored stage; columns: predicted stage; each cell gives "
                    "the epochs and their share of the row.",
            alt_text=f"Confusion matrix of {len(item.class_names)} stages",
        ))
    return tuple(figures)


def choose_samples(result, count: int) -> list[tuple[int, str]]:
    """Pick up to ``count`` samples, taking in turn the most uncertain one, the one with the most
    wrong predictions and the one with the most stage transitions not yet picked.

    Parameters
    ----------
    result : mesa_report.inference.night.NightInference
        The night.
    count : int
        Samples wanted.

    Returns
    -------
    list of (int, str)
        Sample index and why it was picked, in the night's order.

    Examples
    --------
    >>> choose_samples(result, 3)  # doctest: +SKIP
    [(2, 'stage transitions'), (5, 'most uncertain'), (9, 'wrong predictions')]
    """
    windows = result.sample_starts[:, None] + np.arange(result.seq_len)  # (W, S)
    true = result.labels[windows]  # (W, S)
    pred = result.sample_probs.argmax(axis=-1)  # (W, S)
    doubt = 1.0 - result.sample_probs.max(axis=-1)  # (W, S)
    n_wrong = wrong_predictions(true, pred).sum(axis=1)  # (W,)
    n_transitions = stage_transitions(true).sum(axis=1)  # (W,)
    index = np.arange(true.shape[0])
    rankings = {
        "most uncertain": list(np.lexsort((index, -doubt.mean(axis=1)))),
        "wrong predictions": [w for w in rank_samples(true, pred, doubt) if n_wrong[w] > 0],
        "stage transitions": [w for w in np.lexsort((index, -doubt.mean(axis=1), -n_transitions))
                              if n_transitions[w] > 0],
    }
    picked: dict[int, str] = {}
    queues = {reason: iter(order) for reason, order in rankings.items()}
    while len(picked) < min(count, true.shape[0]) and queues:
        for reason in list(queues):
            sample = next((int(w) for w in queues[reason] if int(w) not in picked), None)
            if sample is None:
                del queues[reason]
            elif len(picked) < count:
                picked[sample] = reason
    return sorted(picked.items())


def _count(n: int, noun: str) -> str:
    """``1 epoch``, ``3 epochs``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _samples_intro(result, n_shown: int, epochs_per_sample: int, with_traces: bool) -> str:
    text = (f"The night is cut into {_count(result.n_samples, 'sample')} of {result.seq_len} "
            f"consecutive epochs, the model's context. Shown here: {_count(n_shown, 'sample')}, "
            "taken in turn as the most uncertain, the one with the most wrong predictions and the "
            f"one with the most stage transitions; in each, {_count(epochs_per_sample, 'epoch')} "
            "in detail (wrong predictions first, then stage transitions, then the least "
            "confident).")
    if not with_traces:
        text += " The signal was not available, so the EEG traces are left out."
    return text


def _sample_sections(result, night, count: int, epochs_per_sample: int) -> Iterable[SampleSection]:
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
            badges.append(_count(int(np.count_nonzero(np.diff(view.labels[scored]))), "transition"))
        overview = Figure(
            key=f"sample-{number}",
            spec=concat_specs([
                _spec(inter_epoch_chart(att.epoch, view.labels, view.pred, class_names=names,
                                               first_epoch=first, subtitle=f"{att.name} · {att.detail}",
                                               span=att.span("epoch"))),
                _spec(prediction_strip_chart(view.labels, view.pred, confidence,
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
    channel = _spec(channel_chart(att.channel[pos], result.channel_names, subtitle=f"epoch {epoch}",
                                         span=att.span("channel", pos)), DETAIL_PANEL_PX)
    shared = att.span("temporal", pos)  # every channel of the epoch on one scale
    temporal = [
        _spec(temporal_chart(att.temporal[pos, c], times.start_s, times.end_s,
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
        scored_colour=_stage_colour(scored),
        predicted=predicted,
        predicted_colour=_stage_colour(predicted),
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
        key=f"{key}-traces", spec=_spec(chart),
        caption="Each channel's signal, its time tokens shaded by the attention they receive "
                "(mean over the queries of the temporal map) on one scale for every channel, with a "
                "band of the same colours under each trace.",
        alt_text=f"EEG traces of epoch {epoch} shaded by temporal attention",
    )


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
# Figures are specs made without the Vega-Lite schema check (:func:`_spec`), which costs as much
# as building them; tests/test_report.py checks every figure of a report against the schema.
EMBED_OPTIONS = {"renderer": "svg", "actions": False, "mode": "vega-lite"}


def _html_figure(figure: Figure) -> Markup:
    # spec_json already breaks "</"; escaping every "<" also keeps "<!--" out of the script.
    spec = spec_json(figure.spec).replace("<", "\\u003c")
    target = f"chart-{figure.key}"
    return Markup(
        f'<div class="vega-chart" id="{target}" role="img" aria-label="{escape(figure.alt_text)}">'
        f'<p class="vega-pending">Drawing the chart…</p></div>\n'
        f'<script type="application/json" class="vega-spec" data-target="{target}">{spec}</script>'
    )


def _pdf_chart_spec(figure: Figure) -> dict:
    """A figure's spec in the PDF's typeface, so its text is measured as it will be drawn."""
    return {**figure.spec, "config": {**figure.spec.get("config", {}), "font": PDF_FONT}}


def _pdf_figure(figure: Figure) -> Markup:
    return Markup(f'<img id="{PLACE_PREFIX}{figure.key}" src="{FIGURE_URL}{figure.key}" '
                  f'alt="{escape(figure.alt_text)}">')


def _render(report: SubjectReport, fmt: str, page_size: str | None = None) -> str:
    draw = _html_figure if fmt == "html" else _pdf_figure
    figures = {figure.key: draw(figure) for figure in report.figures}
    env = template_environment()
    context = {
        "report": report,
        "fmt": fmt,
        "figures": figures,
        "css": Markup(stylesheet(fmt)),
        "page_size": page_size,
    }
    if fmt == "html":
        context["vega_js"] = Markup(vega_javascript())
        context["embed_options"] = Markup(json.dumps(EMBED_OPTIONS))
    return env.get_template(TEMPLATE_NAME).render(context)


def render_html(report: SubjectReport) -> str:
    """The report as one self-contained HTML page (CSS, data and Vega inlined; no network).

    Examples
    --------
    >>> html = render_html(build_report(result))  # doctest: +SKIP
    """
    return _render(report, "html")


def _check_pdf_options(page_size: str, pdf_variant: str | None) -> str:
    sizes = {s.lower(): s for s in PAGE_SIZES}
    if str(page_size).lower() not in sizes:
        raise ReportError(f"page size {page_size!r} is not offered; choose {' or '.join(PAGE_SIZES)}")
    if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
        raise ReportError(f"PDF variant {pdf_variant!r} is not offered; choose one of "
                          f"{', '.join(PDF_VARIANTS)} or none")
    return sizes[str(page_size).lower()]


def render_pdf(report: SubjectReport, *, page_size: str = "A4",
               pdf_variant: str | None = None) -> bytes:
    """The report as PDF bytes (WeasyPrint), with metadata, running header and page numbers.

    Every chart is vector. By default vl-convert draws each chart as a PDF page that is laid onto
    the place WeasyPrint kept for it (:mod:`mesa_report.render.pdf_charts`); the variants let WeasyPrint
    draw the charts' SVG, slower, so that they belong to the archival or tagged structure.

    Parameters
    ----------
    report : SubjectReport
        From :func:`build_report`.
    page_size : {"A4", "Letter"}
        Paper size.
    pdf_variant : {"pdf/a-3b", "pdf/ua-1"}, optional
        Archival or accessible (tagged) PDF.

    Returns
    -------
    bytes

    Examples
    --------
    >>> pdf = render_pdf(build_report(result), page_size="Letter")  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    size = _check_pdf_options(page_size, pdf_variant)
    specs = {figure.key: _pdf_chart_spec(figure) for figure in report.figures}
    if pdf_variant is None:
        charts_pdf = chart_pdfs(specs)
        images = placeholders(charts_pdf)
    else:  # WeasyPrint draws the charts itself: they join the archival or tagged structure
        images = {key: (render_spec(spec, "svg"), "image/svg+xml") for key, spec in specs.items()}
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    options = {"pdf_variant": pdf_variant, "custom_metadata": True,
               "pdf_tags": pdf_variant is not None and pdf_variant.startswith("pdf/ua")}
    try:
        document = HTML(string=_render(report, "pdf", size),
                        url_fetcher=figure_fetcher(images)).render(**options)
        pdf = document.write_pdf(**options)
    except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: make it the report's error
        raise ReportError(str(exc.__cause__ or exc)) from exc
    return pdf if pdf_variant is not None else lay_charts(pdf, chart_places(document), charts_pdf)


def render_report_html(result, **options) -> str:
    """Build and render a night's HTML report (the app's download button).

    ``options`` are those of :func:`build_report`.

    Examples
    --------
    >>> html = render_report_html(result, night=night, n_samples=2)  # doctest: +SKIP
    """
    return render_html(build_report(result, **options))


def render_report_pdf(result, *, page_size: str = "A4", pdf_variant: str | None = None,
                      **options) -> bytes:
    """Build and render a night's PDF report (the app's download button).

    ``options`` are those of :func:`build_report`.

    Examples
    --------
    >>> pdf = render_report_pdf(result, night=night, page_size="Letter")  # doctest: +SKIP
    """
    _check_pdf_options(page_size, pdf_variant)
    return render_pdf(build_report(result, **options), page_size=page_size, pdf_variant=pdf_variant)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def report_paths(output_dir: str | Path, stem: str, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Where the reports of one subject go: ``{fmt: <output_dir>/<stem>_report.<fmt>}``.

    Examples
    --------
    >>> report_paths("out", "mesa-sleep-0001", ["pdf"])["pdf"].name
    'mesa-sleep-0001_report.pdf'
    """
    return {fmt: Path(output_dir) / f"{stem}{REPORT_SUFFIX}.{fmt}" for fmt in _check_formats(formats)}


def stamp_path(output_dir: str | Path, stem: str) -> Path:
    """The JSON stamp of one subject's reports (inputs digest and the night's figures)."""
    return Path(output_dir) / f"{stem}{REPORT_SUFFIX}.json"


def _check_formats(formats: Iterable[str]) -> list[str]:
    chosen = [str(f).lower().lstrip(".") for f in formats]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ReportError(f"report format(s) {unknown or 'none'}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(chosen))


def reports_up_to_date(output_dir: str | Path, stem: str, formats: Iterable[str],
                       fingerprint: str) -> bool:
    """Whether every requested report of ``stem`` exists and was made from these inputs.

    Examples
    --------
    >>> import tempfile
    >>> reports_up_to_date(tempfile.mkdtemp(), "mesa-sleep-0001", ["html"], "abc")
    False
    """
    try:
        stamp = json.loads(stamp_path(output_dir, stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("inputs") != fingerprint or not fingerprint:
        return False
    made = stamp.get("files") or {}
    return all(made.get(fmt) == path.name and path.is_file()
               for fmt, path in report_paths(output_dir, stem, formats).items())


def _metrics_summary(metrics: NightMetrics, statistics: Sequence) -> dict:
    def figures(item: ClassificationMetrics | None) -> dict | None:
        if item is None:
            return None
        return {"accuracy": item.accuracy, "macro_f1": item.macro_f1, "kappa": item.kappa,
                "n_epochs": item.n_epochs,
                "per_stage_f1": dict(zip(item.class_names, item.per_stage_f1))}

    return {"n_epochs": metrics.n_epochs, "n_scored": metrics.n_scored,
            "stages": figures(metrics.stages), "merged": figures(metrics.merged),
            "sleep_scored": {row.key: row.scored for row in statistics},
            "sleep_predicted": {row.key: row.predicted for row in statistics}}


def _json_number(value: Any) -> Any:
    """NaN and infinities as null, so the stamp is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_reports(report: SubjectReport, output_dir: str | Path, formats: Iterable[str] = FORMATS,
                  *, stem: str | None = None, page_size: str = "A4",
                  pdf_variant: str | None = None) -> dict[str, Path]:
    """Render and write one subject's reports atomically, then its JSON stamp.

    Every format is rendered before the first file is written. The stamp
    (``<stem>_report.json``) is written last; it holds the inputs digest, the files and the
    night's figures in machine-readable form.

    Parameters
    ----------
    report : SubjectReport
        From :func:`build_report`.
    output_dir : path-like
        Folder of the reports (created if missing).
    formats : iterable of {"html", "pdf"}
        Formats to write.
    stem : str, optional
        File name stem; default the report's subject.
    page_size, pdf_variant
        PDF options (see :func:`render_pdf`).

    Returns
    -------
    dict of str to Path
        The file written per format.

    Raises
    ------
    ReportError
        For an unknown format or PDF option.
    MesaReportError
        When the folder cannot be written (nothing is left under a final name).

    Examples
    --------
    >>> write_reports(report, "reports", ["html", "pdf"])  # doctest: +SKIP
    {'html': PosixPath('reports/mesa-sleep-0001_report.html'), 'pdf': ...}
    """
    stem = stem or report.subject
    paths = report_paths(output_dir, stem, formats)
    if "pdf" in paths:
        _check_pdf_options(page_size, pdf_variant)
    rendered = {
        fmt: (render_html(report).encode("utf-8") if fmt == "html"
              else render_pdf(report, page_size=page_size, pdf_variant=pdf_variant))
        for fmt in paths
    }
    for fmt, path in paths.items():
        write_bytes_atomic(path, rendered[fmt])
    stamp = {
        "stamp_version": _STAMP_VERSION,
        "subject": report.subject,
        "inputs": report.fingerprint,
        "software_version": report.software_version,
        "created": report.created_iso,
        "files": {fmt: path.name for fmt, path in paths.items()},
        "metrics": _json_number(_metrics_summary(report.metrics, report.night.statistics if report.night else ())),
    }
    write_text_atomic(stamp_path(output_dir, stem), json.dumps(stamp, indent=1) + "\n")
    return paths
