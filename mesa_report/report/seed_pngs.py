"""The seed's attention files for one sample, and its ``visualize_sample_attention``.

For a sample (a window of ``seq_len`` epochs) the model runs once with attention capture, the
chosen epochs are picked (wrong predictions and stage transitions first, see
:mod:`mesa_report.explain.selection`) and these files are written, ``{fmt}`` being ``png`` by default:

- ``attention_dashboard_sample_{idx}``: inter-epoch attention, then per chosen epoch its channel
  attention and the temporal attention of every channel;
- ``epoch_attention_sample_{idx}``: inter-epoch attention with the scored and predicted stages
  and the prediction's confidence under it;
- ``channel_attention_sample_{idx}_epoch_{epoch}``: per chosen epoch;
- ``temporal_attention_sample_{idx}_epoch_{epoch}_ch_{channel}``: per chosen epoch and channel
  (``channel`` is the channel's index);
- the grouped views the seed's code wrote: ``inter_epoch_attention_sample_{idx}``,
  ``temporal_attention_first_{N}_epochs_sample_{idx}`` and
  ``channel_attention_first_{N}_epochs_sample_{idx}``: the sample's first N epochs, as their
  names say (N the number of chosen epochs; the chosen ones are in the dashboard).

``idx`` is the sample's number, counted from 1 as in the app and the reports (``sample_idx + 1``),
and ``epoch`` the epoch's index in the night (``first_epoch`` plus its position in the sample):
the numbering of :mod:`mesa_report.explain.views`. Every chart is drawn before the first file is
written, and each file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import altair as alt
import numpy as np
import torch

from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.charts.heatmaps import (
    channel_chart,
    inter_epoch_chart,
    prediction_strip_chart,
    temporal_chart,
)
from mesa_report.charts.scales import CHANNEL_CMAP, EPOCH_CMAP, TEMPORAL_CMAP, colour_scale
from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.core.fileio import write_bytes_atomic
from mesa_report.explain.views import (SampleAttention, ViewChoice, attention_views, check_layer_head,
                                       choose_epochs)
from mesa_report.model.network import MesaTransformer
from mesa_report.render.vega import FORMATS, render_chart
from mesa_report.core.vocabulary import UNSCORED, channel_label, stage_name

__all__ = ["NUM_EPOCHS_TO_PLOT", "SampleAttention", "attention_views", "choose_epochs", "sample_attention",
           "sample_charts", "visualize_sample_attention"]

NUM_EPOCHS_TO_PLOT = 5
"""The seed's default number of epochs shown in detail."""

GRID_PANEL_PX = 190
"""Size of one heatmap in the grouped (``first_N_epochs``) views."""


def check_channel_names(model: MesaTransformer, channel_names=None) -> tuple[str, ...]:
    """One name per channel the model reads (by default the model's own), or a :class:`ConfigError`."""
    cfg = model.config
    names = tuple(str(n) for n in (cfg.channel_names if channel_names is None else channel_names))
    if len(names) != cfg.num_channels:
        raise ConfigError(
            f"{len(names)} channel names ({' '.join(names)}) but the model reads {cfg.num_channels} "
            f"channels; pass one name per channel, e.g. --channel_names {' '.join(cfg.channel_names)}"
        )
    return names


def _one_sample(features, labels, sample_idx: int) -> tuple[torch.Tensor, np.ndarray]:
    x = torch.as_tensor(features)
    if x.dim() == 3:
        x = x.unsqueeze(0)  # (1, S, C, T)
    if x.dim() != 4:
        raise ConfigError(f"features must be (batch, seq_len, channels, time_steps); got {tuple(x.shape)}")
    row = 0 if x.shape[0] == 1 else int(sample_idx)
    if not 0 <= row < x.shape[0]:
        raise ConfigError(f"sample_idx={sample_idx} is out of range for a batch of {x.shape[0]} samples")
    if labels is None:
        return x[row:row + 1].float(), np.full(x.shape[1], UNSCORED, dtype=np.int64)
    y = torch.as_tensor(labels).cpu()
    if y.dim() == 1:
        y = y.unsqueeze(0)  # (1, S)
    if tuple(y.shape) != tuple(x.shape[:2]):
        raise ConfigError(f"labels have shape {tuple(y.shape)} but features hold {tuple(x.shape[:2])} "
                          "(batch, epochs); pass the labels that came with the features")
    return x[row:row + 1].float(), y[row].numpy().astype(np.int64)  # (1, S, C, T), (S,)


