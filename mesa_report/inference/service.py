"""The results service: a night goes through the model once per checkpoint and night file.

Every output reads a night's inference from here: the app, ``report``, ``visualize``, ``batch``
and ``faithfulness``. A request is served by the first layer that holds it:

1. memory: the last few full results asked for (the app steps through a night without reading
   a file again);
2. disk: the :class:`~mesa_report.inference.results.ResultCache`, keyed by the checkpoint's and
   the night file's SHA-256 (shared by processes and by later runs);
3. the model: :func:`mesa_report.inference.cohort.infer_cohort`, whose results are then stored.

A checkpoint comes as a :class:`~mesa_report.model.loaded.LoadedModel`, whose hash is part of
the key. Two threads asking for the same night wait for one computation.

Examples
--------
>>> service = ResultsService(ResultCache(tempfile.mkdtemp()))  # doctest: +SKIP
>>> result = service.night(open_checkpoint("best_model.pth"), store.night(1))  # doctest: +SKIP
>>> service.stats.computed, service.night(loaded, store.night(1)) is result  # doctest: +SKIP
(1, True)
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mesa_report.core.errors import ConfigError, MesaReportError
from mesa_report.data.store import Night
from mesa_report.inference import cohort
from mesa_report.inference.device_transfer import precision_of
from mesa_report.inference.night import NightInference, ProgressFn, check_night_fits
from mesa_report.inference.night_accumulator import DetailPicker
from mesa_report.inference.results import ResultCache
from mesa_report.inference.stored import NightFailure, NightResult
from mesa_report.model.loaded import LoadedModel

MEMORY_ENTRIES = 8
"""Full night results kept in memory (a 4 h night at the seed's size: about 20 MB)."""


@dataclass
class ServiceStats:
    """What one :class:`ResultsService` served: from memory, and nights it ran the model on."""

    memory_hits: int = 0
    computed: int = 0


@dataclass(frozen=True)
class Lookup:
    """Where a night's result stands before a batch: its key and its cache entry, if any."""

    night: Night
    key: str
    entry: Path | None


class ResultsService:
    """Night results from memory, the disk cache, or the model (safe to share between threads).

    Parameters
    ----------
    cache : ResultCache, optional
        The disk layer; default ``ResultCache()`` (``<cache root>/results``).
    memory_entries : int
        Full results kept in memory, least recently used dropped first.

    Examples
    --------
    >>> import tempfile
    >>> ResultsService(ResultCache(tempfile.mkdtemp())).stats
    ServiceStats(memory_hits=0, computed=0)
    """

    def __init__(self, cache: ResultCache | None = None, *, memory_entries: int = MEMORY_ENTRIES) -> None:
        self.cache = cache if cache is not None else ResultCache()
        self.memory_entries = int(memory_entries)
        self.stats = ServiceStats()
        self._memory: collections.OrderedDict[str, NightInference] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"ResultsService({self.cache!r})"

    def key(self, loaded: LoadedModel, night: Night, device: str | torch.device | None = None) -> str:
        """The key of ``night``'s result with this checkpoint on ``device`` (default: the model's)."""
        if not isinstance(loaded, LoadedModel):
            raise ConfigError("results are keyed by the checkpoint: pass the LoadedModel of "
                              "mesa_report.model.loaded.open_checkpoint, not a bare model")
        precision = precision_of(loaded.device if device is None else device)
        return self.cache.key_for(loaded.sha256, night, precision)

    # -- one night, every map ----------------------------------------------------------------
    def night(self, loaded: LoadedModel, night: Night, *, batch_size: int = 8,
              progress: ProgressFn | None = None) -> NightInference:
        """The night's predictions and every attention map, computed at most once.

        Parameters
        ----------
        loaded : LoadedModel
            The checkpoint.
        night : Night
            The night; its current scoring replaces the stored labels.
        batch_size : int
            Samples per forward pass, when the model runs.
        progress : callable, optional
            ``progress(done, total)`` in samples, called only when the model runs.

        Raises
        ------
        ConfigError, DataError
            If the night does not fit the model or is shorter than one sample.
        """
        key = self.key(loaded, night)
        check_night_fits(loaded.model, night)
        with self._computing_lock(key):
            result = self._remembered(key, night)
            if result is None:
                found = self.cache.get(key, night, full=True)
                if found is not None:
                    result = found.inference()
                else:
                    result = cohort.infer_night(loaded.model, night, batch_size=batch_size, progress=progress)
                    self._count_computed()
                    self.cache.put(key, NightResult.from_inference(result))
                self._remember(key, result)
        return result

    def _computing_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._computing.setdefault(key, threading.Lock())

    def _count_computed(self, n: int = 1) -> None:
        with self._lock:
            self.stats.computed += n

    def _remembered(self, key: str, night: Night) -> NightInference | None:
        with self._lock:
            result = self._memory.get(key)
            if result is None:
                return None
            self._memory.move_to_end(key)
            self.stats.memory_hits += 1
        labels = np.asarray(night.labels, dtype=np.int64)
        if np.array_equal(result.labels, labels):
            return result
        return dataclasses.replace(result, labels=labels)  # rescored since: the scoring is not keyed

    def _remember(self, key: str, result: NightInference) -> None:
        with self._lock:
            self._memory[key] = result
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_entries:
                self._memory.popitem(last=False)

    # -- many nights, into the disk cache ----------------------------------------------------
    def lookup(self, loaded: LoadedModel, night: Night, *, device: str | torch.device | None = None,
               full: bool = False, detail_samples: DetailPicker | None = None,
               force: bool = False) -> Lookup:
        """The night's key and the cache entry that serves it (none with ``force``).

        ``device`` is where the night would be computed (default: the model's).
        """
        key = self.key(loaded, night, device)
        if force:
            return Lookup(night, key, None)
        found = self.cache.lookup(key, night, full=full, detail_samples=detail_samples)
        return Lookup(night, key, found[0] if found is not None else None)

    def compute(self, loaded: LoadedModel, nights: Iterable[Night], keys: Mapping[int, str], *,
                batch_size: int = 64, keep_attention: str = "summary",
                detail_samples: DetailPicker | None = None) -> Iterator[tuple[int, str, str]]:
        """Run the model over ``nights`` in shared batches and store each result under its key.

        Yields ``(mesaid, entry path, "")`` per night stored, ``(mesaid, "", error)`` per night
        that failed, as the nights finish.
        """
        for item in cohort.infer_cohort(loaded.model, nights, batch_size=batch_size,
                                        keep_attention=keep_attention, detail_samples=detail_samples):
            if isinstance(item, NightFailure):
                yield item.mesaid, "", item.error
                continue
            self._count_computed()
            try:
                yield item.mesaid, str(self.cache.put(keys[item.mesaid], item)), ""
            except MesaReportError as exc:
                yield item.mesaid, "", str(exc)
