"""What the tests of ingest share: fixtures and helpers."""

from __future__ import annotations

import datetime as dt

import edfio
import numpy as np
from scipy import signal as sps

MESA_CHANNELS = (("EEG1", 256), ("EEG2", 256), ("EEG3", 256), ("Thor", 32))


def write_edf(path, seconds, channels=MESA_CHANNELS, waves=None, seed=0):
    """An EDF of ``seconds`` with random EEG-like noise (µV), or given waveforms per channel."""
    rng = np.random.default_rng(seed)
    signals = []
    for name, rate in channels:
        t = np.arange(int(seconds * rate)) / rate
        data = waves[name](t) if waves and name in waves else rng.normal(0, 20, len(t))
        signals.append(edfio.EdfSignal(data, rate, label=name, physical_dimension="uV",
                                       physical_range=(-1000, 1000)))
    edfio.Edf(signals, starttime=dt.time(22, 30)).write(path)
    return path


def write_nsrr(path, runs, clock="00.00.00 23.15.30"):
    """NSRR XML from (code, n_epochs) runs."""
    names = {0: "Wake|0", 1: "Stage 1 sleep|1", 2: "Stage 2 sleep|2", 3: "Stage 3 sleep|3",
             4: "Stage 4 sleep|4", 5: "REM sleep|5", 6: "Movement|6", 9: "Unscored|9"}
    events, start = [], 0
    for code, count in runs:
        events.append(f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>"
                      f"{names[code]}</EventConcept><Start>{start}.0</Start><Duration>"
                      f"{count * 30}.0</Duration></ScoredEvent>")
        start += count * 30
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?><PSGAnnotation><EpochLength>30</EpochLength>"
        "<ScoredEvents><ScoredEvent><EventType/><EventConcept>Recording Start Time"
        f"</EventConcept><Start>0</Start><Duration>{start}</Duration><ClockTime>{clock}"
        f"</ClockTime></ScoredEvent>{''.join(events)}</ScoredEvents></PSGAnnotation>")
    return path


def peak_hz(x, sfreq_hz=128.0):
    freqs, power = sps.welch(x, fs=sfreq_hz, nperseg=1024)
    return freqs[np.argmax(power)], freqs, power
