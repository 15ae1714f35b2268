"""The seed's module name ``mesa_dataloader``, so its scripts run with ``code.`` → ``mesa_report.``.

Examples
--------
>>> from mesa_report.mesa_dataloader import create_mesa_dataloader
"""

from mesa_report.data.dataset import MesaWindowDataset, create_mesa_dataloader

__all__ = ["MesaWindowDataset", "create_mesa_dataloader"]
