"""Reports for many subjects: which ones, whether theirs are up to date, and the jobs that write them.

The ``report`` command's library; ``batch --reports`` writes its reports with the same
:func:`write_night_reports`. A subject's reports are up to date when their stamp
(``<record id>_report.json``) records the same :func:`fingerprint`: a digest of the software
version, the checkpoint's hash, the night's file and scoring and the report options. Each subject is
one job of a :class:`~mesa_report.core.jobs.JobRunner`; its night comes from the results service
(:mod:`mesa_report.inference.service`), so a night already inferred by the app, ``visualize`` or
``batch`` is not inferred again.

Examples
--------
>>> ReportOptions("reports", num_samples=2).stamped()["num_samples"]
2
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from mesa_report import __version__
from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.fileio import remove_partial_files
from mesa_report.core.jobs import JobRunner, Outcome
from mesa_report.data.night_ids import parse_record_id, record_id
from mesa_report.data.store import Night, NightStore
from mesa_report.inference.night import NightInference
from mesa_report.inference.results import ResultCache
from mesa_report.inference.service import ResultsService
from mesa_report.model.checkpoint import checkpoint_summary
from mesa_report.model.loaded import open_checkpoint
from mesa_report.model.network import MesaTransformer
from mesa_report.render.pdf_workers import PdfWorkers
from mesa_report.report.build import build_report
from mesa_report.report.files import reports_up_to_date, write_reports
from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES, FORMATS, PAGE_SIZES
from mesa_report.report.seed_pngs import writable_folder


@dataclass(frozen=True)
class ReportOptions:
    """What each report shows and where it goes (plain values: it crosses processes)."""

    output_dir: str
    formats: tuple[str, ...] = FORMATS
    num_samples: int = DEFAULT_SAMPLES
    epochs_per_sample: int = DEFAULT_EPOCHS_PER_SAMPLE
    page_size: str = PAGE_SIZES[0]
    pdf_variant: str | None = None
    force: bool = False

    def __post_init__(self) -> None:
        if self.num_samples < 0:
            raise ConfigError(f"--num_samples must be 0 or more, not {self.num_samples}")
        if self.epochs_per_sample < 1:
            raise ConfigError(f"--epochs_per_sample must be at least 1, not {self.epochs_per_sample}")
        object.__setattr__(self, "formats", tuple(dict.fromkeys(self.formats)))

    def stamped(self) -> dict:
        """The options a report's stamp records (a change makes the reports out of date)."""
        return {"formats": sorted(self.formats), "num_samples": self.num_samples,
                "epochs_per_sample": self.epochs_per_sample, "page_size": self.page_size,
                "pdf_variant": self.pdf_variant}


