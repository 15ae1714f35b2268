"""Reading the chosen channels of an EDF recording by name, in physical units (through edfio)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import edfio
import numpy as np

from mesa_report.core.errors import IngestError


def _find_label(path: Path, labels: Sequence[str], name: str) -> int:
    exact = [k for k, label in enumerate(labels) if label == name]
    loose = exact or [k for k, label in enumerate(labels)
                      if label.strip().lower() == name.lower()]
    if len(loose) == 1:
        return loose[0]
    if not loose:
        raise IngestError(f"{path.name} has no channel {name!r}; it has: {', '.join(labels)}. "
                          "Choose channels with --channels")
    raise IngestError(f"{path.name} has {len(loose)} channels named {name!r}; rename them")


def read_edf_channels(edf_path: str | Path, channels: Sequence[str]
                      ) -> tuple[list[np.ndarray], list[float], str | None, list[str]]:
    """Read the named channels of an EDF file in physical units.

    Returns
    -------
    data : list of numpy.ndarray
        One float32 array ``(n_samples_c,)`` per channel.
    rates_hz : list of float
        Their sampling rates.
    start_clock : str or None
        Start time ``HH:MM:SS`` from the header.
    notes : list of str
        Warnings about the data (e.g. uncalibrated channels).

    Raises
    ------
    IngestError
        For a file that is missing, not an EDF, truncated, discontinuous (EDF+D with gaps), or
        lacks a channel (the message lists the channels it has).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa-sleep-0001.edf"
    >>> edfio.Edf([edfio.EdfSignal(np.zeros(256), 256, label=n) for n in "ABC"]).write(path)
    >>> data, rates, _, _ = read_edf_channels(path, ["A", "B", "C"])
    >>> [len(d) for d in data], rates
    ([256, 256, 256], [256.0, 256.0, 256.0])
    """
    path = Path(edf_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            edf = edfio.read_edf(path, lazy_load_data=True)
        except FileNotFoundError as exc:
            raise IngestError(f"EDF file {path} not found") from exc
        except Exception as exc:  # edfio raises several types for a damaged header
            raise IngestError(f"{path} is not a readable EDF file ({type(exc).__name__}: {exc});"
                              " download or export it again") from exc
    if caught:
        raise IngestError(f"{path} is truncated or damaged ({caught[0].message}); download or "
                          "export it again")
    if str(edf.reserved).startswith("EDF+D") and not edf.is_continuous:
        raise IngestError(f"{path} is an EDF+D file with gaps between its data records, which "
                          "would be read as if joined; export the recording as one continuous "
                          "EDF (EDF+C), or one file per continuous part")
    labels = list(edf.labels)
    picked = [edf.signals[_find_label(path, labels, name)] for name in channels]
    if edf.num_data_records < 1:
        raise IngestError(f"{path} holds no data records; download or export it again")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = [np.asarray(sig.data, dtype=np.float32) for sig in picked]  # one f64 at a time
    notes = [f"{path.name}: {w.message}" for w in caught]
    rates = [float(sig.sampling_frequency) for sig in picked]
    try:
        start_clock = edf.starttime.replace(microsecond=0).isoformat()
    except ValueError:
        start_clock = None
    return data, rates, start_clock, notes
