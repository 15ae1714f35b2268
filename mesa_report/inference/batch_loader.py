"""The loading thread of a cohort pass: opens the nights in order and cuts their samples into batches.

Batches may hold windows of several nights; each is assembled on the host and its upload to the
device started (:mod:`mesa_report.inference.device_transfer`) while the model computes the previous
one. A night that cannot be opened is handed on as a :class:`~mesa_report.inference.stored.NightFailure`.

Examples
--------
>>> import tempfile, numpy as np
>>> from mesa_report.data.night_files import write_night
>>> from mesa_report.model.network import MesaTransformer, ModelConfig
>>> night = Night(write_night(tempfile.mkdtemp(), 1, np.zeros((4, 25 * 3840), np.float32),
...                           np.zeros(25, dtype=np.int64)), 1, "0" * 25)
>>> model = MesaTransformer(ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16),
...     temporal_heads=4, channel_heads=2, epoch_heads=4)).eval()
>>> items = []
>>> with BatchLoader(model, [night], 4, DeviceTransfer(torch.device("cpu"))) as loader:
...     while (item := loader.get()) is not END:
...         items.append(item)
>>> [type(item).__name__ for item in items], tuple(items[1].features.shape)  # (B, C, S, T)
(['OpenedNight', 'WindowBatch'], (2, 3, 20, 3840))
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from mesa_report.core.errors import MesaReportError
from mesa_report.data.store import Night
from mesa_report.inference.device_transfer import DeviceTransfer
from mesa_report.inference.night import check_night_fits, sample_starts
from mesa_report.inference.stored import NightFailure
from mesa_report.model.network import MesaTransformer

QUEUED_BATCHES = 2
"""Batches the loading thread prepares ahead of the model."""


@dataclass
class OpenedNight:
    """A night the loader opened: its place in the input order and its samples' first epochs."""

    position: int
    night: Night
    starts: np.ndarray  # (W,)


@dataclass
class WindowBatch:
    """Windows of one forward pass, uploading to the device, with the night and sample of each."""

    owners: np.ndarray  # (B, 2) int64: night position, sample index
    features: torch.Tensor  # (B, C, S, T) on the device
    ready: object  # CUDA event or None


class _Stopped(Exception):
    """The consumer went away; the loading thread ends quietly."""


END = object()
"""Put on the queue after the last batch."""


class BatchLoader:
    """Opens the nights in order and cuts their samples into batches, in a background thread."""

    def __init__(self, model: MesaTransformer, nights: Iterable[Night], batch_size: int,
                 transfer: DeviceTransfer) -> None:
        self.model = model
        self.nights = nights
        self.batch_size = batch_size
        self.transfer = transfer
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mesa-report-cohort-loader", daemon=True)

    def __enter__(self) -> BatchLoader:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        while self.thread.is_alive():
            try:  # free a put() that waits for room
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()

    def get(self):
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _run(self) -> None:
        try:
            self._load()
            self._put(END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the model thread, which raises it
            try:
                self._put(exc)
            except _Stopped:
                pass

    def _load(self) -> None:
        cfg = self.model.config
        seq, chans, steps = cfg.seq_len, cfg.num_channels, cfg.time_steps
        windows: list[torch.Tensor] = []
        owners: list[tuple[int, int]] = []
        for position, night in enumerate(self.nights):
            try:
                check_night_fits(self.model, night)
                starts = sample_starts(night.n_epochs, seq)
                signal = night.signal  # (channels, T) memory-mapped or in memory
            except MesaReportError as exc:
                self._put(NightFailure(int(night.mesaid), str(exc)))
                continue
            self._put(OpenedNight(position, night, starts))
            for sample, start in enumerate(starts.tolist()):
                window = signal[:chans, start * steps:(start + seq) * steps]  # (C, S·T) view
                windows.append(window.view(chans, seq, steps).to(torch.float32))  # (C, S, T)
                owners.append((position, sample))
                if len(windows) == self.batch_size:
                    self._put(self._batch(windows, owners))
                    windows, owners = [], []
        if windows:
            self._put(self._batch(windows, owners))

    def _batch(self, windows: list[torch.Tensor], owners: list[tuple[int, int]]) -> WindowBatch:
        host = self.transfer.host_empty((len(windows), *windows[0].shape), torch.float32)  # (B, C, S, T)
        self.transfer.assemble(windows, host)
        on_device, ready = self.transfer.upload(host)
        return WindowBatch(np.asarray(owners, dtype=np.int64), on_device, ready)
