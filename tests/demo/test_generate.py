"""The demo generator (mesa_report.demo.generate): hypnogram architecture, per-stage spectra, planted events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, sosfiltfilt, welch

from mesa_report.core.errors import ConfigError
from mesa_report.demo import CHANNELS, EVENT_COLUMNS, generate_hypnogram, generate_night, night_from_stages
from mesa_report.demo.generate import EVENT_STAGES, stage_runs

from .demo_common import EPOCH, N1, N2, N3, N4, REM, W

SFREQ = 256.0


def band_power(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Mean power (µV²) of 1-D ``x`` in [low_hz, high_hz) from a Welch spectrum."""
    freqs, power = welch(x, SFREQ, nperseg=int(4 * SFREQ))
    band = (freqs >= low_hz) & (freqs < high_hz)
    return float(power[band].sum() * (freqs[1] - freqs[0]))


def epochs_of(night, channel: str, stage: int) -> list[np.ndarray]:
    x = night.signals[channel].reshape(night.n_epochs, -1)  # (E, 7680)
    return [x[e] for e in np.flatnonzero(night.stages == stage)]


def stage_band(night, channel: str, stage: int, band: tuple[float, float]) -> float:
    return float(np.median([band_power(e, *band) for e in epochs_of(night, channel, stage)]))


@pytest.fixture(scope="module")
def stage_night():
    """Eight epochs of each stage, then a movement epoch, with a seed of its own."""
    stages = np.repeat([W, N1, N2, N3, N4, REM], 8).tolist() + [-1]
    return night_from_stages(7, stages, seed=11)


def test_same_arguments_give_the_same_night_and_a_new_seed_another():
    first, again = generate_night(5, hours=0.25), generate_night(5, hours=0.25)
    assert all(np.array_equal(first.signals[ch], again.signals[ch]) for ch in CHANNELS)
    np.testing.assert_array_equal(first.stages, again.stages)
    pd.testing.assert_frame_equal(first.events, again.events)
    assert first.start_time == again.start_time
    other = generate_night(5, hours=0.25, seed=1)
    assert not np.array_equal(first.signals["EEG1"], other.signals["EEG1"])


def test_shapes_rates_and_event_columns(short_night):
    night = short_night
    assert night.n_epochs == 60 and night.record_id == "mesa-sleep-0003"
    assert list(night.signals) == list(CHANNELS)
    for channel, data in night.signals.items():
        rate = night.sfreq_hz[channel]
        assert rate == (32.0 if channel == "Thor" else 256.0)
        assert data.shape == (int(night.duration_s * rate),) and np.isfinite(data).all()
    assert night.stages.dtype == np.int64
    assert tuple(night.events.columns) == EVENT_COLUMNS
    first = night.events.iloc[0]
    assert first.start_time == pd.Timestamp(night.start_time) + pd.Timedelta(seconds=first.start_s)


@pytest.mark.parametrize("kwargs", [dict(hours=0.0), dict(hours=float("nan")),
                                    dict(hours=float("inf")), dict(hours="four"), dict(seed=-1),
                                    dict(seed=1.5)])
def test_bad_generator_arguments_are_refused(kwargs):
    with pytest.raises(ConfigError):
        generate_night(1, **kwargs)


def test_hypnogram_has_the_architecture_of_a_night():
    for seed in range(12):
        stages = generate_hypnogram(960, np.random.default_rng(seed))  # 8 h
        assert stages[0] == W
        deep = np.isin(stages, [N3, N4])
        assert deep[:320].sum() > 3 * deep[640:].sum()  # slow-wave sleep in the first third
        rem_runs = [length for code, _, length in stage_runs(stages) if code == REM]
        long_rem = [length for length in rem_runs if length >= 6]
        assert 4 <= len(long_rem) <= 6  # one REM period per cycle: four to six cycles
        assert long_rem[0] < max(long_rem[1:])  # REM lengthens towards morning
        onsets = [first for code, first, length in stage_runs(stages) if code == REM and length >= 6]
        cycle_minutes = np.diff(onsets).mean() / 2
        assert 70 <= cycle_minutes <= 110
        wake_runs = [length for code, first, length in stage_runs(stages) if code == W and first > 0]
        assert len(wake_runs) >= 3 and max(wake_runs) <= 6  # brief awakenings
        movement = np.mean(stages == -1)
        assert 0 <= movement < 0.02


