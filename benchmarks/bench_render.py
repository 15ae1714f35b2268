"""Seconds to draw the seed's file set for one sample: vl-convert (mesa-report) against matplotlib.

The set is the seed's: the dashboard (inter-epoch attention, then for each of 2 epochs its channel
attention and the temporal attention of the 3 channels), the inter-epoch heatmap, and for each of
the 2 epochs a channel-attention file and 3 temporal-attention files: 10 PNG files. mesa-report
draws them from its Altair charts through vl-convert at 2x scale; the comparison draws the same
heatmaps with matplotlib ``imshow`` (colour bars, tick labels, printed channel values) and saves
them at the seed's 300 dpi. Both run in the same process on the same arrays; each side is drawn
once before timing so that start-up costs (vl-convert's JavaScript engine, matplotlib's fonts) are
reported apart, and the timed runs alternate between the two so both see the same machine load.
CPU seconds (all threads of the process) are given next to wall-clock seconds: on a shared machine
they are the steadier measure.

Run: ``python benchmarks/bench_render.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mesa_report.render.vega import save_chart
from mesa_report.core.vocabulary import CLASS_NAMES_6, channel_label, stage_name
from mesa_report.report.seed_pngs import SampleAttention, sample_charts

SEQ_LEN = 20
N_CHANNELS = 3
N_TOKENS = 20
EPOCH_SECONDS = 30.0
EPOCHS = [4, 11]
SEED_DPI = 300
CHANNEL_NAMES = ("EEG1", "EEG2", "EEG3")


def synthetic_sample(seed: int = 0) -> SampleAttention:
    """Softmax-normalised random maps of the seed's sizes (the drawing cost does not depend on values)."""
    rng = np.random.default_rng(seed)

    def rows(*shape: int) -> np.ndarray:
        e = np.exp(rng.normal(scale=1.5, size=shape))
        return e / e.sum(axis=-1, keepdims=True)

    true = rng.integers(0, 6, SEQ_LEN)  # (S,)
    pred = np.where(rng.random(SEQ_LEN) < 0.2, rng.integers(0, 6, SEQ_LEN), true)  # (S,)
    edges_s = np.linspace(0.0, EPOCH_SECONDS, N_TOKENS + 1)  # (N+1,)
    return SampleAttention(
        epoch=rows(SEQ_LEN, SEQ_LEN), channel=rows(SEQ_LEN, N_CHANNELS, N_CHANNELS),
        temporal=rows(SEQ_LEN, N_CHANNELS, N_TOKENS, N_TOKENS), true_labels=true, pred_labels=pred,
        confidence=rng.uniform(0.3, 1.0, SEQ_LEN), uncertainty=rng.uniform(0, 1.5, SEQ_LEN),
        token_start_s=edges_s[:-1], token_end_s=edges_s[1:], class_names=CLASS_NAMES_6,
        channel_names=CHANNEL_NAMES, heads="mean of heads")


def seed_set_stems(sample_idx: int = 0) -> list[str]:
    """File stems of the benchmark set, in drawing order."""
    stems = [f"attention_dashboard_sample_{sample_idx}", f"inter_epoch_attention_sample_{sample_idx}"]
    for e in EPOCHS:
        stems.append(f"channel_attention_sample_{sample_idx}_epoch_{e}")
        stems += [f"temporal_attention_sample_{sample_idx}_epoch_{e}_ch_{c}" for c in range(N_CHANNELS)]
    return stems


def draw_vl_convert(att: SampleAttention, folder: Path) -> list[Path]:
    """The set from mesa-report's charts (building the charts is part of the time)."""
    views = sample_charts(att, EPOCHS)
    return [save_chart(views[stem], folder / f"{stem}.png") for stem in seed_set_stems()]


# --------------------------------------------------------------------------------------------
# matplotlib, as the seed drew them
# --------------------------------------------------------------------------------------------
def _epoch_tick_labels(att: SampleAttention) -> list[str]:
    return [f"E{i}\n{stage_name(t, att.class_names)}→{stage_name(p, att.class_names)}"
            for i, (t, p) in enumerate(zip(att.true_labels, att.pred_labels))]


def _mpl_inter_epoch(ax, att: SampleAttention) -> None:
    image = ax.imshow(att.epoch, cmap="plasma", aspect="auto")
    labels = _epoch_tick_labels(att)
    ax.set_xticks(range(SEQ_LEN), labels, fontsize=6, rotation=90)
    ax.set_yticks(range(SEQ_LEN), labels, fontsize=6)
    ax.set_xlabel("key epoch")
    ax.set_ylabel("query epoch")
    ax.set_title("inter-epoch attention")
    ax.figure.colorbar(image, ax=ax)


