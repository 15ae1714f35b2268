"""Night files checked before allocation (mesa_report.data.night_guard): huge, odd, bf16 and sparse tensors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from mesa_report.core.errors import DataError
from mesa_report.core.vocabulary import EPOCH_SAMPLES as E
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import load_signal, write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.data.store import NightStore

from ..hostile_common import refusal_under_limit, store_with


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
    path = store_with(tmp_path, content)
    said = refusal_under_limit("from mesa_report.data.store import NightStore",
                               "NightStore(sys.argv[1]).night(1).labels", "DataError", tmp_path, 512 << 20)
    assert str(path) in said and re.search(message, said), said
    assert len(said.strip().splitlines()) == 1


def test_bfloat16_and_small_sparse_nights_are_converted_exactly(tmp_path):
    signal = torch.linspace(-3, 3, 4 * 2 * E).reshape(4, 2 * E)
    for content in (signal.to(torch.bfloat16), signal.to_sparse()):
        store_with(tmp_path, content)
        loaded = load_signal(tmp_path / night_filename(1))
        assert loaded.dtype == torch.float32 and loaded.layout == torch.strided
        torch.testing.assert_close(loaded, content.to_dense().float(), rtol=0, atol=0)
        assert NightStore(tmp_path).night(1).epochs(0, 2).shape == (2, 3, E)


def test_a_sidecar_rate_that_is_not_a_number_gets_a_clear_message(tmp_path):
    store_with(tmp_path, torch.zeros(4, 2 * E), sidecar={"sfreq_hz": "fast"})
    with pytest.raises(DataError, match=r"sidecar .*mesa-sleep-0001_preprocessed\.json has "
                                        r"sfreq_hz 'fast', not a sampling rate"):
        NightStore(tmp_path).night(1)


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
