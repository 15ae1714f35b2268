"""What a forward pass of the MESA Transformer returns: the logits, probabilities, and attention maps.

Examples
--------
>>> import torch
>>> from mesa_report.model.config import ModelConfig
>>> maps = AttentionMaps(temporal=torch.rand(1, 20, 3, 2, 4, 20, 20), channel=torch.rand(1, 20, 2, 3, 3),
...                      epoch=torch.rand(1, 2, 4, 20, 20), token_times=TokenTimes.from_config(ModelConfig()))
>>> tuple(maps.epoch_map(head=None).shape), tuple(maps.temporal_map(layer=0, head=1).shape)
((1, 20, 20), (1, 20, 3, 20, 20))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from mesa_report.core.errors import ConfigError
from mesa_report.model.config import TokenTimes

# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------
@dataclass
class AttentionMaps:
    """Every attention weight of one forward pass, per layer and head.

    Attributes
    ----------
    temporal : Tensor
        ``(B, S, C, L_t, H_t, N, N)``: per epoch and channel, each temporal layer's weights
        (query token × key token).
    channel : Tensor
        ``(B, S, H_c, C, C)``: per epoch, the channel-fusion weights (query × key channel).
    epoch : Tensor
        ``(B, L_e, H_e, S, S)``: each inter-epoch layer's weights (query × key epoch).
    token_times : TokenTimes
        Where each of the N tokens lies within its epoch.
    """

    temporal: Tensor
    channel: Tensor
    epoch: Tensor
    token_times: TokenTimes
    layers: dict | None = field(default=None, repr=False, compare=False)
    """The per-layer tensors exactly as used in the forward pass (``temporal``: ``[channel][layer]``
    of ``(B·S, H, N, N)``, ``channel``: ``(B·S, H, C, C)``, ``epoch``: ``[layer]`` of ``(B, H, S, S)``),
    for gradients with respect to the attention; only set by the forward pass itself."""

    def temporal_map(self, layer: int = -1, head: int | None = None) -> Tensor:
        """Temporal weights of one layer, one head or the mean of heads: ``(B, S, C, N, N)``."""
        return _pick_head(self.temporal[:, :, :, layer], head, axis=3)

    def channel_map(self, head: int | None = None) -> Tensor:
        """Channel weights of one head or the mean of heads: ``(B, S, C, C)``."""
        return _pick_head(self.channel, head, axis=2)

    def epoch_map(self, layer: int = -1, head: int | None = None) -> Tensor:
        """Inter-epoch weights of one layer, one head or the mean of heads: ``(B, S, S)``."""
        return _pick_head(self.epoch[:, layer], head, axis=1)

    def to(self, *args, **kwargs) -> AttentionMaps:
        """Move or cast every map (e.g. ``.to(torch.float16)`` for compact storage)."""
        return AttentionMaps(self.temporal.to(*args, **kwargs), self.channel.to(*args, **kwargs),
                             self.epoch.to(*args, **kwargs), self.token_times)

    def __getitem__(self, index) -> AttentionMaps:
        """Select sequences along the batch axis, keeping it (``maps[i:i+1]``)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return AttentionMaps(self.temporal[index], self.channel[index], self.epoch[index],
                             self.token_times)


def _pick_head(weights: Tensor, head: int | None, axis: int) -> Tensor:
    if head is None:
        return weights.float().mean(dim=axis)
    n_heads = weights.shape[axis]
    if not -n_heads <= head < n_heads:
        raise ConfigError(f"head={head} is out of range: this level has {n_heads} heads (0-{n_heads - 1})")
    return weights.select(axis, head)


@dataclass
class ModelOutput:
    """What :class:`MesaTransformer` returns; also readable like the seed's dict (``out["logits"]``)."""

    logits: Tensor  # (B, S, K)
    probs: Tensor  # (B, S, K)
    uncertainty: Tensor  # (B, S) prediction entropy in nats
    attention: AttentionMaps | None = None

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def keys(self) -> list[str]:
        base = ["logits", "probs", "uncertainty"]
        if self.attention is not None:
            base += ["attention", "temporal_attention", "channel_attention", "epoch_attention"]
        return base

    # The seed's layout: last layer only, per head, as Python lists.
    @property
    def temporal_attention(self) -> list[list[Tensor]] | None:
        """``[epoch][channel]`` of ``(B, H_t, N, N)`` — the seed's last-layer temporal weights."""
        if self.attention is None:
            return None
        last = self.attention.temporal[:, :, :, -1]  # (B, S, C, H, N, N)
        return [[last[:, s, c] for c in range(last.shape[2])] for s in range(last.shape[1])]

    @property
    def channel_attention(self) -> list[Tensor] | None:
        """``[epoch]`` of ``(B, H_c, C, C)`` — the seed's channel weights."""
        if self.attention is None:
            return None
        return [self.attention.channel[:, s] for s in range(self.attention.channel.shape[1])]

    @property
    def epoch_attention(self) -> Tensor | None:
        """``(B, H_e, S, S)`` — the seed's last-layer inter-epoch weights."""
        return None if self.attention is None else self.attention.epoch[:, -1]


