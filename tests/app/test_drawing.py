"""What a Next click sends to the page: the night's charts unchanged but for the band's data.

Streamlit's page builds a chart anew when its spec or its key changes, and only updates its
data when just a named data set changed; the night's hypnogram (about 3 × 480 clickable bars
on a 4-hour night) and hypnodensity are the page's heaviest charts, so a Next click must leave
their specs and keys alone. Run by ``streamlit.testing`` on the tests' small demo cohort.
"""

from __future__ import annotations

import json

import numpy as np

from mesa_report.app import drawing, night_overview
from mesa_report.charts.night import WINDOW_DATA, hypnogram_chart, window_rows
from mesa_report.render.vega import chart_spec

SEQ_LEN = 20
NIGHT_TITLES = ("mesa-sleep-0001: scored and predicted", "hypnodensity")


def sent_charts(at) -> dict[str, dict]:
    """Each chart the run drew, by its title: spec text, element id, data bytes, named data sets."""
    out = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("title") or {}
        out[title.get("text") if isinstance(title, dict) else title] = {
            "spec": element.proto.spec, "id": element.proto.id, "data": element.proto.data.data,
            "datasets": {d.name: d.data.data for d in element.proto.datasets}, "usermeta": spec.get("usermeta")}
    return out


def test_next_changes_only_the_band_data_of_the_nights_charts(app):
    at = app().run()
    before = sent_charts(at)
    at.button(key="next").click().run()
    after = sent_charts(at)
    assert not at.exception and at.session_state["sample"] == 1
    for title in NIGHT_TITLES:  # same spec, same key: the page keeps the drawn chart
        assert after[title]["spec"] == before[title]["spec"] and after[title]["id"] == before[title]["id"]
        assert after[title]["data"] == before[title]["data"]
    hypnogram = NIGHT_TITLES[0]
    assert list(after[hypnogram]["datasets"]) == [WINDOW_DATA]  # the band's data alone travels beside the spec
    assert after[hypnogram]["datasets"][WINDOW_DATA] != before[hypnogram]["datasets"][WINDOW_DATA]
    # the sample's charts are new, and the traces are drawn on a canvas
    inter = next(t for t in after if t and t.startswith("inter-epoch"))
    assert after[inter]["spec"] != before[inter]["spec"]
    (traces,) = [t for t in after if t and t.endswith("EEG traces")]
    assert after[traces]["usermeta"] == drawing.CANVAS


def test_the_sample_charts_and_the_confusion_matrix_are_drawn_on_a_canvas(app):
    # a canvas holds no SVG element per mark, so a Next click redraws faster; the night's two charts
    # stay SVG: a click moves only their band, which SVG redraws alone
    at = app().run()
    drawn = sent_charts(at)
    svg = [title for title, chart in drawn.items() if chart["usermeta"] != drawing.CANVAS]
    assert sorted(svg) == sorted(NIGHT_TITLES) and len(at.get("vega_lite_chart")) == 7



def test_a_pick_in_the_hypnogram_is_taken_once_and_next_then_steps_on(app):
    at = app().run()
    keys = night_overview.pick_keys(at.session_state)
    at.session_state[keys["hypnogram"]] = {"selection": {"night_epoch": [{"epoch": 45}]}}
    at.run()
    assert (at.session_state["sample"], at.session_state["epoch"]) == (2, 45)
    assert night_overview.pick_keys(at.session_state) != keys  # drawn afresh: the pick is gone
    at.button(key="previous").click().run()
    assert at.session_state["sample"] == 1  # not pulled back to epoch 45 by a stale pick
    at.button(key="previous").click().run()
    assert at.session_state["sample"] == 0 and not at.exception


def test_the_hypnograms_of_two_windows_differ_in_the_band_data_alone():
    labels, pred, confidence = np.array([0, 2, 5, -1, 2, 2]), np.array([0, 1, 5, 2, 2, 3]), np.full(6, 0.7)
    first, second = (drawing.hoist_named(chart_spec(hypnogram_chart(labels, pred, confidence, window=window)))
                     for window in ((0, 1), (2, 4)))
    assert first["datasets"].pop(WINDOW_DATA) == window_rows((0, 1)) == [{"t": 0.0, "t_end": 60 / 3600}]
    assert second["datasets"].pop(WINDOW_DATA) == [{"t": 60 / 3600, "t_end": 150 / 3600}]
    assert first == second
    bands = [layer for panel in first["vconcat"] for layer in panel["layer"] if layer["data"] == {"name": WINDOW_DATA}]
    assert len(bands) == 3  # one band in each panel, all reading the one data set
    plain = chart_spec(hypnogram_chart(labels, pred, confidence))
    assert drawing.hoist_named(plain) == plain and WINDOW_DATA not in json.dumps(plain)


def test_content_named_data_sets_are_inlined_and_the_bands_kept_beside():
    spec = drawing.hoist_named(chart_spec(hypnogram_chart([0, 2], [0, 1], [0.9, 0.6], window=(0, 0))))
    shown = drawing.inline_datasets(spec)
    assert shown["datasets"] == {WINDOW_DATA: spec["datasets"][WINDOW_DATA]}
    text = json.dumps(shown)
    assert '"name": "data-' not in text and f'"name": "{WINDOW_DATA}"' in text
    assert drawing.inline_datasets({"mark": "tick"}) == {"mark": "tick"}
