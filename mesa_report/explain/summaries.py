"""Per-night explanation summaries: which channels and which neighbouring epochs the model relies on.

Computed from a :class:`~mesa_report.inference.night.NightInference` (no model needed) with the
``attention`` or ``rollout`` method, for every epoch of the night, then averaged per true stage and
per confusion-matrix cell. Each epoch is summarised from the sample its prediction came from.

Examples
--------
>>> # summary = summarise_night(infer_night(model, night), method="rollout")
>>> # summary.channel_by_stage  -> (K, C) mean channel share per true stage
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.explain.methods import attention_rollout, raw_attention
from mesa_report.inference.night import NightInference
from mesa_report.model.outputs import AttentionMaps

SUMMARY_METHODS = ("attention", "rollout")


@dataclass
class NightSummary:
    """Relevance summaries of one night (``E`` epochs, ``C`` channels, ``K`` stages, ``S`` context)."""

    method: str
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    offsets: np.ndarray  # (2S-1,) key epoch minus query epoch, -(S-1) … S-1
    channel_relevance: np.ndarray  # (E, C) share of each channel in the epoch's vector
    offset_relevance: np.ndarray  # (E, 2S-1) share of each neighbour offset in the epoch's context; NaN = outside
    channel_by_stage: np.ndarray  # (K, C) mean over scored epochs of each true stage (NaN if none)
    offset_by_stage: np.ndarray  # (K, 2S-1)
    channel_by_cell: np.ndarray  # (K, K, C) mean per (true, predicted) cell
    cell_counts: np.ndarray  # (K, K) epochs per cell
    uncertainty: np.ndarray  # (E,) prediction entropy, nats
    hypnodensity: np.ndarray  # (E, K) stage probabilities

    @property
    def share_past(self) -> float:
        """Mean share of context relevance on earlier epochs."""
        return float(np.nanmean(np.nansum(self.offset_relevance[:, self.offsets < 0], axis=1)))

    @property
    def share_self(self) -> float:
        """Mean share of context relevance on the epoch itself."""
        return float(np.nanmean(self.offset_relevance[:, self.offsets == 0]))

    @property
    def share_future(self) -> float:
        """Mean share of context relevance on later epochs."""
        return float(np.nanmean(np.nansum(self.offset_relevance[:, self.offsets > 0], axis=1)))

    @property
    def mean_look_back_epochs(self) -> float:
        """Relevance-weighted mean distance (epochs) of the earlier epochs used."""
        return _mean_distance(self.offset_relevance, self.offsets, self.offsets < 0)

    @property
    def mean_look_ahead_epochs(self) -> float:
        """Relevance-weighted mean distance (epochs) of the later epochs used."""
        return _mean_distance(self.offset_relevance, self.offsets, self.offsets > 0)

    def channel_means(self) -> dict[str, float]:
        """Mean share of each channel over the night."""
        return {name: float(v) for name, v in zip(self.channel_names, self.channel_relevance.mean(axis=0))}


def _mean_distance(rel: np.ndarray, offsets: np.ndarray, side: np.ndarray) -> float:
    weights = np.nan_to_num(rel[:, side])  # (E, n)
    total = weights.sum()
    return float((weights * np.abs(offsets[side])).sum() / total) if total > 0 else float("nan")


def sample_relevance(result: NightInference, samples: slice, method: str):
    """Relevance of ``method`` for a range of samples (float32 maps rebuilt from storage)."""
    if method not in SUMMARY_METHODS:
        raise ConfigError(f"night summaries use {' or '.join(SUMMARY_METHODS)}, not {method!r}: the gradient "
                          "method needs one backward pass per epoch and is shown per selected epoch instead")
    maps = AttentionMaps(
        temporal=torch.from_numpy(result.temporal[samples].astype(np.float32)),
        channel=torch.from_numpy(result.channel[samples].astype(np.float32)),
        epoch=torch.from_numpy(result.epoch[samples].astype(np.float32)),
        token_times=result.token_times,
    )
    return raw_attention(maps) if method == "attention" else attention_rollout(maps)


def _offset_table(epoch_rel: np.ndarray) -> np.ndarray:
    """``(W, S, S)`` query × key relevance → ``(W, S, 2S-1)`` by offset (NaN outside the sequence)."""
    w, s, _ = epoch_rel.shape
    table = np.full((w, s, 2 * s - 1), np.nan, dtype=np.float32)
    query = np.arange(s)[:, None]
    key = np.arange(s)[None, :]
    table[:, np.broadcast_to(query, (s, s)), key - query + s - 1] = epoch_rel
    return table


def summarise_night(result: NightInference, method: str = "rollout", *, chunk: int = 8) -> NightSummary:
    """Channel and neighbour-epoch relevance for every epoch, with per-stage and per-cell means."""
    seq = result.seq_len
    owner, position = result.epoch_owner()
    channel_w, offset_w = [], []
    for begin in range(0, result.n_samples, chunk):
        rel = sample_relevance(result, slice(begin, begin + chunk), method)
        shares = rel.channel.mean(dim=-2)  # (w, S, C): mean over query channels
        channel_w.append((shares / shares.sum(-1, keepdim=True)).numpy())
        rows = rel.epoch / rel.epoch.sum(-1, keepdim=True)  # (w, S, S)
        offset_w.append(_offset_table(rows.numpy()))
    channel_all = np.concatenate(channel_w)  # (W, S, C)
    offset_all = np.concatenate(offset_w)  # (W, S, 2S-1)
    channel_relevance = channel_all[owner, position]  # (E, C)
    offset_relevance = offset_all[owner, position]  # (E, 2S-1)
    k = len(result.class_names)
    labels, pred = result.labels, result.pred
    channel_by_stage = np.full((k, channel_relevance.shape[1]), np.nan)
    offset_by_stage = np.full((k, offset_relevance.shape[1]), np.nan)
    channel_by_cell = np.full((k, k, channel_relevance.shape[1]), np.nan)
    cell_counts = np.zeros((k, k), dtype=np.int64)
    for stage in range(k):
        mask = labels == stage
        if mask.any():
            channel_by_stage[stage] = channel_relevance[mask].mean(axis=0)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an offset no epoch of this stage reaches
                offset_by_stage[stage] = np.nanmean(offset_relevance[mask], axis=0)
        for predicted in range(k):
            cell = mask & (pred == predicted)
            cell_counts[stage, predicted] = int(cell.sum())
            if cell.any():
                channel_by_cell[stage, predicted] = channel_relevance[cell].mean(axis=0)
    return NightSummary(
        method=method, class_names=result.class_names, channel_names=result.channel_names,
        offsets=np.arange(-(seq - 1), seq), channel_relevance=channel_relevance,
        offset_relevance=offset_relevance, channel_by_stage=channel_by_stage, offset_by_stage=offset_by_stage,
        channel_by_cell=channel_by_cell, cell_counts=cell_counts, uncertainty=result.uncertainty,
        hypnodensity=result.probs,
    )
