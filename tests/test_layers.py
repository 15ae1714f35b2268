"""The layering contract in pyproject.toml: kept by the package, broken by an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                              "sys.exit(lint_imports_command())"]


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*LINT, "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": ""}, capture_output=True, text=True,
                          timeout=120)


def _copy_package(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "mesa_report", root / "mesa_report",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pth", "templates"))
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_package_keeps_its_layers():
    result = _lint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("lower, higher", [
    ("core/errors.py", "mesa_report.app.state"),
    ("data/store.py", "mesa_report.model.network"),
    ("inference/night.py", "mesa_report.explain.methods"),
    ("charts/heatmaps.py", "mesa_report.report.options"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, lower, higher):
    root = _copy_package(tmp_path)
    assert _lint(root).returncode == 0  # the untouched copy keeps it
    module = root / "mesa_report" / lower
    module.write_text(module.read_text() + f"\nimport {higher}  # upward, on purpose\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    importer = "mesa_report." + lower.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {higher}" in result.stdout
