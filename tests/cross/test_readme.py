"""The README's examples run as printed."""

from __future__ import annotations

import contextlib
import os
import re

import pytest
import torch

from ..helpers import REPO_ROOT
from ..visualize_common import write_seed_checkpoint, write_seed_store

SEED_README = REPO_ROOT.parent / "shared" / "seed" / "attention_visualization_README.md"


def _programmatic_example() -> str:
    """The README's programmatic example, checked to be the seed's with ``code.`` → ``mesa_report.``."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
              if "visualize_sample_attention(" in b and "create_mesa_dataloader(" in b]
    assert blocks, "README.md must show the seed's programmatic example"
    if SEED_README.is_file():
        seed_blocks = re.findall(r"```python\n(.*?)```", SEED_README.read_text(encoding="utf-8"), flags=re.S)
        seed = next(b for b in seed_blocks if "visualize_sample_attention(" in b)
        assert blocks[0].strip() == seed.replace("code.", "mesa_report.").strip()
    return blocks[0]


@pytest.mark.skipif(os.name == "nt", reason=r"C:\mesa is an absolute path on Windows")
def test_the_readmes_programmatic_example_runs_as_printed(model, tmp_path, monkeypatch):
    code = _programmatic_example()
    assert "from mesa_report" in code and "code." not in code
    monkeypatch.chdir(tmp_path)
    write_seed_store(tmp_path / r"C:\mesa", tmp_path / "mesa_final.csv")
    write_seed_checkpoint(tmp_path / "checkpoints_mesa" / "best_model.pth", model)
    cuda_fallback = pytest.warns(RuntimeWarning, match="CUDA")
    with cuda_fallback if not torch.cuda.is_available() else contextlib.nullcontext():
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    written = {p.name for p in (tmp_path / "attention_visualizations").iterdir()}
    assert {"attention_dashboard_sample_1.png", "epoch_attention_sample_1.png"} <= written
    assert any(n.startswith("channel_attention_sample_1_epoch_") for n in written)
    assert any(re.fullmatch(r"temporal_attention_sample_1_epoch_\d+_ch_\d\.png", n) for n in written)


def test_the_quick_start_takes_the_sample_flags(capsys, monkeypatch):
    import runpy

    monkeypatch.setattr("sys.argv", ["visualize_attention.py", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(REPO_ROOT / "visualize_attention.py"), run_name="__main__")
    text = capsys.readouterr().out
    assert done.value.code == 0 and "--subject" in text and "--samples" in text and "--num_samples" in text
