"""What the app's tests share: the app script, a factory of fresh sessions on the tests' demo cohort, and
the sidebar's sources."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mesa_report.app import sources as app_sources

from ..browser_helpers import demo_env
from ..helpers import REPO_ROOT

APP = REPO_ROOT / "streamlit_app.py"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A factory of fresh app sessions on the tests' demo cohort (caches shared, as on a server)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        yield lambda: AppTest.from_file(str(APP), default_timeout=120)


def sources(at) -> app_sources.Sources:
    return at.session_state["sources"]


def submit_sources(at, checkpoint: str = "", folder: str = "", csv: str = "") -> AppTest:
    at.text_input(key="checkpoint_text").input(checkpoint)
    at.text_input(key="folder_text").input(folder)
    at.text_input(key="csv_text").input(csv)
    next(b for b in at.button if b.label == "Open").click()
    return at.run()
