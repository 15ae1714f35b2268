"""A night's report rendered (mesa_report.report.document): standalone HTML, escaped markup, vector PDF."""

from __future__ import annotations

import html.parser
import io
import json
import re
import shutil
import subprocess

import altair as alt
import numpy as np
import pytest
from pypdf import PdfReader

from mesa_report.core.vocabulary import CLASS_NAMES_6
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.store import NightStore
from mesa_report.inference.cohort import infer_night
from mesa_report.report.build import build_report
from mesa_report.report.document import render_html, render_pdf, template_environment
from mesa_report.report.formats import format_number
from mesa_report.scoring.metrics import night_metrics

from ..report_common import SCRIPT_ID


class ResourceFinder(html.parser.HTMLParser):
    """Every URL the page would load: src and href attributes, url() and @import in its CSS."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self.urls += [u for name, value in attrs if name == "style" for u in css_urls(value or "")]

    def handle_endtag(self, tag):
        self._tag = ""

    def handle_data(self, data):
        if self._tag == "style":
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    return re.findall(r"url\(\s*['\"]?([^'\")]+)", css) + re.findall(r"@import\s+['\"]([^'\"]+)", css)


@pytest.fixture(scope="module")
def unscored_report(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("unscored")
    write_night(folder, 7, np.random.default_rng(2).standard_normal((4, 20 * 3840)).astype(np.float32),
                np.full(20, -1))
    write_index(folder, [{"mesaid": 7, "sleep_stages": "9" * 20}])
    night = NightStore(folder).night(7)
    return build_report(infer_night(model, night), night=night, n_samples=0)


# --------------------------------------------------------------------------------------------
# Report model
# --------------------------------------------------------------------------------------------
def test_the_report_and_the_metrics_module_agree(report, result):
    direct = night_metrics(result.labels, result.pred, class_names=result.class_names,
                           epoch_seconds=result.epoch_seconds)
    mine = report.metrics
    assert (mine.stages.accuracy, mine.stages.macro_f1, mine.n_scored) == (
        direct.stages.accuracy, direct.stages.macro_f1, direct.n_scored)
    assert np.array_equal(mine.stages.confusion, direct.stages.confusion)
    assert report.metrics.n_epochs == 60
    assert [row.name for row in report.stage_rows] == list(CLASS_NAMES_6)
    # the 5-class F1 of N3 spans the N3 and N4 rows
    n3, n4 = report.stage_rows[3], report.stage_rows[4]
    assert (n3.f1[1].rowspan, n4.f1[1].rowspan) == (2, 0)


def test_the_app_and_the_report_show_the_same_kappa(report, result, page):
    from mesa_report.app.support import night_figures

    app = night_figures(result.labels, result.pred, tuple(result.class_names), result.epoch_seconds)
    assert app.kappa == report.metrics.kappa or (np.isnan(app.kappa) and np.isnan(report.metrics.kappa))
    assert f"<td>Cohen's kappa</td><td class=\"num\">{format_number(app.kappa, 3)}</td>" in \
        page.replace("&#39;", "'")


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def test_html_is_self_contained(page, report):
    finder = ResourceFinder()
    finder.feed(page)
    outside = [url for url in finder.urls if not url.startswith("#")]
    assert outside == []
    assert "vegaEmbed" in page and page.count("<script>") == 2  # the bundle once, the embedding loop
    specs = re.findall(r'<script type="application/json" class="vega-spec" data-target="([^"]+)">',
                       page)
    assert specs == [f"chart-{figure.key}" for figure in report.figures]
    assert len(page.encode("utf-8")) < 5_000_000


def test_html_chart_specs_parse_and_carry_their_data(page):
    bodies = re.findall(r'class="vega-spec" data-target="[^"]+">(.*?)</script>', page, re.S)
    for body in bodies:
        spec = json.loads(body)
        assert spec["datasets"] and all(len(rows) > 0 for rows in spec["datasets"].values())
        assert "url" not in json.dumps(spec.get("data", {}))


def test_every_figure_is_a_valid_vega_lite_spec(report):
    # the report draws its figures without the schema check; this is where it is made
    for figure in report.figures:
        alt.TopLevelSpec.validate(figure.spec)
        assert figure.spec["datasets"], figure.key


def test_markup_in_the_subject_and_metadata_is_escaped(page, report):
    assert SCRIPT_ID not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>not trained</b>" not in page and "&lt;b&gt;not trained&lt;/b&gt;" in page
    for body in re.findall(r'class="vega-spec"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in body


def test_markup_in_channel_names_and_clock_is_escaped(tmp_path, model):
    hostile = "<img src=x onerror=alert(2)>"
    labels = np.tile(np.arange(6), 4)[:20]
    write_night(tmp_path, 9, np.random.default_rng(1).standard_normal((4, 20 * 3840)).astype(np.float32),
                labels, {"channel_names": [hostile, "EEG2", "EEG3", "Thor"], "start_clock": hostile,
                         "edf_file": hostile})
    write_index(tmp_path, [{"mesaid": 9, "sleep_stages": "".join(map(str, labels))}])
    night = NightStore(tmp_path).night(9)
    page = render_html(build_report(infer_night(model, night), night=night, n_samples=0))
    assert hostile not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_template_environment_is_shared_and_escapes():
    env = template_environment()
    assert env is template_environment() and env.autoescape
    assert env.from_string("{{ v }}").render(v="<x>") == "&lt;x&gt;"


@pytest.mark.browser
def test_html_draws_every_chart_offline_in_chromium(page, report, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed")
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    requested = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        tab.on("request", lambda r: requested.append(r.url))
        tab.goto(path.as_uri())
        tab.wait_for_function(
            f"document.querySelectorAll('.vega-chart svg.marks').length >= {len(report.figures)}",
            timeout=30_000)
        errors = tab.locator(".vega-chart").all_inner_texts()
        margin_only = {sel: tab.locator(sel).is_visible() for sel in (".running-header", ".running-created")}
        browser.close()
    assert [url for url in requested if not url.startswith("file:")] == []
    assert not any("could not be drawn" in text for text in errors)
    assert margin_only == {".running-header": False, ".running-created": False}  # the PDF's margins only


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------
def test_pdf_text_holds_the_subject_metrics_and_stages(pdf, report):
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages[:4])
    assert SCRIPT_ID in text  # shown as text, never interpreted
    assert "Cohen's kappa" in text.replace("’", "'")
    assert format_number(report.metrics.kappa, 3).replace("–", "-") in text.replace("–", "-")
    assert f"{report.metrics.stages.accuracy * 100:.1f} %" in text
    for stage in CLASS_NAMES_6:
        assert re.search(rf"\b{stage}\b", text)
    assert "page 2 of" in text  # page numbers in the margin


def test_pdf_charts_are_vector_with_searchable_text(pdf, report):
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert [len(page.get_images()) for page in doc.pages] == [0] * len(doc.pages)  # no picture anywhere
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    sample = report.samples[0]
    heading = sample.heading.split("–")[0]  # "Sample N: epochs FIRST", N the sample's number in the night
    first = next(i for i in range(1, len(pages)) if heading in pages[i])  # page 0 has the contents
    # the inter-epoch chart's axis titles and labels sit on the sample's own page (or the next)
    near = "\n".join(pages[first:first + 2])
    assert "query epoch (true→predicted)" in near and "key epoch (true→predicted)" in near
    assert "time in epoch (s)" in "\n".join(pages[first:])  # the traces of its detailed epoch
    assert "confusion matrix, 6 classes" in "\n".join(pages[:first])


def test_pdf_metadata_and_page_size(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    meta = reader.metadata
    assert SCRIPT_ID in meta.title and SCRIPT_ID in meta.subject
    assert "sleep staging" in meta["/Keywords"]
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # Letter


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_pdf_first_page_is_not_blank(pdf, tmp_path):
    from PIL import Image

    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"),
                    str(tmp_path / "p")], check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    dark = np.asarray(image) < 128
    assert dark.mean() > 0.01


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_pdf_traces_span_the_text_width_with_readable_ticks_and_say_how_the_signal_was_scaled(pdf, tmp_path):
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftotext", "-bbox", str(tmp_path / "r.pdf"), str(tmp_path / "r.html")], check=True)
    pages = (tmp_path / "r.html").read_text(encoding="utf-8").split("<page ")[1:]
    page = next(p for p in pages if ">IQR<" in p and ">inter-quartile<" in p)  # a detail page, with the note
    words = [(float(x0), float(y0), float(x1), float(y1), text) for x0, y0, x1, y1, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)]
    axis_title = max(y0 for x0, y0, x1, y1, text in words if text == "epoch")  # the traces' "time in epoch (s)"
    ticks = [w for w in words if axis_title - 14 < w[1] < axis_title and re.fullmatch(r"\d+", w[4])]
    assert {"0", "30"} <= {w[4] for w in ticks}
    assert min(y1 - y0 for _, y0, _, y1, _ in ticks) >= 7.0  # tick labels of 7 pt and more
    text_width_pt = 612 - 2 * 15 / 25.4 * 72  # Letter less the 15 mm margins
    assert max(w[2] for w in ticks) - min(w[0] for w in ticks) > 0.85 * text_width_pt


def test_an_unscored_night_gets_a_report_that_says_so(unscored_report):
    assert unscored_report.metrics.stages is None and unscored_report.confusion == ()
    assert "No epoch of this night has a scored stage" in render_html(unscored_report)


@pytest.mark.parametrize("variant, marker", [("pdf/a-3b", "/OutputIntents"), ("pdf/ua-1", "/StructTreeRoot")])
def test_pdf_variants_are_archival_or_tagged(unscored_report, variant, marker):
    reader = PdfReader(io.BytesIO(render_pdf(unscored_report, pdf_variant=variant)))
    assert marker in reader.trailer["/Root"]
    assert "nothing to compare the" in reader.pages[1].extract_text()
