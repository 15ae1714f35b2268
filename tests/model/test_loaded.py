"""A loaded checkpoint travels with its path and hash; the module itself carries no attribute of it."""

from __future__ import annotations

import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.model.checkpoint import file_sha256, save_checkpoint
from mesa_report.model.loaded import LoadedModel, open_checkpoint


def test_the_model_comes_with_its_file_and_hash(tiny_model, tmp_path):
    path = save_checkpoint(tmp_path / "tiny.pth", tiny_model)
    loaded = open_checkpoint(path)
    assert isinstance(loaded, LoadedModel) and loaded.path == path
    assert loaded.sha256 == file_sha256(path) and loaded.config == tiny_model.config
    assert not loaded.model.training and not hasattr(loaded.model, "checkpoint_path")
    with pytest.raises(ConfigError, match="seq_len=21 disagrees"):
        open_checkpoint(path, seq_len=tiny_model.config.seq_len + 1)  # sizes given are checked
