"""The night at a glance in the reports (mesa_report.report.night_section): hypnodensity, wrong epochs, statistics."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pytest
from pypdf import PdfReader

from mesa_report.report.build import build_report
from mesa_report.report.formats import format_quantity
from mesa_report.scoring.sleep_stats import AWAKENINGS, SLEEP_STAT_KEYS, compare_sleep_statistics, transition_matrix


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
