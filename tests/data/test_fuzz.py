"""Parsers under fuzz: random and mutated inputs raise only the project's own errors, with a message.

Each property runs 60 examples in the normal suite (profile ``default``, tests/conftest.py); the long run is
``HYPOTHESIS_PROFILE=long python -m pytest tests/data/test_fuzz.py`` (see RELIABILITY.md).
The nastiest inputs found are kept below as plain regression tests."""

from __future__ import annotations

import io
import random
from pathlib import Path

import edfio
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_report.core.errors import MesaReportError
from mesa_report.data.annotations import read_stages
from mesa_report.data.edf_channels import read_edf_channels
from mesa_report.data.index_csv import read_index
from mesa_report.data.stage_strings import parse_stage_string

CONCEPTS = ["Wake|0", "Stage 1 sleep|1", "Stage 2 sleep|2", "Stage 3 sleep|3", "Stage 4 sleep|4",
            "REM sleep|5", "Movement|6", "Unscored|9", "Arousal|Arousal ()", "Stage 7 sleep|7", "", "|", "Wake"]


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                    st.integers(-10**12, 10**12).map(str),
                    st.sampled_from(["", "30", "30.0", "1e308", "-0", "abc", "0x1e", " 60 "]))


def _check_outcome(call, path: Path):
    """Run ``call``; it may succeed or raise a MesaReportError that names the file — nothing else."""
    try:
        return call()
    except MesaReportError as exc:
        assert path.name in str(exc), f"message does not name the file: {exc}"
        return None


def _nsrr_xml(events: list[tuple[str, str, str, str]], epoch_length: str) -> str:
    body = "".join(
        f"<ScoredEvent><EventType>{etype}</EventType><EventConcept>{concept}</EventConcept>"
        f"<Start>{start}</Start><Duration>{duration}</Duration></ScoredEvent>"
        for etype, concept, start, duration in events)
    return (f'<?xml version="1.0" encoding="UTF-8"?><PSGAnnotation><SoftwareVersion>x</SoftwareVersion>'
            f"<EpochLength>{epoch_length}</EpochLength><ScoredEvents>{body}</ScoredEvents></PSGAnnotation>")


def _mutations(data: bytes, rng: random.Random, n: int) -> bytes:
    buf = bytearray(data)
    for _ in range(n):
        op = rng.randrange(4)
        pos = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[pos] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif op == 2 and buf:
            del buf[pos:pos + rng.randrange(1, 64)]
        else:
            buf = buf[: max(0, pos)]
    return bytes(buf)


@pytest.fixture(scope="module")
def edf_bytes() -> bytes:
    signals = [edfio.EdfSignal(np.sin(np.arange(512) / 10.0) * 50, 256, label=n, physical_dimension="uV")
               for n in ("EEG1", "EEG2", "EEG3")]
    buffer = io.BytesIO()
    edfio.Edf(signals).write(buffer)
    return buffer.getvalue()


# ---- the nastiest inputs found, kept as regression tests ---------------------------------------
NASTY_XML = {
    "billion_laughs": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
                       '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><PSGAnnotation>&lol2;</PSGAnnotation>'),
    "external_entity": ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                        "<PSGAnnotation><EpochLength>&e;</EpochLength></PSGAnnotation>"),
    "empty": "",
    "not_xml": "Stage 2 sleep|2,0,30",
    "nan_duration": _nsrr_xml([("Stages|Stages", "Stage 2 sleep|2", "0", "nan")], "30"),
    "inf_start": _nsrr_xml([("Stages|Stages", "Wake|0", "inf", "30")], "30"),
    "huge_duration": _nsrr_xml([("Stages|Stages", "Wake|0", "0", "1e308")], "30"),
    "zero_epoch_length": _nsrr_xml([("Stages|Stages", "Wake|0", "0", "30")], "0"),
    "negative_start": _nsrr_xml([("Stages|Stages", "Wake|0", "-90", "60")], "30"),
}


