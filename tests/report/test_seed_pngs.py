"""The seed's attention files (mesa_report.report.seed_pngs): names, sizes and content."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mesa_report.charts.data import chart_frame
from mesa_report.charts.heatmaps import inter_epoch_chart
from mesa_report.charts.scales import COLOUR_SCHEMES
from mesa_report.cli.main import main
from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.core.settings import DEMO_SIZE_ENV
from mesa_report.explain.selection import wrong_predictions
from mesa_report.render.vega import render_chart
from mesa_report.report.seed_pngs import choose_epochs, sample_attention, sample_charts, visualize_sample_attention

from ..visualize_common import CHANNELS, EPOCH_SAMPLES, TINY, model, sample_numbers, seed_file_names  # noqa: F401  (pytest fixtures)


def _svg_size(svg: bytes) -> tuple[int, int]:
    head = svg[:400].decode()
    return (int(float(re.search(r'width="([\d.]+)"', head).group(1))),
            int(float(re.search(r'height="([\d.]+)"', head).group(1))))


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(2, 20, 3, EPOCH_SAMPLES, generator=gen)  # (B, S, C, T)
    labels = torch.randint(0, 6, (2, 20), generator=gen)  # (B, S)
    labels[1, 7] = -1
    return features, labels


def _blank_share(path: Path, *, top: float, bottom: float, left: float, right: float) -> float:
    """Share of white pixels in a region of an image (fractions of its height and width)."""
    grey = np.asarray(Image.open(path).convert("L"))  # (H, W)
    h, w = grey.shape
    return float((grey[int(top * h):int(bottom * h), int(left * w):int(right * w)] > 245).mean())


# --------------------------------------------------------------------------------------------
# The file set
# --------------------------------------------------------------------------------------------
def test_seed_files_are_written_with_their_names_sizes_and_content(model, batch, tmp_path):
    features, labels = batch
    paths = visualize_sample_attention(model, features, labels, CHANNELS, tmp_path, sample_idx=1,
                                       seq_len=20, epochs=[7])
    assert paths[0].name == "attention_dashboard_sample_2.png"  # samples are numbered from 1
    assert {p.name for p in tmp_path.iterdir()} == seed_file_names(2, [7], 3)
    att = sample_attention(model, features, labels, 1)
    expected = sample_charts(att, [7])
    for stem in ("attention_dashboard_sample_2", "temporal_attention_sample_2_epoch_7_ch_2"):
        image = Image.open(tmp_path / f"{stem}.png").convert("RGB")
        width, height = _svg_size(render_chart(expected[stem], "svg"))
        assert image.size == (2 * width, 2 * height)  # drawn at twice the chart's size
        pixels = np.asarray(image).astype(np.uint32)  # (H, W, 3)
        colours = pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]  # (H, W) packed RGB
        assert len(np.unique(colours)) > 50 and pixels.std() > 20  # not blank
    for stem in ("epoch_attention_sample_2", "channel_attention_sample_2_epoch_7"):
        pixels = np.asarray(Image.open(tmp_path / f"{stem}.png").convert("L"))  # (H, W)
        assert min(pixels.shape) > 400 and pixels.std() > 20
    dashboard = Image.open(tmp_path / "attention_dashboard_sample_2.png").size
    assert dashboard[0] > 1500 and dashboard[1] > 1200
    # the inter-epoch map spans the width: the right of the top is drawn (the seed's was blank there)
    assert _blank_share(tmp_path / "attention_dashboard_sample_2.png", top=0.1, bottom=0.4, left=0.55, right=0.7) < 0.2


def test_the_dashboard_has_no_blank_corner_and_grouped_files_hold_the_first_epochs(model, batch):
    from mesa_report.charts.data import chart_frame

    att = sample_attention(model, *batch, 0, first_epoch=40)
    charts = sample_charts(att, [3, 9, 12])
    inter = charts["attention_dashboard_sample_1"].vconcat[0]  # as wide as the rows of panels under it
    assert inter.width > 2 * inter.height
    for stem, grid in (("channel_attention_first_3_epochs_sample_1", lambda c: c.hconcat),
                       ("temporal_attention_first_3_epochs_sample_1", lambda c: [r.hconcat[0] for r in c.vconcat])):
        chart = charts[stem]
        assert "first 3 epochs (40–42)" in chart.title
        for position, panel in enumerate(grid(chart)):  # the sample's epochs 0, 1, 2: what the name says
            assert panel.title.text.startswith(f"epoch {40 + position}:")
            expected = att.channel[position] if "channel" in stem else att.temporal[position, 0]
            weights = chart_frame(panel)["weight"].to_numpy()
            np.testing.assert_allclose(np.sort(weights), np.sort(expected.ravel()), atol=1e-6)


def test_views_hold_the_models_weights_for_that_sample(model, batch):
    features, labels = batch
    att = sample_attention(model, features, labels, 1, layer=0, head=3)
    with torch.no_grad():
        out = model(features[1:2], return_attention=True)
    np.testing.assert_allclose(att.epoch, out.attention.epoch[0, 0, 3].numpy(), atol=1e-6)
    np.testing.assert_allclose(att.channel[5], out.attention.channel[0, 5, 3].numpy(), atol=1e-6)
    np.testing.assert_allclose(att.temporal[5, 2], out.attention.temporal[0, 5, 2, 0, 3].numpy(), atol=1e-6)
    assert att.true_labels[7] == -1 and (att.heads, att.layer_label) == ("head 4", "layer 1 of 2")
    chart = inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels)
    grid = chart_frame(chart).pivot(index="query_epoch", columns="key_epoch", values="weight").to_numpy()
    np.testing.assert_allclose(grid, out.attention.epoch[0, 0, 3].numpy(), atol=1e-6)
    mean = sample_attention(model, features[1], labels[1])  # one sample without its batch axis
    np.testing.assert_allclose(mean.epoch, out.attention.epoch[0, -1].mean(0).numpy(), atol=1e-6)


def test_default_epochs_are_the_informative_ones(model, batch):
    features, labels = batch
    att = sample_attention(model, features, labels, 0)
    chosen = choose_epochs(att, num_epochs_to_plot=5)
    wrong = np.flatnonzero(wrong_predictions(att.true_labels, att.pred_labels))
    assert len(chosen) == 5 and chosen == sorted(chosen)
    if len(wrong) >= 5:
        assert set(chosen) <= set(wrong)
    else:
        assert set(wrong) <= set(chosen)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(channel_names=["EEG1", "EEG2"]), ConfigError, "2 channel names"),
    (dict(epochs=[20]), ConfigError, "0-19"),
    (dict(cmap="jet"), ReportError, "viridis, plasma"),
    (dict(layer=2), ConfigError, "layer=2"),
    (dict(head=4), ConfigError, "head=4.*channel 4"),
    (dict(seq_len=30), ConfigError, "seq_len=30"),
    (dict(fmt="gif"), ReportError, "png"),
    (dict(sample_idx=5), ConfigError, "sample_idx=5"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(model, batch, tmp_path, kwargs, error, message):
    features, labels = batch
    args = dict(channel_names=CHANNELS, output_dir=tmp_path / "out", fmt="svg") | kwargs
    with pytest.raises(error, match=message):
        visualize_sample_attention(model, features, labels, **args)
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_unwritable_output_folder(model, batch, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ReportError, match="taken.*--output_dir"):
        visualize_sample_attention(model, *batch, CHANNELS, blocker / "out", fmt="svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.slow
def test_demo_run_writes_the_seeds_files(tmp_path, monkeypatch):
    from mesa_report import demo

    monkeypatch.setenv(DEMO_SIZE_ENV, "1x0.5")  # the commands honour the app's demo size: one small night
    if not demo.DEMO_CHECKPOINT.is_file():
        pytest.skip(f"the demo model {demo.DEMO_CHECKPOINT.name} is not installed")
    rc = main(["visualize", "--output_dir", str(tmp_path), "--num_samples", "1", "--num_epochs_to_plot", "2",
               "--quiet"])
    assert rc == 0
    names = {p.name for p in tmp_path.iterdir()}
    (n,) = sample_numbers(tmp_path, "png")  # the report's first pick, numbered from 1
    assert names == seed_file_names(n, [int(m) for m in re.findall(rf"channel_attention_sample_{n}_epoch_(\d+)",
                                                                        " ".join(names))], 3)
    for name in (f"attention_dashboard_sample_{n}.png", f"epoch_attention_sample_{n}.png"):
        image = Image.open(tmp_path / name).convert("L")
        assert min(image.size) > 800 and np.asarray(image).std() > 20


def test_colour_schemes_offered_to_every_view():
    assert {"viridis", "plasma", "YlOrRd"} <= set(COLOUR_SCHEMES)
