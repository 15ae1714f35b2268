"""One view model for every output: what a sample's views show, how they are numbered and coloured.

The app, the reports and the seed's PNG files all take a sample's maps from here, so the same
sample shows the same matrices under the same names everywhere:

- **Numbering.** Nights by record id; samples from 1 (:func:`sample_number`), named by their epoch
  range (:func:`sample_name`); epochs by their index in the night.
- **What is shown.** A :class:`ViewChoice` (method, layer, head) gives one :class:`SampleAttention`
  (:func:`attention_views`, or :func:`night_sample_views` for a night's stored inference). Raw
  attention uses one layer and one head or their mean; rollout combines every layer and averages
  the heads; gradient × attention explains one target epoch through every layer and head, and
  keeps only what reaches it through attention (the residual path, an identity, is left out:
  :func:`mesa_report.explain.methods.gradient_attention` with ``residual=False``). Pickers a
  method ignores are listed by :func:`ignored_choices`.
- **Colour.** Each view's scale comes from :mod:`mesa_report.explain.view_scales`: the data's
  range, widened to a stated minimum span so that rounding noise never fills a scale, with a
  "no signal" note when the values are flat; under rollout the diagonal (self-attention through
  the residual path) is left out of the scale and drawn at its top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.explain.methods import explain
from mesa_report.explain.selection import informative_epochs
from mesa_report.explain.view_scales import ColourSpan, colour_span
from mesa_report.model.network import AttentionMaps, MesaTransformer, ModelConfig

METHOD_LABELS = {
    "attention": "attention (one layer)",
    "rollout": "rollout (all layers)",
    "gradient": "gradient × attention (selected epoch)",
}
"""How the methods read in the app's picker."""


# --------------------------------------------------------------------------------------------
# Numbering
# --------------------------------------------------------------------------------------------
def sample_number(index: int) -> int:
    """Number of a sample for people (from 1) from its index in the night (from 0).

    Examples
    --------
    >>> sample_number(0), sample_number(23)
    (1, 24)
    """
    return int(index) + 1


def sample_name(index: int, first_epoch: int, seq_len: int) -> str:
    """``Sample 3: epochs 40–59``: the sample's number and its night epochs.

    Examples
    --------
    >>> sample_name(2, 40, 20)
    'Sample 3: epochs 40–59'
    """
    return f"Sample {sample_number(index)}: epochs {int(first_epoch)}–{int(first_epoch) + int(seq_len) - 1}"


# --------------------------------------------------------------------------------------------
# Method, layer and head
# --------------------------------------------------------------------------------------------
def layer_choices(config: ModelConfig) -> list[int]:
    """Encoder layers of the temporal and inter-epoch maps (0-based, last one last).

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
    return [None, *range(min(config.temporal_heads, config.channel_heads, config.epoch_heads))]


def head_label(head: int | None) -> str:
    """How a head choice reads (heads counted from 1).

    Examples
    --------
    >>> head_label(None), head_label(2)
    ('mean of heads', 'head 3')
    """
    return "mean of heads" if head is None else f"head {int(head) + 1}"


def check_layer_head(config: ModelConfig, layer: int, head: int | None) -> str:
    """Raise unless ``layer`` and ``head`` exist at every level; return the layer's label.

    Examples
    --------
    >>> check_layer_head(ModelConfig(), -1, 3)
    'layer 2 of 2'
    """
    n_layers = len(layer_choices(config))
    if not -n_layers <= int(layer) < n_layers:
        raise ConfigError(f"layer={layer} is out of range: the model has {n_layers} encoder layers "
                          f"(0-{n_layers - 1}, or -1 for the last)")
    n_heads = len(head_choices(config)) - 1
    if head is not None and not 0 <= int(head) < n_heads:
        raise ConfigError(
            f"head={head} is out of range: the same head is shown at every level and the smallest "
            f"level has {n_heads} heads (temporal {config.temporal_heads}, channel {config.channel_heads}, "
            f"inter-epoch {config.epoch_heads}); choose 0-{n_heads - 1} or leave it out for the mean")
    return f"layer {int(layer) % n_layers + 1} of {n_layers}"


def ignored_choices(method: str) -> dict[str, str]:
    """The pickers ``method`` does not read, each with why (the app disables them).

    Examples
    --------
    >>> sorted(ignored_choices("rollout")), ignored_choices("attention")
    (['head', 'layer'], {})
    """
    if method == "rollout":
        return {"layer": "rollout multiplies every layer's attention",
                "head": "rollout averages the heads"}
    if method == "gradient":
        return {"layer": "gradient × attention adds up every layer",
                "head": "gradient × attention averages the heads, each weighted by its gradient"}
    return {}


def _method_titles(method: str, layer_label: str, head: int | None, target: str) -> tuple[str, str]:
    """(layer part, heads part) of the titles of a method's views."""
    if method == "rollout":
        return "rollout over all layers", "mean of heads"
    if method == "gradient":
        return f"gradient × attention for epoch {target}, through attention only", "all layers and heads"
    return layer_label, head_label(head)


