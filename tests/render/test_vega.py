"""Static rendering: one function for every format, crisp PNGs, atomic files, offline HTML parts."""

from __future__ import annotations

import io
import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert
from PIL import Image

from mesa_report.charts.heatmaps import INTER_EPOCH_PX, channel_chart, inter_epoch_chart, temporal_chart
from mesa_report.charts.night import confusion_chart
from mesa_report.core.errors import MesaReportError, ReportError
from mesa_report.render import vega
from mesa_report.render.vega import (
    VEGALITE_VERSION,
    bundle_file,
    chart_spec,
    chart_spec_json,
    load_bundle,
    render_chart,
    save_chart,
    vega_javascript,
)

EDGES_S = np.arange(21) * 1.5


def _svg_size(svg: bytes) -> tuple[int, int]:
    head = svg[:400].decode()
    return (int(float(re.search(r'width="([\d.]+)"', head).group(1))),
            int(float(re.search(r'height="([\d.]+)"', head).group(1))))


@pytest.fixture(scope="module")
def inter_epoch():
    rng = np.random.default_rng(0)
    w = rng.random((20, 20))
    return inter_epoch_chart(w / w.sum(1, keepdims=True), np.arange(20) % 6, (np.arange(20) + 1) % 6)


def test_png_is_twice_the_svg_size_and_not_blank(inter_epoch):
    svg = render_chart(inter_epoch, "svg")
    png = render_chart(inter_epoch, "png")
    width, height = _svg_size(svg)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (2 * width, 2 * height)
    assert width > INTER_EPOCH_PX  # the heatmap plus its labelled axes
    pixels = np.asarray(image).astype(np.uint32)  # (H, W, 3)
    colours = pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]  # (H, W) packed RGB
    assert len(np.unique(colours)) > 100  # a colour scale, not a flat image


def test_svg_keeps_the_arrow_labels_as_text(inter_epoch):
    svg = render_chart(inter_epoch, "svg").decode("utf-8")
    assert "0 W→N1" in svg and "5 REM→W" in svg


def test_pdf_output():
    chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    assert render_chart(chart, "pdf")[:5] == b"%PDF-"


def test_save_chart_takes_the_format_from_the_suffix(tmp_path):
    chart = temporal_chart(np.full((20, 20), 0.05), EDGES_S[:-1], EDGES_S[1:])
    png = save_chart(chart, tmp_path / "deep" / "t.png")
    svg = save_chart(chart, tmp_path / "t.svg")
    forced = save_chart(chart, tmp_path / "t.image", fmt="svg")
    assert png.read_bytes()[:4] == b"\x89PNG" and svg.read_text()[:4] == "<svg"
    assert forced.read_text()[:4] == "<svg"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["deep", "t.image", "t.png", "t.svg"]


@pytest.mark.parametrize("name", ["chart.jpg", "chart"])
def test_save_chart_refuses_unknown_formats_before_writing(tmp_path, name):
    chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    with pytest.raises(ReportError, match="png.*svg"):
        save_chart(chart, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_is_a_clear_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    with pytest.raises(MesaReportError, match="not_a_folder"):
        save_chart(chart, blocker / "chart.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_dense_heatmap_renders_above_the_row_limit():
    n = 80  # 6,400 cells
    chart = inter_epoch_chart(np.full((n, n), 1 / n), np.zeros(n, int), np.zeros(n, int))
    png = render_chart(chart, "png", scale=1)
    assert Image.open(io.BytesIO(png)).size[0] > INTER_EPOCH_PX


def test_external_data_is_refused_not_fetched():
    chart = alt.Chart("https://example.com/data.csv").mark_point().encode(x="a:Q")
    with pytest.raises(ReportError, match="not allowed"):
        render_chart(chart, "svg")


def test_bad_format_and_scale():
    chart = channel_chart(np.eye(3), ["EEG1", "EEG2", "EEG3"])
    with pytest.raises(ReportError, match="gif"):
        render_chart(chart, "gif")
    with pytest.raises(ReportError, match="at least 1"):
        render_chart(chart, "png", scale=0.5)


def test_spec_json_is_safe_inside_a_script_element():
    chart = alt.Chart(pd.DataFrame({"a": ["</script><b>"]})).mark_text().encode(text="a:N")
    text = chart_spec_json(chart)
    assert "</" not in text
    spec = json.loads(text)
    assert next(iter(spec["datasets"].values()))[0]["a"] == "</script><b>"
    assert f"/v{VEGALITE_VERSION}." in spec["$schema"]


def test_vega_javascript_is_the_offline_bundle_and_cached():
    first = vega_javascript()
    assert "vegaEmbed" in first and len(first) > 500_000
    assert "cdn.jsdelivr" not in first[:2000]
    assert vega_javascript() is first


def test_chart_spec_is_plain_json():
    spec = chart_spec(confusion_chart([[3, 1], [0, 4]], ["W", "REM"]))
    assert json.loads(json.dumps(spec)) == spec


# The Vega bundle kept in the cache folder: built once, read back by later processes.
def test_the_bundle_is_built_once_then_read_from_the_folder(tmp_path, monkeypatch):
    built = load_bundle(tmp_path)
    assert "vegaEmbed" in built and bundle_file(tmp_path).read_text(encoding="utf-8") == built

    def refuse(**_):
        raise AssertionError("the bundle was built again although the folder holds it")

    monkeypatch.setattr(vl_convert, "javascript_bundle", refuse)
    assert load_bundle(tmp_path) == built


def test_a_damaged_bundle_file_is_built_again(tmp_path):
    path = bundle_file(tmp_path)
    path.write_text("truncated", encoding="utf-8")
    assert "vegaEmbed" in load_bundle(tmp_path)
    assert "vegaEmbed" in path.read_text(encoding="utf-8")


def test_a_folder_that_cannot_be_written_still_gives_the_bundle(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert "vegaEmbed" in load_bundle(blocker / "vega")


def test_the_process_bundle_comes_from_the_cache_folder(private_cache_dir):
    vega.vega_javascript.cache_clear()
    assert "vegaEmbed" in vega.vega_javascript()
    assert bundle_file(private_cache_dir / vega.BUNDLE_DIRNAME).is_file()
