"""The on-disk result cache: each night is inferred once per checkpoint, night file and settings.

An entry is a :class:`~mesa_report.inference.cohort.NightResult` written with :meth:`NightResult.save`
(an ``.npz`` without pickle, written atomically, so concurrent writers never leave a partial
file under a final name) at ``<root>/<record id>_<key>.<kind>.npz``. The key is a digest of the
checkpoint's SHA-256, the night file's SHA-256, the arithmetic (``fp32`` on the CPU, ``bf16`` on
CUDA), the epoch cutting and the software version. ``kind`` is ``full`` (every temporal map) or
``summary`` (the temporal maps of the detailed samples only); a full entry serves every request.

Entries are checked when read: a file that cannot be read or whose arrays disagree is counted as
damaged and treated as missing, so it is computed again and overwritten, never trusted. The
scoring is not part of the key: labels are taken from the night each time an entry is read.

File hashes are remembered under ``<root>/hashes/`` by path, size and modification time, so a
night file is read for hashing once, not on every run.

Examples
--------
>>> cache = ResultCache(tempfile.mkdtemp())  # doctest: +SKIP
>>> key = cache.key("best_model.pth", night, "fp32")  # doctest: +SKIP
>>> cache.get(key, night) is None, cache.stats.misses  # doctest: +SKIP
(True, 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mesa_report import __version__
from mesa_report.core.settings import load_settings
from mesa_report.model.checkpoint import file_sha256
from mesa_report.inference.cohort import DetailPicker, NightResult, precision_of
from mesa_report.core.errors import ConfigError, MesaReportError
from mesa_report.core.fileio import write_text_atomic
from mesa_report.inference.night import NightInference, ProgressFn, infer_night
from mesa_report.model.network import MesaTransformer
from mesa_report.data.store import Night, record_id

RESULTS_DIRNAME = "results"
"""Subfolder of the cache root (:func:`mesa_report.demo.default_cache_dir`) holding results."""

FORMAT_VERSION = 1
"""Version of the entry layout; part of every key."""

KINDS = ("full", "summary")
"""Entry kinds, in the order they are looked up."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_UNREADABLE = (MesaReportError, zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, TypeError)


def default_results_dir() -> Path:
    """``<cache root>/results``: the default cache folder (``$MESA_REPORT_CACHE_DIR`` moves it).

    Examples
    --------
    >>> default_results_dir().name
    'results'
    """
    return load_settings().cache_dir / RESULTS_DIRNAME


@dataclass
class CacheStats:
    """What one :class:`ResultCache` did: entries found, not found, found damaged, written."""

    hits: int = 0
    misses: int = 0
    damaged: int = 0
    stored: int = 0


