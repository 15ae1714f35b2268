"""Reproduce the demo checkpoint ``mesa_report/demo/demo_model.pth``.

1. builds a training cohort with the demo generator (nights 101..100+N, through EDF + NSRR XML and
   the real ``preprocess``; the last eighth each for validation and test) — the built-in demo
   cohort (nights 1-8) is therefore never seen in training;
2. trains with the project's own command (``mesa-report train``) at the demo size;
3. writes the best checkpoint (by validation kappa) into the package without the optimiser state,
   so it stays small.

The held-out check on freshly generated nights (seeds never used in training) is
``tests/test_demo_model.py``; its per-class table goes into BENCHMARKS.md.

    python scripts/train_demo_model.py [--nights 16] [--hours 4] [--num_epochs 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

DEMO_SIZE = ["--d_model", "64", "--dim_feedforward", "128", "--classifier_hidden", "128",
             "--cnn_channels", "16", "32", "--heads", "4", "2", "4"]
"""The seed's architecture at a quarter of its width (CNN at an eighth): about 0.35 M parameters."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=16)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--num_epochs", type=int, default=10)
    parser.add_argument("--max_samples", type=int, default=1200, help="training windows per epoch")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "build" / "demo-training")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "mesa_report" / "demo" / "demo_model.pth")
    args = parser.parse_args()

    from mesa_report.model.checkpoint import load_model, read_checkpoint, save_checkpoint
    from mesa_report.cli.main import main as cli
    from mesa_report.demo import demo_store

    started = time.perf_counter()
    store = demo_store(args.work_dir / "cohort", n_nights=args.nights, hours=args.hours, progress=True,
                       first_id=101)
    print(f"cohort: {len(store.mesaids)} nights in {time.perf_counter() - started:.0f} s -> {store.preprocessed_dir}")
    status = cli(["train", "--preprocessed_dir", str(store.preprocessed_dir), "--csv_path", str(store.csv_path),
                  "--num_epochs", str(args.num_epochs), "--batch_size", str(args.batch_size),
                  "--learning_rate", str(args.learning_rate), "--stride", str(args.stride), "--max_samples", str(args.max_samples),
                  "--device", args.device, "--seed", "7",
                  "--checkpoint_dir", str(args.work_dir / "checkpoints"), *DEMO_SIZE])
    if status:
        return status
    best_path = args.work_dir / "checkpoints" / "best_model.pth"
    best = read_checkpoint(best_path)
    model = load_model(best_path, num_channels=None, time_steps=None, seq_len=None, num_classes=None)
    training = dict(best.get("training") or {})
    training["reproduce"] = "python scripts/train_demo_model.py " + " ".join(sys.argv[1:])
    save_checkpoint(args.output, model, epoch=best.get("epoch"), history=best.get("history"),
                    metrics=best.get("metrics"), training=training)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB) after "
          f"{(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
