"""Running the model over nights: windows of one or many nights batched together, one result per night.

This is the one way a night goes through the model. :func:`infer_cohort` cuts every night into
its samples (:func:`mesa_report.inference.night.sample_starts`) and feeds them to the model in
batches that may hold windows of several nights, so short nights and the tail of each night never leave a batch half
empty. A background thread reads the next batch while the model computes the current one; on
CUDA that batch lands in pinned host memory and is copied to the device on a stream of its own,
the model runs in bf16 autocast, and the outputs come back without stalling the next batch.
On the CPU the same code runs with plain tensors on all the cores torch is given.

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
>>> from mesa_report.data.store import Night, write_night
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
import dataclasses
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from mesa_report.core.errors import ConfigError, DataError, MesaReportError
from mesa_report.data.store import Night
from mesa_report.inference.night import (
    NightInference,
    ProgressFn,
    _entropy,
    check_night_fits,
    epoch_owner,
    sample_starts,
)
from mesa_report.inference.stored import NightFailure, NightResult
from mesa_report.model.network import MesaTransformer

KEEP_ATTENTION = ("summary", "full")
"""What a cohort pass keeps of the temporal maps: those of the detailed samples, or all."""

DetailPicker = Callable[[NightInference], Sequence[int]]
"""Chooses the samples of a night whose temporal maps are kept (e.g. those a report details).
It is called with the night's result before any temporal map is attached."""

QUEUED_BATCHES = 2
"""Batches the loading thread prepares ahead of the model."""

_MAP_DTYPE = torch.float16  # attention maps are kept in float16 (weights in 0-1)


def precision_of(device: torch.device | str) -> str:
    """The arithmetic a model on ``device`` runs in: bf16 autocast on CUDA, float32 elsewhere.

    Examples
    --------
    >>> precision_of("cpu"), precision_of("cuda:0")
    ('fp32', 'bf16')
    """
    return "bf16" if torch.device(device).type == "cuda" else "fp32"


