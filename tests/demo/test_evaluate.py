"""The committed demo checkpoint: it loads, meets the quality bar on nights it never saw, and stages a
piece of a night as it stages the same epochs inside the night."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mesa_report.data.ingest import preprocess
from mesa_report.data.store import NightStore
from mesa_report.demo import DEMO_CHECKPOINT, demo_store, generate_night, load_events, write_edf, write_nsrr_xml
from mesa_report.demo.evaluate import evaluate_on_fresh_nights
from mesa_report.demo.recording import cut_night
from mesa_report.explain.faithfulness import collect_samples, deletion_test, pointing_game
from mesa_report.inference.cohort import infer_night
from mesa_report.model.checkpoint import checkpoint_summary, load_model
from mesa_report.scoring.metrics import classification_metrics


@pytest.fixture(scope="module")
def held_out_samples():
    """Three samples from each of the demo cohort's held-out nights (7 and 8), as FAITHFULNESS.md.

    Only those two nights are built: a demo night depends on its id alone, so they are the cohort's
    nights 7 and 8 sample for sample, at a quarter of the cohort's build time.
    """
    demo = demo_store(n_nights=2, first_id=7)
    store = NightStore(demo.preprocessed_dir, demo.csv_path)
    model = load_model(DEMO_CHECKPOINT)
    samples = collect_samples(store, [7, 8], model.config.seq_len, model.config.num_channels, per_night=3, seed=0)
    return model, store, samples


def _rollout_pointing(held_out_samples):
    model, store, samples = held_out_samples
    return pointing_game(model, samples, "rollout", lambda m: load_events(store.root, m),
                         model.config.channel_names)


def test_the_demo_checkpoint_loads_small_with_its_names():
    model = load_model(DEMO_CHECKPOINT)
    assert model.config.class_names == ("W", "N1", "N2", "N3", "N4", "REM")
    assert model.config.channel_names[:3] == ("EEG1", "EEG2", "EEG3")
    assert DEMO_CHECKPOINT.stat().st_size < 5e6
    summary = checkpoint_summary(DEMO_CHECKPOINT)
    assert "reproduce" in summary["training"]


@pytest.mark.slow
def test_the_demo_checkpoint_meets_the_quality_bar_on_fresh_nights():
    metrics = evaluate_on_fresh_nights(DEMO_CHECKPOINT, n_nights=2, hours=2.0, seed=424242)
    assert metrics.accuracy >= 0.85
    assert metrics.kappa >= 0.80
    f1 = dict(zip(metrics.class_names, metrics.per_stage_f1))
    present = [name for name, n in zip(metrics.class_names, metrics.support) if n > 0]
    assert len(present) == 6, f"every stage should occur in two fresh nights: {dict(zip(metrics.class_names, metrics.support))}"
    assert all(f1[name] >= 0.6 for name in present), f1
    assert np.isfinite(metrics.macro_f1)


@pytest.mark.slow
def test_rollout_deletes_what_matters_and_points_at_k_complexes(held_out_samples):
    model, _, samples = held_out_samples
    deletion = deletion_test(model, samples, "rollout", seed=0)
    assert deletion.ratio_at(0.1) >= 2.0  # top 10 % of tokens vs a random 10 %
    pointing = _rollout_pointing(held_out_samples)
    assert pointing.trials["k_complex"] >= 10
    assert pointing.hit_rate("k_complex") >= 3 * pointing.chance["k_complex"]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="generator v4 plants spindles at the real density (about 4 a minute): "
                   "37 % of an N2 epoch's tokens count as a hit, so 3x chance would need a hit rate above 1, "
                   "and the retrained model stages N2 by background and K-complexes (FAITHFULNESS.md, issue 20)")
def test_rollout_points_at_spindles(held_out_samples):
    pointing = _rollout_pointing(held_out_samples)
    assert pointing.hit_rate("spindle") >= 3 * pointing.chance["spindle"]


@pytest.mark.slow
def test_a_half_hour_piece_is_staged_as_inside_its_night(tmp_path):
    """Cut from a fresh night and preprocessed on its own, a 30-minute piece gets the stages the same
    epochs get inside the whole night: the per-night scaling must not decide the stage."""
    model = load_model(DEMO_CHECKPOINT)
    night = generate_night(951, hours=4.0, seed=515)
    firsts = (60, 200, 400)  # pieces of 60 epochs: mostly N3/N4, mixed, mostly N2
    pieces = [dataclasses.replace(cut_night(night, first, 60), mesaid=952 + k)
              for k, first in enumerate(firsts)]
    edf_dir, store_dir = tmp_path / "edf", tmp_path / "store"
    for recording in [night, *pieces]:
        write_edf(recording, edf_dir / f"{recording.record_id}.edf")
        write_nsrr_xml(recording, edf_dir / f"{recording.record_id}-nsrr.xml")
    assert not preprocess(edf_dir, store_dir, progress=False).failed
    store = NightStore(store_dir)
    whole = infer_night(model, store.night(951)).pred
    inside = np.concatenate([whole[first:first + 60] for first in firsts])
    alone = np.concatenate([infer_night(model, store.night(piece.mesaid)).pred for piece in pieces])
    assert len(set(inside.tolist())) >= 3  # the pieces hold several stages
    agreement = classification_metrics(inside, alone, model.config.class_names)
    assert agreement.kappa >= 0.8, agreement.kappa
