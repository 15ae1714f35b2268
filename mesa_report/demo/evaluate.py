"""Score a checkpoint on demo nights generated with seeds it never saw, through the real pipeline.

Fresh nights are generated (ids 901…, seeds far from the training cohort's), written as EDF + NSRR
XML, preprocessed like any night, and staged with :func:`mesa_report.inference.cohort.infer_night`; the
figures come from :func:`mesa_report.scoring.metrics.classification_metrics`, as everywhere else.

Examples
--------
>>> # metrics = evaluate_on_fresh_nights(DEMO_CHECKPOINT, n_nights=3, hours=2.0)
>>> # metrics.accuracy, metrics.kappa, metrics.per_stage_f1
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from mesa_report.model.checkpoint import load_model
from mesa_report.inference.cohort import infer_night
from mesa_report.data.ingest import preprocess
from mesa_report.scoring.metrics import ClassificationMetrics, classification_metrics
from mesa_report.data.store import NightStore
from mesa_report.demo.export import write_edf, write_nsrr_xml
from mesa_report.demo.generate import generate_night

FRESH_IDS_FROM = 901
"""First id of the fresh nights (the demo cohorts use 1…N)."""


def evaluate_on_fresh_nights(checkpoint: str | os.PathLike, *, n_nights: int = 3, hours: float = 2.0,
                             seed: int = 20261128) -> ClassificationMetrics:
    """Accuracy, kappa and per-stage F1 of ``checkpoint`` on ``n_nights`` freshly generated nights."""
    model = load_model(checkpoint, num_channels=None, time_steps=None, seq_len=None, num_classes=None)
    with tempfile.TemporaryDirectory(prefix="mesa-report-fresh-") as tmp:
        edf_dir, store_dir = Path(tmp) / "edf", Path(tmp) / "store"
        for k in range(n_nights):
            night = generate_night(FRESH_IDS_FROM + k, hours=hours, seed=seed + 7919 * k)
            write_edf(night, edf_dir / f"{night.record_id}.edf")
            write_nsrr_xml(night, edf_dir / f"{night.record_id}-nsrr.xml")
        summary = preprocess(edf_dir, store_dir, progress=False)
        if summary.failed:
            raise RuntimeError(f"fresh demo nights failed to preprocess: {summary.failed}")
        store = NightStore(store_dir)
        labels, pred = [], []
        for night in store:
            result = infer_night(model, night)
            labels.append(result.labels)
            pred.append(result.pred)
    return classification_metrics(np.concatenate(labels), np.concatenate(pred), model.config.class_names)


def format_per_class(metrics: ClassificationMetrics) -> str:
    """Per-class F1 and support as a Markdown table, with the overall figures above it."""
    lines = [f"accuracy {metrics.accuracy:.3f}, Cohen's kappa {metrics.kappa:.3f}, macro-F1 {metrics.macro_f1:.3f} "
             f"on {metrics.n_epochs} scored epochs", "", "| stage | F1 | epochs |", "|---|---|---|"]
    lines += [f"| {name} | {f1:.3f} | {n} |" for name, f1, n in
              zip(metrics.class_names, metrics.per_stage_f1, metrics.support)]
    return "\n".join(lines)
