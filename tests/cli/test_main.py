"""The command line's dispatcher (mesa_report.cli.main): help, unknown commands, and messages that name real options."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from mesa_report.cli.main import COMMANDS
from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import EPOCH_SAMPLES as E
from mesa_report.data.store import NightStore

from ..helpers import REPO_ROOT
from ..hostile_common import store_with


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


def test_no_message_suggests_an_option_no_command_accepts(tmp_path):
    store_with(tmp_path, torch.zeros(4, 2 * E), sidecar={"sfreq_hz": 256})
    with pytest.raises(ConfigError) as info:
        NightStore(tmp_path, sfreq_hz=128.0).night(1)
    assert "target_fs" not in str(info.value) and "256" in str(info.value)
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "mesa_report").rglob("*.py"))
    assert "target_fs=" not in re.sub(r"target_fs=(cfg\.|target_fs)", "", sources)


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
