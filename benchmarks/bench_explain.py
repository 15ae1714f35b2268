"""Cost of each explanation method per night, relative to plain inference.

On one demo night with the demo checkpoint: plain inference (no capture), inference with every
attention map captured (what the app stores), then per method the relevance of every sample —
attention and rollout from the stored maps, gradient with one backward pass per epoch.

    python benchmarks/bench_explain.py
"""

from __future__ import annotations

import time

from _common import machine, print_table

import numpy as np
import torch

from mesa_report.model.checkpoint import load_model
from mesa_report.demo import DEMO_CHECKPOINT, demo_store
from mesa_report.explain.methods import attention_gradients, gradient_attention
from mesa_report.inference.cohort import infer_night
from mesa_report.data.store import NightStore
from mesa_report.explain.summaries import sample_relevance


def seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    store = demo_store()
    model = load_model(DEMO_CHECKPOINT)
    night = NightStore(store.preprocessed_dir, store.csv_path).night(store.mesaids[-1])
    starts = np.arange(0, night.n_epochs - model.config.seq_len + 1, model.config.seq_len)
    features = torch.from_numpy(np.stack([night.epochs(s, s + 20) for s in starts]))  # (W, S, C, T)

    def plain():
        with torch.inference_mode():
            for batch in features.split(8):
                model(batch)

    infer_night(model, night)  # warm-up
    t_plain = seconds(plain)
    result = None

    def capture():
        nonlocal result
        result = infer_night(model, night)

    t_capture = seconds(capture)
    t_attention = seconds(lambda: sample_relevance(result, slice(None), "attention"))
    t_rollout = seconds(lambda: sample_relevance(result, slice(None), "rollout"))

    def gradient_all_epochs():
        for batch in features.split(8):
            for t in range(model.config.seq_len):
                out, grads = attention_gradients(model, batch, t)
                gradient_attention(out.attention, grads)

    t_gradient = seconds(gradient_all_epochs)
    epochs = len(starts) * model.config.seq_len
    rows = [["plain inference", t_plain, epochs / t_plain, 1.0],
            ["inference with capture", t_capture, epochs / t_capture, t_capture / t_plain],
            ["attention (from stored maps)", t_attention, epochs / t_attention, t_attention / t_plain],
            ["rollout (from stored maps)", t_rollout, epochs / t_rollout, t_rollout / t_plain],
            ["gradient (every epoch a target)", t_gradient, epochs / t_gradient, t_gradient / t_plain]]
    print(f"machine: {machine()}")
    print(f"night mesa-sleep-{night.mesaid:04d}: {night.n_epochs} epochs; model {DEMO_CHECKPOINT.name} "
          f"({model.num_parameters / 1e6:.2f} M parameters)")
    print_table("Explanation cost per night", ["step", "seconds", "epochs/s", "× plain inference"], rows)


if __name__ == "__main__":
    main()
