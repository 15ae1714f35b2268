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

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import ENTROPY_EPS
from mesa_report.model.config import ModelConfig, TokenTimes
from mesa_report.model.layers import ChannelFusion, EpochCNN, SequenceEncoder
from mesa_report.model.outputs import AttentionMaps, ModelOutput


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
