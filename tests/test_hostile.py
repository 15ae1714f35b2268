"""Hostile and careless input, round two (issue 18): each family with a fixture made here."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import types
import warnings
import zipfile

import edfio
import numpy as np
import pytest
import torch

from mesa_report.model.checkpoint import load_model, read_checkpoint, save_checkpoint
from mesa_report.cli.main import main
from mesa_report.core.errors import CheckpointError, ConfigError, DataError
from mesa_report.data.ingest import preprocess
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer
from mesa_report.core.vocabulary import EPOCH_SAMPLES as E
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import load_signal, write_night
from mesa_report.data.night_ids import night_filename, sidecar_filename
from mesa_report.data.store import NightStore

from .conftest import REPO_ROOT, TINY
from .test_checkpoint import _seed_style_checkpoint
from .test_train import _learnable_store

try:
    import resource
except ImportError:  # Windows
    resource = None

TRAIN_TINY = ["--num_epochs", "1", "--batch_size", "4", "--stride", "10", "--d_model", "32",
              "--dim_feedforward", "64", "--cnn_channels", "8", "16", "--heads", "4", "2", "4",
              "--quiet"]
EEG3 = ("EEG1", "EEG2", "EEG3")


# --- train never overwrites a checkpoint ------------------------------------------------------

def test_train_refuses_to_replace_a_trained_checkpoint_unless_told(tmp_path, capsys):
    store = _learnable_store(tmp_path / "store", n_nights=2)
    folder = tmp_path / "checkpoints_mesa"
    folder.mkdir()
    trained = folder / "best_model.pth"
    trained.write_bytes(b"a model someone trained for days")
    args = ["train", "--preprocessed_dir", str(store), "--checkpoint_dir", str(folder), *TRAIN_TINY]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(trained) in err
    assert "--overwrite" in err and "--resume_from" in err
    assert trained.read_bytes() == b"a model someone trained for days"
    assert not (folder / "last_model.pth").exists()
    assert main(args + ["--overwrite"]) == 0
    assert torch.load(trained, weights_only=True)["epoch"] == 1


def test_train_help_says_what_happens_to_existing_checkpoints(capsys):
    try:
        main(["train", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--overwrite" in text and "refuses to start when they exist" in text


# --- preprocess never rewrites index rows it did not make ----------------------------------------

def _tiny_edf(folder, mesaid: int):
    folder.mkdir(parents=True, exist_ok=True)
    signals = [edfio.EdfSignal(np.sin(np.arange(128 * 660) / (5.0 + k)), 128, label=name)
               for k, name in enumerate(("EEG1", "EEG2", "EEG3"))]
    edfio.Edf(signals).write(folder / f"mesa-sleep-{mesaid:04d}.edf")
    return folder


def test_preprocess_into_a_store_keeps_other_rows_and_spellings_and_reports_updates(tmp_path):
    edf_dir = _tiny_edf(tmp_path / "edf", 3)
    store = tmp_path / "store"
    store.mkdir()
    user_text = ("mesaid,sleep_stages,n_epochs,site\n0007,0012,4,A\n7,0012,4,B\n"
                 "0003,555,3,C\nmesa-sleep-0012,,,D\n")
    (store / "mesa_final.csv").write_text(user_text)
    summary = preprocess(edf_dir, store, channels=EEG3, progress=False)
    assert summary.written == [3] and not summary.failed
    lines = (store / "mesa_final.csv").read_text().splitlines()
    assert lines[0] == "mesaid,sleep_stages,n_epochs,site,edf_file,annotation_file,start_clock"
    # Other nights: both spellings kept with their values (the new columns empty for them).
    assert lines[1:3] == ["0007,0012,4,A,,,", "7,0012,4,B,,,"]
    assert lines[4] == "mesa-sleep-0012,,,D,,,"
    assert lines[3].startswith("0003,999") and ",22,C,mesa-sleep-0003.edf," in lines[3]
    assert len(lines) == 5
    updated = [w for w in summary.warnings if "updated" in w]
    assert len(updated) == 1 and "'0003'" in updated[0] and "sleep_stages, n_epochs" in updated[0]


def test_preprocess_checks_the_existing_index_before_writing_any_night(tmp_path):
    edf_dir = _tiny_edf(tmp_path / "edf", 3)
    store = tmp_path / "store"
    store.mkdir()
    broken = "mesaid,sleep_stages\n1,00\n../../etc,11\n"
    (store / "mesa_final.csv").write_text(broken)
    with pytest.raises(DataError, match="line 3"):
        preprocess(edf_dir, store, channels=EEG3, progress=False)
    assert sorted(p.name for p in store.iterdir()) == ["mesa_final.csv"]
    assert (store / "mesa_final.csv").read_text() == broken
    assert main(["preprocess", "--edf_dir", str(edf_dir), "--output_dir", str(store),
                 "--channels", *EEG3, "--no_progress"]) == 2


# --- seed checkpoints written under numpy 1.x; crafted numpy content --------------------------------

_NUMPY1_NAMES = {
    id(np._core.multiarray._reconstruct): ("numpy.core.multiarray", "_reconstruct"),
    id(np._core.multiarray.scalar): ("numpy.core.multiarray", "scalar"),
}


class _Numpy1Pickler(pickle._Pickler):
    """Writes numpy's rebuild functions under numpy 1.x's module name, as numpy 1.x itself does."""

    def save_global(self, obj, name=None):
        renamed = _NUMPY1_NAMES.get(id(obj))
        if renamed is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{renamed[0]}\n{renamed[1]}\n".encode())
        self.memoize(obj)


NUMPY1_PICKLE = types.SimpleNamespace(Pickler=_Numpy1Pickler, __name__="numpy1_pickle")
"""A ``pickle_module`` for ``torch.save`` whose files look like ones written under numpy 1.x."""


class _Reduce:
    """Pickles as ``reduce[0](*reduce[1])`` (with ``reduce[2]`` as its state): crafted content."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def _pickle_bytes(path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))


