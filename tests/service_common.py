"""What the tests of service share: fixtures and helpers."""

from __future__ import annotations

import pytest

from mesa_report.inference import cohort


@pytest.fixture
def passes(monkeypatch):
    """The nights of every model pass made in this process (every pass goes through infer_cohort)."""
    seen = []
    real = cohort.infer_cohort

    def counted(model, nights, **options):
        nights = list(nights)
        seen.extend(int(n.mesaid) for n in nights)
        return real(model, nights, **options)

    monkeypatch.setattr(cohort, "infer_cohort", counted)
    return seen
