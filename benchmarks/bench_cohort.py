"""Cohort throughput: epochs/s of batched inference over a synthetic cohort held in host memory.

The nights are generated on the fly (never written to disk): a few random base signals in host
memory, shared by the nights as views, each night with its own stages. Timed separately:

- inference: :func:`mesa_report.inference.cohort.infer_cohort` over every night (windows of several
  nights per batch; on CUDA bf16 autocast, pinned memory and a loading thread);
- end to end: the same, plus each night's table row (metrics and rollout summaries,
  :func:`mesa_report.explain.cohort_table.table_row`) made in worker processes as nights finish.

    python benchmarks/bench_cohort.py                       # 200 nights of 8 h, the seed's model size
    python benchmarks/bench_cohort.py --hours 0.25          # the same on a slow CPU, in minutes
    python benchmarks/bench_cohort.py --device cuda --batch-size 512

The whole MESA cohort is 2,056 nights, about 2.2 million epochs; the last line extrapolates.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from _common import machine, print_table

import numpy as np
import torch

from mesa_report.model.checkpoint import file_sha256
from mesa_report.explain.cohort_table import table_row
from mesa_report.inference.cohort import infer_cohort, infer_night
from mesa_report.inference.device_transfer import DeviceTransfer
from mesa_report.inference.stored import NightResult
from mesa_report.inference.night import sample_starts
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.core.vocabulary import EPOCH_SAMPLES
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.data.stage_strings import stage_string
from mesa_report.data.store import Night

MESA_NIGHTS = 2056
MESA_EPOCHS = 2_200_000
BASE_SIGNALS = 4  # distinct signals the nights are views of (more than any cache holds)
TINY = dict(d_model=32, dim_feedforward=64, classifier_hidden=64, cnn_channels=(8, 16),
            temporal_heads=4, channel_heads=2, epoch_heads=4)


class MemoryNight(Night):
    """A night whose signal lives in host memory instead of a file."""

    def __init__(self, mesaid: int, signal: torch.Tensor, stages: str) -> None:
        super().__init__(Path("memory") / night_filename(mesaid), mesaid, stages)
        self._memory = signal

    @property
    def signal(self) -> torch.Tensor:
        return self._memory


def synthetic_cohort(n_nights: int, hours: float, seed: int = 0) -> list[MemoryNight]:
    """``n_nights`` nights of ``hours`` each, views of a few random base signals."""
    rng = np.random.default_rng(seed)
    n_epochs = int(hours * 3600 / 30)
    bases = [torch.from_numpy(rng.standard_normal((4, n_epochs * EPOCH_SAMPLES), dtype=np.float32))
             for _ in range(min(BASE_SIGNALS, n_nights))]  # (4, T) each
    return [MemoryNight(k + 1, bases[k % len(bases)], stage_string(rng.integers(0, 6, n_epochs)))
            for k in range(n_nights)]


def _row(result: NightResult) -> dict:
    return table_row(result, "rollout")


def run_cohort(model, nights, batch_size: int, pool: ProcessPoolExecutor | None) -> tuple[float, int]:
    """Seconds to infer (and, with ``pool``, summarise) every night; epochs done."""
    if model.parameters().__next__().device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    rows, epochs = [], 0
    for result in infer_cohort(model, nights, batch_size=batch_size):
        epochs += result.stored.n_epochs
        if pool is not None:
            rows.append(pool.submit(_row, result))
    for future in rows:
        future.result()
    return time.perf_counter() - started, epochs


def component_costs(model, night: MemoryNight, folder: Path) -> list[list[str]]:
    """Per-night cost of each step around the model, for one night of the cohort's length."""
    cfg = model.config
    path = write_night(folder, night.mesaid, night.signal.numpy(), night.labels)
    size_mb = path.stat().st_size / 1e6
    hash_s = _seconds(lambda: file_sha256(path))
    starts = sample_starts(night.n_epochs, cfg.seq_len)
    span = cfg.seq_len * cfg.time_steps
    windows = [night.signal[: cfg.num_channels, s * cfg.time_steps:s * cfg.time_steps + span]
               .view(cfg.num_channels, cfg.seq_len, cfg.time_steps) for s in starts.tolist()]  # (C, S, T) each
    transfer = DeviceTransfer(next(model.parameters()).device)  # the loading thread's own copy path
    buffer = transfer.host_empty((len(windows), *windows[0].shape), torch.float32)  # (W, C, S, T)
    stack_s = _seconds(lambda: transfer.assemble(windows, buffer))
    result = next(infer_cohort(model, [night]))
    row_s = _seconds(lambda: table_row(result, "rollout"))
    entry = folder / "entry.npz"
    save_s = _seconds(lambda: result.save(entry))
    load_s = _seconds(lambda: NightResult.load(entry))
    return [["night file (float32, 4 channels)", f"{size_mb:.1f} MB", ""],
            ["SHA-256 of the night file (in page cache)", f"{hash_s * 1e3:.0f} ms", f"{size_mb / hash_s:,.0f} MB/s"],
            ["batch assembly: copying its windows", f"{stack_s * 1e3:.1f} ms",
             f"{buffer.numel() * 4 / stack_s / 1e9:.1f} GB/s"],
            ["table row: metrics + rollout summaries", f"{row_s * 1e3:.0f} ms", ""],
            ["cache entry without temporal maps: write / read", f"{save_s * 1e3:.0f} / {load_s * 1e3:.0f} ms",
             f"{entry.stat().st_size / 1e6:.2f} MB"]]


