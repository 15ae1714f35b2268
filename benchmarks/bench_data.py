"""Benchmark of the data layer: window reads from a store, and preprocessing speed.

1. Windows per second from one ~8 h night of random data: the seed's way (``torch.load`` of the
   whole night for every window) against :class:`mesa_report.data.dataset.MesaWindowDataset`
   (memory-mapped; random windows, and shuffled batches through ``create_mesa_dataloader``).
2. ``preprocess`` seconds per recorded hour of a 20-channel 256 Hz EDF, and the peak memory of the
   process that ran it (a fresh process, so the figure is its own).

Run from the repository root::

    python benchmarks/bench_data.py [--hours 8.3] [--edf-hours 8] [--seed-seconds 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path

import edfio
import numpy as np
import torch

from mesa_report.data.dataset import MesaWindowDataset, create_mesa_dataloader
from mesa_report.data.ingest import preprocess
from mesa_report.core.vocabulary import EPOCH_SAMPLES, SEQ_LEN, SFREQ_HZ
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_ids import night_filename

EDF_RATE_HZ = 256
EDF_CHANNELS = ("EEG1", "EEG2", "EEG3", "EOG-L", "EOG-R", "EMG", "EKG", "Flow", "Thor", "Abdo",
                "SpO2", "HR", "Pleth", "Snore", "Leg-L", "Leg-R", "Pos", "EEG1_Off", "EEG2_Off",
                "EEG3_Off")


def _proc_status_mb(field: str) -> float | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def reset_peak_rss() -> bool:
    """Start a new peak-memory measurement (Linux: /proc/self/clear_refs); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float | None:
    """Peak resident memory since the last reset, in MB (None where the platform does not say)."""
    return _proc_status_mb("VmHWM")


def make_store(folder: Path, hours: float) -> int:
    """One night of random float32 data in the seed's format; returns its epoch count."""
    n_epochs = int(hours * 3600 / (EPOCH_SAMPLES / SFREQ_HZ))
    night = torch.randn(4, n_epochs * EPOCH_SAMPLES, generator=torch.Generator().manual_seed(0))
    torch.save(night, folder / night_filename(1))
    write_index(folder, [{"mesaid": 1, "sleep_stages": "2" * n_epochs}])
    return n_epochs


def seed_windows_per_s(path: Path, n_epochs: int, budget_s: float) -> float:
    """The seed's loader: load the whole night, then cut the window, for every window."""
    rng = np.random.default_rng(1)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        first = int(rng.integers(0, n_epochs - SEQ_LEN + 1))
        night = torch.load(path, weights_only=True)  # (4, T) read whole
        window = night[:3, first * EPOCH_SAMPLES:(first + SEQ_LEN) * EPOCH_SAMPLES]
        window.reshape(3, SEQ_LEN, EPOCH_SAMPLES).permute(1, 0, 2).contiguous()  # (S, 3, E)
        count += 1
    return count / (time.perf_counter() - start)


def mapped_windows_per_s(folder: Path, n_windows: int) -> float:
    """Random windows from the memory-mapped dataset."""
    dataset = MesaWindowDataset(folder, None)
    order = np.random.default_rng(2).integers(0, len(dataset), n_windows)
    dataset[0]  # map the file once, as any first access does
    start = time.perf_counter()
    for index in order:
        dataset[int(index)]
    return len(order) / (time.perf_counter() - start)


def loader_windows_per_s(folder: Path, n_batches: int) -> float:
    """Shuffled batches of 16 through the seed-compatible DataLoader (passes repeated as needed)."""
    loader = create_mesa_dataloader(folder, None, batch_size=16, shuffle=True)
    next(iter(loader))
    windows, start = 0, time.perf_counter()
    while windows < n_batches * 16:
        windows += sum(len(labels) for _, labels in loader)
    return windows / (time.perf_counter() - start)


def write_edf(path: Path, hours: float) -> None:
    """A 20-channel EDF at 256 Hz of random µV-scale noise."""
    rng = np.random.default_rng(3)
    n_samples = int(hours * 3600 * EDF_RATE_HZ)
    signals = [edfio.EdfSignal(rng.normal(0, 30, n_samples), EDF_RATE_HZ, label=name,
                               physical_dimension="uV", physical_range=(-500, 500))
               for name in EDF_CHANNELS]
    edfio.Edf(signals).write(path)


def timed_preprocess(edf_dir: Path, output_dir: Path) -> dict[str, float | None]:
    """Run in a fresh process: seconds and memory (MB) of one ``preprocess`` call.

    ``peak_rss`` counts the EDF's memory-mapped pages (file cache, given back under pressure);
    ``peak_anon`` is the memory actually allocated, sampled every 5 ms.
    """
    before = _proc_status_mb("RssAnon")
    peak_anon = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak_anon[0] = max(peak_anon[0] or 0.0, _proc_status_mb("RssAnon") or 0.0)

    sampler = threading.Thread(target=sample, daemon=True)
    has_peak = reset_peak_rss()
    sampler.start()
    start = time.perf_counter()
    summary = preprocess(edf_dir, output_dir, progress=False)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if summary.failed:
        raise RuntimeError(f"preprocess failed: {summary.failed}")
    return {"seconds": seconds, "anon_before": before, "peak_anon": peak_anon[0],
            "peak_rss": peak_rss_mb() if has_peak else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.3, help="length of the stored night")
    parser.add_argument("--edf-hours", type=float, default=8.0, help="length of the EDF")
    parser.add_argument("--seed-seconds", type=float, default=4.0,
                        help="time spent measuring the seed's slow loader")
    parser.add_argument("--windows", type=int, default=3000, help="memory-mapped windows read")
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        folder.mkdir()
        n_epochs = make_store(folder, args.hours)
        size_mb = (folder / night_filename(1)).stat().st_size / 1e6
        seed = seed_windows_per_s(folder / night_filename(1), n_epochs, args.seed_seconds)
        mapped = mapped_windows_per_s(folder, args.windows)
        batched = loader_windows_per_s(folder, max(args.windows // 16, 1))

        edf_dir = Path(tmp) / "edf"
        edf_dir.mkdir()
        write_edf(edf_dir / "mesa-sleep-0001.edf", args.edf_hours)
        edf_mb = (edf_dir / "mesa-sleep-0001.edf").stat().st_size / 1e6
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            run = pool.submit(timed_preprocess, edf_dir, Path(tmp) / "preprocessed").result()

    rows = [
        (f"night: {args.hours:g} h, {n_epochs} epochs, {size_mb:.0f} MB", ""),
        ("seed's way (torch.load whole night per window)", f"{seed:,.1f} windows/s"),
        ("memory-mapped MesaWindowDataset, random windows",
         f"{mapped:,.0f} windows/s ({mapped / seed:,.0f}x)"),
        ("create_mesa_dataloader, batch 16, shuffled",
         f"{batched:,.0f} windows/s ({batched / seed:,.0f}x)"),
        (f"preprocess: 20-channel {EDF_RATE_HZ} Hz EDF, {args.edf_hours:g} h, {edf_mb:.0f} MB",
         f"{run['seconds']:.2f} s = {run['seconds'] / args.edf_hours:.2f} s per recorded hour"),
        ("preprocess peak allocated memory (before the call)",
         "n/a" if run["peak_anon"] is None
         else f"{run['peak_anon']:,.0f} MB ({run['anon_before']:,.0f} MB)"),
        ("preprocess peak resident memory, incl. mapped EDF pages",
         "n/a" if run["peak_rss"] is None else f"{run['peak_rss']:,.0f} MB"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")


if __name__ == "__main__":
    main()
