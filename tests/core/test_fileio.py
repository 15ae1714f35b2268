"""Crash safety: commands killed with SIGKILL in the middle of an atomic write (its data written, not
yet under its final name), then rerun, end with exactly the complete set of outputs and no truncated
file under a final name; a full disk leaves nothing."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mesa_report.core.errors import MesaReportError
from mesa_report.core.fileio import PART_SUFFIX, atomic_write, remove_partial_files, write_bytes_atomic
from mesa_report.data.index_csv import read_index
from mesa_report.data.night_files import load_signal
from mesa_report.data.night_ids import night_filename
from mesa_report.data.store import NightStore
from mesa_report.demo import generate_night, write_edf, write_nsrr_xml

from ..kill_helpers import run_until_call

N_NIGHTS = 4


KILL_AT_WRITES = (1, 2, 3)
"""Each run is killed after this many atomic writes of its own (``os.fsync`` comes just before the
rename), so every kill leaves a complete temporary file that never got its final name."""


@pytest.fixture(scope="module")
def edf_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edf")
    for mesaid in range(1, N_NIGHTS + 1):
        night = generate_night(mesaid, hours=0.25, seed=100 + mesaid)
        write_edf(night, folder / f"{night.record_id}.edf")
        write_nsrr_xml(night, folder / f"{night.record_id}-nsrr.xml")
    return folder


def _kill_mid_write(argv: list[str], nth_write: int, tmp_path: Path) -> None:
    """Run ``mesa-report argv`` and SIGKILL it inside its ``nth_write``-th atomic write."""
    log = tmp_path / f"stderr-{nth_write}.txt"
    assert run_until_call("os:fsync", nth_write, argv, log), f"ended before write {nth_write}: {log.read_text()}"


def _check_store(folder: Path) -> None:
    names = {p.name for p in folder.iterdir()}
    assert not [n for n in names if n.endswith(PART_SUFFIX)], names
    store = NightStore(folder)
    assert store.mesaids == list(range(1, N_NIGHTS + 1))
    for mesaid in store.mesaids:
        tensor = load_signal(folder / night_filename(mesaid))  # a truncated .pt would not load
        assert tensor.shape[0] == 4 and tensor.shape[1] >= 20 * 3840
        json.loads((folder / night_filename(mesaid)).with_suffix(".json").read_text())
    assert len(read_index(folder / "mesa_final.csv")) == N_NIGHTS


def test_preprocess_killed_mid_write_then_rerun_completes(edf_dir, tmp_path):
    out = tmp_path / "store"
    argv = ["preprocess", "--edf_dir", str(edf_dir), "--output_dir", str(out), "--no_progress"]
    for nth_write in KILL_AT_WRITES:
        _kill_mid_write(argv, nth_write, tmp_path)
        assert list(out.glob(f"*{PART_SUFFIX}"))  # the write it was killed in
        for pt in out.glob("*_preprocessed.pt"):  # whatever is there under a final name is whole
            load_signal(pt)
    done = subprocess.run([sys.executable, "-m", "mesa_report.cli.main", *argv], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    _check_store(out)


def test_report_killed_mid_write_then_rerun_completes(edf_dir, tmp_path, monkeypatch):
    import torch

    from mesa_report.data.ingest import preprocess
    from mesa_report.model.checkpoint import save_checkpoint
    from mesa_report.model.config import ModelConfig
    from mesa_report.model.network import MesaTransformer

    from ..helpers import TINY

    monkeypatch.setenv("MESA_REPORT_CACHE_DIR", str(tmp_path / "cache"))  # the commands' result cache
    store = tmp_path / "store"
    preprocess(edf_dir, store, progress=False)
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "tiny.pth", MesaTransformer(ModelConfig(**TINY)).eval())
    out = tmp_path / "reports"
    reported = (1,)  # a cache entry, then the HTML, the PDF and the stamp: four writes to be killed inside
    argv = ["report", "--subject", "1", "--checkpoint_path", str(checkpoint),
            "--preprocessed_dir", str(store), "--output_dir", str(out), "--num_samples", "1", "--quiet"]
    for nth_write in KILL_AT_WRITES:
        _kill_mid_write(argv, nth_write, tmp_path)
        assert list(tmp_path.rglob(f"*{PART_SUFFIX}"))  # the write it was killed in (a report or a cache entry)
        for pdf in out.glob("*.pdf") if out.exists() else ():
            data = pdf.read_bytes()  # a file under a final name is always whole
            assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF"), pdf.name
    done = subprocess.run([sys.executable, "-m", "mesa_report.cli.main", *argv], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(f"mesa-sleep-{m:04d}_report.{ext}" for m in reported for ext in ("html", "pdf", "json"))
    assert names == expected, names  # the complete set, no temporary file
    for m in reported:
        assert (out / f"mesa-sleep-{m:04d}_report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_a_full_disk_mid_write_leaves_no_partial_output(tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"the previous, complete report")

    class FullDisk:
        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, data):
            if self.written + len(data) > 1000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    with pytest.raises(MesaReportError, match=r"report\.pdf.*No space left"):
        write_bytes_atomic(target, b"x" * 5000)
    assert target.read_bytes() == b"the previous, complete report"
    assert list(tmp_path.iterdir()) == [target]


def test_an_error_inside_the_block_keeps_the_old_file(tmp_path):
    target = tmp_path / "index.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("new, half")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_partial_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    left = tmp_path / f".night.pt.pid{dead}.abc123{PART_SUFFIX}"
    live = tmp_path / f".night.pt.pid{os.getpid()}.def456{PART_SUFFIX}"
    final = tmp_path / "night.pt"
    for path in (left, live, final):
        path.write_bytes(b"x")
    assert remove_partial_files(tmp_path) == [left]
    assert live.exists() and final.exists()
    old = time.time() - 7200
    os.utime(live, (old, old))
    assert remove_partial_files(tmp_path) == [live]
