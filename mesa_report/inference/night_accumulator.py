"""A night's outputs gathered as its batches come back, and turned into its result when complete."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from mesa_report.data.store import Night
from mesa_report.inference.batch_loader import OpenedNight
from mesa_report.inference.night import NightInference, _entropy, epoch_owner
from mesa_report.inference.stored import NightResult
from mesa_report.model.network import MesaTransformer

DetailPicker = Callable[[NightInference], Sequence[int]]
"""Chooses the samples of a night whose temporal maps are kept (e.g. those a report details).
It is called with the night's result before any temporal map is attached."""

MAP_DTYPE = torch.float16
"""Attention maps are kept in float16 (weights in 0-1)."""


@dataclass
class NightAccumulator:
    """Outputs of a night's samples as their batches come back."""

    night: Night
    starts: np.ndarray  # (W,)
    sample_probs: np.ndarray  # (W, S, K) float32
    channel: np.ndarray  # (W, S, H_c, C, C) float16
    epoch: np.ndarray  # (W, L_e, H_e, S, S) float16
    temporal: np.ndarray | None  # (W, S, C, L_t, H_t, N, N) float16 when every map is kept
    on_device: dict[int, torch.Tensor] = field(default_factory=dict)  # sample -> its temporal maps
    remaining: int = 0

    def add(self, samples: np.ndarray, outputs: dict[str, np.ndarray], device_temporal) -> None:
        self.sample_probs[samples] = outputs["probs"]
        self.channel[samples] = outputs["channel"]
        self.epoch[samples] = outputs["epoch"]
        if self.temporal is not None:
            self.temporal[samples] = outputs["temporal"]
        if device_temporal is not None:
            self.on_device.update(zip(samples.tolist(), device_temporal.unbind(0)))
        self.remaining -= len(samples)


def new_accumulator(opened: OpenedNight, model: MesaTransformer, keep_full: bool) -> NightAccumulator:
    cfg = model.config
    n, seq, chans = len(opened.starts), cfg.seq_len, cfg.num_channels
    return NightAccumulator(
        night=opened.night, starts=opened.starts,
        sample_probs=np.empty((n, seq, cfg.num_classes), dtype=np.float32),
        channel=np.empty((n, seq, cfg.channel_heads, chans, chans), dtype=np.float16),
        epoch=np.empty((n, cfg.epoch_layers, cfg.epoch_heads, seq, seq), dtype=np.float16),
        temporal=_temporal_maps(model, n) if keep_full else None,
        remaining=n,
    )


def _temporal_maps(model: MesaTransformer, n_samples: int) -> np.ndarray:
    """Room for the temporal maps of ``n_samples`` samples, ``(n, S, C, L_t, H_t, N, N)`` float16."""
    cfg = model.config
    return np.empty((n_samples, cfg.seq_len, cfg.num_channels, cfg.temporal_layers, cfg.temporal_heads,
                     cfg.n_tokens, cfg.n_tokens), dtype=np.float16)


def finish_night(acc: NightAccumulator, model: MesaTransformer, keep_full: bool, settings: dict,
            detail_samples: DetailPicker | None) -> NightResult:
    cfg, night = model.config, acc.night
    n_epochs = night.n_epochs
    owner, position = epoch_owner(acc.starts, cfg.seq_len, n_epochs)
    probs = acc.sample_probs[owner, position]  # (E, K): each epoch from the first sample holding it
    stored = NightInference(
        mesaid=int(night.mesaid), class_names=tuple(cfg.class_names),
        channel_names=tuple(night.channel_names[: cfg.num_channels]), sfreq_hz=night.sfreq_hz,
        epoch_seconds=night.epoch_seconds, seq_len=cfg.seq_len,
        labels=np.asarray(night.labels, dtype=np.int64), probs=probs, uncertainty=_entropy(probs),
        sample_starts=acc.starts, sample_probs=acc.sample_probs,
        temporal=acc.temporal if keep_full else _temporal_maps(model, 0),
        channel=acc.channel, epoch=acc.epoch,
        token_times=model.token_times, settings=dict(settings),
    )
    if keep_full:
        return NightResult.from_inference(stored)
    kept = np.empty(0, dtype=np.int64)
    if detail_samples is not None:
        kept = np.unique(np.asarray(list(detail_samples(stored)), dtype=np.int64))  # (D,) ascending
        if kept.size:
            with torch.inference_mode():
                maps = torch.stack([acc.on_device[int(k)] for k in kept]).cpu().numpy()  # (D, …)
            stored = dataclasses.replace(stored, temporal=maps)
    acc.on_device.clear()
    return NightResult(stored, kept)
