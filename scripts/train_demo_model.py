"""Reproduce the demo checkpoint ``mesa_report/demo/demo_model.pth``.

1. builds a training cohort with the demo generator, through EDF + NSRR XML and the real
   ``preprocess`` (the built-in demo cohort, nights 1-8, is never seen in training):
   training recordings 101..100+N are pieces of generated nights, 0.5-2 h (a third of them) or
   3-8 h long from anywhere in the night, each recorded in its own way
   (:func:`mesa_report.demo.recording.recorded_like`: gain per night and per derivation, spectral
   tilt, noise, electrode pops and sway), so that the per-night robust scaling varies as between
   real recordings; validation: plain 4 h nights and a plain 1 h piece; test: one plain night;
2. trains with the project's own command (``mesa-report train``) at the demo size;
3. writes the best checkpoint (by validation kappa) into the package without the optimiser state,
   so it stays small.

The held-out check on freshly generated nights (seeds never used in training) is
``tests/demo/test_evaluate.py``; its per-class table goes into BENCHMARKS.md.

    python scripts/train_demo_model.py [--recordings 28] [--num_epochs 12] [--device cpu]
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


def _training_piece(mesaid: int, rng):
    """A piece of a generated night, recorded in its own way."""
    from mesa_report.demo.generate import generate_night
    from mesa_report.demo.recording import cut_night, recorded_like

    hours = rng.uniform(0.5, 2.0) if rng.random() < 1 / 3 else rng.uniform(3.0, 8.0)
    start_hours = rng.uniform(0.0, 8.0 - hours)
    night = generate_night(mesaid, hours=start_hours + hours)
    n_epochs = int(round(hours * 120))
    return recorded_like(cut_night(night, night.n_epochs - n_epochs, n_epochs), rng)


def build_cohort(work_dir: Path, n_recordings: int) -> tuple[Path, Path]:
    """Write the training, validation and test recordings as EDF + XML and preprocess them."""
    import numpy as np

    from mesa_report.demo import write_edf, write_nsrr_xml
    from mesa_report.demo.generate import GENERATOR_VERSION, generate_night
    from mesa_report.demo.recording import cut_night
    from mesa_report.data.ingest import preprocess
    from mesa_report.data.index_merge import update_index

    root = work_dir / f"cohort-v{GENERATOR_VERSION}-{n_recordings}"
    edf_dir, store_dir = root / "edf", root / "preprocessed"
    rng = np.random.default_rng(20)
    nights = [(_training_piece(101 + k, rng), "train") for k in range(n_recordings)]
    nights += [(generate_night(201 + k, hours=4.0), "val") for k in range(2)]
    nights += [(cut_night(generate_night(203, hours=4.0), 100, 120), "val"),
               (generate_night(301, hours=4.0), "test")]
    for night, _ in nights:
        if not (edf_dir / f"{night.record_id}.edf").is_file():
            write_edf(night, edf_dir / f"{night.record_id}.edf")
            write_nsrr_xml(night, edf_dir / f"{night.record_id}-nsrr.xml")
    summary = preprocess(edf_dir, store_dir, progress=True)
    if summary.failed:
        raise SystemExit(f"preprocessing failed: {summary.failed}")
    csv_path = update_index(store_dir, [{"mesaid": night.mesaid, "split": split} for night, split in nights])
    return store_dir, csv_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=28, help="training recordings")
    parser.add_argument("--num_epochs", type=int, default=12)
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

    started = time.perf_counter()
    store_dir, csv_path = build_cohort(args.work_dir, args.recordings)
    print(f"cohort in {time.perf_counter() - started:.0f} s -> {store_dir}")
    status = cli(["train", "--preprocessed_dir", str(store_dir), "--csv_path", str(csv_path),
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
