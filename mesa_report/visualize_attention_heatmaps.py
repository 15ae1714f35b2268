"""The seed's module name ``visualize_attention_heatmaps``, so its scripts run with ``code.`` → ``mesa_report.``.

Examples
--------
>>> from mesa_report.visualize_attention_heatmaps import load_model, visualize_sample_attention
"""

from mesa_report.model.checkpoint import load_model
from mesa_report.report.seed_pngs import visualize_sample_attention

__all__ = ["load_model", "visualize_sample_attention"]
