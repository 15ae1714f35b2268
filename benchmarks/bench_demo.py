"""Benchmark of the demo cohort: what it keeps on disk, and its build from an empty cache folder.

1. **Build**: ``mesa-report demo`` in a fresh process into an empty cache folder: wall seconds of the
   whole command (Python start and imports included), its CPU seconds, the build's own seconds (from
   the cohort's marker), and the load average before. ``--sources`` runs the same command from other
   checkouts in turn (e.g. an older commit extracted with ``git archive``), so old and new code meet the
   same load.
2. **On disk**: the cohort's bytes by part (stored nights, sidecars, events, index, EDF/XML, other).
3. **First page** (``--first-page``): a fresh process runs each checkout's app once
   (``streamlit.testing``, no browser) with another empty cache folder: the cohort's build, the model,
   the first night's inference and the whole page, server side; the build's own seconds beside it.
4. **Half precision** (``--check``): the default cohort's recordings exported, preprocessed in float32,
   and both stores through the demo model: epochs whose stage changes (it must be none), the largest
   probability and sample differences, and the share of probabilities and of samples that read
   differently at 3 decimals (as the hypnodensity's and the traces' tooltips show them).

Targets (issue 19): at most 150 MB on disk for the default cohort (8 nights of 4 h); at most 30 s from
an empty cache folder to the first page. Run from the repository root::

    python benchmarks/bench_demo.py [--rounds 1] [--sources . /tmp/old] [--first-page] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO_ROOT, machine, print_table

DISK_TARGET_MB = 150.0
FIRST_PAGE_TARGET_S = 30.0

PARTS = {"stored nights (.pt)": "*_preprocessed.pt", "sidecars (.json)": "*_preprocessed.json",
         "events (.csv)": "*_events.csv", "index (.csv)": "mesa_final.csv", "EDF": "*.edf", "XML": "*.xml"}
"""Parts of a cohort folder, by file name pattern."""

FIRST_PAGE_CHILD = """
import time
started = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({script!r}, default_timeout=900).run()
if at.exception:
    raise SystemExit(f"the app failed: {{at.exception[0].message}}")
print(f"{{time.perf_counter() - started:.2f}}")
"""


def _cpu_children_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build_once(source: Path, cache: Path) -> dict[str, float]:
    """``mesa-report demo`` from ``source`` into the empty ``cache``: wall, CPU and build seconds."""
    load = os.getloadavg()[0]
    cpu, started = _cpu_children_s(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "mesa_report.cli", "demo", "--cache_dir", str(cache), "--quiet"],
                   cwd=source, check=True, stdout=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - started, _cpu_children_s() - cpu
    marker = json.loads(next(cache.glob("demo-v*/demo.json")).read_text())
    return {"wall_s": wall, "cpu_s": cpu, "build_s": marker["build_seconds"], "load": load}


def sizes_by_part(root: Path) -> dict[str, int]:
    """Bytes of each part of a cohort folder (every file counted once)."""
    files = {path for path in root.rglob("*") if path.is_file()}
    out = {}
    for part, pattern in PARTS.items():
        matched = {path for path in files if path.match(pattern)}
        out[part] = sum(path.stat().st_size for path in matched)
        files -= matched
    out["other"] = sum(path.stat().st_size for path in files)
    return out


def first_page(source: Path, cache: Path) -> dict[str, float]:
    """Seconds from a fresh process to ``source``'s first page, the cohort built into ``cache`` first."""
    env = dict(os.environ, MESA_REPORT_CACHE_DIR=str(cache))
    env.pop("MESA_REPORT_DEMO_SIZE", None)
    code = FIRST_PAGE_CHILD.format(script=str(source / "streamlit_app.py"))
    load, started = os.getloadavg()[0], time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=source, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    marker = json.loads(next(cache.glob("demo-v*/demo.json")).read_text())
    return {"wall_s": time.perf_counter() - started, "build_s": marker["build_seconds"], "load": load}


