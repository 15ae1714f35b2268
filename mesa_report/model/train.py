"""Training a MESA Transformer on a preprocessed store.

The seed's recipe (focal loss with square-root inverse-frequency class weights, AdamW, a cosine
schedule, gradient clipping), with two differences that matter for honest figures: nights — never
windows — are split into train/validation/test, so one subject never lands on both sides; and the
best checkpoint is chosen by validation Cohen's kappa. Unscored epochs (label -1) are ignored by the
loss and by every metric.

Examples
--------
>>> # train(TrainOptions(preprocessed_dir="C:/mesa", csv_path="mesa_final.csv", num_epochs=30))
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from mesa_report.model.checkpoint import load_model, read_checkpoint, resolve_device, save_checkpoint
from mesa_report.data.dataset import MesaWindowDataset
from mesa_report.core.errors import ConfigError, DataError
from mesa_report.scoring.metrics import classification_metrics
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.core.vocabulary import UNSCORED

SPLITS = ("train", "val", "test")
CHECKPOINT_NAMES = ("best_model.pth", "last_model.pth")
"""Files a training run writes into its checkpoint folder."""


@dataclass
class TrainOptions:
    """Everything ``mesa-report train`` takes; the defaults are the seed's training script's."""

    preprocessed_dir: Path  # store folder
    csv_path: Path | None = None  # index CSV (default: mesa_final.csv in the store)
    num_epochs: int = 50  # passes over the training windows
    batch_size: int = 16  # windows per step
    learning_rate: float = 3e-4  # AdamW learning rate (cosine-annealed to 0)
    weight_decay: float = 1e-4  # AdamW weight decay
    seq_len: int = 20  # epochs per window
    stride: int = 1  # epochs between training windows (1 = the seed's overlapping windows)
    train_split: float = 0.7  # share of nights for training (when the index has no split column)
    val_split: float = 0.15  # share of nights for validation (the rest is the test split)
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    checkpoint_dir: Path = Path("checkpoints_mesa")  # best_model.pth and last_model.pth go here
    resume_from: Path | None = None  # a checkpoint to continue from
    max_samples: int | None = None  # cap on training windows per epoch (quick runs)
    seed: int = 42  # seeds the split, the weights and the shuffling
    focal_gamma: float = 2.0  # focal-loss focusing parameter (0 = weighted cross-entropy)
    grad_clip: float = 1.0  # gradient-norm clip
    num_workers: int = 0  # DataLoader workers
    model: dict = field(default_factory=dict)  # ModelConfig overrides (d_model, dim_feedforward, …)
    progress: bool = True  # show a progress bar
    overwrite: bool = False  # replace best_model.pth/last_model.pth already in checkpoint_dir


@dataclass
class TrainResult:
    best_checkpoint: Path
    history: list[dict]
    test_metrics: dict | None
    splits: dict[str, list[int]]


def split_nights(dataset: MesaWindowDataset, train_split: float, val_split: float,
                 seed: int) -> dict[str, list[int]]:
    """Nights per split: the index's ``split`` column when present, else a seeded shuffle of nights.

    Examples
    --------
    >>> # {'train': [1, 2, 5, …], 'val': [3], 'test': [4]}
    """
    nights = [m for m in dataset.mesaids if m not in dataset.too_short]
    index = dataset.store.index
    if "split" in index.columns:
        column = dict(zip(index["mesaid"].astype(int), index["split"].astype(str).str.lower().str.strip()))
        splits = {name: [m for m in nights if column.get(m) == name] for name in SPLITS}
        if not splits["train"] or not splits["val"]:
            raise DataError(f"the index {dataset.store.csv_path} has a split column but no "
                            f"{'train' if not splits['train'] else 'val'} nights; mark at least one night "
                            "'train' and one 'val' (or remove the column for a random split)")
        return splits
    if len(nights) < 2:
        raise DataError(
            f"{dataset.store.root} has {len(nights)} usable night(s); a split by night needs at least 2 "
            "(one to train on, one to validate on) — add nights, since windows of one subject must "
            "never be split between training and validation"
        )
    if not (0 < train_split < 1 and 0 <= val_split < 1 and train_split + val_split <= 1):
        raise ConfigError(f"train_split={train_split} and val_split={val_split} must be shares in (0, 1) "
                          "that add up to at most 1")
    order = list(nights)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_split * len(order)))
    n_train = max(1, min(len(order) - n_val, round(train_split * len(order))))
    return {"train": order[:n_train], "val": order[n_train : n_train + n_val],
            "test": order[n_train + n_val :]}


def _subset(dataset: MesaWindowDataset, mesaids: list[int]) -> Subset:
    wanted = set(mesaids)
    indices = [i for i in range(len(dataset)) if dataset.window_info(i)[0] in wanted]
    return Subset(dataset, indices)


def class_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Square-root inverse-frequency weights over scored epochs, mean 1 (absent classes get the max).

    Examples
    --------
    >>> [round(w, 4) for w in class_weights(np.array([0, 0, 0, 0, 1, -1]), 2).tolist()]
    [0.6667, 1.3333]
    """
    counts = np.bincount(labels[labels != UNSCORED], minlength=num_classes).astype(np.float64)
    if counts.sum() == 0:
        raise DataError("the training nights hold no scored epoch (every label is -1); nothing to learn from")
    weights = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0)
    weights[counts == 0] = weights.max()
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, gamma: float) -> torch.Tensor:
    """Class-weighted focal loss over scored epochs; ``logits (B, S, K)``, ``labels (B, S)`` with -1 ignored."""
    logits = logits.reshape(-1, logits.shape[-1]).float()  # (B·S, K)
    labels = labels.reshape(-1)  # (B·S,)
    scored = labels != UNSCORED
    if not scored.any():
        return logits.sum() * 0.0
    logits, labels = logits[scored], labels[scored]
    log_p = F.log_softmax(logits, dim=-1).gather(1, labels[:, None]).squeeze(1)  # (n,)
    focus = (1.0 - log_p.exp()).clamp(min=0.0) ** gamma
    w = weight[labels]
    return -(w * focus * log_p).sum() / w.sum()


