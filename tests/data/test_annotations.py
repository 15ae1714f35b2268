"""Stages from NSRR and Profusion XML: real exports, edge cases, unsafe and broken files."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import IngestError
from mesa_report.data.annotations import fit_labels, read_stages

from ..helpers import REALDATA
from ..hostile_common import run_limited

NSRR_XML = REALDATA / "nsrr_xml"


needs_realdata = pytest.mark.skipif(not NSRR_XML.is_dir(),
                                    reason=f"reference files not present at {NSRR_XML}")


def nsrr_xml(events, clock="00.00.00 23.15.30"):
    """An NSRR-layout file from (concept, start s, duration s) stage events."""
    parts = ["<?xml version='1.0' encoding='UTF-8'?><PSGAnnotation><EpochLength>30</EpochLength>",
             "<ScoredEvents>"]
    if clock is not None:
        parts.append("<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept>"
                     f"<Start>0</Start><Duration>1</Duration><ClockTime>{clock}</ClockTime>"
                     "</ScoredEvent>")
    parts.append("<ScoredEvent><EventType>Arousals|Arousals</EventType><EventConcept>Arousal|"
                 "Arousal ()</EventConcept><Start>40</Start><Duration>5</Duration>"
                 "</ScoredEvent>")
    for concept, start, duration in events:
        parts.append(f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>{concept}"
                     f"</EventConcept><Start>{start}</Start><Duration>{duration}</Duration>"
                     "</ScoredEvent>")
    parts.append("</ScoredEvents></PSGAnnotation>")
    return "".join(parts)


def profusion_xml(codes, epoch_length=30):
    stages = "".join(f"<SleepStage>{c}</SleepStage>" for c in codes)
    return (f"<CMPStudyConfig><EpochLength>{epoch_length}</EpochLength><ScoredEvents/>"
            f"<SleepStages>{stages}</SleepStages></CMPStudyConfig>")


def write(tmp_path, text, name="mesa-sleep-0001-nsrr.xml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _large_nsrr_xml(path, target_bytes: int) -> int:
    """An NSRR export of ``target_bytes`` or more: stage events cycling over a 48 h night."""
    concepts = ["Wake|0", "Stage 1 sleep|1", "Stage 2 sleep|2", "Stage 3 sleep|3", "REM sleep|5"]
    events = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("<PSGAnnotation><ScoredEvents>\n")
        while fh.tell() < target_bytes:
            fh.write(f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>"
                     f"{concepts[events % 5]}</EventConcept><Start>{(events % 5760) * 30}</Start>"
                     "<Duration>30.0</Duration><SignalLocation>EEG1</SignalLocation>"
                     "</ScoredEvent>\n")
            events += 1
        fh.write("</ScoredEvents></PSGAnnotation>\n")
    return events


@needs_realdata
def test_real_nsrr_file_reproduces_the_profusion_stages():
    nsrr = read_stages(NSRR_XML / "example-100022-nsrr-style.xml")
    profusion = read_stages(NSRR_XML / "100022_profusion.xml")
    assert (nsrr.layout, profusion.layout) == ("nsrr", "profusion")
    assert len(nsrr.labels) == len(profusion.labels) == 1051
    np.testing.assert_array_equal(nsrr.labels, profusion.labels)
    assert np.bincount(nsrr.labels, minlength=6).tolist() == [171, 61, 571, 119, 0, 129]
    assert nsrr.start_clock == "22:00:00" and profusion.start_clock is None
    assert nsrr.warnings == [] and profusion.warnings == []


def test_multi_epoch_events_and_codes(tmp_path):
    path = write(tmp_path, nsrr_xml([
        ("Wake|0", 0, 60), ("Stage 1 sleep|1", 60, 30), ("Stage 2 sleep|2", 90, 90),
        ("Stage 3 sleep|3", 180, 30), ("Stage 4 sleep|4", 210, 30), ("REM sleep|5", 240, 60),
        ("Movement|6", 300, 30), ("Unscored|9", 330, 30), ("REM sleep", 360, 30)]))
    hypnogram = read_stages(path)
    assert hypnogram.labels.tolist() == [0, 0, 1, 2, 2, 2, 3, 4, 5, 5, -1, -1, 5]
    assert hypnogram.labels.dtype == np.int64
    assert hypnogram.start_clock == "23:15:30" and hypnogram.scored_epochs == 13
    assert hypnogram.warnings == []


def test_gaps_overlaps_and_unknown_concepts_are_unscored_with_warnings(tmp_path):
    path = write(tmp_path, nsrr_xml([
        ("Wake|0", 0, 60),             # epochs 0-1
        ("Stage 2 sleep|2", 120, 90),  # epochs 4-6; 2-3 are a gap
        ("Stage 2 sleep|2", 180, 30),  # same stage again: no conflict
        ("REM sleep|5", 150, 30),      # epoch 5 scored twice, differently
        ("Stage 9 dreaming|x", 210, 60),
    ]))
    hypnogram = read_stages(path)
    assert hypnogram.labels.tolist() == [0, 0, -1, -1, 2, -1, 2, -1, -1]
    text = " ".join(hypnogram.warnings)
    assert "mesa-sleep-0001-nsrr.xml" in text
    assert "'Stage 9 dreaming|x' (2 epochs)" in text
    assert "1 epochs are scored differently" in text
    assert "2 epochs of 9 are not covered" in text


def test_an_epoch_takes_the_stage_covering_its_middle(tmp_path):
    path = write(tmp_path, nsrr_xml([("Wake|0", 0, 40), ("Stage 2 sleep|2", 40, 50)]))
    assert read_stages(path).labels.tolist() == [0, 2, 2]


def test_profusion_codes(tmp_path):
    path = write(tmp_path, profusion_xml([0, 1, 2, 3, 4, 5, 6, 9, "x", 7]),
                 "mesa-sleep-0001-profusion.xml")
    hypnogram = read_stages(path)
    assert hypnogram.layout == "profusion"
    assert hypnogram.labels.tolist() == [0, 1, 2, 3, 4, 5, -1, -1, -1, -1]
    assert "1 <SleepStage> values" in hypnogram.warnings[0]


def test_profusion_with_other_epoch_length_is_refused(tmp_path):
    path = write(tmp_path, profusion_xml([0, 0], epoch_length=20), "x-profusion.xml")
    with pytest.raises(IngestError, match=r"x-profusion\.xml scores 20 s epochs"):
        read_stages(path)


@pytest.mark.parametrize("n_epochs, expected, words", [
    (3, [0, 2, 2], "annotations span 5 epochs, the signal 3 epochs"),
    (7, [0, 2, 2, 5, 5, -1, -1], "annotations span 5 epochs, the signal 7 epochs"),
])
def test_labels_fitted_to_the_signal_warn_with_both_lengths(tmp_path, n_epochs, expected, words):
    path = write(tmp_path, nsrr_xml([("Wake|0", 0, 30), ("Stage 2 sleep|2", 30, 60),
                                     ("REM sleep|5", 90, 60)]))
    hypnogram = read_stages(path, n_epochs=n_epochs)
    assert hypnogram.labels.tolist() == expected and hypnogram.scored_epochs == 5
    assert any(words in w and "mesa-sleep-0001-nsrr.xml" in w for w in hypnogram.warnings)


def test_fit_labels_same_length_is_silent():
    labels, notes = fit_labels(np.array([1, 2]), 2, "a.xml")
    assert labels.tolist() == [1, 2] and notes == []


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("<PSGAnnotation><ScoredEvents>", "not well-formed"),
    ("<PSGAnnotation><ScoredEvents/></PSGAnnotation>", "holds no sleep stages"),
    (profusion_xml([]), "empty <SleepStages>"),
])
def test_empty_and_broken_files(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(IngestError, match=message) as info:
        read_stages(path)
    assert "mesa-sleep-0001-nsrr.xml" in str(info.value)


def test_bad_event_times_are_refused(tmp_path):
    path = write(tmp_path, nsrr_xml([("Wake|0", "soon", 30)]))
    with pytest.raises(IngestError, match="Start 'soon'"):
        read_stages(path)
    path = write(tmp_path, nsrr_xml([("Wake|0", 0, 1e12)]))
    with pytest.raises(IngestError, match="Duration"):
        read_stages(path)


def test_entity_expansion_is_refused(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            "<PSGAnnotation><SoftwareVersion>&lol2;</SoftwareVersion></PSGAnnotation>")
    path = write(tmp_path, bomb)
    with pytest.raises(IngestError, match=r"mesa-sleep-0001-nsrr\.xml was refused"):
        read_stages(path)


def test_external_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Wake|0")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "{secret.as_uri()}">]>'
           "<PSGAnnotation><ScoredEvents><ScoredEvent><EventType>Stages|Stages</EventType>"
           "<EventConcept>&ext;</EventConcept><Start>0</Start><Duration>30</Duration>"
           "</ScoredEvent></ScoredEvents></PSGAnnotation>")
    path = write(tmp_path, xxe)
    with pytest.raises(IngestError, match="was refused"):
        read_stages(path)


@pytest.mark.parametrize("clock, expected", [
    ("00.00.00 22.00.00", "22:00:00"), ("21:05:09", "21:05:09"), ("garbage", None), ("", None)])
def test_start_clock_forms(tmp_path, clock, expected):
    path = write(tmp_path, nsrr_xml([("Wake|0", 0, 30)], clock=clock))
    assert read_stages(path).start_clock == expected


def test_a_large_annotation_file_is_read_within_a_fraction_of_its_size(tmp_path):
    path = tmp_path / "mesa-sleep-0001-nsrr.xml"
    events = _large_nsrr_xml(path, 20 << 20)
    size = path.stat().st_size
    # The whole tree would take ~5x the file; the stream keeps 24 bytes per event.
    code = ("from mesa_report.data.annotations import read_stages\n"
            f"limit_memory({size // 2 + (16 << 20)})\n"
            "h = read_stages(sys.argv[1])\n"
            "print(len(h.labels), h.labels[:6].tolist(), len(h.warnings))\n")
    out = run_limited(code, path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert events > 5760 and out.stdout.split()[0] == "5760"
    # Epoch k is scored by every event k, k + 5760, ... with code concepts[k % 5] only when the
    # cycles agree; 5760 is a multiple of 5, so they do and nothing conflicts.
    assert "[0, 1, 2, 3, 5, 0]" in out.stdout and out.stdout.strip().endswith(" 0")
