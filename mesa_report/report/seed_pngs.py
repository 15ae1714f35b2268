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
  ``channel_attention_first_{N}_epochs_sample_{idx}``, N the number of chosen epochs.

``epoch`` is the epoch's position within the sample (0 … seq_len-1). Every chart is drawn before
the first file is written, and each file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import torch

from mesa_report.charts import core as charts
from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.core.fileio import write_bytes_atomic
from mesa_report.explain.methods import explain
from mesa_report.model.outputs import AttentionMaps
from mesa_report.model.network import MesaTransformer
from mesa_report.render.vega import FORMATS, render_chart
from mesa_report.explain.selection import informative_epochs
from mesa_report.core.vocabulary import UNSCORED, channel_label, stage_name

NUM_EPOCHS_TO_PLOT = 5
"""The seed's default number of epochs shown in detail."""

GRID_PANEL_PX = 190
"""Size of one heatmap in the grouped (``first_N_epochs``) views."""


@dataclass(frozen=True)
class SampleAttention:
    """What every view of one sample needs, as NumPy arrays.

    Attributes
    ----------
    epoch : (S, S) inter-epoch weights of the chosen layer (query × key).
    channel : (S, C, C) channel weights per epoch.
    temporal : (S, C, N, N) temporal weights of the chosen layer per epoch and channel.
    true_labels, pred_labels : (S,) scored and predicted stages (``-1`` unscored).
    confidence : (S,) probability of the predicted stage.
    uncertainty : (S,) entropy of the prediction, nats.
    token_start_s, token_end_s : (N,) token limits within the epoch, seconds.
    class_names, channel_names : names of the stages and channels.
    heads : how the heads were combined, for titles (``mean of heads``, or ``head 3`` for index 2).
    layer_label : which layer the maps come from, for titles (``layer 2 of 2``).
    method : the explanation method the maps come from (``attention``, ``rollout``, ``gradient``).
    """

    epoch: np.ndarray
    channel: np.ndarray
    temporal: np.ndarray
    true_labels: np.ndarray
    pred_labels: np.ndarray
    confidence: np.ndarray
    uncertainty: np.ndarray
    token_start_s: np.ndarray
    token_end_s: np.ndarray
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    heads: str
    layer_label: str = "last layer"
    method: str = "attention"

    @property
    def seq_len(self) -> int:
        return int(self.epoch.shape[0])


def check_layer_head(model: MesaTransformer, layer: int, head: int | None) -> str:
    """Raise unless ``layer`` and ``head`` exist at every level; return the layer's label."""
    cfg = model.config
    n_layers = min(cfg.temporal_layers, cfg.epoch_layers)
    if not -n_layers <= int(layer) < n_layers:
        raise ConfigError(
            f"layer={layer} is out of range: the model has {n_layers} encoder layers "
            f"(0-{n_layers - 1}, or -1 for the last)"
        )
    n_heads = min(cfg.temporal_heads, cfg.channel_heads, cfg.epoch_heads)
    if head is not None and not 0 <= int(head) < n_heads:
        raise ConfigError(
            f"head={head} is out of range: the same head is shown at every level and the smallest "
            f"level has {n_heads} heads (temporal {cfg.temporal_heads}, channel {cfg.channel_heads}, "
            f"inter-epoch {cfg.epoch_heads}); choose 0-{n_heads - 1} or leave it out for the mean"
        )
    return f"layer {int(layer) % n_layers + 1} of {n_layers}"


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
                     method: str = "attention", target_epoch: int = 0) -> SampleAttention:
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
    layer_label = check_layer_head(model, layer, head)
    x, true = _one_sample(features, labels, sample_idx)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(x.to(device), return_attention=True)
    return attention_views(
        out.attention.to("cpu", torch.float32), out.probs[0].float().cpu().numpy(), true,
        class_names=tuple(cfg.class_names), channel_names=names, layer=layer, head=head,
        layer_label=layer_label, method=method, model=model, features=x.to(device), target_epoch=target_epoch,
    )


