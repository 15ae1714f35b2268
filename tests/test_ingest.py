"""EDF + annotation files -> store: signal processing, the real NSRR export, bad input, the CLI."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import edfio
import numpy as np
import pytest
from scipy import signal as sps

from mesa_report.cli.main import main
from mesa_report.core.errors import ConfigError
from mesa_report.data.ingest import preprocess
from mesa_report.data.night_ingest import preprocess_night
from mesa_report.data.signal_filters import bandpass_and_scale, resample_to_store
from mesa_report.core.vocabulary import EPOCH_SAMPLES
from mesa_report.data.index_csv import read_index
from mesa_report.data.night_files import read_sidecar
from mesa_report.data.store import NightStore

E = EPOCH_SAMPLES
MESA_CHANNELS = (("EEG1", 256), ("EEG2", 256), ("EEG3", 256), ("Thor", 32))
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "nsrr_xml"


def write_edf(path, seconds, channels=MESA_CHANNELS, waves=None, seed=0):
    """An EDF of ``seconds`` with random EEG-like noise (µV), or given waveforms per channel."""
    rng = np.random.default_rng(seed)
    signals = []
    for name, rate in channels:
        t = np.arange(int(seconds * rate)) / rate
        data = waves[name](t) if waves and name in waves else rng.normal(0, 20, len(t))
        signals.append(edfio.EdfSignal(data, rate, label=name, physical_dimension="uV",
                                       physical_range=(-1000, 1000)))
    edfio.Edf(signals, starttime=dt.time(22, 30)).write(path)
    return path


def write_nsrr(path, runs, clock="00.00.00 23.15.30"):
    """NSRR XML from (code, n_epochs) runs."""
    names = {0: "Wake|0", 1: "Stage 1 sleep|1", 2: "Stage 2 sleep|2", 3: "Stage 3 sleep|3",
             4: "Stage 4 sleep|4", 5: "REM sleep|5", 6: "Movement|6", 9: "Unscored|9"}
    events, start = [], 0
    for code, count in runs:
        events.append(f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>"
                      f"{names[code]}</EventConcept><Start>{start}.0</Start><Duration>"
                      f"{count * 30}.0</Duration></ScoredEvent>")
        start += count * 30
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?><PSGAnnotation><EpochLength>30</EpochLength>"
        "<ScoredEvents><ScoredEvent><EventType/><EventConcept>Recording Start Time"
        f"</EventConcept><Start>0</Start><Duration>{start}</Duration><ClockTime>{clock}"
        f"</ClockTime></ScoredEvent>{''.join(events)}</ScoredEvents></PSGAnnotation>")
    return path


def peak_hz(x, sfreq_hz=128.0):
    freqs, power = sps.welch(x, fs=sfreq_hz, nperseg=1024)
    return freqs[np.argmax(power)], freqs, power


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


def test_low_rate_channels_keep_their_content_and_flat_ones_are_reported():
    rng = np.random.default_rng(3)
    slow = np.sin(2 * np.pi * 0.5 * np.arange(32 * 600) / 32) + 0.01 * rng.normal(size=32 * 600)
    resampled = resample_to_store([rng.normal(size=256 * 600), slow, np.full(100 * 600, 7.0)],
                                  [256.0, 32.0, 100.0])
    assert resampled.shape == (3, 128 * 600) and resampled.dtype == np.float32
    scaled, medians, iqrs = bandpass_and_scale(resampled, np.array([False, False, True]))
    assert scaled.dtype == np.float32
    assert peak_hz(scaled[1])[0] == pytest.approx(0.5, abs=0.15)
    assert iqrs[1] > 0 and iqrs[2] == 0
    assert not scaled[2].any()


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"reference files not present at {REALDATA}")
def test_real_nsrr_export_gives_the_profusion_stages(tmp_path):
    edf_dir, notes = tmp_path / "edf", tmp_path / "annotations"
    edf_dir.mkdir()
    notes.mkdir()
    low_rate = (("EEG1", 32), ("EEG2", 32), ("EEG3", 32))  # 8.8 h kept small for the test
    for mesaid in (1, 2):
        write_edf(edf_dir / f"mesa-sleep-{mesaid:04d}.edf", 1051 * 30, channels=low_rate,
                  seed=mesaid)
    shutil.copy(REALDATA / "example-100022-nsrr-style.xml", notes / "mesa-sleep-0001-nsrr.xml")
    shutil.copy(REALDATA / "100022_profusion.xml", notes / "mesa-sleep-0002-profusion.xml")
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


def test_parallel_jobs_write_the_same_nights_as_serial(tmp_path):
    for mesaid in (31, 32, 33):
        write_edf(tmp_path / f"mesa-sleep-{mesaid:04d}.edf", 11 * 60, seed=mesaid)
        write_nsrr(tmp_path / f"mesa-sleep-{mesaid:04d}-nsrr.xml", [(mesaid % 6, 22)])
    (tmp_path / "mesa-sleep-0034.edf").write_bytes(b"broken")
    serial = preprocess(tmp_path, tmp_path / "serial", progress=False)
    parallel = preprocess(tmp_path, tmp_path / "parallel", jobs=2, progress=False)
    assert serial.written == parallel.written == [31, 32, 33]
    assert [Path(f).name for f, _ in parallel.failed] == ["mesa-sleep-0034.edf"]
    for mesaid in (31, 32, 33):
        name = f"mesa-sleep-{mesaid:04d}_preprocessed.pt"
        serial_bytes = (tmp_path / "serial" / name).read_bytes()
        assert serial_bytes == (tmp_path / "parallel" / name).read_bytes()
    assert (read_index(tmp_path / "serial" / "mesa_final.csv").equals(
        read_index(tmp_path / "parallel" / "mesa_final.csv")))


def test_up_to_date_nights_are_skipped_and_other_files_survive(tmp_path):
    write_edf(tmp_path / "mesa-sleep-0003.edf", 11 * 60)
    xml = write_nsrr(tmp_path / "mesa-sleep-0003-nsrr.xml", [(2, 22)])
    store = tmp_path / "store"
    assert preprocess(tmp_path, store, progress=False).written == [3]
    (store / "mesa-sleep-0003_events.csv").write_text("kind,channel,start,end\n")
    index = read_index(store / "mesa_final.csv")
    index["split"] = "test"
    index.to_csv(store / "mesa_final.csv", index=False)

    again = preprocess(tmp_path, store, progress=False)
    assert again.written == [] and again.skipped == [3]
    write_nsrr(xml, [(0, 22)])
    changed = preprocess(tmp_path, store, progress=False)
    assert changed.written == [3]
    assert preprocess(tmp_path, store, force=True, progress=False).written == [3]
    assert (store / "mesa-sleep-0003_events.csv").exists()
    index = read_index(store / "mesa_final.csv")
    assert index.loc[0, "split"] == "test" and index.loc[0, "sleep_stages"] == "0" * 22
    assert not list(store.glob("*.part"))


def test_bad_inputs_fail_alone_and_damage_nothing(tmp_path):
    edf_dir, store = tmp_path / "edf", tmp_path / "store"
    edf_dir.mkdir()
    good = write_edf(edf_dir / "mesa-sleep-0001.edf", 11 * 60)
    write_nsrr(edf_dir / "mesa-sleep-0001-nsrr.xml", [(2, 22)])
    assert preprocess(edf_dir, store, progress=False).written == [1]
    kept = {p.name: p.read_bytes() for p in store.iterdir()}

    good.write_bytes(good.read_bytes()[:-5000])  # truncated download
    (edf_dir / "mesa-sleep-0002.edf").write_bytes(b"0       garbage" * 30)
    write_edf(edf_dir / "mesa-sleep-0003.edf", 11 * 60,
              channels=(("EEG1", 256), ("EEG2", 256), ("EOG-L", 256), ("Thor", 32)))
    write_edf(edf_dir / "mesa-sleep-0004.edf", 5 * 60)
    write_edf(edf_dir / "subject-A.edf", 11 * 60)
    write_edf(edf_dir / "mesa-sleep-0006.edf", 11 * 60)
    write_nsrr(edf_dir / "mesa-sleep-0006-nsrr.xml", [(2, 30)])
    write_edf(edf_dir / "mesa-sleep-0007.edf", 11 * 60)
    (edf_dir / "mesa-sleep-0007-nsrr.xml").write_text("")
    write_edf(edf_dir / "mesa-sleep-0008.edf", 11 * 60, waves={"EEG3": np.zeros_like})

    summary = preprocess(edf_dir, store, progress=False)
    failed = {Path(file).name: message for file, message in summary.failed}
    assert sorted(failed) == ["mesa-sleep-0001.edf", "mesa-sleep-0002.edf", "mesa-sleep-0003.edf",
                              "mesa-sleep-0004.edf", "mesa-sleep-0007.edf", "subject-A.edf"]
    assert "truncated" in failed["mesa-sleep-0001.edf"]
    assert "not a readable EDF" in failed["mesa-sleep-0002.edf"]
    assert "no channel 'EEG3'; it has: EEG1, EEG2, EOG-L, Thor" in failed["mesa-sleep-0003.edf"]
    assert "10 whole 30 s epochs" in failed["mesa-sleep-0004.edf"]
    assert "mesa-sleep-0007-nsrr.xml is empty" in failed["mesa-sleep-0007.edf"]
    assert "record id" in failed["subject-A.edf"]
    assert summary.written == [6, 8]
    assert any("annotations span 30 epochs, the signal 22 epochs" in w for w in summary.warnings)
    assert any("mesa-sleep-0008.edf: no annotation file" in w for w in summary.warnings)
    assert any("mesa-sleep-0008.edf: channel EEG3 is flat" in w for w in summary.warnings)

    for name, content in kept.items():
        if name != "mesa_final.csv":
            assert (store / name).read_bytes() == content, name
    index = read_index(store / "mesa_final.csv")
    assert index["mesaid"].tolist() == [1, 6, 8]
    assert index.loc[2, "sleep_stages"] == "9" * 22
    assert read_sidecar(store / "mesa-sleep-0006_preprocessed.json")["label_counts"]["N2"] == 22
    assert not list(store.glob("*.part"))


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


def test_cli_exit_codes_and_summary(tmp_path, capsys):
    write_edf(tmp_path / "mesa-sleep-0010.edf", 11 * 60)
    code = main(["preprocess", "--edf-dir", str(tmp_path), "--output_dir",
                 str(tmp_path / "store"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0 and "1 written, 0 up to date, 0 failed" in out
    assert "no annotation file" in err

    (tmp_path / "mesa-sleep-0011.edf").write_bytes(b"")
    code = main(["preprocess", "--edf_dir", str(tmp_path), "--output-dir",
                 str(tmp_path / "store"), "--no-progress", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and "0 written, 1 up to date, 1 failed" in out
    assert "mesa-sleep-0011.edf" in err and "failed nights" in err

    code = main(["preprocess", "--edf-dir", str(tmp_path / "none"), "--output-dir",
                 str(tmp_path / "store")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
