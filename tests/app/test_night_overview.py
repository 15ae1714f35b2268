"""The app's night at a glance, run by ``streamlit.testing``: hypnogram with the sample shown,
hypnodensity, wrong and least confident epochs, YASA's statistics, the time axis; clicks and rows
move the view and the URL."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mesa_report.app import drawing, night_overview, support
from mesa_report.app import sources as app_sources
from mesa_report.app import state as nav
from mesa_report.data.store import NightStore
from mesa_report.scoring.sleep_stats import AWAKENINGS, SLEEP_STAT_KEYS

from ..browser_helpers import chart_titled

SEQ_LEN = 20


def shown_inference(at):
    opened = at.session_state["sources"]
    night = NightStore(opened.preprocessed_dir).night(at.session_state["subject"])
    return support.night_inference(app_sources.open_model(opened.checkpoint), night)


def hypnogram(at):
    return chart_titled(at, "mesa-sleep-0001: scored and predicted")[1]


def band(at) -> tuple[float, float]:
    """The hypnogram's band on the sample shown: (start, end) on its time axis."""
    (row,) = [f for f in hypnogram(at) if list(f.columns) == ["t", "t_end"] and len(f) == 1]
    return float(row["t"].iloc[0]), float(row["t_end"].iloc[0])


def picked(at, name: str, event: dict) -> AppTest:
    at.session_state[night_overview.pick_keys(at.session_state)[name]] = event
    return at.run()


def test_the_night_shows_its_hypnodensity_epoch_tables_and_full_statistics(app):
    at = app().run()
    assert not at.exception
    result = shown_inference(at)
    density = chart_titled(at, "hypnodensity")[1][0]
    assert len(density) == result.n_epochs + 1
    np.testing.assert_allclose(density[list(result.class_names)].to_numpy()[:-1], result.probs, atol=1e-4)
    # the band covers sample 1 (epochs 0-19), in clock time (the demo's start is known)
    (epochs,) = [f for f in hypnogram(at) if "confidence" in f.columns]  # the clickable epochs
    start_ms = epochs["t"].iloc[0]
    assert band(at) == pytest.approx((start_ms, start_ms + SEQ_LEN * 30_000))
    tables = {frame.key: frame.value for frame in at.dataframe if frame.key}
    keys = night_overview.pick_keys(at.session_state)
    wrong = np.flatnonzero((result.labels >= 0) & (result.labels != result.pred))
    if wrong.size:
        assert tables[keys["wrong"]]["epoch"].tolist() == wrong.tolist()
    unsure = tables[keys["unsure"]]
    assert len(unsure) == 10 and unsure["epoch"].iloc[0] == int(np.argmin(result.confidence))
    assert list(unsure.columns[:2]) == ["epoch", "clock time"]
    (statistics,) = [frame.value for frame in at.dataframe if "measure" in frame.value.columns]
    assert statistics["key"].tolist() == [*SLEEP_STAT_KEYS, AWAKENINGS]
    assert any("Transitions, predicted hypnogram" in m.value for m in at.markdown)


def test_a_click_on_the_hypnogram_or_the_hypnodensity_moves_the_view_and_the_url(app):
    at = app().run()
    before = band(at)
    picked(at, "hypnogram", {"selection": {"night_epoch": [{"epoch": 45}]}})
    assert (at.session_state["sample"], at.session_state["epoch"]) == (2, 45)
    assert at.query_params["sample"] in ("3", ["3"]) and at.query_params["epoch"] in ("45", ["45"])  # from 1
    assert band(at)[0] - before[0] == pytest.approx(2 * SEQ_LEN * 30_000)  # the band follows
    assert chart_titled(at, "inter-epoch attention")[1][0]["query_epoch"].min() == 2 * SEQ_LEN
    # the hypnodensity too; an epoch the sample shown holds keeps the sample
    picked(at, "hypnodensity", {"selection": {"night_epoch": [{"epoch": 41}]}})
    assert (at.session_state["sample"], at.session_state["epoch"]) == (2, 41)
    picked(at, "hypnodensity", {"selection": {"night_epoch": [{"epoch": 3}]}})
    assert (at.session_state["sample"], at.session_state["epoch"]) == (0, 3)
    assert at.query_params["epoch"] in ("3", ["3"]) and not at.exception


def test_a_row_of_an_epoch_table_jumps_to_its_sample_and_epoch(app):
    at = app().run()
    keys = night_overview.pick_keys(at.session_state)
    table = next(frame.value for frame in at.dataframe if frame.key == keys["unsure"])
    row = int(np.flatnonzero(table["sample"].to_numpy() != 1)[0])  # one outside the sample shown
    picked(at, "unsure", {"selection": {"rows": [row], "columns": []}})
    assert at.session_state["epoch"] == table["epoch"].iloc[row]
    assert at.session_state["sample"] == table["sample"].iloc[row] - 1  # numbered from 1 in the table
    assert at.query_params["epoch"] in (str(table["epoch"].iloc[row]), [str(table["epoch"].iloc[row])])
    # the click is taken once: the tables are drawn afresh, and the next run keeps the view
    assert night_overview.pick_keys(at.session_state) != keys
    jumped = at.session_state["sample"]
    step, key = (1, "next") if not at.button(key="next").disabled else (-1, "previous")
    at.button(key=key).click().run()
    assert at.session_state["sample"] == jumped + step


def test_the_sidebar_switches_the_time_axis_between_clock_and_hours(app):
    at = app().run()
    radio = at.sidebar.radio(key=night_overview.TIME_AXIS_KEY)
    assert radio.value == night_overview.CLOCK
    radio.set_value(night_overview.HOURS).run()
    assert band(at) == pytest.approx((0.0, SEQ_LEN * 30 / 3600), abs=1e-6)  # hours since the start
    assert chart_titled(at, "hypnodensity")[1][0]["t"].iloc[1] == pytest.approx(30 / 3600, abs=1e-6)
    keys = night_overview.pick_keys(at.session_state)
    table = next(frame.value for frame in at.dataframe if frame.key == keys["unsure"])
    assert table.columns[1] == "time since start (h)" and ":" in table.iloc[0, 1]


def test_pick_events_are_read_defensively():
    rows = ["a", "b"]
    assert night_overview.picked_row({"selection": {"rows": [5]}}, rows) is None
    assert night_overview.picked_row(None, rows) is None
    assert drawing.picked_epoch({"selection": {"night_epoch": [{"epoch": "x"}]}}, "night_epoch", "epoch") is None
    state = {"sample": 0, nav.NIGHT_PICKS_KEY: 4}
    assert set(night_overview.pick_keys(state).values()) == {f"night_{n}_4" for n in night_overview.PICKS}
