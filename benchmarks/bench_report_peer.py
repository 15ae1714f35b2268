"""Our PDF report beside the same document drawn with matplotlib's ``PdfPages`` (issue 19's peer).

matplotlib is what a Python project would usually reach for to put a night's charts into a PDF,
so it is the peer the PDF report is measured against. The peer draws the same pages from the same
values: the summary, the hypnogram (scored, predicted, confidence) and the hypnodensity, the
agreement tables and the two confusion matrices, the night's statistics, transitions and epochs to
look at, then for every sample shown its inter-epoch attention with the stage strips and the
confidence, and for every epoch in detail its channel attention, the three temporal maps and the
EEG traces shaded by the attention each token receives; last the explanation tables and the
checkpoint. Both start from the same report model (:func:`build_report`), so what is timed is the
drawing: ours is :func:`render_pdf` (vl-convert, WeasyPrint, pikepdf), the peer this module's
:func:`peer_pdf` (its attention views are computed inside the timed call).

Warm: both drawn in turn in one process, ``--repeats`` times after one untimed round, medians.
Fresh: ``--fresh`` times each, a new Python process that imports what it needs, builds the report
model and writes the one PDF (the same inference and build in both: what differs is the drawing
stack's import and first-use costs).

Run: ``python benchmarks/bench_report_peer.py [--repeats 3] [--fresh 1] [--freeze] [--helpers]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, machine, print_table

A4_IN = (8.27, 11.69)


def _text_page(pdf, lines: list[tuple[str, float]]) -> None:
    """A page of text lines, each with its font size (a size above 11 is a heading, bold)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=A4_IN)
    y = 0.95
    for text, size in lines:
        fig.text(0.08, y, text, fontsize=size, weight="bold" if size > 11 else "normal", va="top")
        y -= size / 72 / A4_IN[1] * 1.6
    pdf.savefig(fig)
    plt.close(fig)


def _table(ax, rows: list[list[str]], header: list[str], title: str) -> None:
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=9, weight="bold")
    table = ax.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(7)


def _stage_steps(ax, stages: np.ndarray, names, label: str) -> None:
    from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR

    order = ["W", "REM", "N1", "N2", "N3", "N4", "?"]
    level = np.array([order.index(names[s]) if s >= 0 else len(order) - 1 for s in stages])
    x = np.arange(len(stages))
    ax.step(x, level, where="post", color="black", linewidth=0.6)
    for k, name in enumerate(order):
        mask = level == k
        ax.scatter(x[mask], level[mask], s=4, marker="s", color=STAGE_COLOURS.get(name, UNSCORED_COLOUR))
    ax.set_yticks(range(len(order)), order, fontsize=6)
    ax.invert_yaxis()
    ax.set_ylabel(label, fontsize=7, weight="bold")


def _night_page(pdf, report, result) -> None:
    import matplotlib.pyplot as plt
    from mesa_report.core.vocabulary import STAGE_COLOURS

    names = result.class_names
    fig, axes = plt.subplots(5, 1, figsize=A4_IN, gridspec_kw={"height_ratios": [2, 2, 1, 1.4, 3]})
    fig.suptitle("The night", x=0.08, ha="left", weight="bold")
    _stage_steps(axes[0], result.labels, names, "scored")
    _stage_steps(axes[1], result.pred, names, "predicted")
    wrong = (result.labels >= 0) & (result.labels != result.pred)
    axes[2].bar(np.arange(result.n_epochs), result.confidence, width=1.0,
                color=np.where(wrong, "#d6007e", "#b8c0c0"))
    axes[2].set_ylabel("confidence", fontsize=7, weight="bold")
    axes[3].stackplot(np.arange(result.n_epochs), result.probs.T,
                      colors=[STAGE_COLOURS.get(n, "#b0b0b0") for n in names], labels=names)
    axes[3].set_ylabel("probability", fontsize=7, weight="bold")
    axes[3].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    column_rows = [[c.title, f"{c.metrics.accuracy:.3f}", f"{c.metrics.macro_f1:.3f}", f"{c.metrics.kappa:.3f}",
                    str(c.metrics.n_epochs)] for c in report.agreement_columns]
    _table(axes[4], column_rows, ["classes", "accuracy", "macro-F1", "kappa", "epochs"], "Agreement with the scorer")
    for ax in axes[:4]:
        ax.tick_params(labelsize=6)
    pdf.savefig(fig)
    plt.close(fig)