def test_a_seed_checkpoint_pickled_under_numpy_1_opens_with_weights_only(tmp_path):
    torch.manual_seed(4)
    model = MesaTransformer(ModelConfig(**dict(TINY, temporal_heads=8, channel_heads=4,
                                               epoch_heads=8))).eval()
    path = tmp_path / "best_model.pth"
    _seed_style_checkpoint(path, model, pickle_module=NUMPY1_PICKLE)
    data = _pickle_bytes(path)
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    assert b"cnumpy.core.multiarray\nscalar\n" in data and b"numpy._core" not in data
    checkpoint = read_checkpoint(path)
    metrics = checkpoint["test_metrics"]
    assert type(metrics["confusion_matrix"]) is np.ndarray
    assert metrics["confusion_matrix"].tolist() == np.arange(36).reshape(6, 6).tolist()
    assert isinstance(metrics["kappa"], np.float64) and metrics["kappa"] == 0.74
    loaded = load_model(path)
    x = torch.randn(1, model.config.seq_len, 3, 3840)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, model(x).logits)


def test_only_the_numpy_rebuild_functions_are_allowed_under_either_name(tmp_path):
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        path = tmp_path / "sneaky.pth"
        # A pickle naming another function of the same (allowed) module is still refused.
        payload = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n.").replace(
            b"numpy.core.multiarray\n_reconstruct", f"{module}\ncopyto".encode())
        torch.save({"model_state_dict": {}}, path)
        _replace_pickle(path, payload)
        with pytest.raises(CheckpointError, match=rf"\({module}\.copyto\)"):
            read_checkpoint(path)


def _replace_pickle(path, payload: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in entries if n.endswith("data.pkl"))
    entries[name] = payload
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)


@pytest.mark.parametrize("content, message", [
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (10**12,), b"b")),
     r"shape \(1000000000000,\) \(1,000,000,000,000 bytes\) in a file of"),
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"),
             (1, (150_000_000,), _Reduce(np.dtype, ("O8", False, True)), False, [])),
     "object array"),
    (_Reduce(np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"),
             (1, (10**9,), np.dtype("f8"), False, b"12345678")),
     r"8,000,000,000 bytes"),
    (_Reduce(np.ndarray, ((10**12,), "b")), "calls numpy.ndarray directly"),
])
def test_crafted_numpy_content_is_refused_before_anything_is_allocated(tmp_path, content, message):
    path = tmp_path / "crafted.pth"
    torch.save({"model_state_dict": {"w": torch.zeros(2)}, "test_metrics": {"m": content}}, path)
    assert path.stat().st_size < 4000
    code = ("from mesa_report.model.checkpoint import read_checkpoint\n"
            "limit_memory(1 << 30)\n"
            "from mesa_report.core.errors import CheckpointError\n"
            "try:\n    read_checkpoint(sys.argv[1])\n"
            "except CheckpointError as exc:\n    print(exc)\n")
    out = _run_limited(code, path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout and re.search(message, out.stdout), out.stdout


_LIMIT_PRELUDE = """
import os, resource, sys
from pathlib import Path
import numpy, torch  # their own mappings are in place before the limit is set

def limit_memory(extra_bytes):
    # Address space: what is mapped now plus extra_bytes (Linux; elsewhere no limit is set).
    statm = Path("/proc/self/statm")
    if statm.exists():
        used = int(statm.read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (used + extra_bytes, used + extra_bytes))
"""


def _run_limited(code: str, *args):
    """Run ``code`` in a fresh interpreter (repository root) that has ``limit_memory(bytes)``."""
    if resource is None:
        pytest.skip("no resource module on this platform")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", _LIMIT_PRELUDE + code, *map(str, args)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_refusal_messages_name_the_global_and_call_a_corrupt_pickle_corrupt(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": _Reduce(eval, ("1 + 1",))}, path)
    with pytest.raises(CheckpointError, match=r"\(builtins\.eval\), and loading it could run code"):
        read_checkpoint(path)
    torch.save({"model_state_dict": {"w": torch.zeros(2)}}, path)
    _replace_pickle(path, b"\x80\x02}q\x00X\x01\x00\x00\x00a\x93\x94\x95.")
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert "is corrupt" in str(info.value) and "run code" not in str(info.value)


