"""Inference speed of the MESA Transformer at the seed's size: plain vs capturing every attention map.

Prints epochs/s at batch 1 and batch 8 windows (20 epochs each) on the CPU, next to the seed's
loop-per-epoch-and-channel model, and on CUDA (when present) at large batches in fp32 and bf16.

    python benchmarks/bench_inference.py [--quick]
"""

from __future__ import annotations

import argparse

from _common import machine, print_table, timeit

import torch

from mesa_report.model.network import MesaTransformer

from mesa_report.model.config import ModelConfig
from tests.test_model import SeedReference


def epochs_per_second(model, batch: int, capture: bool, device: str, dtype=None, seconds: float = 3.0) -> float:
    x = torch.randn(batch, model.config.seq_len, 3, 3840, device=device)

    def step():
        with torch.inference_mode(), torch.autocast(device, dtype=dtype or torch.float32,
                                                    enabled=dtype is not None):
            model(x, return_attention=capture)
        if device == "cuda":
            torch.cuda.synchronize()

    return batch * model.config.seq_len / timeit(step, min_seconds=seconds)


def seed_epochs_per_second(config: ModelConfig, batch: int, seconds: float) -> float:
    reference = SeedReference(config).eval()
    x = torch.randn(batch, config.seq_len, 3, 3840)

    def step():
        with torch.inference_mode():
            reference(x)

    return batch * config.seq_len / timeit(step, min_seconds=seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    config = ModelConfig()
    model = MesaTransformer(config).eval()
    flops = 177.7e6  # per epoch, counted with torch.utils.flop_counter at the seed's size
    rows = []
    for batch in (1, 8):
        plain = epochs_per_second(model, batch, False, "cpu", seconds=seconds)
        capture = epochs_per_second(model, batch, True, "cpu", seconds=seconds)
        seed = seed_epochs_per_second(config, batch, seconds)
        rows.append(["cpu", batch, "fp32", plain, capture, plain / capture, seed, capture * flops / 1e9])
    if torch.cuda.is_available():
        gpu = MesaTransformer(config).cuda().eval()
        for batch in (64, 256, 1024):
            for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
                plain = epochs_per_second(gpu, batch, False, "cuda", dtype, seconds)
                capture = epochs_per_second(gpu, batch, True, "cuda", dtype, seconds)
                rows.append(["cuda", batch, name, plain, capture, plain / capture, "", capture * flops / 1e9])
    print(f"machine: {machine()}")
    print(f"model: {model.num_parameters / 1e6:.2f} M parameters, {flops / 1e6:.0f} MFLOP per epoch")
    print_table("Inference, epochs/s (windows of 20 epochs)",
                ["device", "windows/batch", "precision", "plain", "with capture", "capture cost ×",
                 "seed's loop model", "GFLOP/s with capture"], rows)


if __name__ == "__main__":
    main()