class ResultCache:
    """Night results on disk, keyed by checkpoint, night file and settings (safe to share
    between threads).

    Parameters
    ----------
    root : path-like, optional
        The cache folder; default :func:`default_results_dir`. Created on first write.

    Examples
    --------
    >>> import tempfile
    >>> ResultCache(tempfile.mkdtemp()).stats
    CacheStats(hits=0, misses=0, damaged=0, stored=0)
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_results_dir()
        self.stats = CacheStats()
        self._lock = threading.Lock()  # lookups may run in several threads

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def __repr__(self) -> str:
        return f"ResultCache({str(self.root)!r})"

    def file_sha256(self, path: str | os.PathLike) -> str:
        """SHA-256 of a file, remembered by resolved path, size and modification time.

        Raises
        ------
        ConfigError
            If the file does not exist.
        """
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError as exc:
            raise ConfigError(f"{path} cannot be read ({exc.strerror or exc}); check the path") from None
        token = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
        memo = self.root / "hashes" / f"{token}.sha256"
        try:
            remembered = memo.read_text(encoding="ascii").strip()
            if _HEX64.fullmatch(remembered):
                return remembered
        except (OSError, UnicodeDecodeError):
            pass
        digest = file_sha256(path)
        write_text_atomic(memo, digest + "\n")
        return digest

    def key(self, checkpoint_path: str | os.PathLike, night: Night, precision: str) -> str:
        """The key of ``night``'s result with this checkpoint and arithmetic.

        Examples
        --------
        >>> cache.key("best_model.pth", night, "fp32")[:8]  # doctest: +SKIP
        '3f9a41c2'
        """
        payload = {
            "format": FORMAT_VERSION, "software": __version__,
            "checkpoint": self.file_sha256(checkpoint_path), "night": self.file_sha256(night.path),
            "precision": precision, "epoch_seconds": night.epoch_seconds, "sfreq_hz": night.sfreq_hz,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, key: str, mesaid: int, kind: str) -> Path:
        """Where the entry of ``kind`` for this key lives."""
        if kind not in KINDS:
            raise ConfigError(f"entry kind {kind!r}: choose {' or '.join(KINDS)}")
        return self.root / f"{record_id(mesaid)}_{key}.{kind}.npz"

    def lookup(self, key: str, night: Night, *, full: bool = False,
               detail_samples: DetailPicker | None = None) -> tuple[Path, NightResult] | None:
        """The entry that serves a request, read and checked, with its path; None if there is none.

        Parameters
        ----------
        key : str
            From :meth:`key`.
        night : Night
            The night (its id and length are checked; its labels replace the stored ones).
        full : bool
            Whether every temporal map is needed (only a ``full`` entry serves).
        detail_samples : callable, optional
            The samples whose temporal maps are needed; a ``summary`` entry that lacks one of
            them does not serve.
        """
        for kind in KINDS[:1] if full else KINDS:
            path = self.path(key, night.mesaid, kind)
            if not path.is_file():
                continue
            try:
                result = NightResult.load(path)
                result.check(night)
                result = result.with_labels(night.labels)
            except _UNREADABLE:
                self._count("damaged")  # computed again and overwritten by put()
                continue
            if kind == "summary" and detail_samples is not None and not set(
                    int(k) for k in detail_samples(result.stored)) <= set(result.temporal_samples.tolist()):
                continue
            self._count("hits")
            return path, result
        self._count("misses")
        return None

    def get(self, key: str, night: Night, *, full: bool = False,
            detail_samples: DetailPicker | None = None) -> NightResult | None:
        """The result that serves a request (see :meth:`lookup`), or None."""
        found = self.lookup(key, night, full=full, detail_samples=detail_samples)
        return found[1] if found is not None else None

    def put(self, key: str, result: NightResult) -> Path:
        """Store ``result`` atomically under ``key`` and return the entry's path."""
        path = self.path(key, result.mesaid, "full" if result.complete else "summary")
        result.save(path)
        self._count("stored")
        return path


def cached_infer_night(model: MesaTransformer, night: Night,
                       checkpoint_path: str | os.PathLike | None = None, *,
                       cache_dir: str | os.PathLike | None = None, batch_size: int = 8,
                       progress: ProgressFn | None = None,
                       cache: ResultCache | None = None) -> NightInference:
    """:func:`mesa_report.inference.night.infer_night` through the result cache.

    A full entry for this checkpoint, night file and arithmetic is read back; otherwise the
    night is inferred and stored, so the app, ``visualize``, ``report`` and ``batch`` never
    infer a night twice.

    Parameters
    ----------
    model : MesaTransformer
        The model loaded from ``checkpoint_path``.
    night : Night
        The night.
    checkpoint_path : path-like, optional
        The model's checkpoint; default ``model.checkpoint_path`` (set by
        :func:`mesa_report.model.checkpoint.load_model`).
    cache_dir : path-like, optional
        Cache folder; default :func:`default_results_dir`. Ignored when ``cache`` is given.
    batch_size, progress
        As for :func:`~mesa_report.inference.night.infer_night` (not called on a cache hit).
    cache : ResultCache, optional
        An open cache (to read its :attr:`ResultCache.stats`).

    Raises
    ------
    ConfigError
        If the checkpoint is not known.

    Examples
    --------
    >>> result = cached_infer_night(load_model(path), store.night(1), path)  # doctest: +SKIP
    >>> result.probs.shape  # doctest: +SKIP
    (480, 6)
    """
    checkpoint = checkpoint_path if checkpoint_path is not None else getattr(model, "checkpoint_path", None)
    if checkpoint is None:
        raise ConfigError("the result cache needs the model's checkpoint file: pass checkpoint_path "
                          "or load the model with mesa_report.model.checkpoint.load_model")
    cache = cache if cache is not None else ResultCache(cache_dir)
    key = cache.key(checkpoint, night, precision_of(next(model.parameters()).device))
    hit = cache.get(key, night, full=True)
    if hit is not None:
        return hit.inference()
    result = infer_night(model, night, batch_size=batch_size, progress=progress)
    cache.put(key, NightResult.from_inference(result))
    return result

