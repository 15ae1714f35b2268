"""Loading and saving MESA Transformer checkpoints, safely.

Three layouts open here:

* the seed project's training checkpoints: a dict with ``model_state_dict`` and, once training
  finished, ``test_metrics``/``val_metrics`` holding numpy scalars and arrays and ``class_names``;
* mesa-report's own (:func:`save_checkpoint`): a ``format`` tag, the :class:`ModelConfig`, the state
  dict under ``model_state_dict`` (so the seed's loader reads it too), names and training history;
* a bare state dict or ``{"state_dict": ...}``, with or without DataParallel's ``module.`` prefix.

Every file is read with ``torch.load(weights_only=True)``. The only classes allowed on top of
PyTorch's own are the numpy ones a seed checkpoint's metrics need to be rebuilt (arrays, dtypes,
scalars); a pickle naming anything else is refused before any of it runs.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from mesa_report.core.errors import CheckpointError, ConfigError
from mesa_report.core.fileio import atomic_write
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.model.safe_numpy import numpy_safe_globals, plain_arrays
from mesa_report.model.weight_guard import checked_weights

FORMAT_TAG = "mesa-report/checkpoint-v1"
SEED_HEADS = {"temporal_heads": 8, "channel_heads": 4, "epoch_heads": 8}

_KEY_CHANNEL = re.compile(r"^channel_cnns\.(\d+)\.")
_KEY_TEMPORAL_LAYER = re.compile(r"^temporal_encoders\.0\.transformer\.layers\.(\d+)\.")
_KEY_EPOCH_LAYER = re.compile(r"^inter_epoch_transformer\.transformer\.layers\.(\d+)\.")
SHAPE_FIELDS = ("num_channels", "seq_len", "num_classes", "d_model", "cnn_channels", "conv1_kernel",
                "conv2_kernel", "temporal_layers", "epoch_layers", "dim_feedforward",
                "classifier_hidden", "max_tokens")
"""ModelConfig fields that the weight shapes tell (compared before a stored config is used)."""


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file into a dict with ``weights_only=True`` (numpy metrics allowed).

    Raises
    ------
    CheckpointError
        The file is missing, not a PyTorch file, truncated, or holds objects that are not plain
        data (a pickle that would run code is refused before anything runs).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ck.pth"
    >>> torch.save({"model_state_dict": {}, "test_metrics": {"kappa": np.float64(0.8)}}, p)
    >>> float(read_checkpoint(p)["test_metrics"]["kappa"])
    0.8
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}; give the path of a .pth file written by training "
            "(e.g. checkpoints_mesa/best_model.pth), or leave it out to use the demo model"
        )
    allowed = numpy_safe_globals(path, path.stat().st_size)
    try:
        with torch.serialization.safe_globals(allowed):
            data = plain_arrays(torch.load(path, map_location="cpu", weights_only=True))
    except pickle.UnpicklingError as exc:
        refused = _refused_globals(path, str(exc), {name for _, name in allowed})
        if refused:
            raise CheckpointError(
                f"refused to load {path}: it asks to import Python objects that a checkpoint never "
                f"needs ({refused}), and loading it could run code. Nothing from it was "
                "executed. If you trust its origin, re-save only its tensors: "
                "torch.save({'model_state_dict': model.state_dict()}, 'clean.pth')"
            ) from None
        unpickler = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(exc))
        detail = unpickler.group(1) if unpickler else (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path} is corrupt: its pickle cannot be read ({detail[:200]}); "
                              "copy it again or pick the .pth written by training") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError, IndexError) as exc:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); it may be truncated or another "
            "kind of file — copy it again or pick the .pth written by training"
        ) from None
    if isinstance(data, dict):
        return data
    raise CheckpointError(
        f"{path} holds a {type(data).__name__}, not a checkpoint dict or state dict; save "
        "model.state_dict() (or a dict with 'model_state_dict') instead of the model object"
    )


def _refused_globals(path: Path, message: str, allowed: set[str]) -> str:
    """``module.name`` of what safe loading refused, or ``''`` when the pickle is just corrupt."""
    if not re.search(r"GLOBAL|Can only (build|create)", message):
        return ""
    try:
        names = [n for n in torch.serialization.get_unsafe_globals_in_checkpoint(path) if n not in allowed]
    except Exception:  # a file too damaged to list: fall back to what the message says
        names = []
    if not names:
        match = re.search(r"GLOBAL (\S+)|but got <class '([^']+)'>", message)
        names = [next(filter(None, match.groups()))] if match else ["objects it does not name"]
    return ", ".join(sorted(names)[:5])


def extract_state_dict(checkpoint: dict, path: str | os.PathLike = "<checkpoint>") -> dict[str, torch.Tensor]:
    """The model weights of any supported layout, with ``module.`` prefixes removed."""
    for key in ("model_state_dict", "state_dict", "model"):
        if isinstance(checkpoint.get(key), dict):
            state = checkpoint[key]
            break
    else:
        state = checkpoint
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f"{path} holds no model weights (keys: {', '.join(list(map(str, checkpoint))[:8])}); "
            "expected 'model_state_dict' or a state dict of tensors"
        )
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def infer_config(state: dict[str, torch.Tensor], path: str | os.PathLike = "<checkpoint>",
                 **overrides) -> ModelConfig:
    """Read every size the weight shapes tell; head counts (invisible in shapes) default to the seed's.

    Examples
    --------
    >>> cfg = ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16), temporal_heads=4,
    ...                   channel_heads=2, epoch_heads=4, seq_len=10)
    >>> inferred = infer_config(MesaTransformer(cfg).state_dict(), temporal_heads=4, channel_heads=2,
    ...                         epoch_heads=4)
    >>> inferred.d_model, inferred.seq_len, inferred.cnn_channels
    (32, 10, (8, 16))
    """
    try:
        conv1 = state["channel_cnns.0.conv1.weight"]  # (w1, 1, k1)
        conv2 = state["channel_cnns.0.conv2.weight"]  # (w2, w1, k2)
        proj = state["channel_projections.0.weight"]  # (d, w2)
        temporal_pe = state["temporal_encoders.0.pos_encoder.pe"]  # (1, max_tokens, d)
        epoch_pe = state["inter_epoch_transformer.pos_encoder.pe"]  # (1, seq_len, d)
        ff = state["temporal_encoders.0.transformer.layers.0.linear1.weight"]  # (ff, d)
        hidden = state["classifier.0.weight"]  # (hidden, d)
        head = state["classifier.3.weight"]  # (K, hidden)
    except KeyError as exc:
        raise CheckpointError(
            f"{path} is not a MESA Transformer checkpoint: weight {exc.args[0]!r} is missing "
            f"(it has e.g. {', '.join(list(state)[:5])})"
        ) from None
    sizes = dict(
        num_channels=len({int(m.group(1)) for k in state if (m := _KEY_CHANNEL.match(k))}),
        seq_len=int(epoch_pe.shape[1]),
        num_classes=int(head.shape[0]),
        d_model=int(proj.shape[0]),
        cnn_channels=(int(conv1.shape[0]), int(conv2.shape[0])),
        conv1_kernel=int(conv1.shape[2]),
        conv2_kernel=int(conv2.shape[2]),
        temporal_layers=len({int(m.group(1)) for k in state if (m := _KEY_TEMPORAL_LAYER.match(k))}),
        epoch_layers=len({int(m.group(1)) for k in state if (m := _KEY_EPOCH_LAYER.match(k))}),
        dim_feedforward=int(ff.shape[0]),
        classifier_hidden=int(hidden.shape[0]),
        max_tokens=int(temporal_pe.shape[1]),
    )
    sizes.update(SEED_HEADS)
    sizes.update({k: v for k, v in overrides.items() if v is not None})
    return ModelConfig(**sizes)


def _check_arguments(config: ModelConfig, path: Path, **requested) -> None:
    for name, value in requested.items():
        if value is not None and getattr(config, name) != value:
            raise ConfigError(
                f"{name}={value} disagrees with the checkpoint {path}, which was trained with "
                f"{name}={getattr(config, name)}; drop the argument or pass {name}={getattr(config, name)}"
            )


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``torch.device`` for a user's choice; CUDA/MPS without hardware falls back to CPU with a warning."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(f"device={device!r} asked for, but CUDA is not available here: running on the CPU",
                      RuntimeWarning, stacklevel=3)
        return torch.device("cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device {device!r} does not exist: this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        warnings.warn(f"device={device!r} is not available here: running on the CPU", RuntimeWarning,
                      stacklevel=3)
        return torch.device("cpu")
    return dev


def load_model(checkpoint_path: str | os.PathLike, num_channels: int | None = 3,
               time_steps: int | None = 3840, seq_len: int | None = 20, num_classes: int | None = 6,
               device: str | torch.device = "cpu", *, temporal_heads: int | None = None,
               channel_heads: int | None = None, epoch_heads: int | None = None,
               channel_names: list[str] | tuple[str, ...] | None = None) -> MesaTransformer:
    """Load a checkpoint (the seed's, mesa-report's or a bare state dict) into an eval-mode model.

    The seed's signature: ``num_channels``, ``time_steps``, ``seq_len`` and ``num_classes`` are
    checked against what the checkpoint holds (pass ``None`` to accept whatever it holds); a
    disagreement is an error naming both values. Head counts are not visible in a state dict: they
    default to the seed's 8/4/8 unless the checkpoint's config or these arguments say otherwise.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cfg = ModelConfig(d_model=32, dim_feedforward=64, cnn_channels=(8, 16), temporal_heads=4,
    ...                   channel_heads=2, epoch_heads=4)
    >>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "m.pth", MesaTransformer(cfg))
    >>> load_model(path).config.d_model
    32
    """
    path = Path(checkpoint_path)
    checkpoint = read_checkpoint(path)
    state = checked_weights(extract_state_dict(checkpoint, path), path)
    heads = dict(temporal_heads=temporal_heads, channel_heads=channel_heads, epoch_heads=epoch_heads)
    try:
        if isinstance(checkpoint.get("config"), dict):
            stored = dict(checkpoint["config"])
            stored.update({k: v for k, v in heads.items() if v is not None})
            config = ModelConfig.from_dict(stored)
            _check_config_fits_weights(config, state, path)
        else:
            config = infer_config(state, path, **heads)
            names = checkpoint.get("class_names")
            if isinstance(names, (list, tuple)) and len(names) == config.num_classes:
                config = ModelConfig.from_dict({**config.to_dict(), "class_names": list(names)})
        if channel_names is not None:
            config = ModelConfig.from_dict({**config.to_dict(), "channel_names": list(channel_names)})
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    _check_arguments(config, path, num_channels=num_channels, time_steps=time_steps, seq_len=seq_len,
                     num_classes=num_classes)
    model = MesaTransformer(config)
    _load_weights(model, state, path)
    return model.to(resolve_device(device)).eval()


def _check_config_fits_weights(config: ModelConfig, state: dict[str, torch.Tensor], path: Path) -> None:
    """A stored config must say what its weights' shapes say, before a model is built from it."""
    inferred = infer_config(state, path)
    for name in SHAPE_FIELDS:
        if getattr(config, name) != getattr(inferred, name):
            raise CheckpointError(
                f"{path}: its config says {name}={getattr(config, name)} but its weights have "
                f"{name}={getattr(inferred, name)}; the file was edited or damaged — copy it again"
            )


