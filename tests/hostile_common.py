"""What the hostile-input tests share: a memory-limited child process, an EDF's channel names, a one-night store."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from mesa_report.core.jobs import plain_main
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


def _run_code(code: str, argv: list[str], out_path: str, err_path: str) -> None:
    """In a child of the fork server: run ``code`` as ``python -c`` would, its output into two files."""
    out = os.open(out_path, os.O_WRONLY)
    err = os.open(err_path, os.O_WRONLY)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = os.fdopen(1, "w", closefd=False)
    sys.stderr = os.fdopen(2, "w", closefd=False)
    sys.argv = ["-c", *argv]
    os.chdir(REPO_ROOT)
    try:
        exec(compile(LIMIT_PRELUDE + code, "<limited>", "exec"), {"__name__": "__main__"})
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _fork_server():
    """Children forked from one server that has imported numpy and torch (started once per test process).

    A fresh interpreter per case paid torch's import each time (about 3 s); a fork of the server
    starts with both mapped, which is what ``limit_memory`` measures from, as before.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["numpy", "torch"])
    return context


def run_limited(code: str, *args):
    """Run ``code`` in a fresh process (repository root) that has ``limit_memory(bytes)``.

    Returns a :class:`subprocess.CompletedProcess` with the child's exit code, stdout and stderr.
    """
    if resource is None or "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no resource module or fork server on this platform")
    with tempfile.TemporaryDirectory() as folder:
        out_path, err_path = (os.path.join(folder, name) for name in ("out.txt", "err.txt"))
        for path in (out_path, err_path):
            open(path, "w").close()
        child = _fork_server().Process(target=_run_code, args=(code, list(map(str, args)), out_path, err_path))
        with plain_main():  # the child must not re-run this process's __main__ (pytest's, or an app's)
            child.start()
        child.join(timeout=300)
        if child.is_alive():
            child.kill()
            child.join()
        with open(out_path) as out, open(err_path) as err:
            return subprocess.CompletedProcess(["<limited>", *args], child.exitcode, out.read(), err.read())


def refusal_under_limit(imports: str, call: str, error: str, path, limit_bytes: int) -> str:
    """The message of the ``error`` that ``call`` (``sys.argv[1]`` is ``path``) raises under a memory limit.

    Fails the test if the child dies (out of memory, a crash) or its message does not name ``path``.
    """
    code = (f"{imports}\nfrom mesa_report.core.errors import {error}\nlimit_memory({limit_bytes})\n"
            f"try:\n    {call}\nexcept {error} as exc:\n    print(exc)\n")
    out = run_limited(code, path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout, out.stdout
    return out.stdout


def store_with(tmp_path, content, sidecar: dict | None = None):
    path = tmp_path / night_filename(1)
    torch.save(content, path)
    if sidecar is not None:
        (tmp_path / sidecar_filename(1)).write_text(json.dumps(sidecar))
    write_index(tmp_path, [{"mesaid": 1, "sleep_stages": "0"}])
    return path
