"""EDF channels (mesa_report.data.edf_channels): a discontinuous EDF+D is refused with a clear message."""

from __future__ import annotations

import re

import edfio
import numpy as np

from mesa_report.data.ingest import preprocess
from mesa_report.data.night_ids import night_filename

from ..hostile_common import EEG3


def _edf_plus(path, gap_at_second: int | None):
    """An EDF+ file of 1 s records; with a gap, record ``gap_at_second`` starts 4 s late (EDF+D)."""
    signals = [edfio.EdfSignal(np.sin(np.arange(128 * 660) / (5.0 + k)), 128, label=name)
               for k, name in enumerate(EEG3)]
    edfio.Edf(signals, annotations=[edfio.EdfAnnotation(0, None, "lights off")]).write(path)
    raw = bytearray(path.read_bytes())
    if gap_at_second is not None:
        raw[192:197] = b"EDF+D"
        onset = re.compile(rb"(?<![0-9])\+" + str(gap_at_second).encode() + rb"\x14\x14")
        match = onset.search(bytes(raw), int(raw[184:192]))
        raw[match.start():match.end()] = b"+" + str(gap_at_second + 4).encode() + b"\x14\x14"
    path.write_bytes(raw)
    return path


def test_a_discontinuous_edf_is_refused_with_a_clear_message(tmp_path):
    edf_dir = tmp_path / "edf"
    edf_dir.mkdir()
    gapped = _edf_plus(edf_dir / "mesa-sleep-0004.edf", gap_at_second=300)
    assert not edfio.read_edf(gapped).is_continuous
    _edf_plus(edf_dir / "mesa-sleep-0005.edf", gap_at_second=None)
    summary = preprocess(edf_dir, tmp_path / "store", channels=EEG3, progress=False)
    assert summary.written == [5]
    (file, message), = summary.failed
    assert file == str(gapped) and "EDF+D" in message and "gaps" in message
    assert not (tmp_path / "store" / night_filename(4)).exists()
