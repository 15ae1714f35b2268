"""Colour scales of the charts: colour maps by name, the stage colours, and heatmap colour channels.

Colour maps are given by their matplotlib names (``viridis``, ``plasma``, ``YlOrRd`` …, with an
optional ``_r`` to reverse) or by Vega scheme names; see :data:`COLOUR_SCHEMES`. A heatmap's colour
channel takes its range from the view model's :class:`mesa_report.explain.view_scales.ColourSpan`
(:func:`weight_colour`); text on a cell is dark or light by the cell's colour (:func:`contrast_text`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import altair as alt

from mesa_report.core.errors import ReportError
from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR, UNSCORED_NAME
from mesa_report.explain.view_scales import ColourSpan

EPOCH_CMAP = "plasma"
CHANNEL_CMAP = "YlOrRd"
TEMPORAL_CMAP = "viridis"
CONFUSION_CMAP = "Blues"

COLOUR_SCHEMES: Mapping[str, str] = {
    "viridis": "viridis",
    "plasma": "plasma",
    "inferno": "inferno",
    "magma": "magma",
    "cividis": "cividis",
    "turbo": "turbo",
    "YlOrRd": "yelloworangered",
    "YlOrBr": "yelloworangebrown",
    "YlGnBu": "yellowgreenblue",
    "YlGn": "yellowgreen",
    "OrRd": "orangered",
    "RdPu": "redpurple",
    "BuPu": "bluepurple",
    "GnBu": "greenblue",
    "PuBu": "purpleblue",
    "Blues": "blues",
    "Greens": "greens",
    "Greys": "greys",
    "Oranges": "oranges",
    "Purples": "purples",
    "Reds": "reds",
}
"""Sequential colour maps, matplotlib name -> Vega scheme name."""

TEXT_COLOUR = "#1f2430"
"""Text and outlines drawn on the charts."""
FALLBACK_COLOURS = ("#7f7f7f", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#1f77b4")
"""Colours of stages without a seed colour."""


def colour_scale(cmap: str, domain: Sequence[float] | None = None) -> alt.Scale:
    """Altair colour scale for a matplotlib or Vega colour-map name.

    Parameters
    ----------
    cmap : str
        A key of :data:`COLOUR_SCHEMES` (case-insensitive, ``_r`` reverses) or a Vega scheme name
        among its values.
    domain : (low, high), optional
        Fixed ends of the scale (values beyond are drawn at the nearer end); by default the
        data's range.

    Returns
    -------
    altair.Scale

    Raises
    ------
    ReportError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> colour_scale("YlOrRd", domain=(0, 1)).to_dict()
    {'clamp': True, 'domain': [0.0, 1.0], 'scheme': 'yelloworangered'}
    >>> colour_scale("viridis_r").to_dict()["reverse"]
    True
    """
    name = str(cmap)
    reverse = name.endswith("_r")
    base = name[:-2] if reverse else name
    by_lower = {k.lower(): v for k, v in COLOUR_SCHEMES.items()}
    by_lower.update({v: v for v in COLOUR_SCHEMES.values()})
    scheme = by_lower.get(base.lower())
    if scheme is None:
        raise ReportError(
            f"unknown colour map {cmap!r}; choose one of {', '.join(COLOUR_SCHEMES)} "
            "(add _r to reverse)"
        )
    kwargs: dict = {"scheme": scheme}
    if domain is not None:
        kwargs["domain"] = [float(v) for v in domain]
        kwargs["clamp"] = True
    if reverse:
        kwargs["reverse"] = True
    return alt.Scale(**kwargs)


def stage_colour_scale(class_names: Sequence[str]) -> alt.Scale:
    """Colour scale from stage name to the seed's stage colour; unscored ``?`` is grey.

    Examples
    --------
    >>> stage_colour_scale(["W", "REM"]).to_dict()["range"]
    ['#3498db', '#1abc9c', '#b0b0b0']
    """
    names = [str(n) for n in class_names]
    extra = iter(FALLBACK_COLOURS * (len(names) // len(FALLBACK_COLOURS) + 1))
    colours = [STAGE_COLOURS.get(n) or next(extra) for n in names]
    return alt.Scale(domain=[*names, UNSCORED_NAME], range=[*colours, UNSCORED_COLOUR])


DARK_LOW_SCHEMES = ("viridis", "plasma", "inferno", "magma", "cividis")
"""Vega schemes that start dark and end light; the other sequential ones start light (turbo is
dark at both ends)."""


def contrast_text(field: str, cmap: str = CONFUSION_CMAP, domain: Sequence[float] = (0.0, 1.0)) -> alt.ColorValue:
    """Text colour readable on a cell: white where the colour map is dark there, black elsewhere.

    Written as the channel class itself: ``alt.when`` builds the same condition through a
    validated ``from_dict`` that costs about 20 ms per chart.

    Examples
    --------
    >>> contrast_text("w", "viridis", (0, 0.5)).to_dict()["condition"]["test"]
    '((datum["w"] - 0.0) / 0.5) < 0.5'
    """
    scale = colour_scale(cmap).to_dict()
    low, high = float(domain[0]), float(domain[1])
    t = f"((datum[{json.dumps(field)}] - {low!r}) / {max(high - low, 1e-12)!r})"
    if scale.get("reverse"):
        t = f"(1 - {t})"
    if scale["scheme"] == "turbo":
        test = f"{t} < 0.2 || {t} > 0.8"
    else:
        test = f"{t} < 0.5" if scale["scheme"] in DARK_LOW_SCHEMES else f"{t} > 0.55"
    return alt.ColorValue(value="black", condition={"test": test, "value": "white"})


def weight_colour(field: str, cmap: str, span: ColourSpan | None, title: str,
                   fixed: Sequence[float] | None = None) -> dict:
    """A heatmap's colour channel: the span's scale (with its notes under the legend's title), or
    ``fixed``, or the data's range."""
    domain = span.domain if span is not None else fixed
    notes = span.notes if span is not None else ()
    colour = {"field": field, "type": "quantitative", "scale": colour_scale(cmap, domain).to_dict(),
              "title": [title, *notes] if notes else title}
    return {**colour, "legend": {"titleLimit": 320}} if notes else colour  # notes are whole sentences
