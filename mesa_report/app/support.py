"""What the page shows, computed outside the page: a night's cached inference, its figures and views.

* A night's inference with every attention map comes from the results service
  (:mod:`mesa_report.inference.service`, one per process), which runs the model once per
  (checkpoint, night) for the app, the reports and ``visualize`` alike, with a progress bar when
  it does; stepping between samples or changing the layer, head or colours only slices arrays
  that are already there.
* The night's figures come from :func:`mesa_report.scoring.metrics.night_metrics`, the reports' own
  function, and its charts are built once per night.
* One sample's maps for the chosen layer and head, the helpers that draw every chart of
  :mod:`mesa_report.charts` at its own size, and the bytes behind the download buttons.

What is opened lives in :mod:`mesa_report.app.sources`; the view kept in the URL in
:mod:`mesa_report.app.state`, navigation in :mod:`mesa_report.app.navigation`.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence

import altair as alt
import numpy as np
import streamlit as st

from mesa_report.app import resolve
from mesa_report.app import state as app_state

from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.charts.heatmaps import EPOCH_FIELD, EPOCH_SELECTION, epoch_labels
from mesa_report.charts.night import confusion_chart
from mesa_report.charts.scales import CHANNEL_CMAP, COLOUR_SCHEMES, EPOCH_CMAP, TEMPORAL_CMAP

from mesa_report.app.sources import file_stamp
from mesa_report.model.checkpoint import checkpoint_summary
from mesa_report.model.loaded import LoadedModel
from mesa_report.inference.night import NightInference
from mesa_report.inference.results import ResultCache, default_results_dir
from mesa_report.inference.service import ResultsService
from mesa_report.scoring.metrics import NightMetrics, night_metrics
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.explain.methods import METHODS
from mesa_report.render.vega import chart_spec, render_chart
from mesa_report.report.document import render_report_html, render_report_pdf
from mesa_report.explain.selection import wrong_predictions
from mesa_report.data.store import Night, record_id
from mesa_report.explain.views import (SampleAttention, ViewChoice, head_choices, layer_choices, night_sample_views,
                                       sample_number)

BATCH_SIZE = 8
"""Samples per forward pass of a night's inference."""

SEED_COLOURS = app_state.SEED_SCHEME
"""Colour choice that keeps the seed's map per view."""

COLOUR_CHOICES = (SEED_COLOURS, *COLOUR_SCHEMES)
"""Colour-scheme choices: the seed's per-view maps, or one map for every heatmap."""


def scheme_label(choice: str) -> str:
    """How a colour-scheme choice reads in the picker.

    Examples
    --------
    >>> scheme_label(SEED_COLOURS), scheme_label("magma")
    ("seed's (plasma · YlOrRd · viridis)", 'magma')
    """
    if choice == SEED_COLOURS:
        return f"seed's ({EPOCH_CMAP} · {CHANNEL_CMAP} · {TEMPORAL_CMAP})"
    return choice


# --------------------------------------------------------------------------------------------
# A night's inference
# --------------------------------------------------------------------------------------------
MEMORY_NIGHTS = 12
"""Nights whose inference the app keeps in memory."""


@st.cache_resource(show_spinner=False, max_entries=2)
def _service(results_dir: str) -> ResultsService:
    return ResultsService(ResultCache(results_dir), memory_entries=MEMORY_NIGHTS)


def results_service() -> ResultsService:
    """The process's results service on the cache folder (shared by every session).

    Examples
    --------
    >>> results_service().cache.root.name  # doctest: +SKIP
    'results'
    """
    return _service(str(default_results_dir()))


def night_inference(model: LoadedModel, night: Night) -> NightInference:
    """Predictions and every attention map of a night, computed once per (checkpoint, night).

    A progress bar shows while the model runs; later calls, and nights the reports or
    ``visualize`` already inferred, come from the results service without it.

    Examples
    --------
    >>> result = night_inference(open_model(path), store.night(1))  # doctest: +SKIP
    >>> result.n_samples  # doctest: +SKIP
    24

    Raises
    ------
    ConfigError, DataError
        If the night does not fit the model (channels, epoch length) or is shorter than one
        sample.
    """
    label = f"Running the model over {record_id(night.mesaid)}"
    slot = st.empty()

    def progress(done: int, total: int) -> None:
        slot.progress(done / total, text=f"{label}: sample {done} of {total}")

    try:
        return results_service().night(model, night, batch_size=BATCH_SIZE, progress=progress)
    finally:
        slot.empty()


