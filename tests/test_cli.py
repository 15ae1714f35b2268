"""The command line's dispatch: help, unknown commands, and what a start imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mesa_report.cli.main import COMMANDS

PROBE = """
import sys
from pathlib import Path
from mesa_report.cli.main import main
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
heavy = sorted(name for name in ("torch", "weasyprint", "altair", "sklearn") if name in sys.modules)
print("HEAVY", ",".join(heavy), "CODE", code)
"""


def run_cli(*argv: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=list(argv))], capture_output=True,
                          text=True, timeout=120)
    return done.stdout, done.stderr


def test_top_level_help_lists_every_command_without_importing_them():
    out, _ = run_cli("--help")
    for name, help_text in COMMANDS.items():
        assert name in out and help_text.split()[0] in out
    assert "HEAVY  CODE 0" in out  # neither torch nor WeasyPrint was imported to say it


def test_an_unknown_command_is_named_with_the_choices():
    out, err = run_cli("reprot")
    assert "invalid choice: 'reprot'" in err and "report" in err and "CODE 2" in out


def test_a_command_defines_its_own_options():
    out, _ = run_cli("demo", "--help")
    assert "usage: mesa-report demo" in out and "CODE 0" in out
    out, _ = run_cli("report", "--help")
    assert "--pdf_variant" in out and "--jobs" in out and "HEAVY  CODE 0" in out  # its help imports no renderer


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
