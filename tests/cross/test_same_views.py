"""One truth: the same sample has the same maps, labels and numbers in the app, a report and the PNG files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from mesa_report.app import downloads
from mesa_report.app import state as nav
from mesa_report.explain.views import night_sample_views, sample_name
from mesa_report.render.vega import chart_spec
from mesa_report.report.build import build_report
from mesa_report.report.seed_pngs import sample_attention, sample_charts

from ..browser_helpers import chart_data


# --------------------------------------------------------------------------------------------
# 6: one numbering; #15: the same sample the same in every output
# --------------------------------------------------------------------------------------------
def _rows(spec: dict, field: str) -> list[pd.DataFrame]:
    """Every data set of a spec (inline or named) that has ``field``."""
    found = [pd.DataFrame(values) for values in (spec.get("datasets") or {}).values()
             if values and field in values[0]]

    def walk(node):
        if isinstance(node, dict):
            values = (node.get("data") or {}).get("values") if isinstance(node.get("data"), dict) else None
            if values and isinstance(values, list) and field in values[0]:
                found.append(pd.DataFrame(values))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return found


def _grid(frame: pd.DataFrame) -> np.ndarray:
    return frame.pivot(index="query_epoch", columns="key_epoch", values="weight").to_numpy()


def test_the_same_sample_has_the_same_maps_labels_and_numbers_in_the_app_a_report_and_the_pngs(
        app, night_1, tmp_path):
    model, night, result = night_1
    index, first = 1, int(result.sample_starts[1])
    name = sample_name(index, first, result.seq_len)  # "Sample 2: epochs 20–39"
    # the app, opened on that sample
    at = app()
    at.query_params.update(subject="mesa-sleep-0001", sample="2", epoch=str(first + 3))
    at.run()
    assert at.markdown and any(m.value.startswith(f"**Sample 2 of {result.n_samples}** · epochs "
                                                  f"{first}–{first + 19}") for m in at.markdown)
    in_app = chart_data(at, "inter-epoch attention")
    assert downloads.view_stem(nav.View(1, index, first + 3, "EEG1")).startswith("mesa-sleep-0001_sample_2_")
    # the report: the same heading, the same matrix and axis labels
    report = build_report(result, night=night, n_samples=result.n_samples)
    section = next(s for s in report.samples if s.first_epoch == first)
    assert section.heading == name and section.anchor == "sample-2"
    in_report = _rows(section.overview.spec, "query_label")[0]
    # the PNG files: the same sample number in the names, night epochs, the same matrix
    features, labels = night.epochs(first, first + result.seq_len, 3), night.labels[first:first + 20]
    att = sample_attention(model, torch.from_numpy(features), torch.from_numpy(labels), index,
                           first_epoch=first)
    files = sample_charts(att, [3])
    assert {"attention_dashboard_sample_2", "channel_attention_sample_2_epoch_23",
            "temporal_attention_sample_2_epoch_23_ch_0"} <= set(files)
    in_png = _rows(chart_spec(files["epoch_attention_sample_2"]), "query_label")[0]
    assert name in json.dumps(chart_spec(files["epoch_attention_sample_2"]), ensure_ascii=False)
    for frame in (in_report, in_png):
        assert sorted(frame["key_label"].unique()) == sorted(in_app["key_label"].unique())
        np.testing.assert_allclose(_grid(frame), _grid(in_app), atol=2e-3)  # stored maps are float16
    np.testing.assert_allclose(_grid(in_app), night_sample_views(result, index).epoch, atol=1e-6)
