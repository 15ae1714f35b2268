"""The demo's files (mesa_report.demo.export): EDF, NSRR XML and events CSV round trips."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
import edfio
import numpy as np
import pandas as pd

from mesa_report.data.annotations import read_stages
from mesa_report.demo import (
    CHANNELS,
    EVENT_COLUMNS,
    events_filename,
    load_events,
    write_edf,
    write_events_csv,
    write_nsrr_xml,
)

from .demo_common import EPOCH, N1, N2, N3, N4, REM, W


def test_edf_round_trip(tmp_path, short_night):
    night = short_night
    path = write_edf(night, tmp_path / f"{night.record_id}.edf")
    edf = edfio.read_edf(path)
    assert edf.labels == CHANNELS
    assert edf.duration == night.duration_s
    assert edf.startdate == night.start_time.date() and edf.starttime == night.start_time.time()
    for signal in edf.signals:
        original = night.signals[signal.label].astype(float)
        assert signal.sampling_frequency == night.sfreq_hz[signal.label]
        assert signal.physical_dimension == "uV"
        low, high = signal.physical_range
        assert low <= original.min() and original.max() <= high
        step = (high - low) / (signal.digital_range[1] - signal.digital_range[0])
        np.testing.assert_allclose(signal.data, original, atol=step)


def test_nsrr_xml_round_trip(tmp_path, short_night):
    night = short_night
    path = write_nsrr_xml(night, tmp_path / f"{night.record_id}-nsrr.xml")
    root = SafeET.parse(path).getroot()
    assert root.tag == "PSGAnnotation" and root.findtext("EpochLength") == "30"
    events = root.find("ScoredEvents").findall("ScoredEvent")
    start = events[0]
    assert start.findtext("EventConcept") == "Recording Start Time"
    assert start.findtext("ClockTime") == night.start_time.strftime("00.00.00 %H.%M.%S")
    assert float(start.findtext("Duration")) == night.duration_s
    codes = {"Wake|0": W, "Stage 1 sleep|1": N1, "Stage 2 sleep|2": N2, "Stage 3 sleep|3": N3,
             "Stage 4 sleep|4": N4, "REM sleep|5": REM, "Movement|6": -1}
    expanded, concepts = [], []
    for event in events[1:]:
        assert event.findtext("EventType") == "Stages|Stages"
        epochs = float(event.findtext("Duration")) / EPOCH
        assert epochs == int(epochs) and float(event.findtext("Start")) == len(expanded) * EPOCH
        concepts.append(event.findtext("EventConcept"))
        expanded += [codes[concepts[-1]]] * int(epochs)
    np.testing.assert_array_equal(expanded, night.stages)
    assert all(a != b for a, b in zip(concepts, concepts[1:]))  # one event per whole run
    hypnogram = read_stages(path, n_epochs=night.n_epochs, epoch_seconds=EPOCH)
    np.testing.assert_array_equal(hypnogram.labels, night.stages)


def test_events_csv_round_trip(tmp_path, short_night):
    write_events_csv(short_night, tmp_path / events_filename(short_night.mesaid))
    loaded = load_events(tmp_path, short_night.mesaid)
    pd.testing.assert_frame_equal(loaded, short_night.events, check_dtype=False)
    empty = load_events(tmp_path, 99)
    assert empty.empty and tuple(empty.columns) == EVENT_COLUMNS
