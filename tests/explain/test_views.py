"""The one view model (mesa_report.explain.views): gradient x attention explains its target through attention."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.explain.selection import choose_samples
from mesa_report.report.options import DEFAULT_SAMPLES

from ..views_common import report_views


def test_gradient_explains_its_target_epoch_through_attention_not_as_an_identity(night_1):
    model, night, result = night_1
    targets = 0
    for method, level, values, _, att in report_views(model, night, result):
        if method != "gradient" or level != "epoch":
            continue
        row = att.epoch[att.target]  # (S,) how much each key epoch reaches the target's prediction
        assert row.sum() > 0 and np.count_nonzero(row > 0.01 * row.max()) >= 2, "one-hot row"
        assert row[att.target] < 0.9 * row.sum()  # not mostly itself
        assert att.epoch.sum(axis=1).max() == pytest.approx(1.0, abs=1e-5)  # strongest row sums to 1
        for pos in range(att.seq_len):  # no level is an identity: off-diagonal relevance everywhere
            assert (att.temporal[pos] * ~np.eye(att.temporal.shape[-1], dtype=bool)).sum() > 0
        targets += 1
    assert targets == len(choose_samples(result, DEFAULT_SAMPLES))
    assert f"for epoch {att.first_epoch + att.target}" in att.layer_label  # the night's epoch number