# --- memory bombs and odd tensors in nights ------------------------------------------------------

def _store_with(tmp_path, content, sidecar: dict | None = None):
    path = tmp_path / night_filename(1)
    torch.save(content, path)
    if sidecar is not None:
        (tmp_path / sidecar_filename(1)).write_text(json.dumps(sidecar))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0"}])
    return path


@pytest.mark.parametrize("content, message", [
    (torch.empty(4, 10**12, device="meta"), "without data"),
    (torch.empty(4, 3 * E, device="meta"), "without data"),
    (torch.zeros(4, 1).expand(4, 10**9), r"declares shape \(4, 1000000000\)"),
    (torch.zeros(4, 1).expand(4, 2 * 10**7), r"declares 320,000,000 bytes of samples"),
    (torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (64, 2 * 10**7),
                             check_invariants=True), "sparse_coo tensor"),
    (torch.zeros(3 * E, 4), r"looks transposed: shape \(11520, 4\)"),
])
def test_nights_declaring_huge_or_odd_tensors_are_refused_before_allocation(tmp_path, content,
                                                                              message):
    path = _store_with(tmp_path, content)
    code = ("from mesa_report.data.store import NightStore\n"
            "from mesa_report.core.errors import DataError\n"
            "limit_memory(512 << 20)\n"
            "try:\n    NightStore(sys.argv[1]).night(1).labels\n"
            "except DataError as exc:\n    print(exc)\n")
    out = _run_limited(code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout and re.search(message, out.stdout), out.stdout
    assert len(out.stdout.strip().splitlines()) == 1


def test_bfloat16_and_small_sparse_nights_are_converted_exactly(tmp_path):
    signal = torch.linspace(-3, 3, 4 * 2 * E).reshape(4, 2 * E)
    for content in (signal.to(torch.bfloat16), signal.to_sparse()):
        _store_with(tmp_path, content)
        loaded = load_signal(tmp_path / night_filename(1))
        assert loaded.dtype == torch.float32 and loaded.layout == torch.strided
        torch.testing.assert_close(loaded, content.to_dense().float(), rtol=0, atol=0)
        assert NightStore(tmp_path).night(1).epochs(0, 2).shape == (2, 3, E)


def test_a_sidecar_rate_that_is_not_a_number_gets_a_clear_message(tmp_path):
    _store_with(tmp_path, torch.zeros(4, 2 * E), sidecar={"sfreq_hz": "fast"})
    with pytest.raises(DataError, match=r"sidecar .*mesa-sleep-0001_preprocessed\.json has "
                                        r"sfreq_hz 'fast', not a sampling rate"):
        NightStore(tmp_path).night(1)


def test_no_message_suggests_an_option_no_command_accepts(tmp_path):
    _store_with(tmp_path, torch.zeros(4, 2 * E), sidecar={"sfreq_hz": 256})
    with pytest.raises(ConfigError) as info:
        NightStore(tmp_path, sfreq_hz=128.0).night(1)
    assert "target_fs" not in str(info.value) and "256" in str(info.value)
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "mesa_report").rglob("*.py"))
    assert "target_fs=" not in re.sub(r"target_fs=(cfg\.|target_fs)", "", sources)


# --- memory bombs and odd tensors in checkpoints -------------------------------------------------

def _tiny_checkpoint(tmp_path, edit) -> tuple:
    torch.manual_seed(2)
    model = MesaTransformer(ModelConfig(**TINY)).eval()
    path = save_checkpoint(tmp_path / "best_model.pth", model)
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return path, model


def _set_weight(name, value):
    return lambda payload: payload["model_state_dict"].__setitem__(name, value(payload["model_state_dict"][name]))


