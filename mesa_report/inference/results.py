"""The on-disk result cache: each night is inferred once per checkpoint, night file and settings.

An entry is a :class:`~mesa_report.inference.stored.NightResult` written with :meth:`NightResult.save`
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
from mesa_report.core.errors import ConfigError, MesaReportError
from mesa_report.core.fileio import write_text_atomic
from mesa_report.core.settings import load_settings
from mesa_report.data.night_ids import record_id
from mesa_report.data.store import Night
from mesa_report.inference.night_accumulator import DetailPicker
from mesa_report.inference.stored import NightResult
from mesa_report.model.checkpoint import file_sha256

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
        """The key of ``night``'s result with this checkpoint file and arithmetic.

        Examples
        --------
        >>> cache.key("best_model.pth", night, "fp32")[:8]  # doctest: +SKIP
        '3f9a41c2'
        """
        return self.key_for(self.file_sha256(checkpoint_path), night, precision)

    def key_for(self, checkpoint_sha256: str, night: Night, precision: str) -> str:
        """The key of ``night``'s result with the checkpoint of this content hash and arithmetic.

        Examples
        --------
        >>> cache.key_for(loaded.sha256, night, "fp32") == cache.key(loaded.path, night, "fp32")  # doctest: +SKIP
        True
        """
        payload = {
            "format": FORMAT_VERSION, "software": __version__,
            "checkpoint": checkpoint_sha256, "night": self.file_sha256(night.path),
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
