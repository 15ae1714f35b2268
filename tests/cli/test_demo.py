"""The command line's dispatch: help, unknown commands, and what a start imports."""

from __future__ import annotations

from pathlib import Path


def test_demo_says_where_the_cohort_and_the_model_live(tmp_path, capsys):
    from mesa_report.cli.main import main
    from mesa_report.demo import DEMO_CHECKPOINT

    assert main(["demo", "--cache_dir", str(tmp_path), "--nights", "2", "--hours", "0.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 nights of 0.5 h (subjects 1, 2)" in out
    store = next(line for line in out.splitlines() if "preprocessed:" in line).split(":", 1)[1].strip()
    assert sorted(p.name for p in Path(store).glob("*_preprocessed.pt")) == [
        "mesa-sleep-0001_preprocessed.pt", "mesa-sleep-0002_preprocessed.pt"]
    assert str(DEMO_CHECKPOINT) in out
