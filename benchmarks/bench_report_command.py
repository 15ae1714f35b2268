"""Seconds of the ``report`` command in a fresh process: one demo night's HTML and PDF, as a user runs it.

Each run is a new Python process, ``python -m mesa_report.cli report --subject N --force``, on the
built-in demo cohort with its night already inferred (the results cache), so a run is what the
command costs a user who asks again for a night's reports: imports, the model and the night, the
report's build, the HTML and the PDF, and the process's end. With ``--old COMMIT`` a copy of that
commit's tree runs before the working tree in every round, so old and new code meet the same
machine within seconds of each other (this host drifts by a fifth within an hour): compare the
medians of one run, and their ratio.

``--all`` reports on every night of the demo cohort instead (``--jobs N`` worker processes).

Run: ``python benchmarks/bench_report_command.py [--old COMMIT] [--rounds 5] [--format html pdf] [--all --jobs 2]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO_ROOT, machine, old_tree, print_table

TARGET_S = 6.0
"""Issue 19: the ``report`` command in a fresh process."""


def run_once(tree: Path, which: list[str], formats: list[str], output: Path) -> float:
    """Wall seconds of one fresh ``report`` process running the package of ``tree`` on the nights ``which``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "mesa_report.cli", "report", *which, "--force", "--quiet",
               "--output_dir", str(output), "--format", *formats]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=output, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the report command of {tree} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", metavar="COMMIT", help="also time this commit's code, before the working tree's")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each tree (default 5)")
    parser.add_argument("--subject", type=int, default=1, help="demo night (default 1)")
    parser.add_argument("--format", dest="formats", nargs="+", default=["html", "pdf"], help="formats (default both)")
    parser.add_argument("--all", action="store_true", help="every night of the demo cohort instead of one")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes with --all (default 1)")
    args = parser.parse_args()
    which = ["--all", "--jobs", str(args.jobs)] if args.all else ["--subject", str(args.subject)]
    print(f"Machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    with old_tree(args.old) if args.old else contextlib.nullcontext() as old, \
            tempfile.TemporaryDirectory(prefix="mesa-report-bench-") as folder:
        trees = {**({f"{args.old} (old)": old} if old else {}), "working tree": REPO_ROOT}
        run_once(REPO_ROOT, which, args.formats, Path(folder))  # the nights inferred and cached once
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                times[name].append(run_once(tree, which, args.formats, Path(folder)))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    rows = [[name, ", ".join(f"{t:.2f}" for t in runs), f"{medians[name]:.2f}",
             "–" if args.all else "yes" if medians[name] <= TARGET_S else "no"] for name, runs in times.items()]
    if old:
        first, last = medians.values()
        rows.append(["new / old", "", f"{last / first:.2f}", ""])
    print_table(f"`report {' '.join(which)} --force --format {' '.join(args.formats)}`, fresh process, "
                f"wall s (target {TARGET_S:g} s for one night)", ["code", "runs (in turn)", "median", "meets target"],
                rows)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