# --------------------------------------------------------------------------------------------
# A sample's maps
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewChoice:
    """What the views show: a method and, for raw attention, a layer and a head.

    ``layer`` counts from 0 (``-1`` the last), ``head`` from 0 (``None`` the mean of heads).
    """

    method: str = "attention"
    layer: int = -1
    head: int | None = None


@dataclass(frozen=True)
class SampleAttention:
    """What every view of one sample shows, as NumPy arrays (app, reports and files alike).

    Attributes
    ----------
    epoch : (S, S) inter-epoch weights (query × key).
    channel : (S, C, C) channel weights per epoch.
    temporal : (S, C, N, N) temporal weights per epoch and channel.
    true_labels, pred_labels : (S,) scored and predicted stages (``-1`` unscored).
    confidence : (S,) probability of the predicted stage.
    uncertainty : (S,) entropy of the prediction, nats.
    token_start_s, token_end_s : (N,) token limits within the epoch, seconds.
    class_names, channel_names : names of the stages and channels.
    heads : how the heads were combined, for titles (``mean of heads``, or ``head 3`` for index 2).
    layer_label : which layer the maps come from, for titles (``layer 2 of 2``).
    method : the explanation method (``attention``, ``rollout``, ``gradient``).
    first_epoch : night index of the sample's first epoch.
    index : the sample's index in the night (its number is ``index + 1``).
    target : position of the explained epoch (gradient only).
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
    first_epoch: int = 0
    index: int = 0
    target: int | None = None

    @property
    def seq_len(self) -> int:
        return int(self.epoch.shape[0])

    @property
    def number(self) -> int:
        """The sample's number, from 1."""
        return sample_number(self.index)

    @property
    def name(self) -> str:
        """``Sample 3: epochs 40–59``."""
        return sample_name(self.index, self.first_epoch, self.seq_len)

    @property
    def detail(self) -> str:
        """``layer 2 of 2 · mean of heads``: what the maps are, for subtitles."""
        return f"{self.layer_label} · {self.heads}"

    def received(self, position: int, channel: int | None = None) -> np.ndarray:
        """Relevance each time token receives (mean over the queries): the traces' shading, ``(N,)``
        for one channel or ``(C, N)`` for every channel (``channel=None``)."""
        maps = self.temporal[position] if channel is None else self.temporal[position, channel]
        return np.asarray(maps, dtype=np.float64).mean(axis=-2)

    def span(self, level: str, position: int | None = None, channel: int | None = None) -> ColourSpan:
        """Colour scale of one view: ``epoch``; ``channel`` of an epoch; ``temporal`` or ``trace`` of
        an epoch (all channels on one scale) or of one channel."""
        values = {"epoch": lambda: self.epoch,
                  "channel": lambda: self.channel[position],
                  "temporal": lambda: self.temporal[position] if channel is None else self.temporal[position, channel],
                  "trace": lambda: self.received(position, channel)}[level]()
        return colour_span(values, level, self.method)


