"""The view model in the app's page: pickers a method ignores are disabled, the clicked row outlined, links restore a
view."""

from __future__ import annotations

import numpy as np

from mesa_report.app.state import MEAN_HEADS
from mesa_report.charts.heatmaps import EPOCH_SELECTION, inter_epoch_chart
from mesa_report.explain.views import head_label, ignored_choices
from mesa_report.render.vega import chart_spec

from ..browser_helpers import chart_titled
from ..views_common import APP, app  # noqa: F401  (pytest fixtures)


def test_pickers_a_method_ignores_are_disabled_with_the_reason(app):
    assert ignored_choices("attention") == {} and set(ignored_choices("gradient")) == {"layer", "head"}
    at = app().run()
    assert not at.selectbox(key="layer").disabled and not at.selectbox(key="head").disabled
    at.selectbox(key="method").set_value("rollout").run()
    assert at.selectbox(key="layer").disabled and at.selectbox(key="head").disabled
    assert any("rollout multiplies every layer" in c.value for c in at.sidebar.caption)
    assert "rollout over all layers · mean of heads" in chart_titled(at, "inter-epoch attention")[0]


def test_a_clicked_row_is_outlined_and_no_row_fades():
    chart = inter_epoch_chart(np.full((3, 3), 1 / 3), [0, 2, 5], [0, 1, 5])
    encoding = chart_spec(chart)["encoding"]
    assert "opacity" not in encoding
    for channel in ("stroke", "strokeWidth"):
        condition = encoding[channel]["condition"]
        assert condition["param"] == EPOCH_SELECTION and condition["empty"] is False


def test_a_link_with_all_eight_parameters_gives_that_view_and_keeps_it(app):
    at = app()
    query = dict(subject="mesa-sleep-0002", sample="2", epoch="27", channel="EEG2", layer="1", head="2",
                 method="rollout", scheme="magma")
    at.query_params.update(query)
    at.run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="subject").value == 2 and at.select_slider(key="sample").value == 1
    assert at.selectbox(key="epoch").value == 27 and at.radio(key="channel").value == "EEG2"
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (0, 1)
    assert at.selectbox(key="method").value == "rollout" and at.selectbox(key="scheme").value == "magma"
    kept = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert kept == query
    at = app()
    at.query_params.update(dict(query, layer="9", head="0", method="magic", scheme="jet"))
    at.run()
    messages = " ".join(w.value for w in at.warning)
    assert "layer 9 does not exist" in messages and "head='0'" in messages
    assert "method 'magic'" in messages and "colour scheme 'jet'" in messages
    assert at.selectbox(key="method").value == "attention" and at.selectbox(key="layer").value == 1
    assert not at.exception


def test_the_head_picker_shows_the_mean_of_heads_when_it_is_chosen(app):
    """The mean of heads is a choice like the others, not an empty picker showing its placeholder."""
    at = app().run()
    picker = at.selectbox(key="head")
    assert picker.value == MEAN_HEADS and picker.options[0] == head_label(None)
    assert at.query_params["head"] in ("mean", ["mean"])
