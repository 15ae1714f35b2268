"""Night ids (mesa_report.data.night_ids): the three spellings of a record name."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import DataError
from mesa_report.data.night_ids import night_filename, parse_record_id, record_id


def test_record_names():
    assert record_id(1) == "mesa-sleep-0001"
    assert record_id(12345) == "mesa-sleep-12345"
    assert night_filename(7) == "mesa-sleep-0007_preprocessed.pt"


@pytest.mark.parametrize("text, expected", [
    ("mesa-sleep-0001", 1), ("MESA-SLEEP-0042", 42), ("0001", 1), ("1", 1), (" 17 ", 17),
    (5, 5), (np.int64(6), 6), ("0", 0), ("12.0", 12)])
def test_parse_record_id_accepts_the_three_spellings(text, expected):
    assert parse_record_id(text) == expected


@pytest.mark.parametrize("text", [
    "../0001", "mesa-sleep-0001/../../etc", "a\\b", "<script>1</script>", "1;rm", "",
    "mesa-sleep-", "mesa-sleep-00x1", "1 2", "-3", -3, "１２", "x" * 500])
def test_parse_record_id_refuses_anything_else(text):
    with pytest.raises(DataError, match="not a night id|negative"):
        parse_record_id(text)


def test_parse_record_id_message_is_bounded():
    with pytest.raises(DataError) as info:
        parse_record_id("y" * 10_000)
    assert len(str(info.value)) < 200