@given(events=st.lists(st.tuples(st.sampled_from(["Stages|Stages", "Arousals|Arousals", "", "Stages"]),
                                 st.sampled_from(CONCEPTS), NUMBERS, NUMBERS), max_size=12),
       epoch_length=NUMBERS, n_epochs=st.one_of(st.none(), st.integers(0, 50)))
def test_random_nsrr_xml_gives_labels_or_a_clear_error(tmp_path, events, epoch_length, n_epochs):
    path = tmp_path / "mesa-sleep-0001-nsrr.xml"
    path.write_text(_nsrr_xml(events, epoch_length), encoding="utf-8")
    result = _check_outcome(lambda: read_stages(path, n_epochs=n_epochs), path)
    if result is not None:
        labels = np.asarray(result.labels)
        assert labels.dtype.kind == "i" and set(np.unique(labels)) <= set(range(-1, 6))
        if n_epochs is not None:
            assert len(labels) == n_epochs


@given(stages=st.lists(st.sampled_from(["0", "1", "2", "3", "4", "5", "6", "9", "-1", "x", "", "2.5"]),
                       max_size=40), epoch_length=NUMBERS)
def test_random_profusion_xml_gives_labels_or_a_clear_error(tmp_path, stages, epoch_length):
    path = tmp_path / "mesa-sleep-0002-profusion.xml"
    path.write_text(f"<CMPStudyConfig><EpochLength>{epoch_length}</EpochLength><SleepStages>"
                    + "".join(f"<SleepStage>{s}</SleepStage>" for s in stages)
                    + "</SleepStages></CMPStudyConfig>", encoding="utf-8")
    result = _check_outcome(lambda: read_stages(path), path)
    if result is not None:
        assert set(np.unique(result.labels)) <= set(range(-1, 6))


@pytest.mark.parametrize("name", ["example-100022-nsrr-style.xml", "100022_profusion.xml"])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_mutated_real_annotation_files_never_crash(tmp_path, realdata, name, seed, n):
    original = (realdata / "nsrr_xml" / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(_mutations(original, random.Random(seed), n))
    _check_outcome(lambda: read_stages(path), path)


@given(text=st.text(alphabet=st.sampled_from(list("mesaid,sleep_stages0123456789\n\"'; x/<>")), max_size=200))
def test_random_index_csv_gives_a_table_or_a_clear_error(tmp_path, text):
    path = tmp_path / "mesa_final.csv"
    path.write_text(text, encoding="utf-8")
    frame = _check_outcome(lambda: read_index(path), path)
    if frame is not None:
        assert frame["mesaid"].dtype == np.int64 and (frame["mesaid"] >= 0).all()
        for stages in frame["sleep_stages"]:
            labels = parse_stage_string(stages, 10)
            assert labels.shape == (10,) and set(np.unique(labels)) <= set(range(-1, 6))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), header_only=st.booleans())
def test_mutated_edf_headers_never_crash(tmp_path, edf_bytes, seed, n, header_only):
    rng = random.Random(seed)
    header_len = 256 * 4  # main header + 3 signal headers
    if header_only:
        data = _mutations(edf_bytes[:header_len], rng, n) + edf_bytes[header_len:]
    else:
        data = _mutations(edf_bytes, rng, n)
    path = tmp_path / "mesa-sleep-0001.edf"
    path.write_bytes(data)
    result = _check_outcome(lambda: read_edf_channels(path, ["EEG1", "EEG2", "EEG3"]), path)
    if result is not None:
        arrays, rates, _, _ = result
        assert len(arrays) == 3 and all(r > 0 for r in rates)


@pytest.mark.parametrize("case", sorted(NASTY_XML))
def test_nasty_annotation_cases(tmp_path, case):
    path = tmp_path / f"mesa-sleep-0003-{case}.xml"
    path.write_text(NASTY_XML[case], encoding="utf-8")
    result = _check_outcome(lambda: read_stages(path, n_epochs=4), path)
    if case in ("billion_laughs", "external_entity", "empty", "not_xml"):
        assert result is None  # refused
    elif result is not None:
        assert len(result.labels) == 4 and set(np.unique(result.labels)) <= set(range(-1, 6))
