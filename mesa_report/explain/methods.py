"""Explanation methods over the model's attention, and how they combine through the hierarchy.

Three methods, each a function returning a :class:`Relevance` of the same shapes, so every chart
takes any of them:

``attention``
    Raw attention of one layer, one head or the mean of heads.
``rollout``
    Attention rollout (Abnar & Zuidema, 2020) across the layers of a level: each layer's
    head-averaged attention mixed with the identity for the residual path, ``0.5·A + 0.5·I``, and
    the layers multiplied. Rows stay distributions.
``gradient``
    Gradient-weighted attention in the spirit of Chefer et al. (2021): per layer the positive part
    of attention × its gradient with respect to one epoch's class log-probability, averaged over
    heads, then accumulated across layers as ``R ← R + Ā·R`` from the identity, and rows
    normalised.

A time token's relevance for the prediction of one epoch combines the three levels
(:func:`token_relevance`): how much the target epoch draws on each epoch of the sequence
(inter-epoch), how much each epoch's vector draws on each channel (channel fusion), and how much
each channel summary — the mean of its tokens — draws on each token (temporal).

Examples
--------
>>> import torch
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
>>> with torch.no_grad():
...     maps = model(torch.randn(1, 20, 3, 3840), return_attention=True).attention
>>> rel = attention_rollout(maps)
>>> tuple(rel.temporal.shape), tuple(token_relevance(rel, target_epoch=4).shape)
((1, 20, 3, 20, 20), (1, 20, 3, 20))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mesa_report.core.errors import ConfigError
from mesa_report.model.outputs import AttentionMaps
from mesa_report.model.network import MesaTransformer

METHODS = ("attention", "rollout", "gradient")
"""Names accepted by ``--method`` and the app's method picker."""


@dataclass
class Relevance:
    """Relevance matrices of one method, shaped like head-averaged attention.

    Attributes
    ----------
    temporal : Tensor ``(B, S, C, N, N)``
        Per epoch and channel, query token × key token.
    channel : Tensor ``(B, S, C, C)``
        Per epoch, query channel × key channel.
    epoch : Tensor ``(B, S, S)``
        Query epoch × key epoch.
    method : str
        Which method made it.
    """

    temporal: Tensor
    channel: Tensor
    epoch: Tensor
    method: str


def _rows_normalised(x: Tensor) -> Tensor:
    total = x.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, x / total.clamp_min(1e-12), torch.zeros_like(x))


def rollout(layers: Tensor, layer_axis: int) -> Tensor:
    """Residual-aware rollout of head-averaged attention stacked along ``layer_axis``.

    ``layers`` has shape ``(..., L, ..., N, N)`` with the layers at ``layer_axis`` (heads already
    averaged); the result drops that axis. A single layer gives ``0.5·A + 0.5·I``.

    Examples
    --------
    >>> a = torch.softmax(torch.randn(1, 4, 4), -1)
    >>> torch.allclose(rollout(a, 0), 0.5 * a[0] + 0.5 * torch.eye(4))
    True
    """
    layers = layers.movedim(layer_axis, 0).float()  # (L, ..., N, N)
    eye = torch.eye(layers.shape[-1], dtype=layers.dtype, device=layers.device)
    result = None
    for a in layers:
        mixed = 0.5 * a + 0.5 * eye  # residual path: rows still sum to 1
        result = mixed if result is None else mixed @ result
    return result


def raw_attention(maps: AttentionMaps, layer: int = -1, head: int | None = None) -> Relevance:
    """One layer's attention (one head, or the mean of heads), at every level.

    The channel level has a single layer, so ``layer`` applies to the temporal and inter-epoch
    levels only.
    """
    return Relevance(temporal=maps.temporal_map(layer, head).float(), channel=maps.channel_map(head).float(),
                     epoch=maps.epoch_map(layer, head).float(), method="attention")


