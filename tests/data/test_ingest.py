"""Ingesting many nights (mesa_report.data.ingest): parallel equals serial, up-to-date nights skipped, bad inputs fail
alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mesa_report.data.index_csv import read_index
from mesa_report.data.ingest import preprocess
from mesa_report.data.night_files import read_sidecar

from ..ingest_common import write_edf, write_nsrr


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
