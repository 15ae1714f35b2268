"""Where a command's model and nights come from: the user's files, or the built-in demo.

Every command that reads nights (``visualize``, ``report``, ``faithfulness``, ``batch``) takes the
same data options through :func:`add_data_arguments` and resolves them with :func:`resolve_sources`:
with no option it uses the demo cohort and the demo checkpoint; with the seed's
``--preprocessed_dir`` (and ``--csv_path``) it reads that store, with the seed's checkpoint path
``checkpoints_mesa/best_model.pth`` unless ``--checkpoint_path`` says otherwise.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from mesa_report.core.errors import ConfigError
from mesa_report.core.settings import load_settings

SEED_CHECKPOINT = Path("checkpoints_mesa") / "best_model.pth"
"""The seed's checkpoint path, used when a store is given without ``--checkpoint_path``."""


@dataclass(frozen=True)
class Sources:
    """A resolved checkpoint and store."""

    checkpoint: Path
    preprocessed_dir: Path
    csv_path: Path | None
    is_demo: bool


def add_data_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The seed's data flags (underscores, with hyphenated aliases) and ``--device``."""
    data = parser.add_argument_group("data (default: the built-in demo cohort and model)")
    data.add_argument("--checkpoint_path", "--checkpoint-path", type=Path, default=None,
                      help=f"model checkpoint (default: {SEED_CHECKPOINT.as_posix()} with a store, "
                           "the demo model without)")
    data.add_argument("--preprocessed_dir", "--preprocessed-dir", type=Path, default=None,
                      help="folder of mesa-sleep-NNNN_preprocessed.pt files")
    data.add_argument("--csv_path", "--csv-path", type=Path, default=None,
                      help="index CSV (default: mesa_final.csv in the folder)")
    data.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    return data


def add_subject_arguments(parser: argparse.ArgumentParser, noun: str = "nights") -> None:
    """``--subject ID`` (repeatable) or ``--all``: which nights a command works on."""
    who = parser.add_argument_group(f"{noun} (default with the demo: all of its nights)")
    choice = who.add_mutually_exclusive_group()
    choice.add_argument("--subject", "--subjects", dest="subjects", action="append", default=None,
                        metavar="ID", help="a night's id (1, 0001 or mesa-sleep-0001); repeatable")
    choice.add_argument("--all", action="store_true", help="every night of the index")


def resolve_sources(args: argparse.Namespace, *, progress: bool = False) -> Sources:
    """The checkpoint and store named by the data options, or the demo's (built on first use)."""
    if args.csv_path is not None and args.preprocessed_dir is None:
        raise ConfigError("--csv_path was given without --preprocessed_dir; give the store folder too")
    if args.preprocessed_dir is not None:
        return Sources(args.checkpoint_path or SEED_CHECKPOINT, args.preprocessed_dir, args.csv_path, False)
    from mesa_report import demo

    settings = load_settings()  # the same demo size as the app's: $MESA_REPORT_DEMO_SIZE or the default
    store = demo.demo_store(n_nights=settings.demo_nights, hours=settings.demo_hours, progress=progress)
    checkpoint = args.checkpoint_path or demo.DEMO_CHECKPOINT
    return Sources(checkpoint, store.preprocessed_dir, store.csv_path, args.checkpoint_path is None)
