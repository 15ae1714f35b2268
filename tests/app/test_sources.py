"""The app opening hostile files (issue 18): a one-line error, the sidebar's Open form stays."""

from __future__ import annotations

import numpy as np
import torch

from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night
from mesa_report.data.night_ids import night_filename
from mesa_report.model.checkpoint import save_checkpoint
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..helpers import TINY
from .app_common import sources, submit_sources


def _open_form_is_there(at) -> bool:
    return any(b.label == "Open" for b in at.button) and at.text_input(key="checkpoint_text") is not None


def test_hostile_checkpoints_and_nights_give_one_line_and_the_open_form_stays(app, tmp_path):
    at = app().run()
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "bomb.pth", MesaTransformer(ModelConfig(**TINY)).eval())
    payload = torch.load(path, weights_only=True)
    payload["config"].update(d_model=10**6, dim_feedforward=10**6)
    payload["model_state_dict"]["classifier.3.weight"] = torch.empty(6, 64, device="meta")
    torch.save(payload, path)
    submit_sources(at, checkpoint=str(path))
    assert not at.exception
    message = at.error[0].value
    assert str(path) in message and "meta tensor" in message and len(message.splitlines()) == 1
    assert _open_form_is_there(at) and sources(at).is_demo
    store = tmp_path / "store"
    write_night(store, 2, np.zeros((4, 30 * 3840), np.float32), np.zeros(30))
    torch.save(torch.empty(4, 10**12, device="meta"), store / night_filename(1))
    write_index(store, [{"mesaid": 1, "sleep_stages": "0"}, {"mesaid": 2, "sleep_stages": "0" * 30}])
    submit_sources(at, folder=str(store))
    assert not at.exception
    assert any(str(store / night_filename(1)) in e.value and "without data" in e.value
               for e in at.error), [e.value for e in at.error]
    assert _open_form_is_there(at)
    submit_sources(at, folder="")  # the form still works: back to the demo's nights
    assert not at.exception and _open_form_is_there(at)
