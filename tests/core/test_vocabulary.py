"""The vocabulary's colours: wrong predictions have a colour no stage uses."""

from __future__ import annotations

import numpy as np

from mesa_report.core.vocabulary import REM_BAND_COLOUR, STAGE_COLOURS, WRONG_COLOUR


def test_wrong_predictions_have_a_colour_no_stage_uses_and_red_is_n1_only():
    def rgb(hex_colour):
        return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)

    for stage, colour in STAGE_COLOURS.items():
        assert np.abs(rgb(WRONG_COLOUR) - rgb(colour)).sum() > 120, stage
    red, green, blue = rgb(REM_BAND_COLOUR)
    assert green > red and blue > red  # the REM band is a tint of REM's teal, not of N1's red