def _seconds(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=200)
    parser.add_argument("--hours", type=float, default=8.0, help="length of each night (default: 8)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="windows per batch (default: 8 CPU, 512 CUDA)")
    parser.add_argument("--model", choices=("seed", "tiny"), default="seed", help="model size (default: the seed's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes making the rows end to end (default: CPUs - 1, at least 1)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    batch_size = args.batch_size or (512 if device.type == "cuda" else 8)
    torch.manual_seed(0)
    model = MesaTransformer(ModelConfig(**TINY) if args.model == "tiny" else ModelConfig()).to(device).eval()
    nights = synthetic_cohort(args.nights, args.hours)
    workers = args.workers or max(1, (os.cpu_count() or 1) - 1)
    run_cohort(model, nights[: min(4, len(nights))], batch_size, None)  # warm-up: kernels, allocator
    check = next(infer_cohort(model, nights[:2], batch_size=batch_size))  # windows of 2 nights per batch
    reference = infer_night(model, nights[0], batch_size=batch_size)
    gap = float(np.abs(check.stored.probs - reference.probs).max())
    agree = float((check.stored.pred == reference.pred).mean())
    infer_s, epochs = run_cohort(model, nights, batch_size, None)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pool.submit(_row, next(infer_cohort(model, nights[:1]))).result()  # start the workers
        total_s, _ = run_cohort(model, nights, batch_size, pool)
    print(f"machine: {machine()}")
    print(f"model: {args.model} size, {model.num_parameters / 1e6:.2f} M parameters; device {device}; "
          f"{batch_size} windows per batch; {workers} summary worker(s)")
    print(f"check against infer_night on night 1: max |p difference| {gap:.2e}, same stage for {agree:.1%} of epochs")
    rows = [[name, args.nights, epochs, seconds, epochs / seconds, MESA_EPOCHS / (epochs / seconds) / 60]
            for name, seconds in (("inference", infer_s), ("end to end with summaries", total_s))]
    print_table(f"Synthetic cohort from host memory ({args.hours:g} h nights)",
                ["stage", "nights", "epochs", "seconds", "epochs/s", f"MESA ({MESA_NIGHTS} nights), minutes"], rows)
    with tempfile.TemporaryDirectory() as folder:
        print_table(f"Around the model, per {args.hours:g} h night", ["step", "time", "size or rate"],
                    component_costs(model, nights[0], Path(folder)))


if __name__ == "__main__":
    main()