def _mpl_channel(ax, att: SampleAttention, e: int) -> None:
    weights = att.channel[e]  # (C, C)
    image = ax.imshow(weights, cmap="YlOrRd", vmin=0, vmax=1)
    names = [channel_label(n) for n in att.channel_names]
    ax.set_xticks(range(N_CHANNELS), names, fontsize=7)
    ax.set_yticks(range(N_CHANNELS), names, fontsize=7)
    for q in range(N_CHANNELS):
        for k in range(N_CHANNELS):
            ax.text(k, q, f"{weights[q, k]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title(f"channel attention, epoch {e}")
    ax.figure.colorbar(image, ax=ax)


def _mpl_temporal(ax, att: SampleAttention, e: int, c: int) -> None:
    extent = (att.token_start_s[0], att.token_end_s[-1], att.token_end_s[-1], att.token_start_s[0])
    image = ax.imshow(att.temporal[e, c], cmap="viridis", extent=extent)
    ax.set_xlabel("key time in epoch (s)")
    ax.set_ylabel("query time in epoch (s)")
    ax.set_title(f"temporal attention, epoch {e}, {channel_label(att.channel_names[c])}", fontsize=8)
    ax.figure.colorbar(image, ax=ax)


def draw_matplotlib(att: SampleAttention, folder: Path) -> list[Path]:
    """The same set drawn with matplotlib ``imshow`` and saved at 300 dpi."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []

    def save(fig, stem: str) -> None:
        path = folder / f"{stem}.png"
        fig.savefig(path, dpi=SEED_DPI, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)

    stems = iter(seed_set_stems())
    fig = plt.figure(figsize=(20, 5 * (len(EPOCHS) + 1)))
    grid = fig.add_gridspec(len(EPOCHS) + 1, N_CHANNELS + 1)
    _mpl_inter_epoch(fig.add_subplot(grid[0, :]), att)
    for row, e in enumerate(EPOCHS, start=1):
        _mpl_channel(fig.add_subplot(grid[row, 0]), att, e)
        for c in range(N_CHANNELS):
            _mpl_temporal(fig.add_subplot(grid[row, c + 1]), att, e, c)
    save(fig, next(stems))
    fig, ax = plt.subplots(figsize=(10, 8))
    _mpl_inter_epoch(ax, att)
    save(fig, next(stems))
    for e in EPOCHS:
        fig, ax = plt.subplots(figsize=(6, 5))
        _mpl_channel(ax, att, e)
        save(fig, next(stems))
        for c in range(N_CHANNELS):
            fig, ax = plt.subplots(figsize=(6, 5))
            _mpl_temporal(ax, att, e, c)
            save(fig, next(stems))
    return paths


def _seconds(draw: Callable[[SampleAttention, Path], list[Path]], att: SampleAttention,
             folder: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of one drawing of the set."""
    wall, cpu = time.perf_counter(), time.process_time()
    draw(att, folder)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per renderer after the first")
    args = parser.parse_args(argv)
    att = synthetic_sample()
    renderers = {"vl-convert (2x PNG)": draw_vl_convert,
                 f"matplotlib imshow ({SEED_DPI} dpi)": draw_matplotlib}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: Path(tmp) / f"set{k}" for k, name in enumerate(renderers)}
        for folder in folders.values():
            folder.mkdir()
        first = {name: _seconds(draw, att, folders[name]) for name, draw in renderers.items()}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in renderers}
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            for name, draw in renderers.items():
                runs[name].append(_seconds(draw, att, folders[name]))
        for name, folder in folders.items():
            files = list(folder.iterdir())
            wall = [w for w, _ in runs[name]]
            cpu = [c for _, c in runs[name]]
            print(f"{name:28s} files {len(files):2d}  first run {first[name][0]:6.2f} s  "
                  f"median of {args.repeats}: wall {statistics.median(wall):6.2f} s "
                  f"(min {min(wall):.2f}), CPU {statistics.median(cpu):6.2f} s  "
                  f"{sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
    (vl_wall, vl_cpu), (mpl_wall, mpl_cpu) = (
        (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for r in runs.values())
    faster = "vl-convert" if vl_wall < mpl_wall else "matplotlib"
    print(f"matplotlib / vl-convert: wall {mpl_wall / vl_wall:.2f}x, CPU {mpl_cpu / vl_cpu:.2f}x "
          f"({faster} faster)")


if __name__ == "__main__":
    main()
