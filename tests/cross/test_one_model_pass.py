"""One model pass: the app, a report and the PNG files of a night cost one pass through the model."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mesa_report.cli.main import main
from mesa_report.inference.service import ResultsService
from mesa_report.pipeline.reports import open_session

from ..browser_helpers import demo_env
from ..helpers import REPO_ROOT


@pytest.mark.slow
def test_the_app_a_report_and_the_png_files_of_a_night_cost_one_model_pass(tmp_path_factory, tmp_path, passes):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        for entry in ResultsService().cache.root.glob("*.npz"):
            entry.unlink()  # the session's other tests may have inferred the demo nights
        st.cache_resource.clear()
        open_session.cache_clear()
        at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=120).run()
        assert not at.exception
        opened, subject = at.session_state["sources"], at.session_state["subject"]
        at.button(key="next").click().run()  # stepping reads the night from memory
        data = ["--checkpoint_path", str(opened.checkpoint), "--preprocessed_dir", str(opened.preprocessed_dir),
                "--csv_path", str(opened.csv_path), "--quiet"]
        assert main(["report", *data, "--subject", str(subject), "--format", "html",
                     "--output_dir", str(tmp_path / "reports")]) == 0
        assert main(["visualize", *data, "--subject", str(subject), "--samples", "1", "2", "--epochs", "3",
                     "--output_dir", str(tmp_path / "pngs")]) == 0
    assert (tmp_path / "reports" / f"mesa-sleep-{subject:04d}_report.html").is_file()
    assert (tmp_path / "pngs" / "attention_dashboard_sample_1.png").is_file()
    assert passes == [subject]  # one model pass for this checkpoint and night