@st.cache_data(show_spinner=False, max_entries=32)
def night_figures(labels: np.ndarray, pred: np.ndarray, class_names: tuple[str, ...],
                  epoch_seconds: float) -> NightMetrics:
    """The night's figures (the same :func:`~mesa_report.scoring.metrics.night_metrics` as the reports).

    Examples
    --------
    >>> m = night_figures(np.array([0, 2, 2]), np.array([0, 2, 1]), ("W", "N1", "N2"), 30.0)
    >>> round(m.stages.accuracy, 3)
    0.667
    """
    return night_metrics(labels, pred, class_names=class_names, epoch_seconds=epoch_seconds)


# --------------------------------------------------------------------------------------------
# One sample's views
# --------------------------------------------------------------------------------------------
def colour_maps(choice: str) -> dict[str, str]:
    """Colour map per view for a colour-scheme choice.

    Examples
    --------
    >>> colour_maps(SEED_COLOURS)["channel"], colour_maps("magma")["temporal"]
    ('YlOrRd', 'magma')
    """
    if choice == SEED_COLOURS:
        return {"epoch": EPOCH_CMAP, "channel": CHANNEL_CMAP, "temporal": TEMPORAL_CMAP}
    return {"epoch": choice, "channel": choice, "temporal": choice}


def sample_maps(result: NightInference, sample: int, *, layer: int, head: int | None,
                method: str = "attention", model: LoadedModel | None = None, night: Night | None = None,
                target_epoch: int | None = None) -> SampleAttention:
    """One sample's maps for the chosen method, layer and head (:mod:`mesa_report.explain.views`).

    Raw attention and rollout come from the stored inference (no model run); the gradient method
    runs one forward and backward pass of the sample for ``target_epoch`` (a night epoch), so it
    needs the model and the night, and is cached per (checkpoint, night, sample, epoch).

    Examples
    --------
    >>> att = sample_maps(result, 2, layer=-1, head=None)  # doctest: +SKIP
    >>> att.name, att.temporal.shape  # doctest: +SKIP
    ('Sample 3: epochs 40–59', (20, 3, 20, 20))
    """
    if method == "gradient":
        return _cached_gradient_maps(result, model.model, night, model.sha256, file_stamp(night.path), sample,
                                     target_epoch)
    return night_sample_views(result, sample, ViewChoice(method, layer, head))


@st.cache_data(show_spinner="Computing gradient × attention…", max_entries=16)
def _cached_gradient_maps(_result: NightInference, _model: MesaTransformer, _night: Night,
                          checkpoint_sha256: str, night_stamp: tuple[str, int, int],
                          sample: int, target_epoch: int | None) -> SampleAttention:
    """One backward pass per (checkpoint, night, sample, epoch): a channel or colour change reuses it."""
    return night_sample_views(_result, sample, ViewChoice("gradient"), model=_model, night=_night,
                              target_epoch=target_epoch)


def epoch_signals(night: Night, epoch: int, n_channels: int) -> np.ndarray:
    """The samples of one epoch in the first ``n_channels`` channels, ``(C, T)`` (read from the mapped file only).

    Examples
    --------
    >>> epoch_signals(night, 45, 3).shape  # doctest: +SKIP
    (3, 3840)
    """
    return night.epochs(epoch, epoch + 1, channels=n_channels)[0]  # (C, T)


@st.cache_data(show_spinner=False, max_entries=32)
def night_chart_specs(labels: np.ndarray, pred: np.ndarray, class_names: tuple[str, ...],
                      epoch_seconds: float) -> dict[str, dict]:
    """Vega-Lite spec of the night's confusion matrix, built once per night.

    Returns ``{"confusion": spec}``, empty when no epoch is scored. The figures are
    :func:`night_figures`'; the hypnogram, which marks the sample shown, is
    :func:`mesa_report.app.night_overview.hypnogram_spec`'s.

    Examples
    --------
    >>> sorted(night_chart_specs(np.array([0, 2]), np.array([0, 1]), ("W", "N1", "N2"), 30.0))
    ['confusion']
    """
    specs = {}
    figures = night_figures(labels, pred, class_names, epoch_seconds)
    if figures.stages is not None:
        specs["confusion"] = chart_spec(confusion_chart(figures.stages.confusion, class_names))
    return specs


