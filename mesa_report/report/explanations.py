"""The report's section on the explanations themselves: what the model relies on over the night,
and how far its attention maps can be trusted for these samples (format-neutral data).

Examples
--------
>>> # section = explanation_section(result, night, model, first_epochs=[0, 40, 120])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mesa_report.explain.faithfulness import Samples, deletion_test, reinitialised_copy, sanity_check
from mesa_report.inference.night import NightInference
from mesa_report.model.network import MesaTransformer
from mesa_report.core.vocabulary import channel_label
from mesa_report.data.store import Night
from mesa_report.explain.summaries import summarise_night

TRUST_METHODS = ("attention", "rollout")
"""Methods measured in every report (the gradient method costs a backward pass per epoch)."""


@dataclass(frozen=True)
class ChannelRow:
    stage: str
    epochs: int
    shares: tuple[float, ...]  # per channel, 0-1


@dataclass(frozen=True)
class TrustRow:
    method: str
    drop_top: float  # mean drop of the predicted class's probability, top 10 % tokens deleted
    drop_random: float  # the same for 10 % random tokens
    ratio: float
    sanity_rho: float  # rank correlation with a re-initialised model's map (low is good)


@dataclass(frozen=True)
class ExplanationSection:
    channel_names: tuple[str, ...]
    channel_rows: tuple[ChannelRow, ...]
    share_past: float
    share_self: float
    share_future: float
    look_back_epochs: float
    look_ahead_epochs: float
    trust_rows: tuple[TrustRow, ...]
    n_samples: int


def explanation_section(result: NightInference, night: Night, model: MesaTransformer,
                        first_epochs: Sequence[int]) -> ExplanationSection:
    """Rollout summaries of the night, and a short deletion test + sanity check on the given samples."""
    summary = summarise_night(result, "rollout")
    rows = []
    for k, name in enumerate(result.class_names):
        count = int(np.count_nonzero(result.labels == k))
        if count:
            rows.append(ChannelRow(name, count, tuple(float(v) for v in summary.channel_by_stage[k])))
    trust = []
    if first_epochs:
        seq = result.seq_len
        device = next(model.parameters()).device
        features = torch.from_numpy(np.stack([night.epochs(f, f + seq, channels=len(result.channel_names))
                                              for f in first_epochs])).to(device)
        samples = Samples(features, np.stack([result.labels[f:f + seq] for f in first_epochs]),
                          [result.mesaid] * len(first_epochs), list(first_epochs))
        with torch.inference_mode():  # one pass of each model for both methods
            maps = model(features, return_attention=True).attention
            reference_maps = reinitialised_copy(model)(features, return_attention=True).attention
        for method in TRUST_METHODS:
            deletion = deletion_test(model, samples, method, target_epochs=(2, seq // 2, seq - 3),
                                     fractions=(0.1,), n_random=2, maps=maps)
            trust.append(TrustRow(method, float(deletion.drop_relevant[0]), float(deletion.drop_random[0]),
                                  deletion.ratio_at(0.1),
                                  sanity_check(model, samples, method, target_epochs=(seq // 2,), maps=maps,
                                               reference_maps=reference_maps)))
    return ExplanationSection(
        channel_names=tuple(channel_label(c) for c in result.channel_names), channel_rows=tuple(rows),
        share_past=summary.share_past, share_self=summary.share_self, share_future=summary.share_future,
        look_back_epochs=summary.mean_look_back_epochs, look_ahead_epochs=summary.mean_look_ahead_epochs,
        trust_rows=tuple(trust), n_samples=len(first_epochs),
    )
