"""Killing a command at a chosen point of its work, whatever the machine's speed.

:func:`run_until_call` starts ``mesa-report`` in a child process with one function wrapped: its
``nth`` call runs as usual, then the child prints :data:`MARKER` and blocks for good. The test
waits for that line (an event, not a clock), kills the child with no clean-up of any kind, and
knows exactly how far the command got.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from .helpers import REPO_ROOT

MARKER = "mesa-report-test: barrier reached"
"""The line the child prints when the wrapped function's chosen call has returned."""

SAFETY_NET_S = 900
"""Longest wait for the marker; it only stops a hung child from hanging the suite."""

_CHILD = f"""
import importlib, sys, threading
target, nth = sys.argv[1], int(sys.argv[2])
module_name, _, qualname = target.partition(":")
owner = importlib.import_module(module_name)
*parents, name = qualname.split(".")
for parent in parents:
    owner = getattr(owner, parent)
real = getattr(owner, name)
calls = [0]
def barrier(*args, **kwargs):
    value = real(*args, **kwargs)
    calls[0] += 1
    if calls[0] == nth:
        print({MARKER!r}, flush=True)
        threading.Event().wait()  # until the test kills this process
    return value
setattr(owner, name, barrier)
from mesa_report.cli.main import main
sys.exit(main(sys.argv[3:]))
"""

def run_until_call(target: str, nth: int, argv: list[str], log: Path, env: dict | None = None) -> bool:
    """Run ``mesa-report argv`` until the ``nth`` call of ``target`` has returned, then kill it.

    Parameters
    ----------
    target : str
        ``"module:attribute"``, e.g. ``"mesa_report.inference.results:ResultCache.put"`` or
        ``"os:fsync"`` (called by every atomic write just before its file takes the final name).
    nth : int
        The call after which the child stops (1 = the first).
    argv : list of str
        The command line after ``mesa-report``.
    log : Path
        File for the child's stderr (read back in the failure message).
    env : dict, optional
        Environment of the child (default: this one); the repository goes first on its path.

    Returns
    -------
    bool
        True when the child reached the call and was killed there; False when it ended first.
    """
    env = {**(os.environ if env is None else env)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(log, "w", encoding="utf-8") as err:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, target, str(nth), *argv], env=env,
                                 stdout=subprocess.PIPE, stderr=err, text=True)
        reached = threading.Event()

        def watch() -> None:
            for line in child.stdout:
                if line.strip() == MARKER:
                    reached.set()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        watcher.join(SAFETY_NET_S)  # returns at the marker or when the child's output ends
        child.kill()  # SIGKILL on POSIX: no clean-up of any kind
        child.wait()
        child.stdout.close()
    return reached.is_set()
