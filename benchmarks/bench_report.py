"""Seconds per subject report: HTML and PDF of one demo night, and ``report --all`` on the cohort.

One night of the built-in demo cohort (8 nights of 4 h, 480 epochs each) is staged by the demo
checkpoint (or, while it is not installed, by a seed-sized model with fixed random weights: the
drawing cost does not depend on the weights). The report of that night is then built and rendered
``--repeats`` times; each step is timed apart, wall-clock and CPU seconds (all threads of the
process; on a shared machine the steadier measure). One-off start-up costs of a process (the Vega
bundle for the HTML, vl-convert's JavaScript engine, WeasyPrint's fonts) are reported apart.
Last, ``mesa-report report --all --jobs 2`` runs in a fresh process on the whole cohort (HTML and
PDF, ``--force``), start-up included.

Run: ``python benchmarks/bench_report.py [--repeats 3] [--jobs 2] [--skip-all]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import REPO_ROOT, machine, print_table


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """Result, wall seconds and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def demo_sources(cache: Path) -> tuple[Path, Path, Path, str]:
    """Checkpoint, store folder, index CSV and what the checkpoint is."""
    from mesa_report import demo
    from mesa_report.app.sources import untrained_checkpoint

    store = demo.demo_store(progress=True)
    if demo.DEMO_CHECKPOINT.is_file():
        return demo.DEMO_CHECKPOINT, store.preprocessed_dir, store.csv_path, "demo checkpoint"
    return (untrained_checkpoint(cache), store.preprocessed_dir, store.csv_path,
            "seed-sized model with random weights (demo checkpoint not installed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each step")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the cohort run")
    parser.add_argument("--skip-all", action="store_true", help="leave out the cohort run")
    args = parser.parse_args()

    from mesa_report.model.checkpoint import checkpoint_summary, load_model
    from mesa_report.inference.cohort import infer_night
    from mesa_report.render.pdf_charts import chart_pdfs
    from mesa_report.render.vega import render_spec, vega_javascript
    from mesa_report.report.build import build_report
    from mesa_report.report.document import render_html, render_pdf
    from mesa_report.data.store import NightStore

    cache = Path(tempfile.mkdtemp(prefix="bench-report-"))
    checkpoint, preprocessed_dir, csv_path, what = demo_sources(cache)
    store = NightStore(preprocessed_dir, csv_path)
    night = store.night(store.mesaids[0])
    model = load_model(checkpoint)
    summary = checkpoint_summary(checkpoint)
    print(f"machine: {machine()}")
    print(f"model: {what}; night {night.mesaid}: {night.n_epochs} epochs")

    result, infer_wall, infer_cpu = timed(lambda: infer_night(model, night))
    first = build_report(result, night=night, checkpoint=summary, model=model)
    _, bundle_wall, bundle_cpu = timed(vega_javascript)
    _, engine_wall, engine_cpu = timed(lambda: render_spec(first.confusion[0].spec, "svg"))
    _, warm_wall, warm_cpu = timed(lambda: render_pdf(build_report(result, n_samples=0)))
    print_table("One-off start-up costs of a process", ["step", "wall s", "CPU s"], [
        ["Vega bundle (HTML)", bundle_wall, bundle_cpu],
        ["vl-convert engine (first chart)", engine_wall, engine_cpu],
        ["first small PDF (WeasyPrint fonts)", warm_wall, warm_cpu],
    ])

    # HTML runs first and apart, as `report --format html` does: a build right after a PDF was
    # measured a third slower (0.96 s against 0.72 s), the PDF's renderers still settling.
    steps: dict[str, list[tuple[float, float]]] = {"build": [], "html": [], "pdf": [], "charts": []}
    sizes = {}
    for _ in range(args.repeats):
        # as the report command and the app build it: the model measures its own explanations
        report, wall, cpu = timed(lambda: build_report(result, night=night, checkpoint=summary, model=model))
        steps["build"].append((wall, cpu))
        page, wall, cpu = timed(lambda: render_html(report))
        steps["html"].append((wall, cpu))
        sizes["html"] = len(page.encode("utf-8"))
    for _ in range(args.repeats):
        pdf, wall, cpu = timed(lambda: render_pdf(report))
        steps["pdf"].append((wall, cpu))
        sizes["pdf"] = len(pdf)
        _, wall, cpu = timed(lambda: chart_pdfs({figure.key: figure.spec for figure in report.figures}))
        steps["charts"].append((wall, cpu))

    def median(name: str, index: int) -> float:
        return statistics.median(run[index] for run in steps[name])

    rows = [["inference (once)", infer_wall, infer_cpu, ""]]
    names = {"build": "build the report model (explanation section included)", "html": "render HTML", "pdf": "render PDF",
             "charts": f"of which: {len(report.figures)} charts as PDF pages (vl-convert)"}
    rows += [[label, median(name, 0), median(name, 1), ""] for name, label in names.items()]
    rows += [["HTML report = build + html", median("build", 0) + median("html", 0),
              median("build", 1) + median("html", 1), f"{sizes['html'] / 1e6:.2f} MB"],
             ["PDF report = build + pdf", median("build", 0) + median("pdf", 0),
              median("build", 1) + median("pdf", 1), f"{sizes['pdf'] / 1e6:.2f} MB"]]
    print_table(f"One night ({night.n_epochs} epochs, {len(report.samples)} samples in detail), "
                f"median of {args.repeats}", ["step", "wall s", "CPU s", "size"], rows)

    if args.skip_all:
        return
    out = cache / "reports"
    command = [sys.executable, "-m", "mesa_report.cli.main", "report", "--all", "--jobs", str(args.jobs),
               "--force", "--quiet", "--output_dir", str(out), "--checkpoint_path", str(checkpoint),
               "--preprocessed_dir", str(preprocessed_dir), "--csv_path", str(csv_path)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"report --all failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    n = len(store.mesaids)
    print_table(f"report --all --jobs {args.jobs} (HTML + PDF, fresh process)",
                ["nights", "wall s", "s per night"], [[n, elapsed, elapsed / n]])


if __name__ == "__main__":
    main()
