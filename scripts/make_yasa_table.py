"""Make ``tests/fixtures/yasa_sleep_statistics.json``: YASA's sleep statistics of reference hypnograms.

``tests/scoring/test_sleep_stats.py`` checks :func:`mesa_report.sleep_statistics` and
:func:`mesa_report.scoring.sleep_stats.transition_matrix` against this table. YASA is not a test dependency:
with MNE, numba/llvmlite and LightGBM it adds about 300 MB and 3 s of import for 21 numbers, so
its figures are stored here, with the YASA version that produced them.

Cases: demo night 1 (the project's demo generator) and edge cases written out below, stored with
their hypnogram (``hypnogram``: store codes separated by spaces), and the real hypnograms of
:data:`tests.yasa_cases.REAL_CASES` (read from ``../shared/realdata``; only their length goes into
the table). Our stage codes are given to YASA in its own integer vocabulary:
N3 and N4 both become its N3 (3), REM its 4, anything unscored its ``-2`` (Unscored).

Run from the repository root with a Python that has YASA (a separate environment is fine)::

    python -m venv --system-site-packages /tmp/yasa-venv
    /tmp/yasa-venv/bin/pip install yasa==0.8.1
    /tmp/yasa-venv/bin/python scripts/make_yasa_table.py
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as `python scripts/make_yasa_table.py` from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from mesa_report.demo import DEFAULT_HOURS  # noqa: E402
from mesa_report.demo.generate import generate_night  # noqa: E402
from mesa_report.core.fileio import write_text_atomic  # noqa: E402
from tests.yasa_cases import REAL_CASES, YASA_TABLE, read_real_hypnogram  # noqa: E402

EPOCH_SECONDS = 30.0
YASA_UNSCORED = -2

EDGE_CASES = {
    "no sleep at all": [0] * 20 + [-1] * 3 + [0] * 10,
    "nothing scored": [-1] * 12,
    "sleep from the first epoch": [2, 2, 3, 4, 4, 3, 2, 5, 5, 5, 2, 1, 0, 0],
    "unscored runs inside the night": [0, 0, -1, -1, 1, 2, 2, 9, 9, 9, 2, 3, 4, 6, 6, 0, 0, 5, 5, -1, 5,
                                       0, 0, -1, -1],
    "unscored before sleep onset": [-1, -1, 0, 0, 2, 2, 0, 5],
    "ends asleep": [0, 0, 0, 1, 2, 2, 5, 5],
    "one sleep epoch": [0, 0, 0, 1, 0, 0],
    "N4 and no REM": [0, 1, 2, 4, 4, 4, 2, 0],
}
"""Edge cases in store codes (6 movement and 9 unscored as annotation files give them)."""


def yasa_codes(store_codes: np.ndarray) -> np.ndarray:
    """Store codes (0 W … 4 N4, 5 REM) in YASA's integer vocabulary (0 W … 3 N3, 4 REM, -2 unscored)."""
    lookup = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 5: 4}
    return np.array([lookup.get(int(c), YASA_UNSCORED) for c in store_codes], dtype=np.int64)


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def yasa_figures(yasa, store_codes: np.ndarray) -> dict:
    """YASA's sleep statistics and transition counts (scored stages only) of one hypnogram."""
    codes = yasa_codes(store_codes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the functions are deprecated in 0.8, not changed
        stats = yasa.sleep_statistics(codes, sf_hyp=1 / EPOCH_SECONDS)
        counts, _ = yasa.transition_matrix(codes)
    transitions = [[int(counts.at[a, b]) if a in counts.index and b in counts.columns else 0
                    for b in range(5)] for a in range(5)]
    return {"sleep_statistics": {key: _plain(value) for key, value in stats.items()},
            "transition_counts": transitions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REPO_ROOT.parent / "shared" / "realdata")
    parser.add_argument("--output", type=Path, default=YASA_TABLE)
    args = parser.parse_args(argv)
    import yasa

    demo = generate_night(1, hours=DEFAULT_HOURS)
    inline = {"demo night 1": demo.stages.tolist(), **EDGE_CASES}
    cases = [{"name": name, "hypnogram": " ".join(str(c) for c in codes),
              **yasa_figures(yasa, np.asarray(codes))} for name, codes in inline.items()]
    for name, (kind, relative) in REAL_CASES.items():
        codes = read_real_hypnogram(args.realdata, kind, relative)
        cases.append({"name": name, "source": {"kind": kind, "path": relative},
                      "n_epochs": int(codes.size), **yasa_figures(yasa, codes)})
    table = {"yasa_version": yasa.__version__, "made_by": "scripts/make_yasa_table.py",
             "epoch_seconds": EPOCH_SECONDS, "cases": cases}
    write_text_atomic(args.output, json.dumps(table, indent=1) + "\n")
    print(f"{args.output}: {len(cases)} hypnograms, YASA {yasa.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
