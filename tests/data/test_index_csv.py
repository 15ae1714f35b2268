"""Index CSVs (mesa_report.data.index_csv): ids keep their spelling, extra columns survive, errors name the line."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import DataError
from mesa_report.data.index_csv import index_path, read_index, write_index


def test_read_index_keeps_leading_zeros_and_extra_columns(tmp_path):
    csv = tmp_path / "mesa_final.csv"
    csv.write_text("mesaid,sleep_stages,split\n1,0000122,train\n0002,9990,test\n")
    frame = read_index(csv)
    assert frame["mesaid"].tolist() == [1, 2]
    assert frame["mesaid"].dtype == np.int64
    assert frame["sleep_stages"].tolist() == ["0000122", "9990"]
    assert frame["split"].tolist() == ["train", "test"]


def test_read_index_uses_another_id_column_and_allows_no_stages(tmp_path):
    csv = tmp_path / "cohort.csv"
    csv.write_text("NSRRID,age\nmesa-sleep-0003,61\n4,70\n")
    frame = read_index(csv)
    assert frame["mesaid"].tolist() == [3, 4]
    assert frame["sleep_stages"].tolist() == ["", ""]


def test_read_index_without_id_column_names_file_and_columns(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("subjectname,sleep_stages\nann,000\n")
    with pytest.raises(DataError, match=r"bad\.csv.*subjectname.*mesaid"):
        read_index(csv)


def test_read_index_refuses_an_id_with_a_path_and_names_the_line(tmp_path):
    csv = tmp_path / "mesa_final.csv"
    csv.write_text("mesaid,sleep_stages\n1,00\n../../etc/passwd,00\n")
    with pytest.raises(DataError, match=r"mesa_final\.csv, line 3"):
        read_index(csv)


def test_read_index_empty_or_missing(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_index(empty)
    with pytest.raises(DataError, match="not found"):
        read_index(tmp_path / "none.csv")


def test_index_path_of_folder_or_file(tmp_path):
    assert index_path(tmp_path) == tmp_path / "mesa_final.csv"
    assert index_path(tmp_path / "x.CSV") == tmp_path / "x.CSV"
    assert index_path(tmp_path, "other.csv") == tmp_path / "other.csv"


def test_write_index_orders_columns_and_reads_back(tmp_path):
    path = write_index(tmp_path, [{"split": "a", "n_epochs": 3, "sleep_stages": "012",
                                   "mesaid": "mesa-sleep-0002"}])
    assert path.read_text().splitlines()[0] == "mesaid,sleep_stages,n_epochs,split"
    assert read_index(path).loc[0, "mesaid"] == 2
    assert not list(tmp_path.glob("*.part"))