def attention_rollout(maps: AttentionMaps) -> Relevance:
    """Attention rollout across the layers of each level (heads averaged)."""
    temporal = rollout(maps.temporal.float().mean(dim=4), layer_axis=3)  # (B, S, C, N, N)
    channel = 0.5 * maps.channel.float().mean(dim=2) + 0.5 * torch.eye(
        maps.channel.shape[-1], device=maps.channel.device)  # (B, S, C, C)
    epoch = rollout(maps.epoch.float().mean(dim=2), layer_axis=1)  # (B, S, S)
    return Relevance(temporal=temporal, channel=channel, epoch=epoch, method="rollout")


def _gradient_rollout(attn: Tensor, grad: Tensor, layer_axis: int, head_axis: int, residual: bool) -> Tensor:
    weighted = (attn.float() * grad.float()).clamp(min=0).mean(dim=head_axis)  # heads after layers: axis kept
    weighted = weighted.movedim(layer_axis, 0)  # (L, ..., N, N)
    eye = torch.eye(weighted.shape[-1], dtype=weighted.dtype, device=weighted.device)
    result = eye.expand_as(weighted[0]).clone()
    for a in weighted:
        result = result + a @ result
    if residual:
        return _rows_normalised(result)
    borne = result - eye  # (..., N, N) what reached the target through attention only
    batch_dims = tuple(range(1, borne.dim() - 1))  # every axis but the batch and the keys
    strongest = borne.sum(dim=-1).amax(dim=batch_dims, keepdim=True).unsqueeze(-1)  # (B, 1, ..., 1)
    return torch.where(strongest > 0, borne / strongest.clamp_min(1e-30), torch.zeros_like(borne))


def gradient_attention(maps: AttentionMaps, grads: AttentionMaps, *, residual: bool = True) -> Relevance:
    """Gradient-weighted attention from the maps and their gradients (see :func:`attention_gradients`).

    With ``residual`` (the default, Chefer et al.'s rule) the rollout starts from the identity,
    the residual path, and every row is a distribution. The gradients of a confident model are
    small, so these rows are close to the identity: a query draws almost only on itself. With
    ``residual=False`` the identity is left out and only what reached the explained epoch through
    attention is kept, every level scaled by one factor so that its strongest row sums to 1 (the
    weaker rows stay weaker); this is what the views show.

    Examples
    --------
    >>> from mesa_report.model.network import ModelConfig
    >>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
    ...                                     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
    >>> out, grads = attention_gradients(model, torch.randn(1, 20, 3, 3840), target_epoch=4)
    >>> rows = gradient_attention(out.attention, grads, residual=False).epoch[0].sum(-1)  # (S,)
    >>> round(float(rows.max()), 4), bool((rows <= 1 + 1e-6).all())
    (1.0, True)
    """
    kept = dict(residual=residual)
    temporal = _gradient_rollout(maps.temporal, grads.temporal, layer_axis=3, head_axis=4,
                                 **kept)  # (B, S, C, N, N)
    channel = _gradient_rollout(maps.channel.unsqueeze(2), grads.channel.unsqueeze(2), layer_axis=2,
                                head_axis=3, **kept)  # (B, S, C, C)
    epoch = _gradient_rollout(maps.epoch, grads.epoch, layer_axis=1, head_axis=2, **kept)  # (B, S, S)
    return Relevance(temporal=temporal, channel=channel, epoch=epoch, method="gradient")


