"""What the tests of views share: fixtures and helpers."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mesa_report import demo
from mesa_report.data.store import NightStore
from mesa_report.explain.methods import METHODS
from mesa_report.explain.selection import choose_samples, informative_epochs
from mesa_report.explain.views import ViewChoice, night_sample_views
from mesa_report.inference.cohort import infer_night
from mesa_report.model.checkpoint import load_model
from mesa_report.report.options import DEFAULT_EPOCHS_PER_SAMPLE, DEFAULT_SAMPLES

from .browser_helpers import DEMO_HOURS, DEMO_NIGHTS, demo_env
from .helpers import REPO_ROOT

APP = REPO_ROOT / "streamlit_app.py"


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    if not demo.DEMO_CHECKPOINT.is_file():
        pytest.skip(f"the demo model {demo.DEMO_CHECKPOINT.name} is not installed")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in demo_env(tmp_path_factory).items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def night_1(env):
    """The demo model, night 1 of the tests' demo cohort and its inference."""
    model = load_model(demo.DEMO_CHECKPOINT)
    night = NightStore(demo.demo_store(n_nights=DEMO_NIGHTS, hours=DEMO_HOURS).preprocessed_dir).night(1)
    return model, night, infer_night(model, night)


def report_views(model, night, result):
    """Every view of the samples a report details, under every method: (method, level, values, span)."""
    for index, _ in choose_samples(result, DEFAULT_SAMPLES):
        view = result.sample(index)
        positions = informative_epochs(view.labels, view.pred, view.uncertainty, DEFAULT_EPOCHS_PER_SAMPLE)
        for method in METHODS:
            att = night_sample_views(result, index, ViewChoice(method), model=model, night=night,
                                     target_epoch=int(view.first_epoch) + positions[0])
            yield method, "epoch", att.epoch, att.span("epoch"), att
            for pos in positions:
                yield method, "channel", att.channel[pos], att.span("channel", pos), att
                yield method, "temporal", att.temporal[pos], att.span("temporal", pos), att
                for c in range(len(att.channel_names)):
                    yield method, "temporal", att.temporal[pos, c], att.span("temporal", pos, c), att
                    yield method, "trace", att.received(pos, c), att.span("trace", pos, c), att


# --------------------------------------------------------------------------------------------
# 3-5: pickers, the clicked row, the URL
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def app(env):
    return lambda: AppTest.from_file(str(APP), default_timeout=120)