def attention_views(maps: AttentionMaps, probs: np.ndarray, true_labels: np.ndarray, *,
                    class_names, channel_names, layer: int = -1, head: int | None = None,
                    layer_label: str = "last layer", method: str = "attention",
                    model: MesaTransformer | None = None, features: torch.Tensor | None = None,
                    target_epoch: int = 0) -> SampleAttention:
    """What the views of one sample show, for any explanation method (app, reports and files alike).

    Parameters
    ----------
    maps : AttentionMaps
        The sample's captured attention (batch of one).
    probs : numpy.ndarray, shape (S, K)
        The sample's stage probabilities.
    true_labels : numpy.ndarray, shape (S,)
        Scored stages (``-1`` unscored).
    method : {"attention", "rollout", "gradient"}
        Raw attention of ``layer``/``head``, rollout across layers, or gradient-weighted attention
        for ``target_epoch`` (which needs ``model`` and ``features`` ``(1, S, C, T)``).

    Examples
    --------
    >>> from mesa_report.model.network import ModelConfig
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> x = torch.randn(1, 20, 3, 3840)
    >>> out = model(x, return_attention=True)
    >>> att = attention_views(out.attention, out.probs[0].detach().numpy(), np.zeros(20, dtype=int),
    ...                       class_names=model.config.class_names, channel_names=("EEG1", "EEG2", "EEG3"),
    ...                       method="rollout")
    >>> att.layer_label, att.temporal.shape
    ('rollout over all layers', (20, 3, 20, 20))
    """
    if method == "gradient" and (model is None or features is None):
        raise ConfigError("the gradient method needs the model and the sample's signal")
    rel = explain(model, features, method, target_epoch=target_epoch, layer=layer, head=head, maps=maps)
    uncertainty = -(probs * np.log(probs + 1e-8)).sum(axis=1)  # (S,)
    labels = {"attention": (layer_label, "mean of heads" if head is None else f"head {int(head) + 1}"),
              "rollout": ("rollout over all layers", "mean of heads"),
              "gradient": (f"gradient × attention for epoch {target_epoch}", "mean of heads")}[method]
    return SampleAttention(
        epoch=rel.epoch[0].detach().cpu().numpy(),  # (S, S)
        channel=rel.channel[0].detach().cpu().numpy(),  # (S, C, C)
        temporal=rel.temporal[0].detach().cpu().numpy(),  # (S, C, N, N)
        true_labels=np.asarray(true_labels, dtype=np.int64),
        pred_labels=probs.argmax(axis=1).astype(np.int64),  # (S,)
        confidence=probs.max(axis=1),  # (S,)
        uncertainty=uncertainty.astype(np.float32),
        token_start_s=np.asarray(maps.token_times.start_s, dtype=np.float64),
        token_end_s=np.asarray(maps.token_times.end_s, dtype=np.float64),
        class_names=tuple(class_names),
        channel_names=tuple(channel_names),
        heads=labels[1],
        layer_label=labels[0],
        method=method,
    )


def choose_epochs(att: SampleAttention, epochs=None,
                  num_epochs_to_plot: int = NUM_EPOCHS_TO_PLOT) -> list[int]:
    """The epochs shown in detail: those asked for, or the most informative ones.

    Examples
    --------
    >>> att = SampleAttention(*(np.zeros((3, 3)),) * 3, np.array([0, 2, 2]), np.array([0, 2, 1]),
    ...                       np.ones(3), np.array([0.1, 0.2, 0.3]), np.zeros(1), np.ones(1),
    ...                       ("W", "N1", "N2"), ("EEG1",), "mean of heads")
    >>> choose_epochs(att, num_epochs_to_plot=2), choose_epochs(att, [2, 0, 2])
    ([1, 2], [0, 2])
    """
    n = att.seq_len
    if epochs is None:
        if num_epochs_to_plot < 1:
            raise ConfigError(f"num_epochs_to_plot must be at least 1, not {num_epochs_to_plot}")
        return informative_epochs(att.true_labels, att.pred_labels, att.uncertainty,
                                  min(int(num_epochs_to_plot), n))
    chosen = sorted({int(e) for e in epochs})
    bad = [e for e in chosen if not 0 <= e < n]
    if bad or not chosen:
        raise ConfigError(
            f"epochs {bad or list(epochs)} are out of range: a sample has epochs 0-{n - 1} "
            "(positions within the sequence)"
        )
    return chosen


def _epoch_heading(att: SampleAttention, e: int) -> str:
    truth = stage_name(att.true_labels[e], att.class_names)
    guess = stage_name(att.pred_labels[e], att.class_names)
    return f"epoch {e}: {truth}→{guess}"


