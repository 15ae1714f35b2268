"""Building a report model (mesa_report.report.build): its figures are handed on as soon as they are made."""

from __future__ import annotations

from mesa_report.report import build


def test_the_figures_are_handed_on_before_the_explanations_are_measured(result, demo_night, model, monkeypatch):
    events = []
    measure = build.explanation_section

    def measured(*args, **kwargs):
        events.append("explanations")
        return measure(*args, **kwargs)

    monkeypatch.setattr(build, "explanation_section", measured)
    report = build.build_report(result, night=demo_night, n_samples=1, model=model,
                                on_figures=lambda specs: events.append(specs))
    assert len(events) == 2 and events[1] == "explanations"
    handed = events[0]
    assert list(handed) == [figure.key for figure in report.figures]
    assert all(handed[figure.key] is figure.spec for figure in report.figures)  # the very specs the PDF draws
    assert report.explanations is not None
