"""mesa-report: explainability for the MESA Transformer sleep-staging model.

The seed project's Python API is available at the top level::

    from mesa_report import load_model, create_mesa_dataloader, visualize_sample_attention

Names are imported on first use, so ``import mesa_report`` stays cheap (torch loads only when a
model or a loader is asked for).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "mesa_report.model.checkpoint",
    "save_checkpoint": "mesa_report.model.checkpoint",
    "MesaTransformer": "mesa_report.model.network",
    "ModelConfig": "mesa_report.model.config",
    "AttentionMaps": "mesa_report.model.outputs",
    "create_mesa_dataloader": "mesa_report.data.dataset",
    "MesaWindowDataset": "mesa_report.data.dataset",
    "NightStore": "mesa_report.data.store",
    "visualize_sample_attention": "mesa_report.report.seed_pngs",
    "MesaReportError": "mesa_report.core.errors",
    "sleep_statistics": "mesa_report.scoring.sleep_stats",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mesa_report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
