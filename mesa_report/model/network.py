"""The MESA Transformer: a hierarchical sleep-staging model whose every attention map can be captured.

The architecture, parameter names and order of operations are those of the seed project's
``MESATransformer``, so its checkpoints load with ``strict=True`` and predict the same stages:

1. per channel, a CNN front end turns a 30 s epoch into ``n_tokens`` time tokens;
2. per channel, a projection to ``d_model`` and a temporal transformer over those tokens;
3. the mean token of each channel is fused across channels by one multi-head attention;
4. the fused channel vectors are concatenated and projected to one vector per epoch;
5. an inter-epoch transformer looks across the ``seq_len`` epochs of a sequence;
6. a classifier gives stage logits per epoch.

Unlike the seed, which loops in Python over epochs and channels, every epoch of every sequence is
computed at once. Attention weights are computed by the pure function :func:`attention_weights`
inside the very forward pass that uses them and returned in :class:`AttentionMaps`; nothing is
stored on the modules. Without capture the fused ``scaled_dot_product_attention`` kernel is used.

Examples
--------
>>> import torch
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
>>> out = model(torch.randn(1, 20, 3, 3840), return_attention=True)
>>> tuple(out.logits.shape), tuple(out.attention.temporal.shape)
((1, 20, 6), (1, 20, 3, 2, 4, 20, 20))
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import (ENTROPY_EPS, EPOCH_SAMPLES, MODEL_CHANNEL_NAMES, NUM_EEG_CHANNELS, SEQ_LEN,
                                         SFREQ_HZ, default_class_names)



# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a :class:`MesaTransformer`; the defaults are the seed's trained model."""

    num_channels: int = NUM_EEG_CHANNELS  # EEG channels the model reads (the first ones of a preprocessed night)
    time_steps: int = EPOCH_SAMPLES  # samples per epoch: 30 s at 128 Hz
    sfreq_hz: float = SFREQ_HZ  # sampling rate of the input signal
    seq_len: int = SEQ_LEN  # epochs per sequence, the inter-epoch transformer's context
    num_classes: int = 6  # sleep stages predicted (6: W N1 N2 N3 N4 REM)
    d_model: int = 256  # width of every transformer and of the epoch vector
    cnn_channels: tuple[int, int] = (64, 128)  # output channels of conv1 and conv2
    conv1_kernel: int = 50  # conv1 kernel in samples (about 0.4 s at 128 Hz)
    conv1_stride: int = 6  # conv1 stride in samples
    pool1: int = 8  # max-pool after conv1 (kernel = stride)
    conv2_kernel: int = 8  # conv2 kernel in pooled steps
    conv2_padding: int = 4  # conv2 zero padding on each side
    pool2: int = 4  # max-pool after conv2 (kernel = stride)
    temporal_heads: int = 8  # heads of the per-channel temporal transformer
    channel_heads: int = 4  # heads of the channel-fusion attention
    epoch_heads: int = 8  # heads of the inter-epoch transformer
    temporal_layers: int = 2  # encoder layers of the temporal transformer
    epoch_layers: int = 2  # encoder layers of the inter-epoch transformer
    dim_feedforward: int = 512  # hidden width of every encoder layer's feed-forward block
    classifier_hidden: int = 512  # hidden width of the classifier head
    dropout: float = 0.1  # dropout everywhere during training (off in eval mode)
    max_tokens: int = 100  # rows of the temporal positional table (the seed's 100)
    class_names: tuple[str, ...] = ()  # stage names; empty = the standard names for num_classes
    channel_names: tuple[str, ...] = ()  # channel names; empty = EEG1, EEG2, EEG3…
    epoch_seconds: float = field(init=False, default=0.0)  # derived: time_steps / sfreq_hz

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise fields once, here
        set_(self, "cnn_channels", tuple(int(c) for c in self.cnn_channels))
        set_(self, "epoch_seconds", self.time_steps / self.sfreq_hz)
        if not self.class_names:
            set_(self, "class_names", tuple(default_class_names(self.num_classes)))
        else:
            set_(self, "class_names", tuple(str(c) for c in self.class_names))
        if not self.channel_names:
            names = MODEL_CHANNEL_NAMES + tuple(f"EEG{i + 1}" for i in range(3, self.num_channels))
            set_(self, "channel_names", names[: self.num_channels])
        else:
            set_(self, "channel_names", tuple(str(c) for c in self.channel_names))
        self._validate()

    def _validate(self) -> None:
        for name in ("temporal_heads", "channel_heads", "epoch_heads"):
            heads = getattr(self, name)
            if heads < 1 or self.d_model % heads:
                raise ConfigError(
                    f"d_model={self.d_model} is not divisible by {name}={heads}; "
                    f"choose a head count that divides d_model"
                )
        if len(self.class_names) != self.num_classes:
            raise ConfigError(
                f"class_names has {len(self.class_names)} names but num_classes={self.num_classes}; "
                "give one name per class"
            )
        if len(self.channel_names) != self.num_channels:
            raise ConfigError(
                f"channel_names has {len(self.channel_names)} names ({', '.join(self.channel_names)}) "
                f"but the model reads num_channels={self.num_channels}; give one name per channel"
            )
        if len(self.cnn_channels) != 2:
            raise ConfigError(f"cnn_channels must hold 2 widths (conv1, conv2), not {self.cnn_channels}")
        n = self.n_tokens
        if n < 1:
            raise ConfigError(
                f"time_steps={self.time_steps} is too short for the CNN front end "
                f"(conv1 kernel {self.conv1_kernel}); use 30 s epochs ({int(30 * self.sfreq_hz)} samples)"
            )
        if n > self.max_tokens:
            raise ConfigError(
                f"time_steps={self.time_steps} gives {n} tokens but the temporal positional table has "
                f"max_tokens={self.max_tokens} rows; use shorter epochs or a larger max_tokens"
            )
        if self.seq_len < 1 or self.num_classes < 2 or self.num_channels < 1:
            raise ConfigError("seq_len, num_channels must be >= 1 and num_classes >= 2")

    @property
    def front_end_layers(self) -> tuple[tuple[int, int, int], ...]:
        """(kernel, stride, padding) of conv1, pool1, conv2 and pool2, in order."""
        return (
            (self.conv1_kernel, self.conv1_stride, 0),
            (self.pool1, self.pool1, 0),
            (self.conv2_kernel, 1, self.conv2_padding),
            (self.pool2, self.pool2, 0),
        )

    @property
    def n_tokens(self) -> int:
        """Time tokens per epoch after the CNN front end (20 for the seed's 3840 samples)."""
        length = self.time_steps
        for kernel, stride, padding in self.front_end_layers:
            length = (length + 2 * padding - kernel) // stride + 1
        return length

    def to_dict(self) -> dict:
        """Plain-type dictionary (for checkpoints); :meth:`from_dict` reads it back."""
        data = dataclasses.asdict(self)
        data.pop("epoch_seconds")
        data["cnn_channels"] = list(self.cnn_channels)
        data["class_names"] = list(self.class_names)
        data["channel_names"] = list(self.channel_names)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build a config from :meth:`to_dict` output, ignoring derived and unknown keys."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names})