def half_precision_check(store_dir: Path, folder: Path) -> list[list[object]]:
    """The demo store against the same nights preprocessed in float32, through the demo model."""
    import numpy as np

    from mesa_report.data.ingest import preprocess
    from mesa_report.data.store import NightStore
    from mesa_report.demo import DEMO_CHECKPOINT
    from mesa_report.demo.build import export_recordings
    from mesa_report.inference.cohort import infer_cohort
    from mesa_report.model.checkpoint import load_model

    kept = NightStore(store_dir)
    hours = kept.night(kept.mesaids[0]).n_epochs * kept.epoch_seconds / 3600
    export_recordings(folder / "edf", kept.mesaids, hours)
    preprocess(folder / "edf", folder / "float32", progress=False)
    full = NightStore(folder / "float32")
    model = load_model(DEMO_CHECKPOINT)
    ours = {r.mesaid: r.stored for r in infer_cohort(model, list(kept))}
    theirs = {r.mesaid: r.stored for r in infer_cohort(model, list(full))}
    epochs = changed = prob_text = prob_count = sample_text = sample_count = 0
    prob_gap = sample_gap = 0.0
    for mesaid in kept.mesaids:
        a, b = ours[mesaid], theirs[mesaid]
        epochs += len(a.pred)
        changed += int((a.pred != b.pred).sum())
        prob_gap = max(prob_gap, float(np.abs(a.probs - b.probs).max()))
        prob_text += int((a.probs.round(3) != b.probs.round(3)).sum())
        prob_count += a.probs.size
        x = kept.night(mesaid).signal[:3].float().numpy()
        y = full.night(mesaid).signal[:3].numpy()
        sample_gap = max(sample_gap, float(np.abs(x - y).max()))
        sample_text += int((x.round(3) != y.round(3)).sum())
        sample_count += x.size
    return [["epochs whose stage changes", f"{changed} of {epochs}"],
            ["largest probability difference", f"{prob_gap:.1e}"],
            ["probabilities that read differently at 3 decimals", f"{100 * prob_text / prob_count:.2f} %"],
            ["largest sample difference (IQR units, EEG)", f"{sample_gap:.1e}"],
            ["samples that read differently at 3 decimals (EEG)", f"{100 * sample_text / sample_count:.1f} %"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="builds per source (default 1)")
    parser.add_argument("--sources", type=Path, nargs="+", default=[REPO_ROOT],
                        help="checkouts whose `mesa-report demo` is timed in turn (default: this one)")
    parser.add_argument("--first-page", action="store_true", help="also time the app's first page from an empty cache")
    parser.add_argument("--check", action="store_true", help="also compare the stored nights with float32 ones")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        rows, sizes, stores = [], {}, {}
        for k in range(args.rounds):
            for source in args.sources:
                cache = Path(tmp) / f"cache-{len(rows)}"
                timing = build_once(source.resolve(), cache)
                stores[source.resolve()] = next(cache.glob("demo-v*"))
                sizes[source] = sizes_by_part(stores[source.resolve()])
                rows.append([str(source), f"{timing['load']:.1f}", f"{timing['wall_s']:.1f}",
                             f"{timing['cpu_s']:.1f}", f"{timing['build_s']:.1f}",
                             f"{sum(sizes[source].values()) / 1e6:.1f}"])
        print_table(f"Demo cohort from an empty cache folder ({machine()})",
                    ["checkout", "load before", "wall s", "CPU s", "build s", "MB on disk"], rows)
        for source, parts in sizes.items():
            print_table(f"On disk by part: {source} (target {DISK_TARGET_MB:g} MB in all)", ["part", "MB"],
                        [[part, f"{size / 1e6:.1f}"] for part, size in parts.items()]
                        + [["all", f"{sum(parts.values()) / 1e6:.1f}"]])
        if args.first_page:
            pages = []
            for k in range(args.rounds):
                for source in args.sources:
                    timing = first_page(source.resolve(), Path(tmp) / f"first-page-{len(pages)}")
                    pages.append([str(source), f"{timing['load']:.1f}", f"{timing['wall_s']:.1f}",
                                  f"{timing['build_s']:.1f}", f"{FIRST_PAGE_TARGET_S:g}"])
            print_table("From an empty cache folder to the app's first page (server side, no browser)",
                        ["checkout", "load before", "seconds", "of which build s", "target s"], pages)
        if args.check:  # on this checkout's cohort
            if REPO_ROOT not in stores:
                build_once(REPO_ROOT, Path(tmp) / "cache-check")
                stores[REPO_ROOT] = next((Path(tmp) / "cache-check").glob("demo-v*"))
            store = stores[REPO_ROOT]
            print_table("Half precision against float32, the demo model on the whole cohort", ["measure", "value"],
                        half_precision_check(store / "preprocessed", Path(tmp) / "check"))


if __name__ == "__main__":
    main()
