"""The report model: what a report shows, as plain frozen values, whatever it is rendered to."""

from __future__ import annotations

import dataclasses
import datetime as dt

from mesa_report.scoring.metrics import ClassificationMetrics, NightMetrics
from mesa_report.render.vega import chart_spec
from mesa_report.report.explanations import ExplanationSection
from mesa_report.report.night_section import NightOverview
from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR


# --------------------------------------------------------------------------------------------
# The report model
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Figure:
    """One chart of a report, independent of the output format.

    Attributes
    ----------
    key : str
        Unique within the report; letters, digits and hyphens (element ids derive from it).
    spec : dict
        Its Vega-Lite spec: charts of :mod:`mesa_report.charts`, alone or laid out together with
        :func:`mesa_report.render.vega.concat_specs`; made once, drawn by every format.
    caption : str
        Text under the chart.
    alt_text : str
        Text alternative (screen readers, tagged PDF).
    """

    key: str
    spec: dict
    caption: str
    alt_text: str


@dataclasses.dataclass(frozen=True)
class Fact:
    """One labelled value of the header or the appendix."""

    label: str
    value: str


@dataclasses.dataclass(frozen=True)
class AgreementColumn:
    """One column of the agreement tables: 6 classes, or 5 with N3 and N4 merged."""

    title: str
    metrics: ClassificationMetrics


@dataclasses.dataclass(frozen=True)
class F1Cell:
    """An F1 value of the per-stage table; ``rowspan`` 0 means covered by the cell above."""

    value: float
    rowspan: int


@dataclasses.dataclass(frozen=True)
class StageRow:
    """One stage of the per-stage table."""

    name: str
    colour: str
    support: int
    predicted: int
    f1: tuple[F1Cell, ...]


@dataclasses.dataclass(frozen=True)
class EpochDetail:
    """One epoch of a sample shown with its channel and temporal attention and its traces."""

    epoch: int
    start_s: float
    scored: str
    scored_colour: str
    predicted: str
    predicted_colour: str
    wrong: bool
    confidence: float
    uncertainty: float
    why: str
    heatmaps: Figure
    traces: Figure | None


@dataclasses.dataclass(frozen=True)
class SampleSection:
    """One selected sample: its inter-epoch attention and its detailed epochs."""

    anchor: str
    heading: str
    reasons: tuple[str, ...]
    first_epoch: int
    last_epoch: int
    start_s: float
    end_s: float
    accuracy: float | None
    mean_confidence: float
    overview: Figure
    epochs: tuple[EpochDetail, ...]


@dataclasses.dataclass(frozen=True)
class SubjectReport:
    """Everything one subject's report shows, built once by :func:`build_report`."""

    subject: str
    title: str
    description: str
    keywords: tuple[str, ...]
    created: dt.datetime
    software_version: str
    summary: tuple[Fact, ...]
    checkpoint: tuple[Fact, ...]
    training: tuple[Fact, ...]
    config: tuple[Fact, ...]
    notices: tuple[str, ...]
    metrics: NightMetrics
    agreement_columns: tuple[AgreementColumn, ...]
    stage_rows: tuple[StageRow, ...]
    sleep_note: str
    hypnogram: Figure
    confusion: tuple[Figure, ...]
    samples_intro: str
    samples: tuple[SampleSection, ...]
    n_channels: int
    seq_len: int
    token_seconds: float
    fingerprint: str = ""
    figures: tuple[Figure, ...] = dataclasses.field(default=(), repr=False)
    explanations: ExplanationSection | None = None
    night: NightOverview | None = None
    hypnodensity: Figure | None = None

    @property
    def created_iso(self) -> str:
        """Creation time, ISO 8601."""
        return self.created.isoformat(timespec="seconds")

    @property
    def created_text(self) -> str:
        """Creation time for people, e.g. ``2025-03-01 14:05 UTC+01:00``."""
        return self.created.strftime("%Y-%m-%d %H:%M %Z").strip()




def stage_colour(name: str) -> str:
    return STAGE_COLOURS.get(name, UNSCORED_COLOUR)



# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def figure_spec(chart, size_px: int | None = None) -> dict:
    """A chart's spec for a figure (square ``size_px`` when given), without the schema check."""
    spec = chart_spec(chart, validate=False)
    return spec if size_px is None else {**spec, "width": size_px, "height": size_px}
