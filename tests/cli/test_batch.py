"""``mesa-report batch``'s options: errors name the fix."""

from __future__ import annotations

import sys

from mesa_report.cli.main import main


def test_option_errors_name_the_fix(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    base = ["batch", "--checkpoint_path", str(tiny_checkpoint), "--preprocessed_dir", str(tmp_path), "--all"]
    assert main([*base, "--ray_address", "auto"]) == 2
    assert "--engine ray" in capsys.readouterr().err
    assert main([*base, "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main([*base, "--engine", "ray"]) == 2
    assert 'pip install "ray[default]"' in capsys.readouterr().err