def _heatmap(ax, values, title: str, labels=None, annotate: bool = False, cmap: str = "plasma") -> None:
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    ax.set_title(title, fontsize=7, loc="left", weight="bold")
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=5)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
    if annotate:
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.2f}" if isinstance(v, float) else str(v), ha="center", va="center", fontsize=5)
    ax.figure.colorbar(image, ax=ax, fraction=0.04)


def _agreement_page(pdf, report) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=A4_IN)
    for ax, column in zip(axes[0], report.agreement_columns):
        confusion = np.asarray(column.metrics.confusion)
        _heatmap(ax, confusion.tolist(), f"confusion, {column.title}", list(column.metrics.class_names),
                 annotate=True, cmap="Blues")
    stage_rows = [[row.name, str(row.support), str(row.predicted), *(f"{c.value:.3f}" for c in row.f1 if c.rowspan)]
                  for row in report.stage_rows]
    width = max(len(r) for r in stage_rows)
    _table(axes[1, 0], [r + [""] * (width - len(r)) for r in stage_rows],
           ["stage", "scored", "predicted", *(["F1"] * (width - 3))], "Per-stage F1")
    night = report.night
    if night is not None:
        _table(axes[1, 1], [[r.label, f"{r.scored:.1f}", f"{r.predicted:.1f}", f"{r.difference:+.1f}"]
                            for r in night.statistics], ["", "scored", "predicted", "difference"], "Sleep statistics")
        for ax, table in zip(axes[2], night.transitions):
            _table(ax, [[stage, *map(str, counts)] for stage, counts in zip(table.stages, table.counts)],
                   ["", *table.stages], table.title)
    pdf.savefig(fig)
    plt.close(fig)


def _epochs_page(pdf, report) -> None:
    import matplotlib.pyplot as plt

    night = report.night
    if night is None:
        return
    fig, axes = plt.subplots(2, 1, figsize=A4_IN)
    for ax, rows, title in ((axes[0], night.wrong, "Wrong predictions"),
                            (axes[1], night.least_confident, "Least confident")):
        _table(ax, [[str(r.epoch), str(r.sample), r.time, r.scored.name, r.predicted.name, f"{r.confidence:.2f}",
                     *(f"{p:.2f}" for p in r.probabilities)] for r in rows] or [["–"] * (6 + len(night.stages))],
               ["epoch", "sample", "time", "scored", "predicted", "confidence", *night.stages], title)
    pdf.savefig(fig)
    plt.close(fig)


def _sample_page(pdf, section, att, view) -> None:
    import matplotlib.pyplot as plt
    from mesa_report.core.vocabulary import STAGE_COLOURS, UNSCORED_COLOUR, stage_name

    names = tuple(att.class_names)
    first = att.first_epoch
    labels = [f"{first + i} {stage_name(t, names)}→{stage_name(p, names)}"
              for i, (t, p) in enumerate(zip(view.labels, view.pred))]
    fig, axes = plt.subplots(3, 1, figsize=A4_IN, gridspec_kw={"height_ratios": [6, 0.6, 1]})
    fig.suptitle(section.heading, x=0.08, ha="left", weight="bold")
    _heatmap(axes[0], np.asarray(att.epoch, dtype=float), f"inter-epoch attention · {att.detail}", labels)
    for row, stages in enumerate((view.labels, view.pred)):
        for i, s in enumerate(stages):
            name = stage_name(s, names)
            axes[1].add_patch(plt.Rectangle((i, row), 1, 1, color=STAGE_COLOURS.get(name, UNSCORED_COLOUR)))
            axes[1].text(i + 0.5, row + 0.5, name, ha="center", va="center", fontsize=5)
    axes[1].set_xlim(0, len(view.labels))
    axes[1].set_ylim(2, 0)
    axes[1].set_yticks([0.5, 1.5], ["scored", "predicted"], fontsize=6)
    axes[1].set_xticks([])
    axes[2].bar(np.arange(len(view.labels)), view.probs.max(axis=1), color="#555")
    axes[2].set_ylabel("confidence", fontsize=7)
    pdf.savefig(fig)
    plt.close(fig)