@torch.no_grad()
def evaluate(model: MesaTransformer, loader: DataLoader, weight: torch.Tensor, gamma: float,
             device: torch.device) -> dict:
    """Loss, accuracy, macro-F1, Cohen's kappa and per-stage F1 of ``model`` over ``loader``."""
    model.eval()
    losses, labels_all, pred_all = [], [], []
    for features, labels in loader:
        features, labels = features.to(device), labels.to(device)
        out = model(features)
        losses.append(float(focal_loss(out.logits, labels, weight, gamma)) * labels.numel())
        labels_all.append(labels.reshape(-1).cpu().numpy())
        pred_all.append(out.logits.argmax(-1).reshape(-1).cpu().numpy())
    labels_np, pred_np = np.concatenate(labels_all), np.concatenate(pred_all)
    result = classification_metrics(labels_np, pred_np, model.config.class_names)
    if result is None:
        raise DataError("the validation nights hold no scored epoch; choose other validation nights")
    return {
        "loss": sum(losses) / max(1, labels_np.size),
        "accuracy": result.accuracy,
        "macro_f1": result.macro_f1,
        "kappa": result.kappa,
        "per_stage_f1": dict(zip(result.class_names, result.per_stage_f1)),
        "confusion": result.confusion.tolist(),
    }


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(options: TrainOptions) -> TrainResult:
    """Train, validate after every epoch, keep the best checkpoint by validation kappa.

    Interrupting (Ctrl-C) stops after the current step; the best checkpoint written so far stays
    intact because every checkpoint is written atomically.
    """
    refuse_to_overwrite(options)
    _seed_everything(options.seed)
    device = resolve_device(options.device)
    dataset = MesaWindowDataset(options.preprocessed_dir, options.csv_path, seq_len=options.seq_len,
                                stride=options.stride, filter_unscored=False)
    splits = split_nights(dataset, options.train_split, options.val_split, options.seed)
    train_set = _subset(dataset, splits["train"])
    val_set = _subset(dataset, splits["val"])
    if len(train_set) == 0 or len(val_set) == 0:
        raise DataError("the training or validation nights give no window; check the split and seq_len")
    labels = np.concatenate([dataset.store.night(m).labels for m in splits["train"]])
    weight = class_weights(labels, _num_classes(options)).to(device)

    model, start_epoch, history, resumed = _initial_model(options, dataset, device)
    optimizer, scheduler = _optimizer_and_schedule(model, options, resumed)
    generator = torch.Generator().manual_seed(options.seed)
    val_loader = DataLoader(val_set, batch_size=options.batch_size, shuffle=False,
                            num_workers=options.num_workers)
    checkpoint_dir = Path(options.checkpoint_dir)
    best_path = checkpoint_dir / CHECKPOINT_NAMES[0]
    best_kappa = max((h["val_kappa"] for h in history), default=-math.inf)
    training_meta = _training_meta(options, splits, weight)
    bar = _progress_bar(options.progress, total=options.num_epochs, initial=start_epoch)
    try:
        for epoch in range(start_epoch, options.num_epochs):
            started = time.perf_counter()
            train_loss, seen_epochs = _train_one_pass(model, train_set, options, generator, optimizer,
                                                      weight, device)
            scheduler.step()
            val = evaluate(model, val_loader, weight, options.focal_gamma, device)
            elapsed = time.perf_counter() - started
            record = {
                "epoch": epoch + 1, "train_loss": train_loss,
                "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"],
                "val_kappa": val["kappa"], "val_per_stage_f1": val["per_stage_f1"],
                "seconds": elapsed, "train_epochs_per_s": seen_epochs / elapsed,
            }
            history.append(record)
            checkpoint_args = dict(epoch=epoch + 1, history=history, optimizer=optimizer, scheduler=scheduler,
                                   training=training_meta)
            if _finite(val["kappa"]) and val["kappa"] > best_kappa:
                best_kappa = val["kappa"]
                save_checkpoint(best_path, model, metrics=_scalar_metrics(val), **checkpoint_args)
            save_checkpoint(checkpoint_dir / CHECKPOINT_NAMES[1], model, metrics=_scalar_metrics(val),
                            **checkpoint_args)
            if bar is not None:
                bar.set_postfix(loss=f"{record['train_loss']:.3f}", val_kappa=f"{val['kappa']:.3f}")
                bar.update(1)
    except torch.cuda.OutOfMemoryError:
        raise ConfigError(f"CUDA ran out of memory at batch_size={options.batch_size}; "
                          "lower --batch_size") from None
    finally:
        if bar is not None:
            bar.close()
    if not best_path.exists():
        save_checkpoint(best_path, model, epoch=len(history), history=history, training=training_meta)
    test_metrics = _test_metrics(best_path, dataset, splits["test"], options, weight, device)
    return TrainResult(best_checkpoint=best_path, history=history, test_metrics=test_metrics, splits=splits)


