"""Tables of wrong and least confident epochs, on a real (tiny) model's inference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mesa_report.app.resolve import resolve_view
from mesa_report.app.state import ViewRequest
from mesa_report.core.errors import ConfigError
from mesa_report.data.night_files import write_night
from mesa_report.data.stage_strings import stage_string
from mesa_report.data.store import Night
from mesa_report.explain.selection import choose_samples
from mesa_report.explain.wrong_epochs import least_confident_epochs, probability_column, report_anchor, wrong_epochs
from mesa_report.inference.cohort import infer_night

N_EPOCHS = 47  # samples start at 0, 20 and 27: epochs 27-39 are in two samples


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from mesa_report.model.config import ModelConfig
    from mesa_report.model.network import MesaTransformer
    from tests.helpers import TINY, randomise_batchnorm

    torch.manual_seed(0)
    model = randomise_batchnorm(MesaTransformer(ModelConfig(**TINY))).eval()
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 6, N_EPOCHS)
    labels[[4, 30]] = -1
    folder = tmp_path_factory.mktemp("night")
    path = write_night(folder, 1, rng.standard_normal((4, N_EPOCHS * 3840)).astype(np.float32), labels)
    inferred = infer_night(model, Night(path, 1, stage_string(labels)))
    # relabel so that the model is right except on known epochs (one of them in two samples)
    scored = inferred.pred.copy()
    scored[[4, 30]] = -1
    scored[[2, 28, 45]] = (scored[[2, 28, 45]] + 1) % 6
    inferred.labels = scored
    return inferred


def test_every_wrong_epoch_and_nothing_else_with_its_probabilities(result):
    table = wrong_epochs(result)
    assert table["epoch"].tolist() == [2, 28, 45]  # unscored epochs are never wrong
    assert table["wrong"].all()
    names = result.class_names
    probs = table[[probability_column(n) for n in names]].to_numpy()
    assert np.allclose(probs, result.probs[[2, 28, 45]]) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert table["predicted"].tolist() == [names[c] for c in result.pred[[2, 28, 45]]]
    assert table["scored"].tolist() == [names[c] for c in result.labels[[2, 28, 45]]]
    assert (table["scored"] != table["predicted"]).all()
    assert table["confidence"].tolist() == pytest.approx(result.confidence[[2, 28, 45]].tolist())


def test_a_row_leads_the_app_to_the_sample_whose_prediction_it_shows(result):
    for row in wrong_epochs(result).itertuples():
        assert row.sample == result.sample_of_epoch(row.epoch)
        view = result.sample(row.sample)
        assert view.first_epoch + row.position == row.epoch
        assert result.class_names[view.pred[row.position]] == row.predicted
        resolved, problems = resolve_view(
            ViewRequest(sample=row.sample, epoch=row.epoch), subject=1, n_samples=result.n_samples,
            sample_starts=result.sample_starts, seq_len=result.seq_len, channel_names=["EEG1"],
            fallback_epoch=lambda s: -1)
        assert (resolved.sample, resolved.epoch, problems) == (row.sample, row.epoch, [])


def test_report_anchors_point_at_a_detailed_sample_that_holds_the_epoch(result):
    detailed = [index for index, _ in choose_samples(result, 2)]
    table = wrong_epochs(result, detailed_samples=detailed)
    for row in table.itertuples():
        holding = [s + 1 for s in detailed  # anchors name the sample's number in the night, from 1
                   if result.sample_starts[s] <= row.epoch < result.sample_starts[s] + result.seq_len]
        if holding:
            assert row.report_anchor in {report_anchor(n) for n in holding}
        else:
            assert row.report_anchor is None
    both = wrong_epochs(result, detailed_samples=[2, 1])  # epoch 28 is in samples 1 and 2
    assert both.set_index("epoch").loc[28, "report_anchor"] == report_anchor(2)  # its own sample (index 1) first
    assert wrong_epochs(result)["report_anchor"].isna().all()


def test_clock_time_where_the_start_is_known(result):
    table = wrong_epochs(result, start=dt.datetime(1900, 1, 1, 23, 59, 30))
    assert table["time"].tolist() == ["00:00:30", "00:13:30", "00:22:00"]
    assert wrong_epochs(result)["time"].tolist() == ["0:01:00", "0:14:00", "0:22:30"]
    assert table["start_s"].tolist() == [60.0, 840.0, 1350.0]


def test_least_confident_epochs_come_first(result):
    table = least_confident_epochs(result, 5)
    confidence = result.probs.max(axis=1)
    assert table["confidence"].tolist() == pytest.approx(np.sort(confidence)[:5].tolist())
    assert table["wrong"].tolist() == [e in (2, 28, 45) for e in table["epoch"]]
    assert len(least_confident_epochs(result, 500)) == N_EPOCHS


@pytest.mark.parametrize(("call", "words"), [
    (lambda r: least_confident_epochs(r, 0), "at least 1"),
    (lambda r: wrong_epochs(r, detailed_samples=[3]), "samples this night does not have"),
])
def test_bad_arguments_are_refused_with_the_fix(result, call, words):
    with pytest.raises(ConfigError, match=words):
        call(result)
