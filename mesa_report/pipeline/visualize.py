"""The seed's attention files for the informative samples of chosen nights, from the results service.

The ``visualize`` command's library, in two steps:

1. :func:`plan_samples` decides which samples of which nights to draw. By default it picks the
   samples the report details (:func:`mesa_report.explain.selection.choose_samples`: in turn the
   most uncertain, the one with the most wrong predictions and the one with the most stage
   transitions), which never overlap; ``numbers`` names samples instead, by their number in the
   night (from 1, as the app and the reports number them). Without ``subjects`` the nights are
   taken in index order until ``num_samples`` samples are found; with ``subjects`` each named
   night gets ``num_samples`` samples (or the numbered ones).
2. :func:`write_plan` writes each sample's files (:func:`mesa_report.report.seed_pngs.write_sample_files`),
   named by the sample's number in its night and by night epochs (:mod:`mesa_report.explain.views`).
   When the plan holds more than one night, each night's files go into a subfolder named by its
   record id; one night's go straight into the output folder, as the seed's did.

A night's maps come from the results service (:mod:`mesa_report.inference.service`), so a night
the app, ``report`` or ``batch`` already inferred does not go through the model again, and the
plan's nights are not inferred a second time when their files are written.

Examples
--------
>>> plan = [NightSamples(1, (2, 5), 24), NightSamples(7, (0,), 30)]
>>> [night_folder("out", plan, p).as_posix() for p in plan]
['out/mesa-sleep-0001', 'out/mesa-sleep-0007']
>>> describe(plan[0])
'mesa-sleep-0001: samples 3, 6 of 24'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.data.store import NightStore, record_id
from mesa_report.explain.views import ViewChoice, check_layer_head, choose_epochs, night_sample_views, sample_number
from mesa_report.inference.night import NightInference
from mesa_report.inference.service import ResultsService
from mesa_report.model.loaded import LoadedModel
from mesa_report.pipeline.reports import choose_subjects
from mesa_report.explain.selection import choose_samples
from mesa_report.report.seed_pngs import (
    NUM_EPOCHS_TO_PLOT,
    check_channel_names,
    check_file_options,
    writable_folder,
    write_sample_files,
)

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


@dataclass(frozen=True)
class SampleRequest:
    """Which samples to draw: ``num_samples`` (in all without ``subjects``, per night with them),
    ``subjects`` (record ids or numbers; none: the store's nights in order) and ``numbers``
    (sample numbers from 1; none: the informative ones)."""

    num_samples: int
    subjects: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class NightSamples:
    """A night's samples to draw: indices from 0 in the night's order, and how many it has."""

    mesaid: int
    indices: tuple[int, ...]
    n_samples: int


def describe(item: NightSamples) -> str:
    """``mesa-sleep-0001: samples 3, 6 of 24``: a night's samples as every output numbers them."""
    numbers = ", ".join(str(sample_number(i)) for i in item.indices)
    return f"{record_id(item.mesaid)}: sample{'s' * (len(item.indices) != 1)} {numbers} of {item.n_samples}"


def night_folder(output_dir: str | os.PathLike, plan: Sequence[NightSamples], item: NightSamples) -> Path:
    """Where a night's files go: the output folder for a plan of one night, else its record id's subfolder."""
    folder = Path(output_dir)
    return folder if len(plan) == 1 else folder / record_id(item.mesaid)


def _numbered(result: NightInference, numbers: Sequence[int]) -> tuple[int, ...]:
    """Indices of the samples numbered ``numbers`` (from 1), or a :class:`ConfigError` naming the range."""
    n = result.n_samples
    bad = [k for k in numbers if not 1 <= k <= n]
    if bad:
        raise ConfigError(f"{record_id(result.mesaid)} has {n} samples (1-{n}); --samples "
                          f"{' '.join(map(str, bad))} {'is' if len(bad) == 1 else 'are'} out of range")
    return tuple(sorted({int(k) - 1 for k in numbers}))


def _night_samples(result: NightInference, request: SampleRequest, count: int) -> NightSamples:
    if request.numbers:
        indices = _numbered(result, request.numbers)
    else:
        indices = tuple(index for index, _ in choose_samples(result, count))
    return NightSamples(int(result.mesaid), indices, result.n_samples)


def plan_samples(loaded: LoadedModel, store: NightStore, service: ResultsService, request: SampleRequest, *,
                 progress: Callable[[int], None] | None = None) -> list[NightSamples]:
    """The samples to draw, night by night (see the module's docstring).

    ``progress(mesaid)`` is called before each night is opened (it may go through the model).

    Raises
    ------
    ConfigError
        For ``num_samples`` below 1, an unknown subject or a sample number a night does not have.
    DataError
        If no night of the store holds a sample.
    """
    if request.num_samples < 1:
        raise ConfigError(f"--num_samples must be at least 1, not {request.num_samples}")
    named = bool(request.subjects)
    mesaids = (choose_subjects(store, list(request.subjects), every=False, is_demo=False) if named
               else store.mesaids)
    seq_len, plan, drawn = loaded.config.seq_len, [], 0
    for mesaid in mesaids:
        night = store.night(mesaid)
        if not named and night.n_epochs < seq_len:
            continue  # too short for one sample: the next night in the index
        if progress is not None:
            progress(mesaid)
        item = _night_samples(service.night(loaded, night), request,
                              request.num_samples if named else request.num_samples - drawn)
        plan.append(item)
        drawn += len(item.indices)
        if not named and (request.numbers or drawn >= request.num_samples):
            break
    if not plan:
        raise DataError(f"no night of {store.root} holds a sample of {seq_len} epochs ({len(store.mesaids)} "
                        f"nights with a file); check the index {store.csv_path} and its sleep_stages")
    return plan


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


def check_file_choices(loaded: LoadedModel, options: FileOptions) -> tuple[str, ...]:
    """Check every file option against the model before a night is opened; the channel names."""
    names = check_channel_names(loaded.model, options.channel_names)
    check_layer_head(loaded.config, options.layer, options.head)
    check_file_options(options.fmt, options.cmap)
    writable_folder(options.output_dir)
    return names


def write_plan(loaded: LoadedModel, store: NightStore, service: ResultsService, options: FileOptions,
               plan: Sequence[NightSamples], *, progress: Callable[[], None] | None = None) -> list[Path]:
    """Write the files of every sample of ``plan``; ``progress()`` after each sample. The files written.

    Raises
    ------
    ConfigError, ReportError
        For options that do not fit the model or the samples, or a folder that cannot be written.
    """
    names = check_file_choices(loaded, options)
    written = []
    for item in plan:
        folder = writable_folder(night_folder(options.output_dir, plan, item))
        result = service.night(loaded, store.night(item.mesaid))
        for sample in item.indices:
            written += _sample_files(loaded, result, store, sample, folder, options, names)
            if progress is not None:
                progress()
    return written
