"""One night from EDF + annotation XML to the store (mesa_report.data.night_ingest), the real NSRR export included."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import EPOCH_SAMPLES
from mesa_report.data.index_csv import read_index
from mesa_report.data.ingest import preprocess
from mesa_report.data.night_files import read_sidecar
from mesa_report.data.night_ingest import preprocess_night
from mesa_report.data.store import NightStore

from ..ingest_common import peak_hz, write_edf, write_nsrr

E = EPOCH_SAMPLES


from ..helpers import REALDATA

NSRR_XML = REALDATA / "nsrr_xml"


RUNS = [(0, 10), (1, 2), (2, 20), (3, 6), (4, 2), (6, 1), (5, 9)]  # 50 epochs = 25 min


def test_edf_and_xml_round_trip_to_the_store(tmp_path):
    waves = {
        "EEG1": lambda t: 40 * np.sin(2 * np.pi * 10 * t) + 40 * np.sin(2 * np.pi * 50 * t) + 150,
        "EEG3": lambda t: 60 * np.sin(2 * np.pi * 2 * t),
        "Thor": lambda t: 300 * np.sin(2 * np.pi * 1.0 * t),
    }
    write_edf(tmp_path / "mesa-sleep-0021.edf", 25 * 60 + 13, waves=waves)
    write_nsrr(tmp_path / "mesa-sleep-0021-nsrr.xml", RUNS)
    summary = preprocess(tmp_path, tmp_path / "store", progress=False)
    assert summary.written == [21] and summary.failed == [] and summary.warnings == []

    night = NightStore(tmp_path / "store").night(21)
    assert tuple(night.signal.shape) == (4, 50 * E) and night.sfreq_hz == 128.0
    expected = np.concatenate([np.full(n, code if code <= 5 else -1) for code, n in RUNS])
    np.testing.assert_array_equal(night.labels, expected)
    assert night.channel_names == ["EEG1", "EEG2", "EEG3", "Thor"]
    meta = night.meta
    assert meta["start_clock"] == "23:15:30" and meta["annotation_layout"] == "nsrr"
    assert meta["sources"]["edf"]["name"] == "mesa-sleep-0021.edf"
    assert meta["sources"]["annotations"]["size_bytes"] > 0
    assert [c["sfreq_hz"] for c in meta["source_channels"]] == [256.0, 256.0, 256.0, 32.0]
    assert meta["label_counts"] == {"W": 10, "N1": 2, "N2": 20, "N3": 6, "N4": 2, "REM": 9,
                                    "?": 1}

    x = night.signal.numpy()
    assert np.abs(x).max() <= 20.0
    q25, median, q75 = np.percentile(x, [25, 50, 75], axis=1)
    np.testing.assert_allclose(median, 0, atol=0.05)
    np.testing.assert_allclose(q75 - q25, 1, atol=0.05)
    # Resampling keeps frequencies; the band-pass removes 50 Hz and the DC offset.
    peak, freqs, power = peak_hz(x[0])
    assert peak == pytest.approx(10, abs=0.2)
    assert power[np.argmin(abs(freqs - 50))] < 1e-4 * power.max()
    assert peak_hz(x[2])[0] == pytest.approx(2, abs=0.2)
    assert peak_hz(x[3])[0] == pytest.approx(1, abs=0.2)

    index = read_index(tmp_path / "store" / "mesa_final.csv")
    assert index["mesaid"].tolist() == [21] and index.loc[0, "n_epochs"] == "50"
    assert index.loc[0, "sleep_stages"] == "".join(str(c) for c in expected).replace("-1", "9")


@pytest.mark.skipif(not NSRR_XML.is_dir(), reason=f"reference files not present at {NSRR_XML}")
def test_real_nsrr_export_gives_the_profusion_stages(tmp_path):
    edf_dir, notes = tmp_path / "edf", tmp_path / "annotations"
    edf_dir.mkdir()
    notes.mkdir()
    low_rate = (("EEG1", 32), ("EEG2", 32), ("EEG3", 32))  # 8.8 h kept small for the test
    for mesaid in (1, 2):
        write_edf(edf_dir / f"mesa-sleep-{mesaid:04d}.edf", 1051 * 30, channels=low_rate,
                  seed=mesaid)
    shutil.copy(NSRR_XML / "example-100022-nsrr-style.xml", notes / "mesa-sleep-0001-nsrr.xml")
    shutil.copy(NSRR_XML / "100022_profusion.xml", notes / "mesa-sleep-0002-profusion.xml")
    summary = preprocess(edf_dir, tmp_path / "store", annotations_dir=notes,
                         channels=("EEG1", "EEG2", "EEG3"), progress=False)
    assert summary.written == [1, 2] and summary.failed == [] and summary.warnings == []
    store = NightStore(tmp_path / "store")
    nsrr, profusion = store.night(1), store.night(2)
    assert nsrr.n_epochs == profusion.n_epochs == 1051
    np.testing.assert_array_equal(nsrr.labels, profusion.labels)
    assert np.bincount(nsrr.labels, minlength=6).tolist() == [171, 61, 571, 119, 0, 129]
    assert nsrr.meta["annotation_layout"] == "nsrr" and nsrr.meta["start_clock"] == "22:00:00"
    assert profusion.meta["annotation_layout"] == "profusion"
    assert profusion.meta["start_clock"] == "22:30:00"  # from the EDF header


def test_channel_choice_and_case_insensitive_labels(tmp_path):
    write_edf(tmp_path / "mesa-sleep-0005.edf", 11 * 60,
              channels=(("eeg1", 256), ("EEG2", 256), ("C3-M2", 200), ("Thor", 32)))
    result = preprocess_night(tmp_path / "mesa-sleep-0005.edf", None, tmp_path / "store",
                              channels=("EEG1", "EEG2", "C3-M2"))
    assert result.mesaid == 5 and result.row["n_epochs"] == 22
    assert read_sidecar(result.path.with_suffix(".json"))["channel_names"] == ["EEG1", "EEG2",
                                                                             "C3-M2"]
    with pytest.raises(ConfigError, match="at least 3"):
        preprocess(tmp_path, tmp_path / "store", channels=("EEG1", "EEG2"), progress=False)
    with pytest.raises(ConfigError, match="twice"):
        preprocess(tmp_path, tmp_path / "store", channels=("EEG1", "eeg1", "EEG2"),
                   progress=False)
    with pytest.raises(ConfigError, match="--jobs"):
        preprocess(tmp_path, tmp_path / "store", jobs=0, progress=False)