def _training_meta(options: TrainOptions, splits: dict, weight: torch.Tensor) -> dict:
    """What a checkpoint records of the run that made it: nights per split, options, class weights."""
    return {
        "nights": {k: [int(m) for m in v] for k, v in splits.items()},
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(options).items()
                    if k not in ("progress",)},
        "class_weights": weight.cpu().tolist(),
    }


def _test_metrics(best_path: Path, dataset: MesaWindowDataset, test_nights: list, options: TrainOptions,
                  weight: torch.Tensor, device: torch.device) -> dict | None:
    """The best checkpoint's figures on the test nights (None without test nights)."""
    if not test_nights:
        return None
    best = load_model(best_path, num_channels=None, time_steps=None, seq_len=None, num_classes=None,
                      device=device)
    test_loader = DataLoader(_subset(dataset, test_nights), batch_size=options.batch_size)
    return evaluate(best, test_loader, weight, options.focal_gamma, device)


def _optimizer_and_schedule(model: MesaTransformer, options: TrainOptions, resumed: dict):
    """AdamW and its cosine schedule over ``num_epochs``, restored from a resumed checkpoint."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate,
                                  weight_decay=options.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, options.num_epochs))
    if resumed.get("optimizer_state_dict"):
        optimizer.load_state_dict(resumed["optimizer_state_dict"])
    if resumed.get("scheduler_state_dict"):
        scheduler.load_state_dict({**resumed["scheduler_state_dict"], "T_max": max(1, options.num_epochs)})
    return optimizer, scheduler


def _train_one_pass(model: MesaTransformer, train_set, options: TrainOptions, generator: torch.Generator,
                    optimizer: torch.optim.Optimizer, weight: torch.Tensor,
                    device: torch.device) -> tuple[float, int]:
    """One pass over (at most ``max_samples`` of) the training windows in a fresh random order.

    Returns the mean loss per window and the number of 30 s epochs seen.
    """
    model.train()
    order = torch.randperm(len(train_set), generator=generator).tolist()
    if options.max_samples:
        order = order[: options.max_samples]
    loader = DataLoader(Subset(train_set, order), batch_size=options.batch_size, shuffle=False,
                        num_workers=options.num_workers, drop_last=False)
    total_loss, total_items, seen_epochs = 0.0, 0, 0
    for features, labels in loader:
        features, labels = features.to(device), labels.to(device)  # (B, S, C, T), (B, S)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = model(features)
        loss = focal_loss(out.logits, labels, weight, options.focal_gamma)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
        optimizer.step()
        total_loss += float(loss.detach()) * labels.shape[0]
        total_items += labels.shape[0]
        seen_epochs += labels.numel()
    return total_loss / max(1, total_items), seen_epochs


def refuse_to_overwrite(options: TrainOptions) -> None:
    """Refuse, before any work, to replace checkpoints an earlier run left in ``checkpoint_dir``.

    Replacing them is allowed with ``overwrite=True``, or when resuming from a checkpoint in that
    same folder (continuing the run that wrote them).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "best_model.pth").write_bytes(b"trained")
    >>> try:
    ...     refuse_to_overwrite(TrainOptions(preprocessed_dir=folder, checkpoint_dir=folder))
    ... except ConfigError as exc:
    ...     print(str(exc).split(";")[0].endswith("best_model.pth already exists"))
    True
    """
    folder = Path(options.checkpoint_dir)
    existing = [folder / name for name in CHECKPOINT_NAMES if (folder / name).exists()]
    resuming_here = (options.resume_from is not None
                     and Path(options.resume_from).resolve().parent == folder.resolve())
    if existing and not options.overwrite and not resuming_here:
        raise ConfigError(f"{existing[0]} already exists; training would replace it. Pass --overwrite "
                          f"to replace it, --resume_from {folder / CHECKPOINT_NAMES[1]} to continue "
                          "that run, or choose another --checkpoint_dir")


def _num_classes(options: TrainOptions) -> int:
    return int(options.model.get("num_classes", ModelConfig.num_classes))


def _initial_model(options: TrainOptions, dataset: MesaWindowDataset, device: torch.device):
    if options.resume_from is not None:
        checkpoint = read_checkpoint(options.resume_from)
        model = load_model(options.resume_from, num_channels=None, time_steps=None, seq_len=options.seq_len,
                           num_classes=None, device=device)
        history = list(checkpoint.get("history") or [])
        return model, int(checkpoint.get("epoch") or len(history)), history, checkpoint
    first = dataset.store.night(dataset.mesaids[0])
    overrides = dict(options.model)
    overrides.setdefault("seq_len", options.seq_len)
    overrides.setdefault("time_steps", first.epoch_samples)
    overrides.setdefault("sfreq_hz", first.sfreq_hz)
    overrides.setdefault("channel_names", tuple(first.channel_names[: overrides.get("num_channels", 3)]))
    return MesaTransformer(ModelConfig(**overrides)).to(device), 0, [], {}


def _scalar_metrics(val: dict) -> dict:
    return {k: v for k, v in val.items() if isinstance(v, (int, float))}


def _finite(value: float) -> bool:
    return value is not None and not math.isnan(value)


def _progress_bar(enabled: bool, **kwargs):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(desc="training", unit="epoch", **kwargs)
