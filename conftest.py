"""The one fixture every test and doctest gets: a private cache folder, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesa_report.core.settings import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """Every test, doctest and process they start caches into a temporary folder, never the user's.

    The folder lives for the whole session, so the demo cohort is built once per run (per worker).
    """
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder
