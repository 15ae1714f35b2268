"""A night's result as a cohort pass keeps it and the result cache stores it.

:class:`NightResult` holds a night's :class:`~mesa_report.inference.night.NightInference` with the
temporal maps of every sample or only of the samples a report details; :class:`NightFailure`
says why a night could not be computed.

Examples
--------
>>> NightFailure(3, "too short").mesaid
3
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesa_report.core.errors import DataError
from mesa_report.data.night_ids import record_id
from mesa_report.data.store import Night
from mesa_report.inference.night import NightInference, sample_starts


@dataclass
class NightResult:
    """One night as a cohort pass keeps it.

    Attributes
    ----------
    stored : NightInference
        Every array of the night's inference, except that ``stored.temporal`` holds the temporal
        maps of ``temporal_samples`` only, in that order: ``(D, S, C, L_t, H_t, N, N)``.
    temporal_samples : numpy.ndarray
        ``(D,)`` int64, ascending: the samples whose temporal maps are kept (all of them when
        :attr:`complete`).

    Examples
    --------
    >>> result = NightResult.from_inference(infer_night(model, night))  # doctest: +SKIP
    >>> result.complete  # doctest: +SKIP
    True
    """

    stored: NightInference
    temporal_samples: np.ndarray

    @classmethod
    def from_inference(cls, result: NightInference) -> NightResult:
        """Wrap a full :class:`NightInference` (every temporal map kept)."""
        return cls(result, np.arange(result.n_samples, dtype=np.int64))

    @property
    def mesaid(self) -> int:
        return int(self.stored.mesaid)

    @property
    def complete(self) -> bool:
        """Whether the temporal maps of every sample are kept."""
        return self.temporal_samples.shape[0] == self.stored.n_samples

    def inference(self) -> NightInference:
        """The night as a :class:`NightInference` with ``temporal`` of shape ``(W, …)``.

        The temporal maps of samples that were not kept are NaN; the reports only read those of
        the samples they detail, which a batch keeps.
        """
        if self.complete:
            return self.stored
        kept = self.stored.temporal  # (D, S, C, L_t, H_t, N, N)
        temporal = np.full((self.stored.n_samples, *kept.shape[1:]), np.nan, dtype=kept.dtype)
        temporal[self.temporal_samples] = kept  # (W, S, C, L_t, H_t, N, N)
        return dataclasses.replace(self.stored, temporal=temporal)

    def with_labels(self, labels: np.ndarray) -> NightResult:
        """The same result scored against ``labels`` ``(E,)`` (e.g. the index's current scoring)."""
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != self.stored.labels.shape:
            raise DataError(f"{record_id(self.mesaid)}: {labels.shape[0]} labels for a result of "
                            f"{self.stored.n_epochs} epochs")
        return NightResult(dataclasses.replace(self.stored, labels=labels), self.temporal_samples)

    def check(self, night: Night | None = None) -> None:
        """Raise :class:`DataError` unless every array agrees with the others (and with ``night``).

        A result read back from disk is checked before it is trusted.
        """
        s = self.stored
        n_epochs, n_samples = s.n_epochs, s.n_samples
        problems = []
        if night is not None and (s.mesaid != night.mesaid or n_epochs != night.n_epochs):
            problems.append(f"it is {record_id(s.mesaid)} with {n_epochs} epochs, the night is "
                            f"{record_id(night.mesaid)} with {night.n_epochs}")
        if n_epochs < s.seq_len or not np.array_equal(s.sample_starts, sample_starts(n_epochs, s.seq_len)):
            problems.append("its samples do not tile its epochs")
        k = len(s.class_names)
        expected = {"probs": (n_epochs, k), "uncertainty": (n_epochs,),
                    "sample_probs": (n_samples, s.seq_len, k)}
        problems += [f"{name} has shape {getattr(s, name).shape}, not {shape}"
                     for name, shape in expected.items() if getattr(s, name).shape != shape]
        rows = {"channel": n_samples, "epoch": n_samples, "temporal": self.temporal_samples.shape[0]}
        problems += [f"{name} has {getattr(s, name).shape[0]} samples, not {count}"
                     for name, count in rows.items() if getattr(s, name).shape[0] != count]
        kept = self.temporal_samples
        if kept.size and (kept.min() < 0 or kept.max() >= n_samples or np.any(np.diff(kept) <= 0)):
            problems.append("its kept temporal samples are not ascending sample indices")
        if not problems and not (np.isfinite(s.probs).all()
                                 and np.allclose(s.probs.sum(axis=1), 1.0, atol=1e-3)):
            problems.append("its probabilities are not finite or do not sum to 1")
        if problems:
            raise DataError(f"result of {record_id(s.mesaid)} is inconsistent: {'; '.join(problems)}")

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically as one ``.npz`` (the :meth:`NightInference.save` format, no pickle)."""
        settings = {**self.stored.settings, "temporal_samples": self.temporal_samples.tolist()}
        return dataclasses.replace(self.stored, settings=settings).save(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NightResult:
        """Read a file written by :meth:`save` (or by :meth:`NightInference.save`: all maps kept)."""
        stored = NightInference.load(path)
        settings = dict(stored.settings)
        kept = settings.pop("temporal_samples", None)
        kept = np.arange(stored.n_samples) if kept is None else np.asarray(kept, dtype=np.int64)
        return cls(dataclasses.replace(stored, settings=settings), kept.astype(np.int64))


@dataclass(frozen=True)
class NightFailure:
    """A night the cohort pass could not compute, and why."""

    mesaid: int
    error: str