def attention_gradients(model: MesaTransformer, features: Tensor, target_epoch: int,
                        target_class: Tensor | None = None):
    """Forward with capture, then the gradient of one epoch's class score w.r.t. every attention map.

    The score is the class's log-probability. The logit's gradient also carries what raises every
    class alike; on a near-certain model that part dominates and the maps rank tokens no better
    than chance (deletion test on the demo: 1.1× random with the logit, 16× with the
    log-probability).

    Parameters
    ----------
    model : MesaTransformer
    features : Tensor ``(B, S, C, T)``
    target_epoch : int
        Epoch of the sequence whose score is explained.
    target_class : Tensor ``(B,)``, optional
        Class per sequence; default: the predicted class of ``target_epoch``.

    Returns
    -------
    (ModelOutput, AttentionMaps)
        The forward's output (detached) and the gradients, laid out like its attention.
    """
    seq = features.shape[1]
    if not -seq <= target_epoch < seq:
        raise ConfigError(f"target_epoch={target_epoch} is outside the sequence of {seq} epochs")
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = model(features, return_attention=True)
            logits = out.logits[:, target_epoch]  # (B, K)
            cls = logits.argmax(-1) if target_class is None else target_class.to(logits.device).long()
            # the log-probability, not the logit: what sets the class apart from the others
            score = torch.log_softmax(logits, dim=-1).gather(1, cls[:, None]).sum()
            parts = out.attention.layers
            flat = [w for per_channel in parts["temporal"] for w in per_channel] + [parts["channel"]] + list(
                parts["epoch"])
            grads = torch.autograd.grad(score, flat)
    finally:
        model.train(was_training)
    maps = out.attention
    n_layers = len(parts["temporal"][0])
    n_chan = len(parts["temporal"])
    temporal = torch.stack([torch.stack(grads[c * n_layers:(c + 1) * n_layers], dim=1) for c in range(n_chan)],
                           dim=1).view_as(maps.temporal)
    channel = grads[n_chan * n_layers].view_as(maps.channel)
    epoch = torch.stack(grads[n_chan * n_layers + 1:], dim=1)
    detached = AttentionMaps(maps.temporal.detach(), maps.channel.detach(), maps.epoch.detach(), maps.token_times)
    out.attention = detached
    out.logits, out.probs, out.uncertainty = out.logits.detach(), out.probs.detach(), out.uncertainty.detach()
    return out, AttentionMaps(temporal, channel, epoch, maps.token_times)


def token_relevance(rel: Relevance, target_epoch: int) -> Tensor:
    """Relevance of every time token of every channel and epoch for one epoch's prediction.

    Combines the levels as a product of distributions: epoch ``s``'s share in the target's
    inter-epoch row, channel ``c``'s share in epoch ``s``'s channel fusion (mean over query
    channels, since all fused channels feed the epoch vector), and token ``j``'s share in channel
    ``c``'s summary (mean over query tokens, since the summary is their mean).

    Returns
    -------
    Tensor ``(B, S, C, N)`` summing to 1 over ``(S, C, N)`` for each sequence.
    """
    seq = rel.epoch.shape[-1]
    if not -seq <= target_epoch < seq:
        raise ConfigError(f"target_epoch={target_epoch} is outside the sequence of {seq} epochs")
    epoch_share = _rows_normalised(rel.epoch[:, target_epoch])  # (B, S)
    channel_share = _rows_normalised(rel.channel.mean(dim=-2))  # (B, S, C)
    token_share = _rows_normalised(rel.temporal.mean(dim=-2))  # (B, S, C, N)
    return epoch_share[:, :, None, None] * channel_share[..., None] * token_share


def explain(model: MesaTransformer, features: Tensor, method: str = "rollout", *, target_epoch: int = 0,
            target_class: Tensor | None = None, layer: int = -1, head: int | None = None,
            maps: AttentionMaps | None = None, residual: bool = True) -> Relevance:
    """Relevance of one method for a batch of sequences (the app, reports and CLI call this).

    ``maps`` may be passed for ``attention`` and ``rollout`` to avoid running the model again;
    ``gradient`` always runs a forward and a backward pass for ``target_epoch`` (``residual``:
    see :func:`gradient_attention`).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "gradient":
        out, grads = attention_gradients(model, features, target_epoch, target_class)
        return gradient_attention(out.attention, grads, residual=residual)
    if maps is None:
        with torch.inference_mode():
            maps = model(features, return_attention=True).attention
    return raw_attention(maps, layer, head) if method == "attention" else attention_rollout(maps)