def _epoch_page(pdf, result, att, view, detail) -> None:
    import matplotlib.pyplot as plt
    from mesa_report.core.vocabulary import channel_label

    pos = detail.epoch - att.first_epoch
    channels = [channel_label(str(n)) for n in result.channel_names]
    fig = plt.figure(figsize=A4_IN)
    fig.suptitle(f"Epoch {detail.epoch}: scored {detail.scored}, predicted {detail.predicted}", x=0.08,
                 ha="left", weight="bold")
    grid = fig.add_gridspec(4 + 2 * len(channels), 4, height_ratios=[3, 0.3, 0.3, 0.3] + [2, 0.4] * len(channels))
    _heatmap(fig.add_subplot(grid[0, 0]), np.asarray(att.channel[pos], dtype=float), "channel attention",
             channels, annotate=True, cmap="YlOrRd")
    times = result.token_times
    for c, name in enumerate(channels):
        _heatmap(fig.add_subplot(grid[0, c + 1]), np.asarray(att.temporal[pos, c], dtype=float),
                 f"temporal attention {name}", cmap="viridis")
    received = att.received(pos)
    low, high = float(received.min()), float(received.max())
    cmap = plt.get_cmap("viridis")
    signals = view.features[pos]
    seconds = np.arange(signals.shape[-1]) / result.sfreq_hz
    for c, name in enumerate(channels):
        ax = fig.add_subplot(grid[4 + 2 * c, :])
        band = fig.add_subplot(grid[5 + 2 * c, :], sharex=ax)
        for k, (t0, t1) in enumerate(zip(times.start_s, times.end_s)):
            colour = cmap((received[c, k] - low) / (high - low or 1.0))
            ax.axvspan(t0, t1, color=colour, alpha=0.25, linewidth=0)
            band.axvspan(t0, t1, color=colour, linewidth=0)
        ax.plot(seconds, signals[c], color="black", linewidth=0.5)
        ax.set_ylabel(name, fontsize=7, weight="bold")
        ax.tick_params(labelsize=6)
        band.set_yticks([])
        band.tick_params(labelsize=6)
    band.set_xlabel("time in epoch (s)", fontsize=7)
    pdf.savefig(fig)
    plt.close(fig)


def peer_pdf(report, result, night) -> bytes:
    """The report's document drawn with matplotlib's ``PdfPages``, as PDF bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from mesa_report.explain.selection import choose_samples
    from mesa_report.explain.views import night_sample_views

    out = io.BytesIO()
    with PdfPages(out) as pdf:
        _text_page(pdf, [(report.title, 18), (f"Subject {report.subject}", 10)]
                   + [(f"{fact.label}: {fact.value}", 9) for fact in report.summary])
        _night_page(pdf, report, result)
        _agreement_page(pdf, report)
        _epochs_page(pdf, report)
        chosen = choose_samples(result, len(report.samples))
        for (index, _), section in zip(chosen, report.samples):
            att = night_sample_views(result, index)
            view = result.sample(index, night)
            _sample_page(pdf, section, att, view)
            for detail in section.epochs:
                _epoch_page(pdf, result, att, view, detail)
        lines = [("What the model relies on, and how far to trust it", 14)]
        if report.explanations is not None:
            lines += [(f"{row.stage}: " + ", ".join(f"{s:.0%}" for s in row.shares), 9)
                      for row in report.explanations.channel_rows]
            lines += [(f"{row.method}: drop {row.drop_top:.3f} vs {row.drop_random:.3f}, rho {row.sanity_rho:.2f}", 9)
                      for row in report.explanations.trust_rows]
        lines += [("Checkpoint and software", 14)] + [(f"{f.label}: {f.value}", 9) for f in report.checkpoint]
        _text_page(pdf, lines)
    return out.getvalue()


def _setup():
    """The demo night, its inference, the checkpoint summary and the model."""
    from bench_report import demo_sources
    from mesa_report.data.store import NightStore
    from mesa_report.inference.cohort import infer_night
    from mesa_report.model.checkpoint import checkpoint_summary, load_model

    checkpoint, preprocessed_dir, csv_path, _ = demo_sources(Path(tempfile.mkdtemp(prefix="bench-peer-")))
    store = NightStore(preprocessed_dir, csv_path)
    night = store.night(store.mesaids[0])
    model = load_model(checkpoint)
    return night, infer_night(model, night), checkpoint_summary(checkpoint), model


def once(which: str, path: Path) -> None:
    """A fresh process's one PDF (``--once``): the inference and the build, then one drawing."""
    from mesa_report.report.build import build_report

    night, result, summary, model = _setup()
    report = build_report(result, night=night, checkpoint=summary, model=model)
    if which == "ours":
        from mesa_report.report.document import render_pdf

        path.write_bytes(render_pdf(report))
    else:
        path.write_bytes(peer_pdf(report, result, night))