def test_every_stage_is_common_enough_to_learn():
    fractions = np.array([np.bincount(generate_hypnogram(480, np.random.default_rng(s)) + 1,
                                      minlength=7)[1:] / 480 for s in range(20)])  # (20, 6)
    assert fractions.min() >= 0.03, fractions.min(axis=0)
    assert np.all(fractions[:, N2].mean() > fractions[:, [W, N1, N3, N4, REM]].mean(axis=0))


def test_every_transition_into_sleep_passes_through_n1():
    for seed in range(10):
        stages = generate_hypnogram(960, np.random.default_rng(seed))
        runs = [code for code, _, _ in stage_runs(stages)]
        for before, after in zip(runs, runs[1:]):
            if before in (W, -1) and after not in (W, -1):
                assert after == N1


def test_alpha_marks_wake_and_is_strongest_on_cz_oz(stage_night):
    alpha = {ch: stage_band(stage_night, ch, W, (8, 12)) for ch in ("EEG1", "EEG2", "EEG3")}
    assert alpha["EEG2"] > 2 * alpha["EEG3"] and alpha["EEG2"] > 4 * alpha["EEG1"]
    for stage in (N2, REM):
        assert alpha["EEG2"] > 3 * stage_band(stage_night, "EEG2", stage, (8, 12))
    # muscle on the frontal derivation in wake, gone in REM atonia
    assert stage_band(stage_night, "EEG1", W, (20, 35)) > 3 * stage_band(stage_night, "EEG1", REM, (20, 35))
    emg_sd = stage_night.signals["EMG"][:-7680].reshape(48, -1).std(axis=1)  # (48,)
    assert np.median(emg_sd[:8]) > 4 * np.median(emg_sd[40:48])


def test_eye_movements_fill_the_waking_eeg_below_4_hz_frontally(stage_night):
    """Real wake holds most of its power below 4 Hz, from the eyes: largest on Fz-Cz, least on Cz-Oz."""
    delta = {ch: stage_band(stage_night, ch, W, (0.5, 4)) for ch in ("EEG1", "EEG2", "EEG3")}
    assert delta["EEG1"] > delta["EEG3"] > delta["EEG2"]
    eyes = stage_night.events[stage_night.events["kind"].isin(["blink", "saccade"])]
    assert set(eyes["channel"]) >= {"EOG-L", "EOG-R", "EEG1", "EEG3"}


def test_delta_grows_from_n2_to_n3_to_n4_and_is_frontal(stage_night):
    for channel in ("EEG1", "EEG2", "EEG3"):
        n2, n3, n4 = (stage_band(stage_night, channel, s, (0.5, 2)) for s in (N2, N3, N4))
        assert n4 > 1.3 * n3 and n3 > 1.5 * n2
    assert stage_band(stage_night, "EEG1", N4, (0.5, 2)) > 1.5 * stage_band(stage_night, "EEG2", N4, (0.5, 2))


@pytest.mark.parametrize("night_name", ["stage_night", "short_night"])
def test_events_lie_inside_epochs_of_their_stage(night_name, request):
    night = request.getfixturevalue(night_name)
    events = night.events
    assert len(events) > 0 and set(events["channel"]) <= set(CHANNELS)
    epoch = np.floor(events["start_s"] / EPOCH).astype(int)
    assert (events["epoch"] == epoch).all()
    assert (events["end_s"] > events["start_s"]).all()
    assert (events["end_s"] <= (epoch + 1) * EPOCH).all()
    for kind, stage in zip(events["kind"], night.stages[epoch]):
        assert stage in EVENT_STAGES[kind], (kind, stage)


def test_stage_defining_events_have_their_textbook_sizes(stage_night):
    ev = stage_night.events
    frontal = ev[ev["channel"] == "EEG1"]
    spindles = ev[(ev["kind"] == "spindle") & (ev["channel"] == "EEG3")]
    durations = spindles["end_s"] - spindles["start_s"]
    assert durations.between(0.5, 2.0 + 1 / SFREQ).all()
    assert spindles["frequency_hz"].between(11, 16).all()
    waves = frontal[frontal["kind"] == "slow_wave"]
    assert (waves["amplitude_uv"] > 75).all() and waves["frequency_hz"].between(0.5, 2).all()
    covered = (waves["end_s"] - waves["start_s"]).groupby(waves["epoch"]).sum() / EPOCH
    stages = stage_night.stages[covered.index]
    assert covered[stages == N3].between(0.2, 0.5).all()
    assert (covered[stages == N4] > 0.5).all()
    n2_epochs = np.flatnonzero(stage_night.stages == N2)
    k_complex_epochs = set(frontal.loc[frontal["kind"] == "k_complex", "epoch"])
    assert set(n2_epochs) <= set(spindles["epoch"]) | k_complex_epochs  # a spindle or a K-complex
    per_epoch = spindles.groupby("epoch").size().reindex(n2_epochs, fill_value=0)
    assert 1.2 <= per_epoch.mean() <= 2.8  # about 4 a minute, as in real N2
    n1_epochs = np.flatnonzero(stage_night.stages == N1)
    assert set(n1_epochs) <= set(ev.loc[ev["kind"] == "vertex_wave", "epoch"])
    rem_epochs = np.flatnonzero(stage_night.stages == REM)
    assert set(rem_epochs) <= set(ev.loc[ev["kind"] == "sawtooth", "epoch"])
    kc = frontal[frontal["kind"] == "k_complex"]
    assert (kc["amplitude_uv"] > 75).all()