def fingerprint(night: Night, summary: dict, options: ReportOptions) -> str:
    """Digest of what a subject's reports are made from (``summary``: :func:`checkpoint_summary`)."""
    stat = night.path.stat()
    sidecar = night.path.with_suffix(".json")
    payload = {
        "software": __version__,
        "checkpoint": summary.get("sha256"),
        "night": [night.path.name, stat.st_size, stat.st_mtime_ns],
        "sidecar": sidecar.stat().st_mtime_ns if sidecar.is_file() else None,
        "scoring": night.stages,
        "options": options.stamped(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def check_writable(folder: str | os.PathLike) -> None:
    """Fail before any work when the output folder cannot be written; remove what a killed run left."""
    folder = writable_folder(folder)
    remove_partial_files(folder)  # left by a run that was killed mid-write


def choose_subjects(store: NightStore, subjects: Sequence[str] | None, *, every: bool,
                    is_demo: bool) -> list[int]:
    """The nights asked for (``--subject``, or ``--all``; the demo's all by default), each checked
    against the index with close matches named."""
    if every or (subjects is None and is_demo):
        if not store.mesaids:
            raise DataError(f"nothing to do: none of the {len(store.missing)} night(s) listed in "
                            f"{store.csv_path} has a file in {store.root}; preprocess them, or "
                            "pass the folder that holds the mesa-sleep-NNNN_preprocessed.pt files")
        return list(store.mesaids)
    if not subjects:
        raise ConfigError("choose the nights to report on: --subject ID (repeatable) or --all")
    known = {record_id(m): m for m in store.mesaids}
    chosen, unknown = [], []
    for text in subjects:
        try:
            mesaid = parse_record_id(text)
        except DataError:
            mesaid = None
        if mesaid in store.mesaids:
            chosen.append(mesaid)
            continue
        close = difflib.get_close_matches(str(text), [*known, *(str(m) for m in store.mesaids)], n=3, cutoff=0.5)
        hint = f"close matches: {', '.join(close)}" if close else (
            f"the index has {len(known)} night{'s' * (len(known) != 1)}, e.g. {', '.join(list(known)[:5])}")
        unknown.append(f"{text!r} ({hint})")
    if unknown:
        raise ConfigError(f"not in {store.csv_path}: {'; '.join(unknown)}")
    return list(dict.fromkeys(chosen))


def write_night_reports(result: NightInference, night: Night, summary: dict, options: ReportOptions, *,
                        model: MesaTransformer | None = None, stamp: str | None = None,
                        pdf_workers: PdfWorkers | None = None) -> tuple[str, ...]:
    """Build and write one night's reports, unless up to date (and not forced); the files written.

    ``model`` lets a report measure its own explanations; ``stamp`` is the :func:`fingerprint`
    when already computed; ``pdf_workers`` make the PDF (:func:`~mesa_report.report.document.render_pdf`).
    """
    stem = record_id(night.mesaid)
    stamp = stamp or fingerprint(night, summary, options)
    if not options.force and reports_up_to_date(options.output_dir, stem, options.formats, stamp):
        return ()
    drawn_early = pdf_workers is not None and "pdf" in options.formats and options.pdf_variant is None
    report = build_report(result, night=night, checkpoint=summary, n_samples=options.num_samples,
                          epochs_per_sample=options.epochs_per_sample, fingerprint=stamp, model=model,
                          on_figures=pdf_workers.start_charts if drawn_early else None)
    paths = write_reports(report, options.output_dir, options.formats, stem=stem,
                          page_size=options.page_size, pdf_variant=options.pdf_variant, pdf_workers=pdf_workers)
    return tuple(str(path) for path in paths.values())


@dataclass(frozen=True)
class ReportSetup:
    """What every subject's job shares (plain values: it crosses processes)."""

    checkpoint: str
    preprocessed_dir: str
    csv_path: str | None
    results_dir: str
    options: ReportOptions
    device: str = "cpu"
    batch_size: int = 8
    threads: int = 1

    def session(self):
        """The checkpoint, its summary, the store and the results service of this process."""
        return open_session(self.checkpoint, self.preprocessed_dir, self.csv_path, self.device,
                            self.results_dir)


@dataclass(frozen=True)
class ReportJob:
    """One subject to report on, with its reports' :func:`fingerprint`."""

    setup: ReportSetup
    mesaid: int
    fingerprint: str


@functools.lru_cache(maxsize=2)
def open_session(checkpoint: str, preprocessed_dir: str, csv_path: str | None, device: str,
                 results_dir: str):
    """Checkpoint, its summary, the store and the results service, opened once per process."""
    loaded = open_checkpoint(checkpoint, device=device)
    service = ResultsService(ResultCache(results_dir))
    return loaded, checkpoint_summary(checkpoint), NightStore(preprocessed_dir, csv_path), service


def report_subject(job: ReportJob, pdf_workers: PdfWorkers | None = None) -> tuple[str, ...]:
    """One subject's night from the results service, then its reports; the files written."""
    import torch

    setup = job.setup
    torch.set_num_threads(setup.threads)
    loaded, summary, store, service = setup.session()
    night = store.night(job.mesaid)
    result = service.night(loaded, night, batch_size=setup.batch_size)
    forced = dataclasses.replace(setup.options, force=True)  # the caller found them out of date
    return write_night_reports(result, night, summary, forced, model=loaded.model, stamp=job.fingerprint,
                               pdf_workers=pdf_workers)


@dataclass
class ReportRun:
    """What :func:`report_subjects` did: an outcome per subject reported, those found up to date."""

    outcomes: list[Outcome]
    skipped: list[int]


def report_subjects(setup: ReportSetup, subjects: Sequence[int], *, workers: int = 1,
                    quiet: bool = False, pdf_workers: PdfWorkers | None = None) -> ReportRun:
    """Write the reports of ``subjects`` that are out of date (all of them with ``force``).

    Each subject is a job of a :class:`~mesa_report.core.jobs.JobRunner` of ``workers``
    processes, which share the CPU's threads. With one worker the jobs run here, and
    ``pdf_workers`` (if given) make their PDFs while torch keeps to one thread.
    """
    _, summary, store, _ = setup.session()
    workers = min(workers, max(len(subjects), 1))
    pdf_workers = pdf_workers if workers == 1 else None  # worker processes make their own PDFs
    # torch's threads share the cores with the other workers, or leave them to the PDF's helpers
    threads = 1 if pdf_workers is not None else max(1, (os.cpu_count() or 1) // workers)
    setup = dataclasses.replace(setup, threads=threads)
    todo, skipped = [], []
    for mesaid in subjects:
        stamp = fingerprint(store.night(mesaid), summary, setup.options)
        if not setup.options.force and reports_up_to_date(setup.options.output_dir, record_id(mesaid),
                                                          setup.options.formats, stamp):
            skipped.append(mesaid)
        else:
            todo.append(ReportJob(setup, mesaid, stamp))
    with JobRunner(workers, total=len(todo), desc="reports", unit="subject", quiet=quiet) as runner:
        for job in todo:
            runner.submit(functools.partial(report_subject, pdf_workers=pdf_workers) if pdf_workers is not None
                          else report_subject, job.mesaid, job)
    return ReportRun(runner.outcomes, skipped)
