"""The seed's attention files for the first scored samples of a store, from the results service.

The ``visualize`` command's library. Samples are those the app and the reports show: each night,
in index order, is cut into its samples (:func:`mesa_report.inference.night.sample_starts`), and
as the seed's loader did (``filter_unscored``), a sample that holds an unscored epoch is left
out. A night's maps come from the results service (:mod:`mesa_report.inference.service`), so a
night the app, ``report`` or ``batch`` already inferred does not go through the model again, and
only as many nights are opened as the samples asked for need. The files are those of
:func:`mesa_report.report.seed_pngs.visualize_sample_attention`, named by the sample's number in its
night (from 1) and by night epochs (:mod:`mesa_report.explain.views`).

Examples
--------
>>> scored_samples(np.array([0, 0, -1, 2, 2, 2]), seq_len=2).tolist()  # samples at 0, 2 and 4
[0, 2]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.vocabulary import UNSCORED
from mesa_report.data.store import NightStore
from mesa_report.inference.night import NightInference, sample_starts
from mesa_report.inference.service import ResultsService
from mesa_report.model.loaded import LoadedModel
from mesa_report.explain.views import ViewChoice, check_layer_head, choose_epochs, night_sample_views
from mesa_report.report.seed_pngs import (
    NUM_EPOCHS_TO_PLOT,
    check_channel_names,
    check_file_options,
    writable_folder,
    write_sample_files,
)


def scored_samples(labels: np.ndarray, seq_len: int) -> np.ndarray:
    """Indices of a night's samples that hold no unscored epoch (none when it is too short).

    Examples
    --------
    >>> scored_samples(np.zeros(45, dtype=int), 20).tolist()
    [0, 1, 2]
    """
    labels = np.asarray(labels)
    if labels.shape[0] < seq_len:
        return np.zeros(0, dtype=np.int64)
    starts = sample_starts(labels.shape[0], seq_len)  # (W,)
    unscored_before = np.concatenate([[0], np.cumsum(labels == UNSCORED)])  # (E + 1,)
    return np.flatnonzero(unscored_before[starts + seq_len] == unscored_before[starts])


@dataclass(frozen=True)
class FileOptions:
    """What each sample's files show and how they are written (as ``visualize_sample_attention``)."""

    output_dir: str | os.PathLike
    channel_names: tuple[str, ...] | None = None
    epochs: tuple[int, ...] | None = None
    num_epochs_to_plot: int = NUM_EPOCHS_TO_PLOT
    cmap: str | None = None
    layer: int = -1
    head: int | None = None
    method: str = "attention"
    fmt: str = "png"


def _sample_files(loaded: LoadedModel, result: NightInference, store: NightStore, sample: int,
                  folder: Path, options: FileOptions, names: tuple[str, ...]) -> list[Path]:
    """The files of one sample of a night, numbered and titled as every output numbers it."""
    att = dataclasses.replace(night_sample_views(result, sample, ViewChoice("attention", options.layer, options.head)),
                              channel_names=names)
    chosen = choose_epochs(att, options.epochs, options.num_epochs_to_plot)
    if options.method != "attention":
        choice = ViewChoice(options.method, options.layer, options.head)
        att = dataclasses.replace(night_sample_views(result, sample, choice, model=loaded.model,
                                                     night=store.night(result.mesaid),
                                                     target_epoch=att.first_epoch + chosen[0]),
                                  channel_names=names)
    return write_sample_files(att, folder, chosen, cmap=options.cmap, fmt=options.fmt)


def visualize_store(loaded: LoadedModel, store: NightStore, service: ResultsService, options: FileOptions, *,
                    num_samples: int, progress: Callable[[], None] | None = None) -> tuple[list[Path], int]:
    """Write the files of the first ``num_samples`` scored samples of ``store``.

    Every option is checked before a night is opened. ``progress()`` is called after each
    sample. Returns the files written and the number of samples drawn (fewer when the store holds
    fewer).

    Raises
    ------
    ConfigError, ReportError
        For options that do not fit the model, or an output folder that cannot be written.
    DataError
        If the store holds no sample without an unscored epoch.
    """
    if num_samples < 1:
        raise ConfigError(f"--num_samples must be at least 1, not {num_samples}")
    names = check_channel_names(loaded.model, options.channel_names)
    check_layer_head(loaded.config, options.layer, options.head)
    check_file_options(options.fmt, options.cmap)
    folder = writable_folder(options.output_dir)
    seq_len = loaded.config.seq_len
    written, drawn = [], 0
    for mesaid in store.mesaids:
        night = store.night(mesaid)
        samples = scored_samples(night.labels, seq_len)[: num_samples - drawn]
        if samples.size == 0:
            continue
        result = service.night(loaded, night)
        for sample in samples.tolist():
            written += _sample_files(loaded, result, store, sample, folder, options, names)
            drawn += 1
            if progress is not None:
                progress()
        if drawn == num_samples:
            break
    if drawn == 0:
        raise DataError(f"no sample of {seq_len} scored epochs in {store.root} ({len(store.mesaids)} nights "
                        f"with a file); check the index {store.csv_path} and its sleep_stages")
    return written, drawn
