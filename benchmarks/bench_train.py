"""Training throughput (30 s epochs of EEG per second): the batched model vs the seed's loop model.

Same sizes, same batch, one optimisation step = forward + focal loss + backward + AdamW step.

    python benchmarks/bench_train.py [--quick]
"""

from __future__ import annotations

import argparse

from _common import machine, print_table, timeit

import torch

from mesa_report.model.network import MesaTransformer

from mesa_report.model.config import ModelConfig
from mesa_report.model.train import focal_loss
from tests.test_model import SeedReference

DEMO_SIZE = dict(d_model=64, dim_feedforward=128, classifier_hidden=128, cnn_channels=(16, 32),
                 temporal_heads=4, channel_heads=2, epoch_heads=4)


def throughput(model: torch.nn.Module, config: ModelConfig, batch: int, device: str, seconds: float,
               amp: bool = False) -> float:
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, config.seq_len, config.num_channels, config.time_steps, device=device)
    y = torch.randint(0, config.num_classes, (batch, config.seq_len), device=device)
    weight = torch.ones(config.num_classes, device=device)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        logits = out.logits if hasattr(out, "logits") else out
        loss = focal_loss(logits, y, weight, 2.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return batch * config.seq_len / timeit(step, min_seconds=seconds, repeats=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 6.0
    rows = []
    for name, sizes in (("demo size", DEMO_SIZE), ("seed size", {})):
        config = ModelConfig(**sizes, dropout=0.0)
        batch = 8
        ours = throughput(MesaTransformer(config), config, batch, "cpu", seconds)
        seed = throughput(SeedReference(config), config, batch, "cpu", seconds)
        rows.append([name, "cpu", batch, ours, seed, ours / seed])
        if torch.cuda.is_available():
            for gpu_batch in (64, 256):
                ours = throughput(MesaTransformer(config), config, gpu_batch, "cuda", seconds, amp=True)
                seed = throughput(SeedReference(config), config, gpu_batch, "cuda", seconds, amp=True)
                rows.append([name, "cuda bf16", gpu_batch, ours, seed, ours / seed])
    print(f"machine: {machine()}")
    print_table("Training throughput, epochs of EEG per second",
                ["model", "device", "windows/batch", "mesa-report", "seed's loop model", "speed-up ×"], rows)


if __name__ == "__main__":
    main()