# --------------------------------------------------------------------------------------------
# Token -> time mapping
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenTimes:
    """Where each time token of an epoch sits, in seconds from the epoch's start.

    ``start_s``/``end_s`` are the token's step (tokens tile the epoch); ``rf_start_s``/``rf_end_s``
    its receptive field (wider, overlapping its neighbours, clipped to the epoch) and ``centre_s``
    the receptive field's centre.
    """

    start_s: np.ndarray  # (N,)
    end_s: np.ndarray  # (N,)
    centre_s: np.ndarray  # (N,)
    rf_start_s: np.ndarray  # (N,)
    rf_end_s: np.ndarray  # (N,)
    epoch_seconds: float

    @property
    def n_tokens(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def edges_s(self) -> np.ndarray:
        """Token step boundaries, ``(N + 1,)``."""
        return np.append(self.start_s, self.end_s[-1])

    @classmethod
    def from_config(cls, config: ModelConfig) -> TokenTimes:
        """Derive the mapping from the front end's kernel/stride/padding arithmetic.

        Examples
        --------
        >>> tt = TokenTimes.from_config(ModelConfig())
        >>> float(tt.end_s[0]), round(float(tt.rf_end_s[5] - tt.rf_start_s[5]), 2)
        (1.5, 4.47)
        """
        n = config.n_tokens
        first = np.arange(n, dtype=np.float64)  # (N,) first input index of each token, per layer
        last = first.copy()
        jump = 1
        for kernel, stride, padding in reversed(config.front_end_layers):
            first = first * stride - padding
            last = last * stride - padding + kernel - 1
            jump *= stride
        fs = config.sfreq_hz
        start = np.arange(n) * jump / fs
        end = np.minimum((np.arange(n) + 1) * jump, config.time_steps) / fs
        return cls(
            start_s=start,
            end_s=end,
            centre_s=(first + last + 1) / 2 / fs,
            rf_start_s=np.clip(first, 0, config.time_steps) / fs,
            rf_end_s=np.clip(last + 1, 0, config.time_steps) / fs,
            epoch_seconds=config.epoch_seconds,
        )


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------
def attention_weights(q: Tensor, k: Tensor) -> Tensor:
    """Scaled dot-product attention weights ``softmax(q kᵀ / √d)``.

    Parameters
    ----------
    q, k : Tensor
        ``(..., L, d)`` queries and keys.

    Returns
    -------
    Tensor
        ``(..., L, L)``; each row sums to 1.

    Examples
    --------
    >>> w = attention_weights(torch.randn(2, 5, 4), torch.randn(2, 5, 4))
    >>> torch.allclose(w.sum(-1), torch.ones(2, 5))
    True
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L, L)
    return scores.softmax(dim=-1)


class SelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter names and arithmetic."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        n, length, d = x.shape  # (N, L, d)
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (N, L, 3d)
        qkv = qkv.view(n, length, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (N, H, L, d/H) each
        p_drop = self.dropout if self.training else 0.0
        if need_weights:
            weights = attention_weights(q, k)  # (N, H, L, L)
            out = F.dropout(weights, p_drop, self.training) @ v  # (N, H, L, d/H)
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p_drop)  # (N, H, L, d/H)
        out = out.transpose(1, 2).reshape(n, length, d)  # (N, L, d)
        return self.out_proj(out), weights


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (GELU), keyed like ``nn.TransformerEncoderLayer``."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = SelfAttention(d_model, n_heads, dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        attn, weights = self.self_attn(x, need_weights)  # (N, L, d), (N, H, L, L) | None
        x = self.norm1(x + self.dropout1(attn))  # (N, L, d)
        ff = self.linear2(self.dropout(F.gelu(self.linear1(x))))  # (N, L, d)
        return self.norm2(x + self.dropout2(ff)), weights


class EncoderStack(nn.Module):
    """A stack of encoder layers (the seed's ``transformer`` attribute with its ``layers``)."""

    def __init__(self, n_layers: int, d_model: int, n_heads: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, dim_feedforward, dropout) for _ in range(n_layers)
        )

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, list[Tensor]]:
        weights = []
        for layer in self.layers:
            x, w = layer(x, need_weights)  # (N, L, d), (N, H, L, L) | None
            if need_weights:
                weights.append(w)
        return x, weights