# --------------------------------------------------------------------------------------------
# Host <-> device
# --------------------------------------------------------------------------------------------
class _Transfer:
    """Moves batches between host and device.

    On CUDA: host buffers in pinned memory, uploads on a stream of their own (so the copy of the
    next batch overlaps the model's work on this one) and downloads that do not block. On the
    CPU every call is a no-op on plain tensors, so both paths run the same code.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.copy_stream = torch.cuda.Stream(device) if self.cuda else None

    def host_empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.empty(shape, dtype=dtype, pin_memory=self.cuda)

    def assemble(self, windows: list[torch.Tensor], out: torch.Tensor) -> None:
        """(loading thread) Copy ``windows`` into the batch ``out``.

        On CUDA with torch's CPU threads, which the model does not use there; on the CPU in this
        thread alone, since torch's threads are the model's (sharing them slows both badly).
        """
        if self.cuda:
            torch.stack(windows, out=out)
        else:
            np.stack([w.numpy() for w in windows], out=out.numpy())

    def upload(self, host: torch.Tensor):
        """(loading thread) Start copying ``host`` to the device; return it and its ready event."""
        if not self.cuda:
            return host, None
        with torch.cuda.stream(self.copy_stream):
            on_device = host.to(self.device, non_blocking=True)
            ready = torch.cuda.Event()
            ready.record(self.copy_stream)
        return on_device, ready

    def accept(self, on_device: torch.Tensor, ready) -> torch.Tensor:
        """(model thread) Make the compute stream wait for an upload before using it."""
        if ready is not None:
            stream = torch.cuda.current_stream(self.device)
            stream.wait_event(ready)
            on_device.record_stream(stream)  # its memory is not reused while this stream reads it
        return on_device

    def download(self, tensors: dict[str, torch.Tensor]):
        """Start copying ``tensors`` to the host; return the host tensors and a done event."""
        if not self.cuda:
            return tensors, None
        host = {name: self.host_empty(tuple(t.shape), t.dtype).copy_(t, non_blocking=True)
                for name, t in tensors.items()}
        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(self.device))
        return host, done

    @staticmethod
    def wait(done) -> None:
        if done is not None:
            done.synchronize()


# --------------------------------------------------------------------------------------------
# The loading thread
# --------------------------------------------------------------------------------------------
@dataclass
class _Opened:
    position: int
    night: Night
    starts: np.ndarray  # (W,)


@dataclass
class _Batch:
    owners: np.ndarray  # (B, 2) int64: night position, sample index
    features: torch.Tensor  # (B, C, S, T) on the device
    ready: object  # CUDA event or None


class _Stopped(Exception):
    """The consumer went away; the loading thread ends quietly."""


_END = object()


class _Loader:
    """Opens the nights in order and cuts their samples into batches, in a background thread."""

    def __init__(self, model: MesaTransformer, nights: Iterable[Night], batch_size: int,
                 transfer: _Transfer) -> None:
        self.model = model
        self.nights = nights
        self.batch_size = batch_size
        self.transfer = transfer
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mesa-report-cohort-loader", daemon=True)

    def __enter__(self) -> _Loader:
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
            self._put(_END)
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
            self._put(_Opened(position, night, starts))
            for sample, start in enumerate(starts.tolist()):
                window = signal[:chans, start * steps:(start + seq) * steps]  # (C, S·T) view
                windows.append(window.view(chans, seq, steps).to(torch.float32))  # (C, S, T)
                owners.append((position, sample))
                if len(windows) == self.batch_size:
                    self._put(self._batch(windows, owners))
                    windows, owners = [], []
        if windows:
            self._put(self._batch(windows, owners))

    def _batch(self, windows: list[torch.Tensor], owners: list[tuple[int, int]]) -> _Batch:
        host = self.transfer.host_empty((len(windows), *windows[0].shape), torch.float32)  # (B, C, S, T)
        self.transfer.assemble(windows, host)
        on_device, ready = self.transfer.upload(host)
        return _Batch(np.asarray(owners, dtype=np.int64), on_device, ready)


# --------------------------------------------------------------------------------------------
# Per-night accumulation
# --------------------------------------------------------------------------------------------
@dataclass
class _Accumulator:
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


def _new_accumulator(opened: _Opened, model: MesaTransformer, keep_full: bool) -> _Accumulator:
    cfg = model.config
    n, seq, chans = len(opened.starts), cfg.seq_len, cfg.num_channels
    return _Accumulator(
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


def _finish(acc: _Accumulator, model: MesaTransformer, keep_full: bool, settings: dict,
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


# --------------------------------------------------------------------------------------------
# The cohort pass
# --------------------------------------------------------------------------------------------
def _check_options(batch_size: int, keep_attention: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
    if keep_attention not in KEEP_ATTENTION:
        raise ConfigError(f"keep_attention={keep_attention!r}: choose {' or '.join(KEEP_ATTENTION)}")


def _forward(model: MesaTransformer, transfer: _Transfer, batch: _Batch, keep_full: bool,
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
                   "channel": maps.channel.to(_MAP_DTYPE),  # (B, S, H_c, C, C)
                   "epoch": maps.epoch.to(_MAP_DTYPE)}  # (B, L_e, H_e, S, S)
        temporal = maps.temporal.to(_MAP_DTYPE) if keep_full or keep_on_device else None  # (B, S, C, L, H, N, N)
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
    transfer = _Transfer(device)
    settings = {"batch_size": int(batch_size), "keep_attention": keep_attention,
                "precision": precision_of(device)}
    open_nights: dict[int, _Accumulator] = {}
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
                yield _finish(acc, model, keep_full, settings, detail_samples)

    done, total = 0, 0
    with _Loader(model, nights, int(batch_size), transfer) as loader:
        while (item := loader.get()) is not _END:
            if isinstance(item, NightFailure):
                yield item
            elif isinstance(item, _Opened):
                open_nights[item.position] = _new_accumulator(item, model, keep_full)
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
