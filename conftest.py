"""The one fixture every test and doctest gets: a private cache folder, never the user's, and an app
that builds reports on a click."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesa_report.core.settings import BACKGROUND_REPORTS_ENV, CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """Every test, doctest and process they start caches into a temporary folder, never the user's.

    The folder lives for the whole session, so the demo cohort is built once per run (per worker).
    The app's background report process is off: otherwise every night an app test opens would
    have its HTML and PDF built beside the suite (about a tenth of its processor time). The
    process's own tests start it themselves (``tests/app/test_report_builder.py``).
    """
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        patch.setenv(BACKGROUND_REPORTS_ENV, "0")
        yield folder