def test_events_are_where_the_signal_shows_them(stage_night):
    """Sigma energy sits inside spindle intervals; vertex waves are sharp negative peaks at Cz."""
    night = stage_night
    sos = butter(4, (11, 16), btype="bandpass", fs=SFREQ, output="sos")
    sigma = sosfiltfilt(sos, night.signals["EEG3"].astype(float))
    inside = np.zeros(len(sigma), dtype=bool)
    spindles = night.events[(night.events["kind"] == "spindle") & (night.events["channel"] == "EEG3")]
    for start_s, end_s in zip(spindles["start_s"], spindles["end_s"]):
        inside[int(start_s * SFREQ):int(end_s * SFREQ)] = True
    n2 = np.repeat(night.stages == N2, int(EPOCH * SFREQ))
    assert np.sqrt(np.mean(sigma[inside & n2] ** 2)) > 2 * np.sqrt(np.mean(sigma[~inside & n2] ** 2))
    vertex = night.events[(night.events["kind"] == "vertex_wave") & (night.events["channel"] == "EEG2")]
    for start_s, end_s, size in zip(vertex["start_s"], vertex["end_s"], vertex["amplitude_uv"]):
        piece = night.signals["EEG2"][int(start_s * SFREQ):int(end_s * SFREQ)]
        assert piece.min() < -0.5 * size  # negative at Cz
    fz_cz = night.events[(night.events["kind"] == "vertex_wave") & (night.events["channel"] == "EEG1")]
    assert len(fz_cz) == len(vertex)  # Cz is the reference of Fz-Cz: seen there too, upright


def test_movement_epochs_hold_movement_artefacts(stage_night):
    movement = stage_night.events[stage_night.events["kind"] == "movement"]
    last = movement[movement["epoch"] == stage_night.n_epochs - 1]
    assert set(last["channel"]) == set(CHANNELS)
    assert set(stage_night.stages[movement["epoch"]]) <= {W, -1}


def test_amplitudes_are_of_the_order_of_real_sleep_eeg(realdata):
    """Spindles (relative to their epoch), slow waves and SD within about two of real N2/N3."""
    real_n2 = np.loadtxt(realdata / "yasa" / "data_N2_spindles_15sec_200Hz.txt")
    real_n3 = np.loadtxt(realdata / "yasa" / "data_N3_no-spindles_30sec_100Hz.txt")

    def sigma_peak(x, fs):
        return np.abs(sosfiltfilt(butter(4, (11, 16), "bandpass", fs=fs, output="sos"), x)).max()

    def delta_ptp(x, fs):
        return np.ptp(sosfiltfilt(butter(4, (0.5, 2), "bandpass", fs=fs, output="sos"), x))

    night = night_from_stages(4, [N2] * 6 + [N3] * 6, seed=5)
    eeg = night.signals["EEG3"].astype(float).reshape(12, -1)  # (12, 7680)
    demo_sigma = np.median([sigma_peak(e, SFREQ) / np.std(e) for e in eeg[:6]])
    demo_delta = np.median([delta_ptp(e, SFREQ) for e in eeg[6:]])
    # the real snippet was chosen for its spindles and is larger than median N2 (SD 25 vs 17 µV):
    # spindles are compared relative to the signal around them
    assert 0.5 < demo_sigma / (sigma_peak(real_n2, 200.0) / np.std(real_n2)) < 2.0
    assert 0.5 < demo_delta / delta_ptp(real_n3, 100.0) < 2.5
    assert 0.5 < np.std(eeg[:6]) / np.std(real_n2) < 2.0


def test_opening_the_demo_package_imports_no_scipy():
    """A built demo cohort is opened by every command and the app: the generator's FFTs load only to generate."""
    import subprocess
    import sys

    probe = "import sys, mesa_report.demo; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
