"""Everything the Streamlit page needs that is not a widget call.

* **Sources**: the demo cohort and demo checkpoint by default (with an untrained stand-in and a
  notice while the demo checkpoint does not exist), or the user's own checkpoint, preprocessed
  folder and index CSV, each path checked before anything is replaced.
* **Caching**: a model is loaded once per checkpoint file (``st.cache_resource``); a night's
  inference with every attention map runs once per (checkpoint, night, settings)
  (``st.cache_data``), so stepping between samples or changing the layer, head or colours only
  slices arrays that are already there. Cache keys include each file's size and modification
  time, so a file replaced on disk is read again.
* **Views**: the arrays each chart of :mod:`mesa_report.charts` needs for one sample, the night's
  figures from :func:`mesa_report.metrics.night_metrics` (the reports' own numbers), and the bytes
  behind the download buttons.

Navigation and the view kept in the URL are plain functions in :mod:`mesa_report.app_state`.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import streamlit as st
import torch

from . import app_state, charts, demo, inference
from .checkpoint import checkpoint_summary, load_model, save_checkpoint
from .errors import CheckpointError, DataError, MesaReportError
from .inference import NightInference
from .metrics import NightMetrics, night_metrics
from .model import MesaTransformer, ModelConfig
from .render import chart_spec, render_chart
from .report import render_report_html, render_report_pdf
from .store import INDEX_NAME, Night, NightStore, night_filename, record_id
from .visualize import SampleAttention

DEMO_SIZE_ENV = "MESA_REPORT_DEMO_SIZE"
"""Environment variable for a smaller demo cohort, ``NIGHTSxHOURS`` (e.g. ``2x1``)."""

UNTRAINED_NAME = "untrained_model.pth"
"""Stand-in checkpoint in the cache folder while ``mesa_report.demo.DEMO_CHECKPOINT`` does not exist."""

UNTRAINED_SEED = 0
"""Seed of the stand-in model's random weights."""

BATCH_SIZE = 8
"""Samples per forward pass of a night's inference."""

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
"""File endings accepted as checkpoints."""

SEED_COLOURS = "seed's (plasma · YlOrRd · viridis)"
"""Colour choice that keeps the seed's map per view."""

COLOUR_CHOICES = (SEED_COLOURS, *charts.COLOUR_SCHEMES)
"""Colour-scheme choices: the seed's per-view maps, or one map for every heatmap."""

MEAN_OF_HEADS = None
"""Head choice meaning the mean over the heads."""


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sources:
    """The three things the app reads.

    Attributes
    ----------
    checkpoint : Path
        Model checkpoint.
    preprocessed_dir : Path
        Folder of ``mesa-sleep-NNNN_preprocessed.pt`` files.
    csv_path : Path
        Index CSV.
    is_demo : bool
        True for the built-in demo cohort.
    notices : tuple of str
        What the user should know about these sources (e.g. an untrained stand-in model).
    """

    checkpoint: Path
    preprocessed_dir: Path
    csv_path: Path
    is_demo: bool
    notices: tuple[str, ...] = ()


def demo_size(environ: dict[str, str] | os._Environ = os.environ) -> tuple[int, float]:
    """Nights and hours of the demo cohort: the demo's defaults, or ``$MESA_REPORT_DEMO_SIZE``.

    Raises
    ------
    DataError
        If the variable is set but is not ``NIGHTSxHOURS``.

    Examples
    --------
    >>> demo_size({"MESA_REPORT_DEMO_SIZE": "2x1.5"})
    (2, 1.5)
    >>> demo_size({}) == (demo.DEFAULT_N_NIGHTS, demo.DEFAULT_HOURS)
    True
    """
    text = environ.get(DEMO_SIZE_ENV, "").strip()
    if not text:
        return demo.DEFAULT_N_NIGHTS, demo.DEFAULT_HOURS
    nights, _, hours = text.lower().partition("x")
    try:
        return int(nights), float(hours)
    except ValueError:
        raise DataError(f"{DEMO_SIZE_ENV}={text!r} is not NIGHTSxHOURS (e.g. 2x1 for two nights "
                        "of one hour); fix or unset it") from None