def attention_views(maps: AttentionMaps, probs: np.ndarray, true_labels: np.ndarray, *,
                    class_names, channel_names, choice: ViewChoice = ViewChoice(),
                    layer_label: str | None = None, model: MesaTransformer | None = None,
                    features: torch.Tensor | None = None, target_epoch: int = 0,
                    first_epoch: int = 0, index: int = 0) -> SampleAttention:
    """What the views of one sample show, for any explanation method.

    Parameters
    ----------
    maps : AttentionMaps
        The sample's captured attention (batch of one).
    probs : numpy.ndarray, shape (S, K)
        The sample's stage probabilities.
    true_labels : numpy.ndarray, shape (S,)
        Scored stages (``-1`` unscored).
    choice : ViewChoice
        Method, layer and head. ``gradient`` explains ``target_epoch`` (its position in the
        sample) and needs ``model`` and ``features`` ``(1, S, C, T)``.
    layer_label : str, optional
        How the layer reads in titles; by default ``layer 2 of 2`` from the model or the maps.
    first_epoch, index : int
        The sample's first night epoch and its index in the night, for its name.

    Examples
    --------
    >>> from mesa_report.model.network import ModelConfig
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> out = model(torch.randn(1, 20, 3, 3840), return_attention=True)
    >>> att = attention_views(out.attention, out.probs[0].detach().numpy(), np.zeros(20, dtype=int),
    ...                       class_names=model.config.class_names, channel_names=("EEG1", "EEG2", "EEG3"),
    ...                       choice=ViewChoice("rollout"), first_epoch=40, index=2)
    >>> att.layer_label, att.temporal.shape, att.name
    ('rollout over all layers', (20, 3, 20, 20), 'Sample 3: epochs 40–59')
    """
    method = choice.method
    if method == "gradient" and (model is None or features is None):
        raise ConfigError("the gradient method needs the model and the sample's signal")
    rel = explain(model, features, method, target_epoch=target_epoch, layer=choice.layer, head=choice.head,
                  maps=maps, residual=False)
    n_layers = int(maps.epoch.shape[1])
    layer_label = layer_label or f"layer {int(choice.layer) % n_layers + 1} of {n_layers}"
    titles = _method_titles(method, layer_label, choice.head, str(int(first_epoch) + int(target_epoch)))
    return SampleAttention(
        epoch=rel.epoch[0].detach().cpu().numpy(),  # (S, S)
        channel=rel.channel[0].detach().cpu().numpy(),  # (S, C, C)
        temporal=rel.temporal[0].detach().cpu().numpy(),  # (S, C, N, N)
        true_labels=np.asarray(true_labels, dtype=np.int64),
        pred_labels=probs.argmax(axis=1).astype(np.int64),  # (S,)
        confidence=probs.max(axis=1),  # (S,)
        uncertainty=(-(probs * np.log(probs + 1e-8)).sum(axis=1)).astype(np.float32),  # (S,)
        token_start_s=np.asarray(maps.token_times.start_s, dtype=np.float64),
        token_end_s=np.asarray(maps.token_times.end_s, dtype=np.float64),
        class_names=tuple(class_names),
        channel_names=tuple(channel_names),
        heads=titles[1],
        layer_label=titles[0],
        method=method,
        first_epoch=int(first_epoch),
        index=int(index),
        target=int(target_epoch) if method == "gradient" else None,
    )


def night_sample_views(result, index: int, choice: ViewChoice = ViewChoice(), *,
                       model: MesaTransformer | None = None, night=None,
                       target_epoch: int | None = None) -> SampleAttention:
    """One sample of a night's stored inference, as every output shows it.

    Raw attention and rollout read the stored maps (no model run); gradient × attention runs one
    forward and backward pass for ``target_epoch`` (a night epoch inside the sample; by default
    the sample's most informative one), so it needs ``model`` and ``night``.

    Examples
    --------
    >>> att = night_sample_views(result, 2)  # doctest: +SKIP
    >>> att.name  # doctest: +SKIP
    'Sample 3: epochs 40–59'
    """
    gradient = choice.method == "gradient"
    if gradient and (model is None or night is None):
        raise ConfigError("gradient × attention needs the model and the night's signal")
    view = result.sample(index, night if gradient else None)
    first = int(view.first_epoch)
    if target_epoch is None:
        target_epoch = first + informative_epochs(view.labels, view.pred, view.uncertainty, 1)[0]
    if not first <= int(target_epoch) < first + result.seq_len:
        raise ConfigError(f"epoch {target_epoch} is not in {sample_name(index, first, result.seq_len)}")
    features = None
    if gradient:
        features = torch.from_numpy(view.features[None]).to(next(model.parameters()).device)
    return attention_views(view.attention, view.probs, view.labels, class_names=result.class_names,
                           channel_names=result.channel_names, choice=choice, model=model, features=features,
                           target_epoch=int(target_epoch) - first, first_epoch=first, index=index)


def choose_epochs(att: SampleAttention, epochs=None, num_epochs_to_plot: int = 5) -> list[int]:
    """Positions of the epochs shown in detail: those asked for, or the most informative ones.

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
        raise ConfigError(f"epochs {bad or list(epochs)} are out of range: a sample has epochs 0-{n - 1} "
                          "(positions within the sequence)")
    return chosen
