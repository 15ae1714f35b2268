"""The store's index CSV (``mesa_final.csv``): where it is, reading it and writing it whole.

The index lists a store's nights with at least ``mesaid`` and ``sleep_stages``; mesa-report adds
``n_epochs`` and the source files. Merging rows into an existing index without rewriting the
rest is :mod:`mesa_report.data.index_merge`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mesa_report.core.errors import DataError
from mesa_report.core.fileio import write_text_atomic
from mesa_report.data.night_ids import parse_record_id

INDEX_NAME = "mesa_final.csv"
"""File name of the index CSV inside a store folder."""

ID_COLUMNS = ("mesaid", "nsrrid", "record_id", "subject_id", "subject", "id")
"""Index columns accepted as the night id, in order of preference (case-insensitive)."""

FIRST_INDEX_COLUMNS = ("mesaid", "sleep_stages", "n_epochs")


def index_path(target: str | Path, csv_name: str = INDEX_NAME) -> Path:
    """The index CSV meant by ``target``: a ``.csv`` file itself, or ``csv_name`` inside a folder.

    Examples
    --------
    >>> index_path("store").as_posix(), index_path("cohort.csv").as_posix()
    ('store/mesa_final.csv', 'cohort.csv')
    """
    target = Path(target)
    return target if target.suffix.lower() == ".csv" else target / csv_name


def read_index(csv_path: str | Path) -> pd.DataFrame:
    """Read an index CSV; ``mesaid`` becomes an integer column, ``sleep_stages`` a string column.

    Every column is read as text first, so stage strings keep their leading zeros. The id comes
    from ``mesaid`` or, failing that, another id column (see :data:`ID_COLUMNS`); a missing
    ``sleep_stages`` column means every night is unscored.

    Raises
    ------
    DataError
        If the file is missing, empty, has no usable id column, or holds an id that is not one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa_final.csv"
    >>> _ = path.write_text("mesaid,sleep_stages\\n1,0012\\n")
    >>> read_index(path).loc[0, "sleep_stages"]
    '0012'
    """
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"index CSV {path} not found; pass the CSV written with the store "
                        f"(--csv_path) or put {INDEX_NAME} in the store folder")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"index CSV {path} is empty; it needs a header with mesaid and "
                        "sleep_stages") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"index CSV {path} cannot be read as CSV ({exc})") from exc
    by_lower = {str(col).strip().lower(): col for col in frame.columns}
    id_column = next((by_lower[name] for name in ID_COLUMNS if name in by_lower), None)
    if id_column is None:
        raise DataError(f"index CSV {path} has no id column (columns: {list(frame.columns)}); "
                        f"add a 'mesaid' column")
    ids = []
    for row_number, value in enumerate(frame[id_column], start=2):
        try:
            ids.append(parse_record_id(value))
        except DataError as exc:
            raise DataError(f"index CSV {path}, line {row_number}, column {id_column!r}: "
                            f"{exc}") from exc
    frame = frame.drop(columns=[id_column])
    frame.insert(0, "mesaid", np.asarray(ids, dtype=np.int64))
    stages_column = by_lower.get("sleep_stages")
    if stages_column is None:
        frame["sleep_stages"] = ""
    elif stages_column != "sleep_stages":
        frame = frame.rename(columns={stages_column: "sleep_stages"})
    return frame


def _ordered_columns(columns: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(columns))
    first = [name for name in FIRST_INDEX_COLUMNS if name in seen]
    return first + [name for name in seen if name not in first]


def _records(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> list[dict[str, Any]]:
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    for number, record in enumerate(records):
        if "mesaid" not in record:
            raise DataError(f"index row {number} has no 'mesaid': {sorted(record)}")
        record["mesaid"] = parse_record_id(record["mesaid"])
    return records


def _index_text(records: list[dict[str, Any]]) -> str:
    columns = _ordered_columns([key for record in records for key in record])
    # Object columns: a value missing from some rows is written empty, integers stay integers.
    frame = pd.DataFrame({column: [record.get(column, "") for record in records]
                          for column in columns}, columns=columns, dtype=object)
    return frame.to_csv(index=False, lineterminator="\n")


def write_index(target: str | Path, rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
                csv_name: str = INDEX_NAME) -> Path:
    """Write an index CSV atomically (replacing any previous one) and return its path.

    Parameters
    ----------
    target : path-like
        A store folder (the CSV is ``csv_name`` inside it) or a ``.csv`` path.
    rows : iterable of mappings or DataFrame
        One row per night, each with ``mesaid``; ``sleep_stages`` and ``n_epochs`` come next,
        then any other column in first-seen order.

    Examples
    --------
    >>> import tempfile
    >>> path = write_index(tempfile.mkdtemp(), [{"mesaid": 1, "sleep_stages": "0012"}])
    >>> path.read_text().splitlines()
    ['mesaid,sleep_stages', '1,0012']
    """
    path = index_path(target, csv_name)
    write_text_atomic(path, _index_text(_records(rows)))
    return path


def index_row(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The index row of a night from its sidecar fields.

    Examples
    --------
    >>> index_row({"mesaid": 3, "sleep_stages": "02", "n_epochs": 2, "edf_file": "a.edf"})
    {'mesaid': 3, 'sleep_stages': '02', 'n_epochs': 2, 'edf_file': 'a.edf'}
    """
    row = {"mesaid": parse_record_id(meta["mesaid"]), "sleep_stages": str(meta["sleep_stages"]),
           "n_epochs": int(meta["n_epochs"])}
    for key in ("edf_file", "annotation_file", "start_clock"):
        if key in meta:
            row[key] = meta[key]
    return row
