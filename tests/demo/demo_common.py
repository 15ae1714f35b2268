"""What the tests of demo share: fixtures and helpers."""

from __future__ import annotations

import pytest

from mesa_report.demo import generate_night

W, N1, N2, N3, N4, REM = range(6)


EPOCH = 30.0


@pytest.fixture(scope="session")
def short_night():
    return generate_night(3, hours=0.5)
