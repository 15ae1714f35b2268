"""Running the model over nights: windows of one or many nights batched together, one result per night.

This is the one way a night goes through the model. :func:`infer_cohort` cuts every night into
its samples (:func:`mesa_report.inference.night.sample_starts`) and feeds them to the model in
batches that may hold windows of several nights, so short nights and the tail of each night never leave a batch half
empty. A background thread (:mod:`mesa_report.inference.batch_loader`) reads the next batch while the
model computes the current one; on CUDA that batch lands in pinned host memory and is copied to the
device on a stream of its own (:mod:`mesa_report.inference.device_transfer`), the model runs in bf16
autocast, and the outputs come back without stalling the next batch. On the CPU the same code runs
with plain tensors on all the cores torch is given. Each night's outputs are gathered by
:mod:`mesa_report.inference.night_accumulator`.

Each night comes back as a :class:`NightResult`: its per-epoch probabilities, predictions, the
channel and inter-epoch attention maps of every sample (what the summaries read) in float16,
and the temporal maps either of every sample (``keep_attention="full"``) or only of the samples
a report shows in detail (``"summary"``). :func:`infer_night` is the same call with one night
and every map kept. :mod:`mesa_report.explain.cohort_table` turns a result into one row of the
cohort table; :mod:`mesa_report.inference.service` serves results without computing a night twice.

Examples
--------
>>> import tempfile, numpy as np
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> from mesa_report.data.night_files import write_night
>>> from mesa_report.data.store import Night
>>> folder = tempfile.mkdtemp()
>>> nights = [Night(write_night(folder, k, np.random.randn(4, 30 * 3840).astype(np.float32),
...                             np.zeros(30, dtype=np.int64)), k, "0" * 30) for k in (1, 2)]
>>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
...     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
>>> results = list(infer_cohort(model, nights, batch_size=3))
>>> [(r.mesaid, r.stored.probs.shape, r.temporal_samples.tolist()) for r in results]
[(1, (30, 6), []), (2, (30, 6), [])]
>>> infer_night(model, nights[0]).temporal.shape[:2]
(2, 20)
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.store import Night
from mesa_report.inference.batch_loader import END, BatchLoader, OpenedNight, WindowBatch
from mesa_report.inference.device_transfer import DeviceTransfer, precision_of
from mesa_report.inference.night import NightInference, ProgressFn, check_night_fits
from mesa_report.inference.night_accumulator import (MAP_DTYPE, DetailPicker, NightAccumulator, finish_night,
                                                     new_accumulator)
from mesa_report.inference.stored import NightFailure, NightResult
from mesa_report.model.network import MesaTransformer

KEEP_ATTENTION = ("summary", "full")
"""What a cohort pass keeps of the temporal maps: those of the detailed samples, or all."""


def _check_options(batch_size: int, keep_attention: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
    if keep_attention not in KEEP_ATTENTION:
        raise ConfigError(f"keep_attention={keep_attention!r}: choose {' or '.join(KEEP_ATTENTION)}")


def _forward(model: MesaTransformer, transfer: DeviceTransfer, batch: WindowBatch, keep_full: bool,
             keep_on_device: bool):
    """One batch through the model; returns its host outputs (arriving), done event and the
    temporal maps left on the device."""
    device = transfer.device
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16,
                                                enabled=device.type == "cuda"):
        features = transfer.accept(batch.features, batch.ready).permute(0, 2, 1, 3)  # (B, S, C, T)
        out = model(features, return_attention=True)
        maps = out.attention
        outputs = {"probs": out.probs.float(),  # (B, S, K)
                   "channel": maps.channel.to(MAP_DTYPE),  # (B, S, H_c, C, C)
                   "epoch": maps.epoch.to(MAP_DTYPE)}  # (B, L_e, H_e, S, S)
        temporal = maps.temporal.to(MAP_DTYPE) if keep_full or keep_on_device else None  # (B, S, C, L, H, N, N)
        if keep_full:
            outputs["temporal"] = temporal
        host, done = transfer.download(outputs)
    return host, done, (temporal if keep_on_device else None)


def infer_cohort(model: MesaTransformer, nights: Iterable[Night], *, batch_size: int = 64,
                 keep_attention: str = "summary", detail_samples: DetailPicker | None = None,
                 progress: ProgressFn | None = None) -> Iterator[NightResult | NightFailure]:
    """Run the model over many nights, batching windows across nights; yield each night when done.

    Parameters
    ----------
    model : MesaTransformer
        In eval mode, on any device (CUDA runs in bf16 autocast with pinned-memory uploads).
    nights : iterable of Night
        Opened lazily, in order, by the loading thread (anything with :class:`Night`'s
        ``mesaid``, ``signal``, ``labels``, ``n_epochs``, ``channel_names``… will do).
    batch_size : int
        Windows of ``seq_len`` epochs per forward pass (from any nights).
    keep_attention : {"summary", "full"}
        ``"full"`` keeps every sample's temporal maps; ``"summary"`` keeps those of the samples
        ``detail_samples`` picks (none without it). Channel and inter-epoch maps are always kept.
    detail_samples : callable, optional
        ``detail_samples(result) -> sample indices``, called when a night is complete.
    progress : callable, optional
        ``progress(done, total)`` after each batch: samples computed, and samples of the nights
        opened so far (for one night, all of its samples).

    Yields
    ------
    NightResult or NightFailure
        One per night, in the order the nights finish (their order, failures as they are met).
        Probabilities equal :func:`mesa_report.inference.night.infer_night`'s for each night.

    Raises
    ------
    ConfigError
        For a bad ``batch_size`` or ``keep_attention``.
    """
    _check_options(batch_size, keep_attention)
    keep_full = keep_attention == "full"
    keep_on_device = not keep_full and detail_samples is not None
    device = next(model.parameters()).device
    transfer = DeviceTransfer(device)
    settings = {"batch_size": int(batch_size), "keep_attention": keep_attention,
                "precision": precision_of(device)}
    open_nights: dict[int, NightAccumulator] = {}
    arriving: collections.deque = collections.deque()  # batches whose outputs are on their way

    def collect(owners, host, done, device_temporal) -> Iterator[NightResult]:
        transfer.wait(done)
        outputs = {name: t.numpy() for name, t in host.items()}
        for position in np.unique(owners[:, 0]):
            rows = np.flatnonzero(owners[:, 0] == position)  # (b,)
            acc = open_nights[int(position)]
            acc.add(owners[rows, 1], {k: v[rows] for k, v in outputs.items()},
                    device_temporal[rows] if device_temporal is not None else None)
            if acc.remaining == 0:
                del open_nights[int(position)]
                yield finish_night(acc, model, keep_full, settings, detail_samples)

    done, total = 0, 0
    with BatchLoader(model, nights, int(batch_size), transfer) as loader:
        while (item := loader.get()) is not END:
            if isinstance(item, NightFailure):
                yield item
            elif isinstance(item, OpenedNight):
                open_nights[item.position] = new_accumulator(item, model, keep_full)
                total += len(item.starts)
            else:
                arriving.append((item.owners, *_forward(model, transfer, item, keep_full, keep_on_device)))
                done += len(item.owners)
                if progress is not None:
                    progress(done, total)
                if len(arriving) > 1:  # this batch computes while the previous one is collected
                    yield from collect(*arriving.popleft())
        while arriving:
            yield from collect(*arriving.popleft())


def infer_night(model: MesaTransformer, night: Night, *, batch_size: int = 8,
                progress: ProgressFn | None = None) -> NightInference:
    """One night through :func:`infer_cohort`, with every attention map of every sample kept.

    Parameters
    ----------
    model : MesaTransformer
        In eval mode, on any device (CUDA runs in bf16 autocast).
    night : Night
        A preprocessed night (memory-mapped; only the samples being computed are read).
    batch_size : int
        Samples per forward pass.
    progress : callable, optional
        ``progress(done, total)`` after each batch, in samples.

    Raises
    ------
    ConfigError, DataError
        If the night does not fit the model (channels, epoch length), is shorter than one
        sample, or cannot be read.
    """
    check_night_fits(model, night)  # raised here with its own class, not as a NightFailure
    for item in infer_cohort(model, [night], batch_size=batch_size, keep_attention="full", progress=progress):
        if isinstance(item, NightFailure):
            raise DataError(item.error)
        return item.inference()
    raise DataError(f"{night.path.name} gave no result")  # infer_cohort yields one item per night