def untrained_checkpoint(cache_dir: Path) -> Path:
    """A seed-sized model with fixed random weights, saved once in ``cache_dir``.

    Examples
    --------
    >>> import tempfile
    >>> untrained_checkpoint(Path(tempfile.mkdtemp())).name
    'untrained_model.pth'
    """
    path = Path(cache_dir) / UNTRAINED_NAME
    if not path.is_file():
        torch.manual_seed(UNTRAINED_SEED)
        save_checkpoint(path, MesaTransformer(ModelConfig()).eval())
    return path


@st.cache_resource(show_spinner=False)
def _demo_sources(cache_dir: str, n_nights: int, hours: float) -> Sources:
    built = demo.demo_store(cache_dir, n_nights=n_nights, hours=hours)
    notices: tuple[str, ...] = ()
    checkpoint = demo.DEMO_CHECKPOINT
    if not checkpoint.is_file():
        checkpoint = untrained_checkpoint(Path(cache_dir))
        notices = (f"The demo checkpoint {demo.DEMO_CHECKPOINT.name} is not installed, so the demo runs "
                   "an untrained model with random weights: its predictions and attention mean "
                   "nothing. Open a trained checkpoint in the sidebar.",)
    return Sources(checkpoint=checkpoint, preprocessed_dir=built.preprocessed_dir,
                   csv_path=built.csv_path, is_demo=True, notices=notices)


def demo_sources() -> Sources:
    """The demo cohort (built into the cache folder on first use) and the demo checkpoint.

    Examples
    --------
    >>> demo_sources().is_demo  # doctest: +SKIP
    True
    """
    n_nights, hours = demo_size()
    return _demo_sources(str(demo.default_cache_dir()), n_nights, hours)


def sources_caption(sources: Sources) -> str:
    """What is open, in two Markdown lines.

    Examples
    --------
    >>> print(sources_caption(Sources(Path("m.pth"), Path("store"), Path("store/i.csv"), False)))
    **Your files** · checkpoint `m.pth`
    folder `store` · index `i.csv`
    """
    kind = "Demo cohort" if sources.is_demo else "Your files"
    return (f"**{kind}** · checkpoint `{sources.checkpoint.name}`  \n"
            f"folder `{sources.preprocessed_dir}` · index `{sources.csv_path.name}`")


def clean_path(text: str) -> Path | None:
    """A typed path without surrounding spaces or quotes, ``~`` expanded; None when empty.

    Examples
    --------
    >>> clean_path('  "~/mesa"  ') == Path.home() / "mesa"
    True
    >>> clean_path("   ") is None
    True
    """
    stripped = str(text).strip().strip("'\"").strip()
    return Path(stripped).expanduser() if stripped else None


def check_checkpoint_path(path: Path) -> Path:
    """The checkpoint file, or a :class:`CheckpointError` that says what is wrong with the path.

    Examples
    --------
    >>> check_checkpoint_path(Path("no/such/model.pth"))
    Traceback (most recent call last):
    ...
    mesa_report.errors.CheckpointError: no checkpoint at no/such/model.pth; give the path of a .pth file written by training (e.g. checkpoints_mesa/best_model.pth)
    """
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give the checkpoint file inside it "
                              "(e.g. checkpoints_mesa/best_model.pth)")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; give the path of a .pth file written by "
                              "training (e.g. checkpoints_mesa/best_model.pth)")
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(f"{path} does not look like a checkpoint (expected a file ending in "
                              f"{', '.join(CHECKPOINT_SUFFIXES)})")
    return path


def check_store_paths(folder: Path, csv_path: Path | None) -> tuple[Path, Path]:
    """The preprocessed folder and its index CSV, or a :class:`DataError` naming the wrong one.

    An empty CSV field means ``mesa_final.csv`` inside the folder; a relative CSV path that
    does not exist from the working folder is looked for inside the folder.

    Examples
    --------
    >>> import tempfile
    >>> check_store_paths(Path(tempfile.mkdtemp()), None)
    Traceback (most recent call last):
    ...
    mesa_report.errors.DataError: ...mesa_final.csv not found; give the index CSV written with the nights
    """
    if not folder.is_dir():
        raise DataError(f"preprocessed folder {folder} does not exist or is not a folder; give "
                        "the folder that holds the mesa-sleep-NNNN_preprocessed.pt files")
    if csv_path is None:
        csv_path = folder / INDEX_NAME
    elif not csv_path.is_absolute() and not csv_path.exists() and (folder / csv_path).is_file():
        csv_path = folder / csv_path
    if not csv_path.is_file():
        raise DataError(f"index CSV {csv_path} not found; give the index CSV written with the nights")
    return folder, csv_path