def sample_attention(model: MesaTransformer, features, labels=None, sample_idx: int = 0, *,
                     layer: int = -1, head: int | None = None, channel_names=None,
                     method: str = "attention", target_epoch: int = 0,
                     first_epoch: int = 0) -> SampleAttention:
    """Run the model once on one sample and keep what the views need.

    Parameters
    ----------
    model : MesaTransformer
        The model (any device); it is used in eval mode without gradients.
    features : tensor or array, shape (B, S, C, T) or (S, C, T)
        A batch as the loader gives it, or one sample.
    labels : int tensor or array, shape (B, S) or (S,), optional
        Scored stages; ``None`` marks every epoch unscored.
    sample_idx : int
        Which sample of a batch of more than one; a batch of one is always its sample.
    layer : int
        Encoder layer of the temporal and inter-epoch maps (``-1``: the last, as the seed).
    head : int, optional
        One attention head; by default the mean of the heads.
    channel_names : sequence of str, optional
        One name per channel; by default the model's.
    method : {"attention", "rollout", "gradient"}
        Explanation method (see :mod:`mesa_report.explain.methods`); ``gradient`` explains ``target_epoch``.
    first_epoch : int
        Night index of the sample's first epoch (epochs are named by it).

    Returns
    -------
    SampleAttention

    Examples
    --------
    >>> from mesa_report.model.network import ModelConfig
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> att = sample_attention(model, torch.randn(1, 20, 3, 3840), torch.zeros(1, 20))
    >>> att.epoch.shape, att.temporal.shape
    ((20, 20), (20, 3, 20, 20))
    """
    cfg = model.config
    names = check_channel_names(model, channel_names)
    layer_label = check_layer_head(cfg, layer, head)
    x, true = _one_sample(features, labels, sample_idx)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(x.to(device), return_attention=True)
    return attention_views(
        out.attention.to("cpu", torch.float32), out.probs[0].float().cpu().numpy(), true,
        class_names=tuple(cfg.class_names), channel_names=names, choice=ViewChoice(method, layer, head),
        layer_label=layer_label, model=model, features=x.to(device), target_epoch=target_epoch,
        first_epoch=first_epoch, index=sample_idx,
    )


def _epoch_heading(att: SampleAttention, e: int) -> str:
    truth = stage_name(att.true_labels[e], att.class_names)
    guess = stage_name(att.pred_labels[e], att.class_names)
    return f"epoch {att.first_epoch + e}: {truth}→{guess}"