def sample_charts(att: SampleAttention, sample_idx: int, epochs: list[int], *,
                  cmap: str | None = None) -> dict[str, alt.TopLevelMixin]:
    """Every chart of the seed's file set for one sample, by file name without suffix.

    Parameters
    ----------
    att : SampleAttention
        The sample's maps and predictions.
    sample_idx : int
        Number of the sample in the file names.
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
    ...                       "mean of heads")
    >>> list(sample_charts(att, 3, [1]))[:3]
    ['attention_dashboard_sample_3', 'epoch_attention_sample_3', 'channel_attention_sample_3_epoch_1']
    """
    epoch_cmap = cmap or charts.EPOCH_CMAP
    channel_cmap = cmap or charts.CHANNEL_CMAP
    temporal_cmap = cmap or charts.TEMPORAL_CMAP
    detail = f"sample {sample_idx} · {att.layer_label} · {att.heads}"
    channel_detail = f"sample {sample_idx} · {att.heads}"  # channel fusion is a single layer
    labels = dict(class_names=att.class_names)
    inter = charts.inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels, cmap=epoch_cmap,
                                     subtitle=f"{detail} · red labels: wrong prediction", **labels)
    strip = charts.prediction_strip_chart(att.true_labels, att.pred_labels, att.confidence, **labels)
    out: dict[str, alt.TopLevelMixin] = {
        f"attention_dashboard_sample_{sample_idx}": charts.dashboard_chart(
            att.epoch, att.channel, att.temporal, att.true_labels, att.pred_labels, epochs=epochs,
            channel_names=att.channel_names, token_start_s=att.token_start_s,
            token_end_s=att.token_end_s, epoch_cmap=epoch_cmap, channel_cmap=channel_cmap,
            temporal_cmap=temporal_cmap, title=f"attention dashboard · {detail}", **labels),
        f"epoch_attention_sample_{sample_idx}": alt.vconcat(inter, strip, spacing=12),
    }
    temporal = {}
    for e in epochs:
        out[f"channel_attention_sample_{sample_idx}_epoch_{e}"] = charts.channel_chart(
            att.channel[e], att.channel_names, cmap=channel_cmap, title=_epoch_heading(att, e),
            subtitle=f"channel attention · {channel_detail}")
        for c, name in enumerate(att.channel_names):
            view = dict(token_start_s=att.token_start_s, token_end_s=att.token_end_s, cmap=temporal_cmap,
                        title=_epoch_heading(att, e))
            out[f"temporal_attention_sample_{sample_idx}_epoch_{e}_ch_{c}"] = charts.temporal_chart(
                att.temporal[e, c], subtitle=f"temporal attention · {channel_label(name)} · {detail}", **view)
            temporal[(e, c)] = charts.temporal_chart(
                att.temporal[e, c], subtitle=channel_label(name), **view
            ).properties(width=GRID_PANEL_PX, height=GRID_PANEL_PX)
    out[f"inter_epoch_attention_sample_{sample_idx}"] = inter
    n = len(epochs)
    grid = [alt.hconcat(*(temporal[(e, c)] for c in range(len(att.channel_names))))
            .resolve_scale(color="independent") for e in epochs]
    out[f"temporal_attention_first_{n}_epochs_sample_{sample_idx}"] = alt.vconcat(*grid).resolve_scale(
        color="independent").properties(title=f"temporal attention · {detail}")
    channel_grid = [charts.channel_chart(att.channel[e], att.channel_names, cmap=channel_cmap,
                                         title=_epoch_heading(att, e))
                    .properties(width=GRID_PANEL_PX, height=GRID_PANEL_PX) for e in epochs]
    out[f"channel_attention_first_{n}_epochs_sample_{sample_idx}"] = alt.hconcat(*channel_grid).properties(
        title=f"channel attention · {channel_detail}")
    return out


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
                               method: str = "attention") -> list[Path]:
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
        Number in the file names; also the sample taken from a batch of more than one.
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
    ['attention_dashboard_sample_0.png', 'epoch_attention_sample_0.png']
    """
    check_file_options(fmt, cmap)
    if int(seq_len) != model.config.seq_len:
        raise ConfigError(f"seq_len={seq_len} but the model was built for seq_len={model.config.seq_len}")
    steps = torch.as_tensor(features).shape
    if len(steps) >= 3 and steps[-3] != int(seq_len):
        raise ConfigError(f"features hold {steps[-3]} epochs per sample but seq_len={seq_len}")
    folder = writable_folder(output_dir)
    att = sample_attention(model, features, labels, sample_idx, layer=layer, head=head,
                           channel_names=channel_names)
    chosen = choose_epochs(att, epochs, num_epochs_to_plot)
    if method != "attention":
        att = sample_attention(model, features, labels, sample_idx, layer=layer, head=head,
                               channel_names=channel_names, method=method, target_epoch=chosen[0])
    return write_sample_files(att, folder, sample_idx, chosen, cmap=cmap, fmt=fmt)


def check_file_options(fmt: str, cmap: str | None) -> str:
    """The file suffix of ``fmt``; a :class:`ReportError` for an unknown format or colour map."""
    name = str(fmt).lower()
    if name not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if cmap is not None:
        charts.colour_scale(cmap)
    return name


def write_sample_files(att: SampleAttention, folder: Path, sample_idx: int, epochs: list[int], *,
                       cmap: str | None = None, fmt: str = "png") -> list[Path]:
    """Draw every file of one sample (:func:`sample_charts`), then write each atomically; their paths."""
    name = check_file_options(fmt, cmap)
    rendered = {stem: render_chart(chart, name)
                for stem, chart in sample_charts(att, sample_idx, epochs, cmap=cmap).items()}
    return [write_bytes_atomic(folder / f"{stem}.{name}", data) for stem, data in rendered.items()]
