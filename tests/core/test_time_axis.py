"""When a night began, and its time axis in hours or clock time."""

from __future__ import annotations

import datetime as dt

import edfio
import numpy as np
import pytest

from mesa_report.core.time_axis import CLOCK_ONLY_DATE, TimeAxis, recording_start
from mesa_report.data.night_ingest import preprocess_night
from mesa_report.data.store import Night


def test_the_start_kept_by_preprocess_is_read_back_from_the_stored_night(tmp_path):
    signals = [edfio.EdfSignal(np.sin(np.arange(256 * 600) / 7.0), 256, label=name)
               for name in ("EEG1", "EEG2", "EEG3")]
    edfio.Edf(signals, starttime=dt.time(22, 47, 5)).write(tmp_path / "mesa-sleep-0004.edf")
    result = preprocess_night(tmp_path / "mesa-sleep-0004.edf", None, tmp_path / "store",
                              channels=("EEG1", "EEG2", "EEG3"))
    night = Night(result.path, 4)
    assert recording_start(night.meta) == dt.datetime.combine(CLOCK_ONLY_DATE, dt.time(22, 47, 5))


@pytest.mark.parametrize(("value", "expected"), [
    ("22:01:30", dt.datetime(1900, 1, 1, 22, 1, 30)),
    ("2011-01-04T22:13:46", dt.datetime(2011, 1, 4, 22, 13, 46)),
    ("2011-01-04 22:13:46+01:00", dt.datetime(2011, 1, 4, 22, 13, 46)),  # wall-clock time kept
    (None, None), ("", None), ("25:00:00", None), (1234, None),
])
def test_recording_start_reads_what_sidecars_hold(value, expected):
    assert recording_start({"start_clock": value}) == expected
    assert recording_start({}) is None


def test_clock_labels_run_on_past_midnight_and_hours_count_from_the_start():
    clock = TimeAxis(dt.datetime(1900, 1, 1, 23, 59, 30))
    assert clock.labels([0, 30, 3600]) == ["23:59:30", "00:00:00", "00:59:30"]
    assert np.diff(clock.positions([0, 30])).tolist() == [30_000.0]
    hours = TimeAxis()
    assert hours.labels([0, 3725]) == ["0:00:00", "1:02:05"]
    assert hours.encoding("t", (0, 7200))["scale"]["domain"] == [0.0, 2.0]
    assert hours.encoding("t", (0, 60), title=None, labels=False)["axis"] == {"labels": False}
