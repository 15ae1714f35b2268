"""A night's report files (mesa_report.report.files): the stamp, atomic writes, a full disk keeps the old report."""

from __future__ import annotations

import json

import pytest

from mesa_report.core.errors import MesaReportError
from mesa_report.report.build import build_report
from mesa_report.report.files import report_paths, reports_up_to_date, stamp_path, write_reports


@pytest.fixture(scope="module")
def lean_report(result):
    """A report without samples: cheap to render again and again."""
    return build_report(result, n_samples=0)


def build_report_with_fingerprint(report, fingerprint):
    import dataclasses

    return dataclasses.replace(report, fingerprint=fingerprint)


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