def night_in_store(store: NightStore, mesaid: int) -> Night:
    """A night of the opened store, refusing a file that resolves outside the chosen folder.

    Raises
    ------
    DataError
        If the night is not in the store, or its file is a link to somewhere outside the folder.
    """
    root = store.root.resolve()
    target = (store.root / night_filename(mesaid)).resolve()
    if not target.is_relative_to(root):
        raise DataError(f"{record_id(mesaid)}: {store.root / night_filename(mesaid)} points to "
                        f"{target}, outside the opened folder {root}; copy the file into the folder")
    return store.night(mesaid)


def file_stamp(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content for caching: resolved path, modification time, size.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "f"; _ = path.write_bytes(b"abc")
    >>> file_stamp(path)[2]
    3
    """
    resolved = Path(path).resolve()
    info = resolved.stat()
    return str(resolved), info.st_mtime_ns, info.st_size


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_model(checkpoint: str, stamp: tuple[str, int, int]) -> MesaTransformer:
    return load_model(checkpoint, num_channels=None, time_steps=None, seq_len=None, num_classes=None)


def open_model(checkpoint: Path) -> MesaTransformer:
    """The model of a checkpoint, loaded once per file content and shared by every session.

    Raises
    ------
    CheckpointError
        If the file is missing, unsafe, or not a MESA Transformer checkpoint.
    """
    path = check_checkpoint_path(checkpoint)
    return _cached_model(str(path), file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached_store(folder: str, csv_path: str, stamp: tuple[str, int, int]) -> NightStore:
    return NightStore(folder, csv_path)


def open_store(folder: Path, csv_path: Path | None = None) -> NightStore:
    """The nights of a preprocessed folder, opened once per index CSV content.

    Raises
    ------
    DataError
        If the folder or CSV is missing or unreadable, or no listed night has a file.
    """
    folder, csv_path = check_store_paths(folder, csv_path)
    store = _cached_store(str(folder), str(csv_path), file_stamp(csv_path))
    if not store.mesaids:
        listed = len(store.missing)
        raise DataError(f"{folder} holds no night listed in {csv_path.name} ({listed} listed, "
                        f"none with its mesa-sleep-NNNN_preprocessed.pt file); pick the folder the "
                        "nights were preprocessed into")
    return store


def user_sources(checkpoint_text: str, folder_text: str, csv_text: str,
                 current: Sources | None) -> Sources:
    """Sources from the sidebar's fields; an empty field keeps what is open now.

    Every path is checked and the model and store are opened before anything is replaced, so
    a wrong path leaves the app showing what it showed.

    Raises
    ------
    CheckpointError, DataError
        With a message naming the path that is wrong.

    Examples
    --------
    >>> user_sources("", "no/such/folder", "", None)
    Traceback (most recent call last):
    ...
    mesa_report.errors.CheckpointError: no checkpoint is open yet; give the path of a .pth file written by training
    """
    checkpoint = clean_path(checkpoint_text) or (current.checkpoint if current else None)
    folder, csv_path = clean_path(folder_text), clean_path(csv_text)
    if folder is None and csv_path is not None:
        raise DataError("an index CSV was given without its preprocessed folder; fill in the "
                        "folder too (or clear the CSV field)")
    if checkpoint is None:
        raise CheckpointError("no checkpoint is open yet; give the path of a .pth file written by training")
    if folder is None:
        if current is None:
            raise DataError("no preprocessed folder is open yet; give the folder that holds the "
                            "mesa-sleep-NNNN_preprocessed.pt files")
        folder, csv_path = current.preprocessed_dir, current.csv_path
    open_model(checkpoint)
    store = open_store(folder, csv_path)
    unchanged = current is not None and (
        (checkpoint, store.root, store.csv_path)
        == (current.checkpoint, current.preprocessed_dir, current.csv_path))
    if unchanged:
        return current
    return Sources(checkpoint=checkpoint, preprocessed_dir=store.root, csv_path=store.csv_path,
                   is_demo=False)


SOURCES_KEY = "sources"
"""Session key of the open :class:`Sources` (None when even the demo could not be prepared)."""

OPEN_ERROR_KEY = "open_error"
"""Session key of the message of a failed attempt to open the user's files."""

PATH_KEYS = ("checkpoint_text", "folder_text", "csv_text")
"""Session keys of the sidebar's path fields."""


def on_open(state: MutableMapping) -> None:
    """The sidebar's Open button: open the typed paths, or keep what is open and say why not."""
    try:
        state[SOURCES_KEY] = user_sources(*(state.get(key, "") for key in PATH_KEYS),
                                          state.get(SOURCES_KEY))
    except MesaReportError as exc:
        state[OPEN_ERROR_KEY] = str(exc)
        return
    app_state.on_sources_changed(state)


def back_to_demo(state: MutableMapping) -> None:
    """Button callback: drop the user's sources; the next run opens the demo again."""
    state.pop(SOURCES_KEY, None)
    app_state.on_sources_changed(state)


# --------------------------------------------------------------------------------------------
# A night's inference
# --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=12)
def _cached_inference(_model: MesaTransformer, model_stamp: tuple[str, int, int], _night: Night,
                      night_stamp: tuple[str, int, int], batch_size: int) -> NightInference:
    label = f"Running the model over {record_id(_night.mesaid)}"
    bar = st.progress(0.0, text=f"{label}…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{label}: sample {done} of {total}")

    result = inference.infer_night(_model, _night, batch_size=batch_size, progress=progress)
    bar.empty()
    return result


def night_inference(model: MesaTransformer, night: Night) -> NightInference:
    """Predictions and every attention map of a night, computed once per (checkpoint, night).

    A progress bar shows while the model runs; later calls return the cached result.

    Raises
    ------
    ConfigError, DataError
        If the night does not fit the model (channels, epoch length) or is shorter than one
        sample.
    """
    inference.check_night_fits(model, night)
    return _cached_inference(model, file_stamp(model.checkpoint_path), night, file_stamp(night.path),
                             BATCH_SIZE)


@st.cache_data(show_spinner=False, max_entries=32)
def night_figures(labels: np.ndarray, pred: np.ndarray, class_names: tuple[str, ...],
                  epoch_seconds: float) -> NightMetrics:
    """The night's figures (the same :func:`~mesa_report.metrics.night_metrics` as the reports).

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
def layer_choices(config: ModelConfig) -> list[int]:
    """Encoder layers shown for the temporal and inter-epoch maps (0-based, last one last).

    Examples
    --------
    >>> layer_choices(ModelConfig())
    [0, 1]
    """
    return list(range(min(config.temporal_layers, config.epoch_layers)))


def head_choices(config: ModelConfig) -> list[int | None]:
    """Heads that every level has, after the mean of heads (``None``).

    Examples
    --------
    >>> head_choices(ModelConfig())
    [None, 0, 1, 2, 3]
    """
    return [MEAN_OF_HEADS, *range(min(config.temporal_heads, config.channel_heads, config.epoch_heads))]


def head_label(head: int | None) -> str:
    """How a head choice reads in the page.

    Examples
    --------
    >>> head_label(None), head_label(2)
    ('mean of heads', 'head 3')
    """
    return "mean of heads" if head is None else f"head {head + 1}"


def colour_maps(choice: str) -> dict[str, str]:
    """Colour map per view for a colour-scheme choice.

    Examples
    --------
    >>> colour_maps(SEED_COLOURS)["channel"], colour_maps("magma")["temporal"]
    ('YlOrRd', 'magma')
    """
    if choice == SEED_COLOURS:
        return {"epoch": charts.EPOCH_CMAP, "channel": charts.CHANNEL_CMAP, "temporal": charts.TEMPORAL_CMAP}
    return {"epoch": choice, "channel": choice, "temporal": choice}


def sample_attention(result: NightInference, sample: int, *, layer: int, head: int | None) -> SampleAttention:
    """One sample's maps for the chosen layer and head, from the stored inference (no model run).

    Examples
    --------
    >>> # see tests/test_app.py: the arrays equal the model's own maps for that sample
    """
    view = result.sample(sample)
    maps = view.attention
    return SampleAttention(
        epoch=maps.epoch_map(layer, head)[0].numpy(),  # (S, S)
        channel=maps.channel_map(head)[0].numpy(),  # (S, C, C)
        temporal=maps.temporal_map(layer, head)[0].numpy(),  # (S, C, N, N)
        true_labels=view.labels,
        pred_labels=view.pred,
        confidence=view.probs.max(axis=1),  # (S,)
        uncertainty=view.uncertainty,
        token_start_s=np.asarray(maps.token_times.start_s, dtype=np.float64),
        token_end_s=np.asarray(maps.token_times.end_s, dtype=np.float64),
        class_names=result.class_names,
        channel_names=result.channel_names,
        heads=head_label(head),
    )


def epoch_signal(night: Night, epoch: int, channel: int) -> np.ndarray:
    """The samples of one epoch and channel, ``(T,)`` (read from the mapped file only)."""
    return night.epochs(epoch, epoch + 1, channels=channel + 1)[0, channel]  # (T,)


@st.cache_data(show_spinner=False, max_entries=32)
def night_chart_specs(labels: np.ndarray, pred: np.ndarray, confidence: np.ndarray,
                      class_names: tuple[str, ...], epoch_seconds: float, title: str) -> dict[str, dict]:
    """Vega-Lite specs of the night's hypnogram and confusion matrix, built once per night.

    Returns ``{"hypnogram": spec, "confusion": spec}``; ``confusion`` is absent when no epoch
    is scored. The figures are :func:`night_figures`'.

    Examples
    --------
    >>> specs = night_chart_specs(np.array([0, 2]), np.array([0, 1]), np.array([.9, .6]),
    ...                           ("W", "N1", "N2"), 30.0, "night")
    >>> sorted(specs)
    ['confusion', 'hypnogram']
    """
    specs = {"hypnogram": chart_spec(charts.hypnogram_chart(
        labels, pred, confidence, class_names=class_names, epoch_seconds=epoch_seconds, title=title))}
    figures = night_figures(labels, pred, class_names, epoch_seconds)
    if figures.stages is not None:
        specs["confusion"] = chart_spec(charts.confusion_chart(figures.stages.confusion, class_names))
    return specs


NATURAL_SIZE = {"type": "pad", "contains": "padding"}
"""Vega autosize that keeps a chart's own width and height for its plot area."""


def draw_spec(where, spec: dict, **options):
    """Show a Vega-Lite spec at its own size and in its own colours (see :func:`draw`)."""
    return where.vega_lite_chart({**spec, "autosize": NATURAL_SIZE}, width="content", theme=None, **options)


def draw(where, chart: alt.TopLevelMixin, **options):
    """Show a chart at its own size and in its own colours, as in the PNG files and reports.

    Streamlit would otherwise squeeze axes and legends into the chart's width and apply its
    theme. ``options`` go to ``altair_chart`` (``key``, ``on_select`` ...); its return value is
    returned.

    Examples
    --------
    >>> event = draw(st, charts.confusion_chart([[1, 0], [0, 1]], ["W", "N1"]))  # doctest: +SKIP
    """
    sized = chart.copy(deep=False)  # a deep copy (what .properties() makes) costs ~10 ms a chart
    sized.autosize = alt.AutoSizeParams(**NATURAL_SIZE)
    return where.altair_chart(sized, width="content", theme=None, **options)


def picked_epoch(event: dict | None) -> int | None:
    """The night epoch clicked in the inter-epoch chart, from ``st.altair_chart``'s event.

    Examples
    --------
    >>> picked_epoch({"selection": {"epoch": [{"query_epoch": 42}]}}), picked_epoch({"selection": {}})
    (42, None)
    """
    points = ((event or {}).get("selection") or {}).get(charts.EPOCH_SELECTION) or []
    if not isinstance(points, Sequence) or not points or not isinstance(points[0], dict):
        return None
    value = points[0].get(charts.EPOCH_FIELD)
    return int(value) if isinstance(value, (int, float, np.integer)) else None


def view_png(att: SampleAttention, first_epoch: int, position: int, cmaps: dict[str, str],
             title: str) -> bytes:
    """PNG of the current view: inter-epoch attention, then the selected epoch's channel and
    temporal attention (the seed's dashboard for one epoch)."""
    chart = charts.dashboard_chart(
        att.epoch, att.channel, att.temporal, att.true_labels, att.pred_labels, epochs=[position],
        channel_names=att.channel_names, token_start_s=att.token_start_s, token_end_s=att.token_end_s,
        class_names=att.class_names, first_epoch=first_epoch, epoch_cmap=cmaps["epoch"],
        channel_cmap=cmaps["channel"], temporal_cmap=cmaps["temporal"], title=title)
    return render_chart(chart, "png")


def default_epoch(result: NightInference, sample: int) -> int:
    """The epoch selected when a sample is first shown: its most informative one.

    Wrong predictions first, then stage transitions, then the least sure prediction
    (:func:`mesa_report.selection.rank_epochs`), judged by the sample's own predictions.
    """
    probs = result.sample_probs[sample]  # (S, K)
    first = int(result.sample_starts[sample])
    labels = result.labels[first:first + result.seq_len]  # (S,)
    uncertainty = -(probs * np.log(probs + 1e-8)).sum(axis=1)  # (S,)
    return app_state.default_epoch(labels, probs.argmax(axis=1), uncertainty, first)


def settle_view(state: MutableMapping, request: app_state.ViewRequest, result: NightInference,
                subject: int) -> tuple[app_state.View, list[str]]:
    """Resolve the requested view for this night and store it in the session's widget keys.

    Returns the view and why any requested value was not used (see
    :func:`mesa_report.app_state.resolve_view`).
    """
    view, problems = app_state.resolve_view(
        request, subject=subject, n_samples=result.n_samples, sample_starts=result.sample_starts,
        seq_len=result.seq_len, channel_names=result.channel_names,
        fallback_epoch=lambda sample: default_epoch(result, sample))
    state[app_state.SAMPLE_KEY] = view.sample
    state[app_state.EPOCH_KEY] = view.epoch
    state[app_state.CHANNEL_KEY] = view.channel
    return view, problems


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
    return charts.epoch_labels(att.true_labels, att.pred_labels, att.class_names, first_epoch)[epoch - first_epoch]


def sample_caption(result: NightInference, sample: int, att: SampleAttention) -> str:
    """One line about the sample: position, epochs, time into the night, errors.

    Examples
    --------
    >>> # e.g. 'Sample 3 of 24 · epochs 40-59 · 20.0-30.0 min into the night · 2 wrong · 0 unscored'
    """
    first = int(result.sample_starts[sample])
    last = first + result.seq_len - 1
    minutes = result.epoch_seconds / 60.0
    wrong = int(np.sum((att.true_labels >= 0) & (att.true_labels != att.pred_labels)))
    unscored = int(np.sum(att.true_labels < 0))
    return (f"**Sample {sample + 1} of {result.n_samples}** · epochs {first}–{last} · "
            f"{first * minutes:.1f}–{(last + 1) * minutes:.1f} min into the night · "
            f"{wrong} wrong · {unscored} unscored")


def view_stem(view: app_state.View) -> str:
    """File name stem of a downloaded view.

    Examples
    --------
    >>> view_stem(app_state.View(subject=3, sample=2, epoch=45, channel="EEG2"))
    'mesa-sleep-0003_sample_2_epoch_45_EEG2'
    """
    channel = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in view.channel)
    return f"{record_id(view.subject)}_sample_{view.sample}_epoch_{view.epoch}_{channel}"


REPORT_FORMATS = {"html": ("HTML report", "text/html"), "pdf": ("PDF report", "application/pdf")}
"""Report downloads: format -> (button label, MIME type)."""


def report_bytes(fmt: str, result: NightInference, night: Night, checkpoint: Path) -> bytes:
    """The night's report, as the report module writes it (called when its button is clicked).

    Examples
    --------
    >>> report_bytes("pdf", result, night, Path("model.pth"))[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    summary = checkpoint_summary(checkpoint)
    if fmt == "html":
        return render_report_html(result, night=night, checkpoint=summary).encode("utf-8")
    return render_report_pdf(result, night=night, checkpoint=summary)
