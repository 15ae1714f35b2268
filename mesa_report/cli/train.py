"""``mesa-report train``: the seed's training flags, a split by night, best checkpoint by kappa."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data (the seed's flags)")
    data.add_argument("--preprocessed_dir", "--preprocessed-dir", type=Path, required=True,
                      help="folder of mesa-sleep-NNNN_preprocessed.pt files")
    data.add_argument("--csv_path", "--csv-path", type=Path, default=None,
                      help="index CSV (default: mesa_final.csv in the folder)")
    data.add_argument("--seq_len", "--seq-len", type=int, default=20, help="epochs per window")
    data.add_argument("--stride", type=int, default=1, help="epochs between training windows")
    data.add_argument("--train_split", "--train-split", type=float, default=0.7,
                      help="share of NIGHTS for training (ignored when the index has a split column)")
    data.add_argument("--val_split", "--val-split", type=float, default=0.15, help="share of nights for validation")
    data.add_argument("--max_samples", "--max-samples", type=int, default=None,
                      help="at most this many training windows per epoch")
    run = parser.add_argument_group("optimisation")
    run.add_argument("--num_epochs", "--num-epochs", type=int, default=50)
    run.add_argument("--batch_size", "--batch-size", type=int, default=16)
    run.add_argument("--learning_rate", "--learning-rate", type=float, default=3e-4)
    run.add_argument("--weight_decay", "--weight-decay", type=float, default=1e-4)
    run.add_argument("--focal_gamma", "--focal-gamma", type=float, default=2.0)
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (CUDA trains in bf16 autocast)")
    run.add_argument("--num_workers", "--num-workers", type=int, default=0)
    run.add_argument("--seed", type=int, default=42, help="seeds the night split, weights and shuffling")
    run.add_argument("--checkpoint_dir", "--checkpoint-dir", type=Path, default=Path("checkpoints_mesa"),
                     help="best_model.pth (by validation kappa) and last_model.pth go here; a run "
                          "refuses to start when they exist, unless --overwrite or --resume_from a "
                          "checkpoint in this folder")
    run.add_argument("--resume_from", "--resume-from", type=Path, default=None,
                     help="continue from this checkpoint (one in --checkpoint_dir may be replaced)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace best_model.pth/last_model.pth already in --checkpoint_dir")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    size = parser.add_argument_group("model size (defaults: the seed's)")
    size.add_argument("--d_model", "--d-model", type=int, default=256)
    size.add_argument("--dim_feedforward", "--dim-feedforward", type=int, default=512)
    size.add_argument("--classifier_hidden", "--classifier-hidden", type=int, default=None,
                      help="classifier hidden width (default: --dim_feedforward)")
    size.add_argument("--cnn_channels", "--cnn-channels", type=int, nargs=2, default=(64, 128),
                      metavar=("CONV1", "CONV2"))
    size.add_argument("--heads", type=int, nargs=3, default=(8, 4, 8), metavar=("TEMPORAL", "CHANNEL", "EPOCH"))
    size.add_argument("--dropout", type=float, default=0.1)
    size.add_argument("--num_classes", "--num-classes", type=int, default=6)


def run(args: argparse.Namespace) -> int:
    from mesa_report.model.train import TrainOptions, train

    model = dict(
        d_model=args.d_model, dim_feedforward=args.dim_feedforward,
        classifier_hidden=args.classifier_hidden or args.dim_feedforward,
        cnn_channels=tuple(args.cnn_channels), temporal_heads=args.heads[0], channel_heads=args.heads[1],
        epoch_heads=args.heads[2], dropout=args.dropout, num_classes=args.num_classes,
    )
    options = TrainOptions(
        preprocessed_dir=args.preprocessed_dir, csv_path=args.csv_path, num_epochs=args.num_epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, weight_decay=args.weight_decay,
        seq_len=args.seq_len, stride=args.stride, train_split=args.train_split, val_split=args.val_split,
        device=args.device, checkpoint_dir=args.checkpoint_dir, resume_from=args.resume_from,
        max_samples=args.max_samples, seed=args.seed, focal_gamma=args.focal_gamma,
        num_workers=args.num_workers, model=model, progress=not args.quiet,
        overwrite=args.overwrite,
    )
    result = train(options)
    last = result.history[-1] if result.history else {}
    print(f"best checkpoint: {result.best_checkpoint}")
    print(f"nights: train {len(result.splits['train'])}, val {len(result.splits['val'])}, "
          f"test {len(result.splits['test'])}")
    if last:
        print(f"last epoch: val accuracy {last['val_accuracy']:.3f}, kappa {last['val_kappa']:.3f}")
    if result.test_metrics:
        t = result.test_metrics
        per_stage = "  ".join(f"{k} {v:.2f}" for k, v in t["per_stage_f1"].items())
        print(f"test (best checkpoint): accuracy {t['accuracy']:.3f}, macro-F1 {t['macro_f1']:.3f}, "
              f"kappa {t['kappa']:.3f}; F1 per stage: {per_stage}")
    return 0
