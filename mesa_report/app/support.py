"""What the page shows, computed outside the page: a night's cached inference, its figures and views.

* A night's inference with every attention map comes from the results service
  (:mod:`mesa_report.inference.service`, one per process), which runs the model once per
  (checkpoint, night) for the app, the reports and ``visualize`` alike, with a progress bar when
  it does; stepping between samples or changing the layer, head or colours only slices arrays
  that are already there.
* The night's figures come from :func:`mesa_report.scoring.metrics.night_metrics`, the reports' own
  function, and its charts are built once per night.
* One sample's maps for the chosen layer and head, and the words and labels around them.

Charts are drawn by :mod:`mesa_report.app.drawing`, the download buttons' bytes made by
:mod:`mesa_report.app.downloads`.

What is opened lives in :mod:`mesa_report.app.sources`; the view kept in the URL in
:mod:`mesa_report.app.state`, navigation in :mod:`mesa_report.app.navigation`.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np
import streamlit as st

from mesa_report.app import resolve
from mesa_report.app import state as app_state
from mesa_report.app.sources import file_stamp
from mesa_report.charts.heatmaps import epoch_labels
from mesa_report.charts.night import confusion_chart
from mesa_report.charts.scales import CHANNEL_CMAP, COLOUR_SCHEMES, EPOCH_CMAP, TEMPORAL_CMAP
from mesa_report.data.night_ids import record_id
from mesa_report.data.store import Night
from mesa_report.explain.methods import METHODS
from mesa_report.explain.selection import wrong_predictions
from mesa_report.explain.views import SampleAttention, ViewChoice, head_choices, layer_choices, night_sample_views
from mesa_report.inference.night import NightInference
from mesa_report.inference.results import ResultCache, default_results_dir
from mesa_report.inference.service import ResultsService
from mesa_report.model.config import ModelConfig
from mesa_report.model.loaded import LoadedModel
from mesa_report.model.network import MesaTransformer
from mesa_report.render.vega import chart_spec
from mesa_report.scoring.metrics import NightMetrics, night_metrics

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
    >>> state["method"], state["layer"], state["head"], options.head is None
    ('rollout', 1, 'mean', True)
    """
    options, problems = resolve.resolve_options(
        request, layers=layer_choices(config), heads=head_choices(config), methods=METHODS,
        schemes=COLOUR_CHOICES)
    state[app_state.LAYER_KEY] = options.layer
    state[app_state.HEAD_KEY] = app_state.MEAN_HEADS if options.head is None else options.head  # the widget's value
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