def _load_weights(model: MesaTransformer, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(
            f"{path} does not fit the MESA Transformer: weights {'; '.join(parts)}. It was saved "
            "from another model or another version of it"
        )
    wrong = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in expected.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        k, got, want = wrong[0]
        raise CheckpointError(
            f"{path}: weight {k} has shape {got} but the model built from its sizes needs {want} "
            f"({len(wrong)} such weights); the head counts may differ — pass temporal_heads/"
            "channel_heads/epoch_heads as used in training"
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(
            f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}{'…' if len(bad) > 3 else ''}); "
            "training diverged before it was saved — use an earlier checkpoint or a lower learning rate"
        )
    model.load_state_dict(state, strict=True)


def save_checkpoint(path: str | os.PathLike, model: MesaTransformer, *, epoch: int | None = None,
                    history: list[dict] | None = None, metrics: dict | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    scheduler: object | None = None, training: dict | None = None) -> Path:
    """Write a mesa-report checkpoint atomically; both :func:`load_model` and the seed's loader read it.

    Only plain types are stored (tensors, numbers, strings, lists, dicts), so it loads with
    ``weights_only=True`` anywhere.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT_TAG,
        "config": model.config.to_dict(),
        "model_state_dict": state,
        "class_names": list(model.config.class_names),
        "channel_names": list(model.config.channel_names),
        "epoch": int(epoch) if epoch is not None else None,
        "history": _plain(history or []),
        "metrics": _plain(metrics or {}),
        "training": _plain(training or {}),
    }
    if metrics and "kappa" in metrics:
        payload["best_val_acc"] = float(metrics.get("macro_f1", metrics["kappa"]))
    if optimizer is not None:
        payload["optimizer_state_dict"] = optimizer.state_dict()
    if scheduler is not None and hasattr(scheduler, "state_dict"):
        payload["scheduler_state_dict"] = scheduler.state_dict()
    with atomic_write(path, "wb") as fh:
        torch.save(payload, fh)
    return Path(path)


def _plain(value):
    """Numbers, strings, lists and dicts only (numpy scalars/arrays become Python values)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_summary(path: str | os.PathLike) -> dict:
    """What a report says about a checkpoint: name, hash, config, training summary.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "m.pth", MesaTransformer(ModelConfig(
    ...     d_model=32, dim_feedforward=64, cnn_channels=(8, 16), temporal_heads=4, channel_heads=2,
    ...     epoch_heads=4)), epoch=3)
    >>> s = checkpoint_summary(p); s["name"], s["epoch"], len(s["sha256"])
    ('m.pth', 3, 64)
    """
    path = Path(path)
    checkpoint = read_checkpoint(path)
    state = extract_state_dict(checkpoint, path)
    config = (ModelConfig.from_dict(checkpoint["config"]) if isinstance(checkpoint.get("config"), dict)
              else infer_config(state, path))
    metrics = checkpoint.get("metrics") or checkpoint.get("val_metrics") or {}
    return {
        "name": path.name,
        "path": str(path),
        "sha256": file_sha256(path),
        "size_bytes": path.stat().st_size,
        "format": checkpoint.get("format", "seed" if "model_state_dict" in checkpoint else "state dict"),
        "config": config.to_dict(),
        "parameters": int(sum(v.numel() for k, v in state.items() if not k.endswith(
            ("running_mean", "running_var", "num_batches_tracked", ".pe")))),
        "epoch": checkpoint.get("epoch"),
        "best_val": _plain(checkpoint.get("best_val_acc")),
        "metrics": _plain({k: v for k, v in metrics.items() if np.ndim(v) == 0}) if isinstance(metrics, dict)
        else {},
        "training": _plain(checkpoint.get("training") or {}),
    }
