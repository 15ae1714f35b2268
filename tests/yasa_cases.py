"""Real hypnograms checked against YASA, read the same way by ``scripts/make_yasa_table.py`` and
``tests/scoring/test_sleep_stats.py``.

They live in ``../shared/realdata`` (never copied into the repository): the YASA table keeps only
their length and YASA's figures, and the test reads the files again (and skips when they are absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mesa_report.core.vocabulary import CLASS_NAMES_6, UNSCORED
from mesa_report.data.annotations import read_stages

YASA_TABLE = Path(__file__).resolve().parent / "fixtures" / "yasa_sleep_statistics.json"
"""The stored table: every case, its source and YASA's figures."""

REAL_CASES = {
    "Profusion night 100022": ("profusion", "nsrr_xml/100022_profusion.xml"),
    "YASA example night (6 h)": ("yasa_codes", "yasa/data_full_6hrs_100Hz_hypno_30s.txt"),
    "YASA example sub-02": ("yasa_names", "yasa/sub-02_hypno_30s.txt"),
}
"""Case name -> (how to read it, path under the real-data folder)."""

_YASA_CODE_NAMES = ("W", "N1", "N2", "N3", "REM")  # YASA's integer hypnogram: 0 W … 4 REM
_NAME_ALIASES = {"R": "REM", "WAKE": "W"}


def _store_code(name: str) -> int:
    name = _NAME_ALIASES.get(name.upper(), name.upper())
    return CLASS_NAMES_6.index(name) if name in CLASS_NAMES_6 else UNSCORED


def read_real_hypnogram(realdata: Path, kind: str, relative_path: str) -> np.ndarray:
    """A real hypnogram as store codes (0 W … 5 REM, ``-1`` unscored)."""
    path = realdata / relative_path
    if kind == "profusion":
        return read_stages(path).labels
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    values = [line for line in lines if line and not line.startswith("#")]
    if kind == "yasa_codes":
        names = [_YASA_CODE_NAMES[int(v)] if 0 <= int(v) < len(_YASA_CODE_NAMES) else "?" for v in values]
    elif kind == "yasa_names":
        names = values
    else:
        raise ValueError(f"unknown kind of real hypnogram {kind!r}")
    return np.array([_store_code(name) for name in names], dtype=np.int64)