def sample_charts(att: SampleAttention, epochs: list[int], *,
                  cmap: str | None = None) -> dict[str, alt.TopLevelMixin]:
    """Every chart of the seed's file set for one sample, by file name without suffix.

    Files are named by the sample's number (from 1) and by night epoch, as every output
    numbers them (:mod:`mesa_report.explain.views`); each heatmap takes its colour scale from the
    view model.

    Parameters
    ----------
    att : SampleAttention
        The sample's maps and predictions.
    epochs : list of int
        Epochs shown in detail (positions within the sample).
    cmap : str, optional
        One colour map for every heatmap; by default the seed's per view.

    Returns
    -------
    dict
        File stem -> chart, in the order the files are listed in the module's docstring.

    Examples
    --------
    >>> att = SampleAttention(np.full((2, 2), .5), np.full((2, 1, 1), 1.), np.full((2, 1, 2, 2), .5),
    ...                       np.array([0, 2]), np.array([0, 1]), np.ones(2), np.zeros(2),
    ...                       np.array([0., 15.]), np.array([15., 30.]), ("W", "N1", "N2"), ("EEG1",),
    ...                       "mean of heads", first_epoch=40, index=2)
    >>> list(sample_charts(att, [1]))[:3]
    ['attention_dashboard_sample_3', 'epoch_attention_sample_3', 'channel_attention_sample_3_epoch_41']
    """
    epoch_cmap = cmap or EPOCH_CMAP
    channel_cmap = cmap or CHANNEL_CMAP
    temporal_cmap = cmap or TEMPORAL_CMAP
    n, first = att.number, att.first_epoch
    detail = f"{att.name} · {att.detail}"
    labels = dict(class_names=att.class_names, first_epoch=first)
    inter = inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels, cmap=epoch_cmap,
                              subtitle=detail, span=att.span("epoch"), **labels)
    strip = prediction_strip_chart(att.true_labels, att.pred_labels, att.confidence, **labels)
    out: dict[str, alt.TopLevelMixin] = {
        f"attention_dashboard_sample_{n}": dashboard_chart(
            att.epoch, att.channel, att.temporal, att.true_labels, att.pred_labels, epochs=epochs,
            channel_names=att.channel_names, token_start_s=att.token_start_s,
            token_end_s=att.token_end_s, epoch_cmap=epoch_cmap, channel_cmap=channel_cmap,
            temporal_cmap=temporal_cmap, title=f"attention dashboard · {detail}", method=att.method, **labels),
        f"epoch_attention_sample_{n}": alt.vconcat(inter, strip, spacing=12),
    }
    for e in epochs:
        heading = _epoch_heading(att, e)
        out[f"channel_attention_sample_{n}_epoch_{first + e}"] = channel_chart(
            att.channel[e], att.channel_names, cmap=channel_cmap, title=heading,
            subtitle=f"channel attention · {detail}", span=att.span("channel", e))
        for c, name in enumerate(att.channel_names):
            out[f"temporal_attention_sample_{n}_epoch_{first + e}_ch_{c}"] = temporal_chart(
                att.temporal[e, c], att.token_start_s, att.token_end_s, cmap=temporal_cmap, title=heading,
                subtitle=f"temporal attention · {channel_label(name)} · {detail}", span=att.span("temporal", e, c))
    out[f"inter_epoch_attention_sample_{n}"] = inter
    out.update(_first_epochs_charts(att, len(epochs), channel_cmap, temporal_cmap))
    return out


def _first_epochs_charts(att: SampleAttention, count: int, channel_cmap: str,
                         temporal_cmap: str) -> dict[str, alt.TopLevelMixin]:
    """The seed's grouped views: the channel and temporal attention of the sample's first ``count`` epochs."""
    n, first, detail = att.number, att.first_epoch, f"{att.name} · {att.detail}"
    shown = range(min(count, att.seq_len))
    about = f"first {len(shown)} epochs ({first}–{first + len(shown) - 1}) of {detail}"
    grid = [alt.hconcat(*(temporal_chart(att.temporal[e, c], att.token_start_s, att.token_end_s, cmap=temporal_cmap,
                                         title=_epoch_heading(att, e), subtitle=channel_label(name),
                                         span=att.span("temporal", e, c))
                          .properties(width=GRID_PANEL_PX, height=GRID_PANEL_PX)
                          for c, name in enumerate(att.channel_names))).resolve_scale(color="independent")
            for e in shown]
    channels = [channel_chart(att.channel[e], att.channel_names, cmap=channel_cmap, title=_epoch_heading(att, e),
                              span=att.span("channel", e)).properties(width=GRID_PANEL_PX, height=GRID_PANEL_PX)
                for e in shown]
    return {
        f"temporal_attention_first_{len(shown)}_epochs_sample_{n}": alt.vconcat(*grid).resolve_scale(
            color="independent").properties(title=f"temporal attention · {about}"),
        f"channel_attention_first_{len(shown)}_epochs_sample_{n}": alt.hconcat(*channels).properties(
            title=f"channel attention · {about}"),
    }


