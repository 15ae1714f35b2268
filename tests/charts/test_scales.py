"""Colour maps by name (mesa_report.charts.scales): matplotlib names map to Vega schemes."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.charts.heatmaps import temporal_chart
from mesa_report.charts.scales import colour_scale
from mesa_report.core.errors import ReportError

from .charts_common import EDGES_S


# --------------------------------------------------------------------------------------------
# colour maps, limits, purity, errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, scheme", [("viridis", "viridis"), ("plasma", "plasma"),
                                          ("YlOrRd", "yelloworangered"), ("ylorrd", "yelloworangered"),
                                          ("yelloworangered", "yelloworangered")])
def test_matplotlib_colour_maps_map_to_vega_schemes(name, scheme):
    assert colour_scale(name).to_dict()["scheme"] == scheme


def test_unknown_colour_map_lists_the_valid_ones():
    with pytest.raises(ReportError, match="viridis, plasma.*YlOrRd"):
        temporal_chart(np.eye(20), EDGES_S[:-1], EDGES_S[1:], cmap="jet")
