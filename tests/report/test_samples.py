"""The samples a report details (mesa_report.report.samples): chosen for different reasons, every epoch shown."""

from __future__ import annotations

from mesa_report.explain.selection import choose_samples


def test_samples_are_chosen_for_different_reasons(result):
    picked = choose_samples(result, 3)
    assert len({index for index, _ in picked}) == 3 == result.n_samples
    assert "most uncertain" in {reason for _, reason in picked}
    assert [index for index, _ in picked] == sorted(index for index, _ in picked)
    assert choose_samples(result, 0) == []
    assert len(choose_samples(result, 10)) == result.n_samples


def test_every_sample_shows_its_epochs_in_detail(report):
    assert len(report.samples) == 1
    for sample in report.samples:
        assert sample.last_epoch - sample.first_epoch == 19
        assert len(sample.epochs) == 1
        epoch = sample.epochs[0]
        assert sample.first_epoch <= epoch.epoch <= sample.last_epoch
        assert epoch.traces is not None and epoch.heatmaps is not None
    keys = [figure.key for figure in report.figures]
    assert len(keys) == len(set(keys)) == 4 + 3  # hypnogram, hypnodensity, 2 confusion, 3 per sample