def writable_folder(output_dir: str | os.PathLike) -> Path:
    """The output folder, created; a :class:`ReportError` naming ``--output_dir`` if it cannot be written."""
    folder = Path(output_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ReportError(
            f"cannot write to the output folder {folder}: {exc.strerror or exc}; "
            "choose another --output_dir"
        ) from exc
    return folder


def visualize_sample_attention(model: MesaTransformer, features, labels, channel_names, output_dir,
                               sample_idx: int = 0, seq_len: int = 20, *, epochs=None,
                               cmap: str | None = None, layer: int = -1, head: int | None = None,
                               fmt: str = "png", num_epochs_to_plot: int = NUM_EPOCHS_TO_PLOT,
                               method: str = "attention", first_epoch: int = 0) -> list[Path]:
    """Write the seed's attention files for one sample and return their paths.

    Parameters
    ----------
    model : MesaTransformer
        A loaded model (``load_model``).
    features : tensor, shape (B, S, C, T) or (S, C, T)
        A batch from ``create_mesa_dataloader`` or one sample.
    labels : int tensor, shape (B, S) or (S,), or None
        Scored stages (``-1`` unscored); ``None`` when there are none.
    channel_names : sequence of str, or None
        One name per model channel, e.g. ``["EEG1", "EEG2", "EEG3"]``; ``None``: the model's.
    output_dir : path-like
        Folder of the files; created when missing.
    sample_idx : int
        Index of the sample from 0 (its files are numbered from 1: ``sample_idx + 1``); also the
        sample taken from a batch of more than one.
    seq_len : int
        Epochs per sample; must match ``features`` and the model.
    epochs : sequence of int, optional
        Epochs shown in detail (positions 0 … seq_len-1); by default the ``num_epochs_to_plot``
        most informative (wrong predictions, then stage transitions, then the least sure).
    cmap : str, optional
        One colour map for all heatmaps (``viridis``, ``plasma``, ``YlOrRd`` …); by default the
        seed's: inter-epoch ``plasma``, channel ``YlOrRd``, temporal ``viridis``.
    layer : int
        Encoder layer of the temporal and inter-epoch maps; ``-1`` the last (the seed's).
    head : int, optional
        One attention head at every level; by default the mean of the heads.
    fmt : {"png", "svg", "pdf"}
        File format.
    num_epochs_to_plot : int
        How many epochs to choose when ``epochs`` is not given.
    method : {"attention", "rollout", "gradient"}
        Explanation method (:mod:`mesa_report.explain.methods`); ``gradient`` explains the first epoch
        shown in detail.
    first_epoch : int
        Night index of the sample's first epoch: file names and titles give night epochs.

    Returns
    -------
    list of pathlib.Path
        The files written, dashboard first.

    Raises
    ------
    ConfigError
        Channel names, epochs, layer, head or ``seq_len`` that do not fit the model or the data.
    ReportError
        An unknown colour map or format, or an output folder that cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from mesa_report.model.network import ModelConfig
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> paths = visualize_sample_attention(model, torch.randn(1, 20, 3, 3840),
    ...     torch.full((1, 20), 2), ["EEG1", "EEG2", "EEG3"], tempfile.mkdtemp(), epochs=[4])
    >>> [p.name for p in paths][:2]
    ['attention_dashboard_sample_1.png', 'epoch_attention_sample_1.png']
    """
    check_file_options(fmt, cmap)
    if int(seq_len) != model.config.seq_len:
        raise ConfigError(f"seq_len={seq_len} but the model was built for seq_len={model.config.seq_len}")
    steps = torch.as_tensor(features).shape
    if len(steps) >= 3 and steps[-3] != int(seq_len):
        raise ConfigError(f"features hold {steps[-3]} epochs per sample but seq_len={seq_len}")
    folder = writable_folder(output_dir)
    att = sample_attention(model, features, labels, sample_idx, layer=layer, head=head,
                           channel_names=channel_names, first_epoch=first_epoch)
    chosen = choose_epochs(att, epochs, num_epochs_to_plot)
    if method != "attention":
        att = sample_attention(model, features, labels, sample_idx, layer=layer, head=head,
                               channel_names=channel_names, method=method, target_epoch=chosen[0],
                               first_epoch=first_epoch)
    return write_sample_files(att, folder, chosen, cmap=cmap, fmt=fmt)


def check_file_options(fmt: str, cmap: str | None) -> str:
    """The file suffix of ``fmt``; a :class:`ReportError` for an unknown format or colour map."""
    name = str(fmt).lower()
    if name not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if cmap is not None:
        colour_scale(cmap)
    return name


def write_sample_files(att: SampleAttention, folder: Path, epochs: list[int], *,
                       cmap: str | None = None, fmt: str = "png") -> list[Path]:
    """Draw every file of one sample (:func:`sample_charts`), then write each atomically; their paths."""
    name = check_file_options(fmt, cmap)
    rendered = {stem: render_chart(chart, name) for stem, chart in sample_charts(att, epochs, cmap=cmap).items()}
    return [write_bytes_atomic(folder / f"{stem}.{name}", data) for stem, data in rendered.items()]
