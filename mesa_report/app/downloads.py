"""The bytes behind the app's download buttons: the PNG of the view shown and the night's reports."""

from __future__ import annotations

from mesa_report.app.state import View
from mesa_report.charts.dashboard import dashboard_chart
from mesa_report.data.store import Night, record_id
from mesa_report.explain.views import SampleAttention, sample_number
from mesa_report.inference.night import NightInference
from mesa_report.model.checkpoint import checkpoint_summary
from mesa_report.model.loaded import LoadedModel
from mesa_report.render.vega import render_chart
from mesa_report.report.build import build_report
from mesa_report.report.document import render_html, render_pdf
from mesa_report.report.model import SubjectReport


def view_png(att: SampleAttention, position: int, cmaps: dict[str, str], subject: int) -> bytes:
    """PNG of the current view: the seed's dashboard for the selected epoch.

    Inter-epoch attention of the sample on top, then the epoch's channel attention and the
    temporal attention of every channel, in the page's colours and scales, titled with the night,
    the sample, the epoch and the maps' layer, heads and method.

    Parameters
    ----------
    att : SampleAttention
        The sample's maps (:func:`sample_maps`).
    position : int
        The selected epoch's position within the sample.
    cmaps : dict
        Colour map per view (:func:`colour_maps`).
    subject : int
        MESA id of the night.

    Examples
    --------
    >>> view_png(att, 3, colour_maps(SEED_COLOURS), 1)[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    title = f"{record_id(subject)} · {att.name} · epoch {att.first_epoch + position} · {att.detail}"
    chart = dashboard_chart(
        att.epoch, att.channel, att.temporal, att.true_labels, att.pred_labels, epochs=[position],
        channel_names=att.channel_names, token_start_s=att.token_start_s, token_end_s=att.token_end_s,
        class_names=att.class_names, first_epoch=att.first_epoch, epoch_cmap=cmaps["epoch"],
        channel_cmap=cmaps["channel"], temporal_cmap=cmaps["temporal"], title=title, method=att.method)
    return render_chart(chart, "png")


def view_stem(view: View) -> str:
    """File name stem of a downloaded view.

    Examples
    --------
    >>> view_stem(View(subject=3, sample=2, epoch=45, channel="EEG2"))
    'mesa-sleep-0003_sample_3_epoch_45_EEG2'
    """
    channel = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in view.channel)
    return f"{record_id(view.subject)}_sample_{sample_number(view.sample)}_epoch_{view.epoch}_{channel}"


REPORT_FORMATS = {"html": ("HTML report", "text/html"), "pdf": ("PDF report", "application/pdf")}
"""Report downloads: format -> (button label, MIME type)."""


def night_report(result: NightInference, night: Night, model: LoadedModel) -> SubjectReport:
    """The night's report document, as the ``report`` command builds it; render it per format.

    Examples
    --------
    >>> night_report(result, night, open_model(Path("model.pth"))).mesaid  # doctest: +SKIP
    1
    """
    return build_report(result, night=night, checkpoint=checkpoint_summary(model.path), model=model.model)


def report_bytes(fmt: str, report: SubjectReport) -> bytes:
    """The night's report in ``fmt`` (a key of :data:`REPORT_FORMATS`), as its button delivers it.

    Examples
    --------
    >>> report_bytes("pdf", night_report(result, night, model))[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    return render_html(report).encode("utf-8") if fmt == "html" else render_pdf(report)
