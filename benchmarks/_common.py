"""Small helpers shared by the benchmarks: timing, a machine description, table printing."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as `python benchmarks/bench_x.py` from anywhere
    sys.path.insert(0, str(REPO_ROOT))


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"
    try:
        import torch

        text += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
        if torch.cuda.is_available():
            text += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return text


def timeit(fn: Callable[[], object], *, min_seconds: float = 2.0, warmup: int = 1, repeats: int = 3) -> float:
    """Median seconds per call over ``repeats`` rounds of at least ``min_seconds`` each."""
    for _ in range(warmup):
        fn()
    rounds = []
    for _ in range(repeats):
        calls, started = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds / repeats:
                break
        rounds.append(elapsed / calls)
    return statistics.median(rounds)


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """A Markdown table (ready to paste into BENCHMARKS.md)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(f"{v:,.0f}" if isinstance(v, float) and v >= 100 else
                                 f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")


@contextlib.contextmanager
def old_tree(commit: str) -> Iterator[Path]:
    """A temporary copy of ``commit``'s whole tree (``git archive``): old code to time beside the new."""
    tree = subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO_ROOT, check=True,
                          capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="mesa-report-old-") as folder:
        with tarfile.open(fileobj=io.BytesIO(tree)) as archive:
            archive.extractall(folder, filter="data")
        yield Path(folder)