def _fresh(which: str, runs: int) -> tuple[float, int]:
    seconds, size = [], 0
    for _ in range(runs):
        target = Path(tempfile.mkdtemp(prefix="bench-peer-")) / f"{which}.pdf"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--once", which, str(target)], cwd=REPO_ROOT,
                              capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"the fresh {which} run failed:\n{done.stderr[-2000:]}")
        size = target.stat().st_size
    return statistics.median(seconds), size


def _warm_rounds(draw: dict, repeats: int, freeze: bool) -> tuple[dict, dict]:
    """Median wall and CPU seconds, and the size, of each drawing, timed in turn after one untimed round."""
    for fn in draw.values():  # one untimed round: first-use costs are the fresh rows' business
        fn()
    if freeze:
        from mesa_report.core.jobs import freeze_loaded_objects

        print(f"frozen: {freeze_loaded_objects():,} objects")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in draw}
    sizes = {}
    for _ in range(repeats):
        for name, fn in draw.items():
            wall, cpu = time.perf_counter(), time.process_time()
            sizes[name] = len(fn())
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    medians = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
               for name, runs in times.items()}
    return medians, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds in the warm process")
    parser.add_argument("--fresh", type=int, default=1, help="fresh processes of each (0: none)")
    parser.add_argument("--freeze", action="store_true",
                        help="freeze the loaded objects after the untimed round, as the report command and "
                             "the app's report worker do (both drawings gain)")
    parser.add_argument("--helpers", action="store_true",
                        help="also time ours made by two warm helper processes (render.pdf_workers), as the "
                             "report command makes it; its CPU column counts only the calling process")
    parser.add_argument("--once", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        once(args.once[0], Path(args.once[1]))
        return

    from mesa_report.report.build import build_report
    from mesa_report.report.document import render_pdf

    night, result, summary, model = _setup()
    report = build_report(result, night=night, checkpoint=summary, model=model)
    print(f"machine: {machine()}")
    peer_name = "matplotlib PdfPages"
    draw = {"ours (vl-convert + WeasyPrint + pikepdf)": lambda: render_pdf(report),
            peer_name: lambda: peer_pdf(report, result, night)}
    with contextlib.ExitStack() as stack:
        if args.helpers:
            from mesa_report.render.pdf_workers import PdfWorkers

            workers = stack.enter_context(PdfWorkers())
            draw["ours, two helper processes"] = lambda: render_pdf(report, workers=workers)
        medians, sizes = _warm_rounds(draw, args.repeats, args.freeze)
    peer = medians[peer_name]
    elsewhere = {name for name in medians if "helper" in name}  # its CPU is spent in other processes
    rows = [[name, wall, "–" if name in elsewhere else cpu, f"{sizes[name] / 1e6:.2f} MB"]
            for name, (wall, cpu) in medians.items()]
    rows += [[f"{name.split(' (')[0]} / matplotlib", f"{wall / peer[0]:.2f}",
              "–" if name in elsewhere else f"{cpu / peer[1]:.2f}", ""]
             for name, (wall, cpu) in medians.items() if name != peer_name]
    print_table(f"The night's PDF drawn from the report model, warm process, median of {args.repeats}",
                ["drawing", "wall s", "CPU s", "size"], rows)
    if args.fresh > 0:
        fresh = {"ours": _fresh("ours", args.fresh), "matplotlib": _fresh("matplotlib", args.fresh)}
        rows = [[name, wall, f"{size / 1e6:.2f} MB"] for name, (wall, size) in fresh.items()]
        rows.append(["ours / matplotlib", f"{fresh['ours'][0] / fresh['matplotlib'][0]:.2f}", ""])
        print_table(f"Fresh process (imports, inference, build, one PDF), median of {args.fresh}",
                    ["drawing", "wall s", "size"], rows)


if __name__ == "__main__":
    main()