NATURAL_SIZE = {"type": "pad", "contains": "padding"}
"""Vega autosize that keeps a chart's own width and height for its plot area."""


def inline_datasets(spec: dict) -> dict:
    """The spec with each named data set written where it is used, and no ``datasets`` left.

    Streamlit turns a spec's ``datasets`` into Arrow tables (through pandas) on every run; data
    written inline travel as the spec's JSON, which costs a fraction of that for charts of a few
    thousand rows.

    Examples
    --------
    >>> inline_datasets({"datasets": {"d": [{"x": 1}]}, "layer": [{"data": {"name": "d"}, "mark": "tick"}]})
    {'layer': [{'data': {'values': [{'x': 1}]}, 'mark': 'tick'}]}
    """
    datasets = spec.get("datasets")
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

    return inline({key: value for key, value in spec.items() if key != "datasets"})


def draw_spec(where, spec: dict, **options):
    """Show a Vega-Lite spec at its own size and in its own colours (see :func:`draw`).

    Examples
    --------
    >>> draw_spec(st, night_chart_specs(*night_args)["confusion"])  # doctest: +SKIP
    """
    return where.vega_lite_chart({**inline_datasets(spec), "autosize": NATURAL_SIZE}, width="content",
                                 theme=None, **options)


def draw(where, chart: alt.TopLevelMixin, **options):
    """Show a chart at its own size and in its own colours, as in the PNG files and reports.

    Streamlit would otherwise squeeze axes and legends into the chart's width and apply its
    theme. The spec is built without schema validation (the chart functions' tests validate
    theirs): that halves the time of a Next click. ``options`` go to ``vega_lite_chart``
    (``key``, ``on_select`` ...); its return value is returned.

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


def view_png(att: SampleAttention, position: int, cmaps: dict[str, str], subject: int) -> bytes:
    """PNG of the current view: the seed's dashboard for the selected epoch.

    Inter-epoch attention of the sample on top, then the epoch's channel attention and the
    temporal attention of every channel, in the page's colours and scales, titled with the night,
    the sample, the epoch and the maps' layer, heads and method.

    Parameters
    ----------
    att : SampleAttention
        The sample's maps (:func:`sample_maps`).
    position : int
        The selected epoch's position within the sample.
    cmaps : dict
        Colour map per view (:func:`colour_maps`).
    subject : int
        MESA id of the night.

    Examples
    --------
    >>> view_png(att, 3, colour_maps(SEED_COLOURS), 1)[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    title = f"{record_id(subject)} · {att.name} · epoch {att.first_epoch + position} · {att.detail}"
    chart = dashboard_chart(
        att.epoch, att.channel, att.temporal, att.true_labels, att.pred_labels, epochs=[position],
        channel_names=att.channel_names, token_start_s=att.token_start_s, token_end_s=att.token_end_s,
        class_names=att.class_names, first_epoch=att.first_epoch, epoch_cmap=cmaps["epoch"],
        channel_cmap=cmaps["channel"], temporal_cmap=cmaps["temporal"], title=title, method=att.method)
    return render_chart(chart, "png")


def default_epoch(result: NightInference, sample: int) -> int:
    """The epoch selected when a sample is first shown: its most informative one.

    Wrong predictions first, then stage transitions, then the least sure prediction
    (:func:`mesa_report.explain.selection.rank_epochs`), judged by the sample's own predictions.

    Examples
    --------
    >>> default_epoch(result, 2)  # doctest: +SKIP
    47
    """
    view = result.sample(sample)
    return resolve.default_epoch(view.labels, view.pred, view.uncertainty, view.first_epoch)


def settle_view(state: MutableMapping, request: app_state.ViewRequest, result: NightInference,
                subject: int) -> tuple[app_state.View, list[str]]:
    """Resolve the requested view for this night and store it in the session's widget keys.

    Returns the view and why any requested value was not used (see
    :func:`mesa_report.app.resolve.resolve_view`).

    Examples
    --------
    >>> view, problems = settle_view(st.session_state, request, result, 1)  # doctest: +SKIP
    """
    view, problems = resolve.resolve_view(
        request, subject=subject, n_samples=result.n_samples, sample_starts=result.sample_starts,
        seq_len=result.seq_len, channel_names=result.channel_names,
        fallback_epoch=lambda sample: default_epoch(result, sample))
    state[app_state.SAMPLE_KEY] = view.sample
    state[app_state.EPOCH_KEY] = view.epoch
    state[app_state.CHANNEL_KEY] = view.channel
    return view, problems


def settle_options(state: MutableMapping, request: app_state.ViewRequest,
                   config: ModelConfig) -> tuple[app_state.MapOptions, list[str]]:
    """Resolve the maps' layer, head, method and colours for this model and store them in the
    session's widget keys (before the widgets are drawn).

    Examples
    --------
    >>> state = {}
    >>> options, _ = settle_options(state, app_state.ViewRequest(method="rollout"), ModelConfig())
    >>> state["method"], state["layer"], state["head"] is None
    ('rollout', 1, True)
    """
    options, problems = resolve.resolve_options(
        request, layers=layer_choices(config), heads=head_choices(config), methods=METHODS,
        schemes=COLOUR_CHOICES)
    state[app_state.LAYER_KEY] = options.layer
    state[app_state.HEAD_KEY] = options.head
    state[app_state.METHOD_KEY] = options.method
    state[app_state.SCHEME_KEY] = options.scheme
    return options, problems


def epoch_label(att: SampleAttention, first_epoch: int, epoch: int) -> str:
    """``index true→pred`` of one night epoch of the sample, as on the heatmap's axes.

    Examples
    --------
    >>> att = SampleAttention(*(np.zeros((2, 2)),) * 3, np.array([0, 2]), np.array([0, 1]),
    ...                       np.ones(2), np.zeros(2), np.zeros(1), np.ones(1), ("W", "N1", "N2"),
    ...                       ("EEG1",), "mean of heads")
    >>> epoch_label(att, 40, 41)
    '41 N2→N1'
    """
    labels = epoch_labels(att.true_labels, att.pred_labels, att.class_names, first_epoch)
    return labels[epoch - first_epoch]


def sample_caption(result: NightInference, sample: int, att: SampleAttention) -> str:
    """One line about the sample: position, epochs, time into the night, errors.

    Examples
    --------
    >>> sample_caption(result, 2, att)  # doctest: +SKIP
    '**Sample 3 of 24** · epochs 40–59 · 20.0–30.0 min into the night · 2 wrong · 0 unscored'
    """
    first = int(result.sample_starts[sample])
    last = first + result.seq_len - 1
    minutes = result.epoch_seconds / 60.0
    wrong = int(wrong_predictions(att.true_labels, att.pred_labels).sum())
    unscored = int(np.sum(att.true_labels < 0))
    return (f"**Sample {sample + 1} of {result.n_samples}** · epochs {first}–{last} · "
            f"{first * minutes:.1f}–{(last + 1) * minutes:.1f} min into the night · "
            f"{wrong} wrong · {unscored} unscored")


def view_stem(view: app_state.View) -> str:
    """File name stem of a downloaded view.

    Examples
    --------
    >>> view_stem(app_state.View(subject=3, sample=2, epoch=45, channel="EEG2"))
    'mesa-sleep-0003_sample_3_epoch_45_EEG2'
    """
    channel = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in view.channel)
    return f"{record_id(view.subject)}_sample_{sample_number(view.sample)}_epoch_{view.epoch}_{channel}"


REPORT_FORMATS = {"html": ("HTML report", "text/html"), "pdf": ("PDF report", "application/pdf")}
"""Report downloads: format -> (button label, MIME type)."""


def report_bytes(fmt: str, result: NightInference, night: Night, model: LoadedModel) -> bytes:
    """The night's report, as the report module writes it (called when its button is clicked).

    Examples
    --------
    >>> report_bytes("pdf", result, night, open_model(Path("model.pth")))[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    summary = checkpoint_summary(model.path)
    if fmt == "html":
        return render_report_html(result, night=night, checkpoint=summary, model=model.model).encode("utf-8")
    return render_report_pdf(result, night=night, checkpoint=summary, model=model.model)
