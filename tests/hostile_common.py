"""What the tests of hostile share: fixtures and helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from mesa_report.data.index_csv import write_index
from mesa_report.data.night_ids import night_filename, sidecar_filename

from .helpers import REPO_ROOT

try:
    import resource
except ImportError:  # Windows
    resource = None

EEG3 = ("EEG1", "EEG2", "EEG3")


LIMIT_PRELUDE = """
import os, resource, sys
from pathlib import Path
import numpy, torch  # their own mappings are in place before the limit is set

def limit_memory(extra_bytes):
    # Address space: what is mapped now plus extra_bytes (Linux; elsewhere no limit is set).
    statm = Path("/proc/self/statm")
    if statm.exists():
        used = int(statm.read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (used + extra_bytes, used + extra_bytes))
"""


def run_limited(code: str, *args):
    """Run ``code`` in a fresh interpreter (repository root) that has ``limit_memory(bytes)``."""
    if resource is None:
        pytest.skip("no resource module on this platform")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", LIMIT_PRELUDE + code, *map(str, args)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def store_with(tmp_path, content, sidecar: dict | None = None):
    path = tmp_path / night_filename(1)
    torch.save(content, path)
    if sidecar is not None:
        (tmp_path / sidecar_filename(1)).write_text(json.dumps(sidecar))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0"}])
    return path
