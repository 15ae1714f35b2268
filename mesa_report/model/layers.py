"""The MESA Transformer's building blocks: attention that can hand back its weights, encoders, the CNN.

Parameter names and the order of operations are the seed's, so its state dicts load unchanged.

Examples
--------
>>> import torch
>>> weights = attention_weights(torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4))
>>> tuple(weights.shape), bool(torch.allclose(weights.sum(-1), torch.ones(1, 2, 5)))
((1, 2, 5, 5), True)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mesa_report.model.config import ModelConfig

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