@pytest.mark.parametrize("edit, message", [
    (_set_weight("classifier.3.weight", lambda w: torch.empty(w.shape, device="meta")),
     r"weight classifier\.3\.weight of shape \(6, 64\) has no data"),
    (_set_weight("classifier.0.weight", lambda w: w[:1, :1].expand(10**6, 10**6)),
     r"weight classifier\.0\.weight declares shape \(1000000, 1000000\)"),
    (_set_weight("classifier.0.weight",
                 lambda w: torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long),
                                                   torch.zeros(0), (10**6, 10**6), check_invariants=True)),
     "sparse weight classifier.0.weight"),
    (lambda payload: payload["config"].update(d_model=10**6, dim_feedforward=10**6),
     r"its config says d_model=1000000 but its weights have d_model=32"),
    (_set_weight("classifier.0.weight", lambda w: w * 1e38),
     r"weight classifier\.0\.weight holds values up to .*e\+3\d"),
])
def test_checkpoints_declaring_huge_or_odd_weights_are_refused_before_the_model_is_built(
        tmp_path, edit, message):
    path, _ = _tiny_checkpoint(tmp_path, edit)
    code = ("from mesa_report.model.checkpoint import load_model\n"
            "from mesa_report.core.errors import CheckpointError\n"
            "limit_memory(512 << 20)\n"
            "try:\n    load_model(sys.argv[1], None, None, None, None)\n"
            "except CheckpointError as exc:\n    print(exc)\n")
    out = _run_limited(code, path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout and re.search(message, out.stdout), out.stdout


def test_small_sparse_and_bfloat16_weights_load_exactly(tmp_path):
    def edit(payload):
        state = payload["model_state_dict"]
        state["classifier.3.weight"] = state["classifier.3.weight"].to_sparse()
        state["classifier.0.weight"] = state["classifier.0.weight"].to(torch.bfloat16)
    path, model = _tiny_checkpoint(tmp_path, edit)
    loaded = load_model(path, None, None, None, None)
    torch.testing.assert_close(loaded.state_dict()["classifier.3.weight"],
                               model.state_dict()["classifier.3.weight"], rtol=0, atol=0)
    torch.testing.assert_close(loaded.state_dict()["classifier.0.weight"],
                               model.state_dict()["classifier.0.weight"].to(torch.bfloat16).float())


# --- EDF+D ---------------------------------------------------------------------------------------

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


# --- nothing to do is not success; mangled stage strings -----------------------------------------

def test_batch_all_with_no_night_file_exits_non_zero_with_a_message(tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "m.pth", MesaTransformer(ModelConfig(**TINY)).eval())
    store = tmp_path / "store"
    write_index(store, [{"mesaid": 1, "sleep_stages": "00"}, {"mesaid": 2, "sleep_stages": "11"}])
    argv = ["batch", "--checkpoint_path", str(checkpoint), "--preprocessed_dir", str(store), "--all",
            "--output_dir", str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to do" in err and "none of the 2 night(s)" in err and str(store) in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("stages, skipped, scientific", [
    ("1.2E+15", 3, True), ("00a1b2", 2, False), ("0011", 0, False),
])
def test_mangled_stage_strings_get_a_warning_counting_what_is_skipped(tmp_path, stages, skipped,
                                                                      scientific):
    write_night(tmp_path, 1, np.zeros((4, 4 * E), np.float32), np.zeros(4))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": stages}])
    night = NightStore(tmp_path).night(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = night.labels
    digits = [int(c) for c in stages if c.isdigit()][:4]
    assert labels[: len(digits)].tolist() == [d if d <= 5 else -1 for d in digits]  # seed rule kept
    notes = [str(w.message) for w in caught]
    if not skipped:
        assert notes == []
        return
    (note,) = notes
    assert "mesa-sleep-0001" in note and f"{skipped} characters that are not digits" in note
    assert ("scientific notation" in note) == scientific


# --- annotation XML read as a stream --------------------------------------------------------------

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


def test_a_large_annotation_file_is_read_within_a_fraction_of_its_size(tmp_path):
    path = tmp_path / "mesa-sleep-0001-nsrr.xml"
    events = _large_nsrr_xml(path, 20 << 20)
    size = path.stat().st_size
    # The whole tree would take ~5x the file; the stream keeps 24 bytes per event.
    code = ("from mesa_report.data.annotations import read_stages\n"
            f"limit_memory({size // 2 + (16 << 20)})\n"
            "h = read_stages(sys.argv[1])\n"
            "print(len(h.labels), h.labels[:6].tolist(), len(h.warnings))\n")
    out = _run_limited(code, path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert events > 5760 and out.stdout.split()[0] == "5760"
    # Epoch k is scored by every event k, k + 5760, ... with code concepts[k % 5] only when the
    # cycles agree; 5760 is a multiple of 5, so they do and nothing conflicts.
    assert "[0, 1, 2, 3, 5, 0]" in out.stdout and out.stdout.strip().endswith(" 0")
