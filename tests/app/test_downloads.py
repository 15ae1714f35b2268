"""The PNG of the view shown (mesa_report.app.downloads): titled with night, sample, epoch and maps, no blank half."""

from __future__ import annotations

import numpy as np

from mesa_report.app import downloads, support
from mesa_report.explain.views import ViewChoice, night_sample_views
from mesa_report.render.vega import chart_spec


def test_the_png_of_a_view_is_titled_with_night_sample_epoch_and_maps(night_1, monkeypatch):
    _, _, result = night_1
    drawn = {}
    monkeypatch.setattr(downloads, "render_chart", lambda chart, fmt: drawn.setdefault("spec", chart_spec(chart)))
    att = night_sample_views(result, 1, ViewChoice("attention", 0, 1))
    downloads.view_png(att, 4, support.colour_maps("magma"), 1)
    assert drawn["spec"]["title"]["text"] == ("mesa-sleep-0001 · Sample 2: epochs 20–39 · epoch 24 · "
                                              "layer 1 of 2 · head 2")


def test_the_png_of_a_view_has_no_blank_half(night_1):
    import io

    from PIL import Image

    _, _, result = night_1
    att = night_sample_views(result, 1, ViewChoice("attention", 0, 1))
    grey = np.asarray(Image.open(io.BytesIO(downloads.view_png(att, 4, support.colour_maps("magma"), 1))).convert("L"))
    h, w = grey.shape  # the inter-epoch map spans the epoch's row of panels under it
    assert (grey[int(0.15 * h):int(0.45 * h), int(0.55 * w):int(0.7 * w)] > 245).mean() < 0.2
    assert (grey[:, w // 2:] < 200).mean() > 0.15  # the right half is drawn