def sinusoidal_table(length: int, d_model: int) -> Tensor:
    """Fixed positional table ``(1, length, d_model)``: even columns sin, odd columns cos."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: d_model // 2])
    return table.unsqueeze(0)


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table (buffer ``pe``), then dropout."""

    def __init__(self, d_model: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(x + self.pe[:, : x.shape[1]])  # (N, L, d)


class SequenceEncoder(nn.Module):
    """Positional encoding + encoder stack: the seed's temporal and inter-epoch encoders."""

    def __init__(self, d_model: int, max_len: int, n_layers: int, n_heads: int, dim_feedforward: int,
                 dropout: float) -> None:
        super().__init__()
        self.pos_encoder = PositionalEncoding(d_model, max_len, dropout)
        self.transformer = EncoderStack(n_layers, d_model, n_heads, dim_feedforward, dropout)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, list[Tensor]]:
        return self.transformer(self.pos_encoder(x), need_weights)


class ChannelFusion(nn.Module):
    """Attention across the channel summaries of one epoch.

    The seed normalises ``attn_out + dropout(attn_out)`` — the attention output added to itself,
    not to its input. This is reproduced exactly: changing it would change every old prediction.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.channel_attention = SelfAttention(d_model, n_heads, dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        attn, weights = self.channel_attention(x, need_weights)  # (N, C, d), (N, H, C, C) | None
        return self.norm(attn + self.dropout(attn)), weights


# --------------------------------------------------------------------------------------------
# CNN front end
# --------------------------------------------------------------------------------------------
def _fold_batchnorm(weight: Tensor, bias: Tensor, bn: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """Conv weight/bias with an eval-mode BatchNorm folded in (weight's first dim = out channels)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (out,)
    folded_w = weight * scale.view(-1, *([1] * (weight.dim() - 1)))
    folded_b = (bias - bn.running_mean) * scale + bn.bias
    return folded_w, folded_b


class EpochCNN(nn.Module):
    """One channel's front end: conv1-BN-GELU-pool, conv2-BN-GELU-pool → ``(N, n_tokens, width)``.

    In training mode it runs as written (BatchNorm uses batch statistics). In eval mode the
    BatchNorms are folded into the convolutions and both convolutions run as one matrix product
    over all epochs (unfold + matmul), which is several times faster than ``conv1d`` on CPU.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        width1, width2 = config.cnn_channels
        self.config = config
        self.conv1 = nn.Conv1d(1, width1, config.conv1_kernel, stride=config.conv1_stride)
        self.bn1 = nn.BatchNorm1d(width1)
        self.conv2 = nn.Conv1d(width1, width2, config.conv2_kernel, padding=config.conv2_padding)
        self.bn2 = nn.BatchNorm1d(width2)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return self._forward_reference(x)
        return self._forward_folded(x)

    def _forward_reference(self, x: Tensor) -> Tensor:
        cfg = self.config
        h = F.gelu(self.bn1(self.conv1(x.unsqueeze(1))))  # (N, w1, L1)
        h = F.max_pool1d(h, cfg.pool1)  # (N, w1, L1 / pool1)
        h = F.gelu(self.bn2(self.conv2(h)))  # (N, w2, L2)
        h = F.max_pool1d(h, cfg.pool2)  # (N, w2, n_tokens)
        return h.transpose(1, 2)  # (N, n_tokens, w2)

    def _forward_folded(self, x: Tensor) -> Tensor:
        cfg = self.config
        n = x.shape[0]
        w1, b1 = _fold_batchnorm(self.conv1.weight, self.conv1.bias, self.bn1)  # (w1, 1, k1), (w1,)
        w2, b2 = _fold_batchnorm(self.conv2.weight, self.conv2.bias, self.bn2)  # (w2, w1, k2), (w2,)
        frames = x.unfold(-1, cfg.conv1_kernel, cfg.conv1_stride)  # (N, L1, k1)
        h = F.gelu(torch.addmm(b1, frames.reshape(-1, cfg.conv1_kernel), w1.flatten(1).t()))  # (N·L1, w1)
        h = h.view(n, -1, w1.shape[0])  # (N, L1, w1)
        pooled_len = h.shape[1] // cfg.pool1
        h = h[:, : pooled_len * cfg.pool1].view(n, pooled_len, cfg.pool1, -1).amax(2)  # (N, P1, w1)
        h = F.pad(h, (0, 0, cfg.conv2_padding, cfg.conv2_padding))  # (N, P1 + 2·pad, w1)
        frames = h.unfold(1, cfg.conv2_kernel, 1)  # (N, L2, w1, k2)
        length2 = frames.shape[1]
        h = torch.addmm(b2, frames.reshape(n * length2, -1), w2.flatten(1).t())  # (N·L2, w2)
        h = F.gelu(h).view(n, length2, -1)  # (N, L2, w2)
        tokens = length2 // cfg.pool2
        return h[:, : tokens * cfg.pool2].view(n, tokens, cfg.pool2, -1).amax(2)  # (N, n_tokens, w2)


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


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochEncoding:
    """What :meth:`MesaTransformer.encode_epochs` gives: each epoch's vector before the inter-epoch
    encoder, and (when asked for) the per-epoch attention weights of that pass."""

    vectors: Tensor  # (B, S, d)
    temporal: list[list[Tensor]] | None  # per channel, per layer: (BS, H_t, N, N)
    channel: Tensor | None  # (BS, H_c, C, C)


class MesaTransformer(nn.Module):
    """The seed's hierarchical sleep-staging transformer, computed batched.

    Parameters
    ----------
    config : ModelConfig
        Sizes and names; see :class:`ModelConfig`.

    Examples
    --------
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> out = model(torch.randn(2, 20, 3, 3840))
    >>> tuple(out["probs"].shape)
    (2, 20, 6)
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ModelConfig()
        d = cfg.d_model
        self.channel_cnns = nn.ModuleList(EpochCNN(cfg) for _ in range(cfg.num_channels))
        self.channel_projections = nn.ModuleList(
            nn.Linear(cfg.cnn_channels[1], d) for _ in range(cfg.num_channels)
        )
        self.temporal_encoders = nn.ModuleList(
            SequenceEncoder(d, cfg.max_tokens, cfg.temporal_layers, cfg.temporal_heads,
                            cfg.dim_feedforward, cfg.dropout)
            for _ in range(cfg.num_channels)
        )
        self.channel_fusion = ChannelFusion(d, cfg.channel_heads, cfg.dropout)
        self.epoch_projection = nn.Linear(cfg.num_channels * d, d)
        self.inter_epoch_transformer = SequenceEncoder(
            d, cfg.seq_len, cfg.epoch_layers, cfg.epoch_heads, cfg.dim_feedforward, cfg.dropout
        )
        self.classifier = nn.Sequential(
            nn.Linear(d, cfg.classifier_hidden),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.classifier_hidden, cfg.num_classes),
        )
        self.token_times = TokenTimes.from_config(cfg)

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` is a finite ``(B, S, C, T)`` batch this model reads."""
        cfg = self.config
        if not isinstance(x, Tensor):
            raise ConfigError(f"features must be a torch.Tensor, not {type(x).__name__}")
        if x.dim() != 4:
            raise ConfigError(
                f"features must have shape (batch, seq_len, channels, time_steps); got {tuple(x.shape)} "
                f"— add the missing axes, e.g. x.unsqueeze(0) for a single sequence"
            )
        _, seq, chans, steps = x.shape
        if chans != cfg.num_channels:
            raise ConfigError(
                f"features have {chans} channels but the model reads num_channels={cfg.num_channels} "
                f"({', '.join(cfg.channel_names)}); pass features[:, :, :{cfg.num_channels}] or a matching model"
            )
        if steps != cfg.time_steps:
            raise ConfigError(
                f"epochs have {steps} samples but the model expects time_steps={cfg.time_steps} "
                f"({cfg.epoch_seconds:g} s at {cfg.sfreq_hz:g} Hz); resample the data to {cfg.sfreq_hz:g} Hz"
            )
        if not 1 <= seq <= cfg.seq_len:
            raise ConfigError(
                f"sequences have {seq} epochs but the model takes 1 to seq_len={cfg.seq_len}; "
                "cut the night into windows of seq_len epochs"
            )
        if not torch.isfinite(x).all():
            raise DataError("features contain NaN or infinite values; clean or drop those epochs first")

    def encode_epochs(self, x: Tensor, return_attention: bool = False) -> EpochEncoding:
        """Each epoch of ``x`` ``(B, S, C, T)`` on its own: CNN, temporal encoders, channel fusion.

        No epoch sees another here, so the vectors of a changed epoch can be recomputed alone and
        put back among the others (:meth:`classify_epochs` then gives what :meth:`forward` would).

        Examples
        --------
        >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
        ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
        >>> x = torch.randn(1, 20, 3, 3840)
        >>> enc = model.encode_epochs(x)
        >>> torch.allclose(model.classify_epochs(enc.vectors)[0], model(x).logits)
        True
        """
        self.check_input(x)
        batch, seq, chans, steps = x.shape
        epochs = x.reshape(batch * seq, chans, steps)  # (BS, C, T)
        summaries, temporal_layers = [], []
        for c in range(chans):
            tokens = self.channel_cnns[c](epochs[:, c])  # (BS, N, w2)
            tokens = self.channel_projections[c](tokens)  # (BS, N, d)
            tokens, weights = self.temporal_encoders[c](tokens, return_attention)  # (BS, N, d)
            summaries.append(tokens.mean(dim=1))  # (BS, d)
            temporal_layers.append(weights)
        fused, channel_w = self.channel_fusion(torch.stack(summaries, dim=1), return_attention)  # (BS, C, d)
        vectors = self.epoch_projection(fused.reshape(batch, seq, -1))  # (B, S, d)
        return EpochEncoding(vectors, temporal_layers if return_attention else None, channel_w)

    def classify_epochs(self, vectors: Tensor, return_attention: bool = False) -> tuple[Tensor, list[Tensor]]:
        """Logits ``(B, S, K)`` from the epoch vectors ``(B, S, d)``: inter-epoch encoder, classifier.

        Returns the logits and, with ``return_attention``, the inter-epoch weights of each layer
        ``(B, H, S, S)`` (an empty list otherwise).
        """
        context, epoch_w = self.inter_epoch_transformer(vectors, return_attention)  # (B, S, d)
        return self.classifier(context), epoch_w  # (B, S, K)

    def forward(self, x: Tensor, return_attention: bool = False) -> ModelOutput:
        """Stage logits for every epoch of ``x`` ``(B, S, C, T)``; with ``return_attention`` every map."""
        encoded = self.encode_epochs(x, return_attention)  # checks x
        batch, seq, chans, _ = x.shape
        logits, epoch_w = self.classify_epochs(encoded.vectors, return_attention)  # (B, S, K)
        probs = logits.softmax(dim=-1)  # (B, S, K)
        uncertainty = -(probs * torch.log(probs + ENTROPY_EPS)).sum(dim=-1)  # (B, S)
        attention = None
        if return_attention:
            temporal = [torch.stack(w, dim=1) for w in encoded.temporal]  # C × (BS, L_t, H_t, N, N)
            n_tok = temporal[0].shape[-1]
            attention = AttentionMaps(
                temporal=torch.stack(temporal, dim=1).view(
                    batch, seq, chans, self.config.temporal_layers, self.config.temporal_heads, n_tok, n_tok
                ),  # (B, S, C, L_t, H_t, N, N)
                channel=encoded.channel.view(batch, seq, self.config.channel_heads, chans, chans),  # (B, S, H, C, C)
                epoch=torch.stack(epoch_w, dim=1),  # (B, L_e, H_e, S, S)
                token_times=self.token_times,
                layers={"temporal": encoded.temporal, "channel": encoded.channel, "epoch": epoch_w},
            )
        return ModelOutput(logits=logits, probs=probs, uncertainty=uncertainty, attention=attention)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
