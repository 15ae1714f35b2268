"""Colour scales of the views that cannot stretch noise: a stated minimum span, and "no signal" said.

Every view of :mod:`mesa_report.explain.views` takes its scale from :func:`colour_span`: the data's
range where it is at least the level's minimum span (:data:`MIN_COLOUR_SPAN`), else that minimum
around the data; a view whose values lie within 0.1 % of each other says it carries no signal;
under rollout the diagonal (the residual path's self-attention) is left out of the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesa_report.core.errors import ConfigError
from mesa_report.explain.methods import METHODS

LEVELS = ("epoch", "channel", "temporal", "trace")
"""The levels a sample is shown at: inter-epoch, channel, temporal maps and the trace's shading."""

MIN_COLOUR_SPAN = {"epoch": 0.02, "channel": 1.0, "temporal": 0.02, "trace": 0.02}
"""Narrowest colour scale per level, the same for every method: each method's maps are shares of
rows that sum to at most 1 (attention and rollout rows sum to 1; gradient's strongest row does).
A scale never spans less than two hundredths of a row; the channel map keeps the seed's fixed 0-1."""

FLAT_FRACTION = 0.001
"""Values within this fraction of each other (0.1 %) carry no signal, and the view says so."""

SELF_OFF_SCALE = {"attention": False, "rollout": True, "gradient": False}
"""Methods whose diagonal (each query on itself) is left out of the colour scale: rollout's
residual path puts about 0.3 on it, which would wash every other cell out."""


# --------------------------------------------------------------------------------------------
# Colour scales
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourSpan:
    """The colour scale of one view and why it is what it is.

    Attributes
    ----------
    low, high : float
        Ends of the scale (values outside are drawn at the nearer end).
    data_low, data_high : float
        Range of the values the scale is for (under rollout: every cell off the diagonal).
    minimum : float
        The level's stated minimum span (:data:`MIN_COLOUR_SPAN`).
    self_clipped : bool
        The diagonal lies above the scale and is drawn at its top.
    flat : bool
        Every value is within :data:`FLAT_FRACTION` of the others: nothing to see.
    """

    low: float
    high: float
    data_low: float
    data_high: float
    minimum: float
    self_clipped: bool = False
    flat: bool = False

    @property
    def domain(self) -> tuple[float, float]:
        return self.low, self.high

    @property
    def widened(self) -> bool:
        """The data span less than the minimum: the scale is wider than the data."""
        return self.data_high - self.data_low < self.minimum

    @property
    def notes(self) -> tuple[str, ...]:
        """Short lines for the legend: what the scale leaves out or adds.

        Examples
        --------
        >>> colour_span(np.full((3, 3), 0.05), "temporal", "attention").notes
        ('no signal: every value within 0.1% of the others',)
        """
        lines = []
        if self.flat:
            lines.append(f"no signal: every value within {FLAT_FRACTION:.1%} of the others")
        elif self.widened and self.minimum < 1:
            lines.append(f"scale widened to its minimum span {self.minimum:g}")
        if self.self_clipped:
            lines.append("diagonal (self) clipped to the top")
        return tuple(lines)


def colour_span(values, level: str, method: str) -> ColourSpan:
    """The colour scale of a view's values.

    The scale is the data's range where that is at least the level's minimum span; otherwise it
    is the minimum span around the data, kept inside 0 … max(1, data). Under rollout the
    diagonals of square maps (the last two axes) stay out of the range.

    Parameters
    ----------
    values : array
        The view's values: ``(N, N)`` maps (or a stack ``(..., N, N)`` sharing one scale), or
        ``(N,)`` for the trace's shading.
    level : {"epoch", "channel", "temporal", "trace"}
    method : {"attention", "rollout", "gradient"}

    Examples
    --------
    >>> noisy = 0.05 + np.random.default_rng(0).uniform(-7e-4, 7e-4, (20, 20))
    >>> span = colour_span(noisy, "temporal", "gradient")
    >>> round(span.high - span.low, 6), span.widened
    (0.02, True)
    >>> rolled = colour_span(np.array([[.6, .1, .3], [0., .7, .3], [.2, .2, .6]]), "epoch", "rollout")
    >>> rolled.domain, rolled.notes
    ((0.0, 0.3), ('diagonal (self) clipped to the top',))
    """
    if level not in MIN_COLOUR_SPAN or method not in METHODS:
        raise ConfigError(f"no colour scale for level {level!r} and method {method!r}; levels: "
                          f"{', '.join(LEVELS)}; methods: {', '.join(METHODS)}")
    v = np.asarray(values, dtype=np.float64)
    square = level != "trace" and v.ndim >= 2 and v.shape[-1] == v.shape[-2] > 1
    off_diagonal = ~np.eye(v.shape[-1], dtype=bool) if square else None
    covered = v[..., off_diagonal] if square and SELF_OFF_SCALE[method] else v
    lo, hi = float(covered.min()), float(covered.max())
    minimum = MIN_COLOUR_SPAN[level]
    low, high = lo, hi
    if hi - lo < minimum:
        top = max(1.0, hi)
        high = min(max(hi + (minimum - (hi - lo)) / 2, minimum), top)
        low = high - minimum
    diagonal_max = float(v[..., ~off_diagonal].max()) if covered is not v else -np.inf
    return ColourSpan(low=low, high=high, data_low=lo, data_high=hi, minimum=minimum,
                      self_clipped=diagonal_max > high,
                      flat=hi - lo <= FLAT_FRACTION * max(abs(hi), abs(lo)))
