"""The project's exception types.

Every error a user can cause (a bad file, a wrong argument) is raised as a subclass of
:class:`MesaReportError`, with a message that names the file or argument and says how to fix it.
The command line prints such errors as one line and exits non-zero; anything else is a bug.
"""

from __future__ import annotations


class MesaReportError(Exception):
    """Base class of every error mesa-report raises on purpose."""


class ConfigError(MesaReportError, ValueError):
    """Arguments that disagree with each other or with a file (names both values)."""


class CheckpointError(MesaReportError):
    """A checkpoint file that is missing, unreadable, unsafe, or of another shape."""


class DataError(MesaReportError):
    """A preprocessed night, index CSV or window request that cannot be used."""


class IngestError(MesaReportError):
    """An EDF or annotation file that cannot be turned into a preprocessed night."""


class ReportError(MesaReportError):
    """A report or chart that cannot be produced (bad option, unwritable output)."""
