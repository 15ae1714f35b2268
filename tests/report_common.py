"""What the tests of report share: fixtures and helpers."""

from __future__ import annotations

import pytest
import torch

from mesa_report import demo
from mesa_report.data.store import NightStore
from mesa_report.inference.cohort import infer_night
from mesa_report.model.checkpoint import checkpoint_summary, save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer
from mesa_report.report.build import build_report
from mesa_report.report.document import render_html, render_pdf

from .browser_helpers import DEMO_HOURS, DEMO_NIGHTS
from .helpers import TINY

SCRIPT_ID = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory):
    built = demo.demo_store(tmp_path_factory.getbasetemp() / "app-cache", n_nights=DEMO_NIGHTS,
                            hours=DEMO_HOURS)
    return NightStore(built.preprocessed_dir, built.csv_path).night(built.mesaids[0])


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = MesaTransformer(ModelConfig(**TINY)).eval()
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", model, epoch=4,
                           training={"note": "<b>not trained</b>"})


@pytest.fixture(scope="session")
def model(checkpoint):
    from mesa_report.model.checkpoint import load_model

    return load_model(checkpoint)


@pytest.fixture(scope="session")
def result(model, demo_night):
    return infer_night(model, demo_night)


@pytest.fixture(scope="session")
def report(result, demo_night, checkpoint, model):
    return build_report(result, night=demo_night, subject=SCRIPT_ID,
                        checkpoint=checkpoint_summary(checkpoint), n_samples=1, model=model)


@pytest.fixture(scope="session")
def page(report):
    return render_html(report)


@pytest.fixture(scope="session")
def pdf(report):
    return render_pdf(report, page_size="Letter")
