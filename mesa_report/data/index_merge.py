"""Merging rows into an existing index CSV without rewriting what the caller did not make.

:func:`merge_index` is what ``preprocess`` (and :func:`update_index`) use to put
their nights into a store's index: every row of another night stays byte-for-byte as the user
wrote it (its id spelling — ``0007`` stays ``0007`` —, its columns, its order, its duplicates);
only the rows naming one of the given nights are updated, and only in the columns given, and
each change is reported. The file is checked before anything is merged (and by
:func:`check_index`, before a command writes anything else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mesa_report.core.fileio import write_text_atomic
from mesa_report.data.index_csv import ID_COLUMNS, INDEX_NAME, _records, index_path, read_index, write_index
from mesa_report.data.night_ids import parse_record_id, record_id


def check_index(csv_path: str | Path) -> None:
    """Read and validate an existing index CSV; nothing to check when there is none.

    Raises
    ------
    DataError
        If the file exists but cannot be used (see :func:`mesa_report.data.index_csv.read_index`).

    Examples
    --------
    >>> check_index("no-such-folder/mesa_final.csv")
    """
    if Path(csv_path).is_file():
        read_index(csv_path)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _raw_table(path: Path) -> tuple[pd.DataFrame, str, list[int]]:
    """The CSV as the user wrote it (all text), its id column and each row's parsed id."""
    read_index(path)  # raises a DataError naming the file and line for anything unusable
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    by_lower = {str(column).strip().lower(): column for column in frame.columns}
    id_column = next(by_lower[name] for name in ID_COLUMNS if name in by_lower)
    return frame, id_column, [parse_record_id(value) for value in frame[id_column]]


def merge_index(csv_path: str | Path, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Add or update the rows of some nights in an index CSV, atomically; return the changes made.

    Rows of other nights, unknown columns and id spellings are kept as they are. A night already
    listed (under any spelling, possibly more than once) has those rows updated in the columns
    the new row carries; a new night is appended. Without an existing file, one is written.

    Parameters
    ----------
    csv_path : path-like
        The index CSV.
    rows : iterable of mappings
        One per night, each with ``mesaid``.

    Returns
    -------
    list of str
        One note per existing row whose values changed (names the file, the row and the columns).

    Raises
    ------
    DataError
        If the existing file cannot be used; it is then left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa_final.csv"
    >>> _ = path.write_text("mesaid,sleep_stages,note\\n0007,00,mine\\n8,11,\\n")
    >>> notes = merge_index(path, [{"mesaid": 8, "sleep_stages": "12"}, {"mesaid": 9}])
    >>> path.read_text().splitlines()
    ['mesaid,sleep_stages,note', '0007,00,mine', '8,12,', '9,,']
    >>> len(notes)
    1
    """
    path = Path(csv_path)
    new_rows = _records(rows)
    if not path.is_file():
        write_index(path, new_rows)
        return []
    frame, id_column, ids = _raw_table(path)
    notes: list[str] = []
    appended: list[dict[str, str]] = []
    dirty = False
    for row in new_rows:
        values = {_column(frame, key, id_column): _text(value) for key, value in row.items()
                  if key != "mesaid"}
        for column in values:
            if column not in frame.columns:
                frame[column] = ""
                dirty = True
        matches = [k for k, mesaid in enumerate(ids) if mesaid == row["mesaid"]]
        for k in matches:
            changed = [column for column, value in values.items() if frame.at[k, column] != value]
            dirty = dirty or bool(changed)
            if changed:
                notes.append(f"{path}: row {k + 2} ({id_column} {frame.at[k, id_column]!r}, "
                             f"{record_id(row['mesaid'])}) updated: {', '.join(changed)}")
            for column, value in values.items():
                frame.at[k, column] = value
        if not matches:
            appended.append({id_column: str(row["mesaid"]), **values})
    if appended:
        frame = pd.concat([frame, pd.DataFrame(appended, dtype=str)], ignore_index=True)
    if dirty or appended:  # an index that already says it all is not rewritten
        write_text_atomic(path, frame.fillna("").to_csv(index=False, lineterminator="\n"))
    return notes


def _column(frame: pd.DataFrame, key: str, id_column: str) -> str:
    """The existing column a row's key means (case-insensitive), else the key itself."""
    if str(key).lower() == "mesaid":
        return id_column
    by_lower = {str(column).strip().lower(): column for column in frame.columns}
    return by_lower.get(str(key).strip().lower(), str(key))


def update_index(target: str | Path, rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
                 csv_name: str = INDEX_NAME) -> Path:
    """Merge rows into an index CSV atomically: rows of the same night updated, new ones appended.

    Columns the new rows do not carry keep their old values (e.g. a ``split`` column added by
    hand); rows of other nights are kept exactly as written (id spelling included); rows keep the
    existing order, new nights follow in the order given (see :func:`merge_index`).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_index(folder, [{"mesaid": 1, "sleep_stages": "00", "split": "train"}])
    >>> path = update_index(folder, [{"mesaid": 1, "sleep_stages": "01"}, {"mesaid": 2}])
    >>> path.read_text().splitlines()
    ['mesaid,sleep_stages,split', '1,01,train', '2,,']
    """
    path = index_path(target, csv_name)
    merge_index(path, rows)
    return path
