"""Subject reports: the report model, the standalone HTML, the PDF, the files and the command.

A demo night (30 min, three samples) is staged by a small real model with random weights; the
report is built and rendered once per module and read by several tests.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import io
import json
import re
import shutil
import subprocess

import altair as alt
import numpy as np
import pytest
import torch
from pypdf import PdfReader

from mesa_report import demo

from mesa_report.cli import main as cli
from mesa_report.model.checkpoint import checkpoint_summary, save_checkpoint
from mesa_report.core.errors import MesaReportError, ReportError
from mesa_report.inference.cohort import infer_night
from mesa_report.scoring.metrics import night_metrics
from mesa_report.scoring.sleep_stats import (AWAKENINGS, SLEEP_STAT_KEYS, compare_sleep_statistics,
                                             transition_matrix)
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.explain.selection import choose_samples
from mesa_report.report.build import build_report
from mesa_report.report.document import render_html, render_pdf, template_environment
from mesa_report.report.files import report_paths, reports_up_to_date, stamp_path, write_reports
from mesa_report.report.formats import format_number, format_quantity
from mesa_report.core.vocabulary import CLASS_NAMES_6
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.store import NightStore

from .browser_helpers import DEMO_HOURS, DEMO_NIGHTS
from .conftest import TINY

SCRIPT_ID = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo_night(tmp_path_factory):
    built = demo.demo_store(tmp_path_factory.getbasetemp() / "app-cache", n_nights=DEMO_NIGHTS,
                            hours=DEMO_HOURS)
    return NightStore(built.preprocessed_dir, built.csv_path).night(built.mesaids[0])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = MesaTransformer(ModelConfig(**TINY)).eval()
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", model, epoch=4,
                           training={"note": "<b>not trained</b>"})


@pytest.fixture(scope="module")
def model(checkpoint):
    from mesa_report.model.checkpoint import load_model

    return load_model(checkpoint)


@pytest.fixture(scope="module")
def result(model, demo_night):
    return infer_night(model, demo_night)


@pytest.fixture(scope="module")
def report(result, demo_night, checkpoint, model):
    return build_report(result, night=demo_night, subject=SCRIPT_ID,
                        checkpoint=checkpoint_summary(checkpoint), n_samples=1, model=model)


@pytest.fixture(scope="module")
def lean_report(result):
    """A report without samples: cheap to render again and again."""
    return build_report(result, n_samples=0)


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


@pytest.fixture(scope="module")
def pdf(report):
    return render_pdf(report, page_size="Letter")


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


def test_the_report_measures_its_own_explanations(report, page, result):
    ex = report.explanations
    assert ex is not None and ex.n_samples == len(report.samples) == 1
    assert [row.method for row in ex.trust_rows] == ["attention", "rollout"]
    for row in ex.channel_rows:
        assert sum(row.shares) == pytest.approx(1.0, abs=1e-3)
        assert row.epochs == int((result.labels == CLASS_NAMES_6.index(row.stage)).sum())
    assert ex.share_past + ex.share_self + ex.share_future == pytest.approx(1.0, abs=1e-3)
    assert 'id="explanations"' in page and "how far to trust it" in page


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


def test_option_checks_name_the_option(result):
    with pytest.raises(ReportError, match="epochs per sample"):
        build_report(result, epochs_per_sample=21)
    with pytest.raises(ReportError, match="number of samples"):
        build_report(result, n_samples=-1)


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


@pytest.fixture(scope="module")
def unscored_report(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("unscored")
    write_night(folder, 7, np.random.default_rng(2).standard_normal((4, 20 * 3840)).astype(np.float32),
                np.full(20, -1))
    write_index(folder, [{"mesaid": 7, "sleep_stages": "9" * 20}])
    night = NightStore(folder).night(7)
    return build_report(infer_night(model, night), night=night, n_samples=0)


def test_an_unscored_night_gets_a_report_that_says_so(unscored_report):
    assert unscored_report.metrics.stages is None and unscored_report.confusion == ()
    assert "No epoch of this night has a scored stage" in render_html(unscored_report)


@pytest.mark.parametrize("variant, marker", [("pdf/a-3b", "/OutputIntents"), ("pdf/ua-1", "/StructTreeRoot")])
def test_pdf_variants_are_archival_or_tagged(unscored_report, variant, marker):
    reader = PdfReader(io.BytesIO(render_pdf(unscored_report, pdf_variant=variant)))
    assert marker in reader.trailer["/Root"]
    assert "nothing to compare the" in reader.pages[1].extract_text()


def test_bad_pdf_options_are_refused(report):
    with pytest.raises(ReportError, match="A4 or Letter"):
        render_pdf(report, page_size="A5")
    with pytest.raises(ReportError, match="pdf/a-3b"):
        render_pdf(report, pdf_variant="pdf/x-4")


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def test_write_reports_and_the_stamp(lean_report, tmp_path):
    report = build_report_with_fingerprint(lean_report, "abc")
    paths = write_reports(report, tmp_path, ["html"], stem="mesa-sleep-0001")
    assert paths == report_paths(tmp_path, "mesa-sleep-0001", ["html"])
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    stamp = json.loads(stamp_path(tmp_path, "mesa-sleep-0001").read_text())
    assert stamp["inputs"] == "abc" and stamp["files"] == {"html": "mesa-sleep-0001_report.html"}
    assert stamp["metrics"]["n_epochs"] == 60
    assert reports_up_to_date(tmp_path, "mesa-sleep-0001", ["html"], "abc")
    assert not reports_up_to_date(tmp_path, "mesa-sleep-0001", ["html"], "other inputs")
    assert not reports_up_to_date(tmp_path, "mesa-sleep-0001", ["html", "pdf"], "abc")
    paths["html"].unlink()
    assert not reports_up_to_date(tmp_path, "mesa-sleep-0001", ["html"], "abc")


def build_report_with_fingerprint(report, fingerprint):
    import dataclasses

    return dataclasses.replace(report, fingerprint=fingerprint)


def test_an_unwritable_folder_is_an_error_that_names_it(lean_report, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MesaReportError, match="a-file"):
        write_reports(lean_report, blocker / "reports", ["html"], stem="s")


def test_a_failed_write_leaves_no_partial_file_and_no_stamp(lean_report, tmp_path):
    (tmp_path / "s_report.html").mkdir()  # the final name is taken by a folder: the rename fails
    with pytest.raises(MesaReportError):
        write_reports(lean_report, tmp_path, ["html"], stem="s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_report.html"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="file size limits are POSIX")
def test_a_disk_that_fills_up_keeps_the_old_report(lean_report, tmp_path):
    import resource
    import signal

    final = tmp_path / "s_report.html"
    final.write_text("the previous report", encoding="utf-8")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, limits[1]))  # writes beyond 200 kB fail
    try:
        with pytest.raises(MesaReportError, match="nothing was written under that name"):
            write_reports(lean_report, tmp_path, ["html"], stem="s")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert final.read_text(encoding="utf-8") == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_report.html"]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def run_cli(*argv):
    return cli.main(["report", "--quiet", *map(str, argv)])


def test_command_writes_skips_and_forces(demo_night, checkpoint, tmp_path, capsys):
    data = ["--checkpoint_path", checkpoint, "--preprocessed_dir", demo_night.path.parent,
            "--output_dir", tmp_path, "--format", "html", "--num_samples", "0"]
    assert run_cli("--subject", demo_night.mesaid, *data) == 0
    written = tmp_path / f"mesa-sleep-{demo_night.mesaid:04d}_report.html"
    first = written.stat().st_mtime_ns
    assert "1 subject(s) reported (1 files)" in capsys.readouterr().out
    assert run_cli("--subject", demo_night.mesaid, *data) == 0
    assert "0 subject(s) reported (0 files), 1 up to date" in capsys.readouterr().out
    assert written.stat().st_mtime_ns == first
    assert run_cli("--subject", demo_night.mesaid, "--force", *data) == 0
    assert written.stat().st_mtime_ns > first


def test_command_lists_close_matches_for_an_unknown_subject(demo_night, checkpoint, tmp_path, capsys):
    code = run_cli("--subject", "mesa-sleep-0011", "--checkpoint_path", checkpoint,
                   "--preprocessed_dir", demo_night.path.parent, "--output_dir", tmp_path)
    assert code == 2
    err = capsys.readouterr().err
    assert "mesa-sleep-0011" in err and "close matches: mesa-sleep-0001" in err
    assert not any(tmp_path.iterdir())


def test_one_failing_subject_does_not_stop_the_others(tmp_path, checkpoint, capsys):
    store = tmp_path / "store"
    rng = np.random.default_rng(3)
    for mesaid, n_epochs in ((1, 20), (2, 10)):  # night 2 is shorter than one sample
        write_night(store, mesaid, rng.standard_normal((4, n_epochs * 3840)).astype(np.float32),
                    np.zeros(n_epochs, dtype=int))
    write_index(store, [{"mesaid": 1, "sleep_stages": "0" * 20}, {"mesaid": 2, "sleep_stages": "0" * 10}])
    code = run_cli("--all", "--checkpoint_path", checkpoint, "--preprocessed_dir", store,
                   "--output_dir", tmp_path / "out", "--format", "html", "--num_samples", "0")
    captured = capsys.readouterr()
    assert code == 1
    assert "1 subject(s) reported (1 files), 0 up to date, 1 failed" in captured.out
    assert "mesa-sleep-0002" in captured.err and "fewer than one sample" in captured.err
    assert (tmp_path / "out" / "mesa-sleep-0001_report.html").is_file()
    assert not (tmp_path / "out" / "mesa-sleep-0002_report.html").exists()


def test_command_refuses_an_output_folder_it_cannot_write(demo_night, checkpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = run_cli("--all", "--checkpoint_path", checkpoint, "--preprocessed_dir",
                   demo_night.path.parent, "--output_dir", blocker / "out")
    assert code == 2 and "--output_dir" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The night at a glance: hypnodensity, every wrong epoch with links, clock time, YASA's statistics
# --------------------------------------------------------------------------------------------
def _pdf_pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_hypnodensity_sits_under_the_hypnogram_in_html_and_pdf(report, result, page, pdf):
    assert [figure.key for figure in report.figures][:2] == ["hypnogram", "hypnodensity"]
    assert page.index('id="chart-hypnogram"') < page.index('id="chart-hypnodensity"') < page.index('id="agreement"')
    (rows,) = report.hypnodensity.spec["datasets"].values()
    drawn = np.array([[row[name] for name in result.class_names] for row in rows[:-1]])  # (E, K)
    np.testing.assert_allclose(drawn, result.probs, atol=1e-4)  # the night's own probabilities
    pages = _pdf_pages(pdf)
    night_page = next(i for i, text in enumerate(pages) if "Hypnodensity" in text and "Hypnogram" in text
                      and i > 0)
    assert "each epoch's probability of every stage" in pages[night_page].replace("’", "'")  # the chart's own text


def test_every_wrong_epoch_is_listed_and_links_to_its_detailed_sample(report, result, page):
    wrong = np.flatnonzero((result.labels >= 0) & (result.labels != result.pred))
    assert [row.epoch for row in report.night.wrong] == wrong.tolist() and wrong.size > 0
    sample = report.samples[0]
    inside = [row for row in report.night.wrong if sample.first_epoch <= row.epoch <= sample.last_epoch]
    outside = [row for row in report.night.wrong if row not in inside]
    assert inside and all(row.anchor == sample.anchor for row in inside)
    assert all(row.anchor is None for row in outside)
    assert f'id="{sample.anchor}"' in page
    assert page.count(f'href="#{sample.anchor}"') >= 2 * len(inside)  # epoch number and detail column
    assert len(report.night.least_confident) == 10
    confidences = [row.confidence for row in report.night.least_confident]
    assert confidences == sorted(confidences) and confidences[0] == pytest.approx(result.confidence.min())


def test_pdf_links_of_the_epoch_tables_point_into_the_document(report, pdf):
    reader = PdfReader(io.BytesIO(pdf))
    destinations = reader.named_destinations
    sample = report.samples[0]
    heading_page = next(i for i, p in enumerate(reader.pages)
                        if sample.heading.split("–")[0] in p.extract_text() and i > 0)
    targets = []
    for index, pdf_page in enumerate(reader.pages):
        for annotation in pdf_page.get("/Annots") or []:
            link = annotation.get_object()
            if link.get("/Subtype") == "/Link" and "/Dest" in link and str(link["/Dest"]) == sample.anchor:
                targets.append(index)
    inside = sum(sample.first_epoch <= row.epoch <= sample.last_epoch for row in report.night.wrong)
    assert len(targets) >= 2 * inside > 0  # every link of the wrong-epoch table (and the contents)
    assert all(index < heading_page for index in targets)  # from the tables, forwards
    assert reader.get_destination_page_number(destinations[sample.anchor]) == heading_page


def test_clock_time_is_used_where_the_recording_start_is_known(report, result, demo_night, page, pdf):
    start = dt.datetime.strptime(demo_night.meta["start_clock"], "%H:%M:%S")
    first = report.night.wrong[0]
    expected = (start + dt.timedelta(seconds=first.epoch * result.epoch_seconds)).strftime("%H:%M:%S")
    assert report.night.clock and first.time == expected
    assert f"<td>{expected}</td>" in page and expected in "\n".join(_pdf_pages(pdf))
    for figure in (report.hypnogram, report.hypnodensity):
        assert '"type": "utc"' in json.dumps(figure.spec), figure.key  # both charts on the clock
    hours = build_report(result, n_samples=0, meta={})  # no start known: hours since the start
    assert not hours.night.clock and '"type": "utc"' not in json.dumps(hours.hypnogram.spec)


def test_the_full_sleep_statistics_are_shown_in_html_and_pdf(report, result, page, pdf):
    table = compare_sleep_statistics(result.labels, result.pred, class_names=result.class_names)
    assert [row.key for row in report.night.statistics] == [*SLEEP_STAT_KEYS, AWAKENINGS]
    text = "\n".join(_pdf_pages(pdf))
    for key in (*SLEEP_STAT_KEYS, AWAKENINGS):
        assert f'<td class="mono">{key}</td>' in page and key in text
    tst = report.night.statistics[SLEEP_STAT_KEYS.index("TST")]
    assert (tst.scored, tst.predicted, tst.difference) == tuple(table.loc["TST", ["scored", "predicted", "difference"]])
    assert format_quantity(tst.difference, "min", signed=True) in page
    scored, predicted = report.night.transitions
    assert np.array_equal(np.array(scored.counts), transition_matrix(result.labels).to_numpy())
    assert 'id="transitions"' in page and "Predicted hypnogram" in text
