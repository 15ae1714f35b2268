"""Benchmark of the Streamlit app on the demo cohort: a Next click and opening a new night.

1. **Next click, whole page**: server-side seconds of one script run after clicking Next, measured
   with ``streamlit.testing`` (the script runs in this process; no browser). This reruns the whole
   page, so it is an upper bound of what a browser's click costs.
2. **In a browser** (``_browser.py``): the app served as ``make app`` serves it, driven by headless
   Chromium, each figure ending when the page's charts stop changing: the first page after the
   server answers (and from the server's start: ``make app`` begins the first page's work while
   the server starts, :mod:`mesa_report.app.serve`), a new session on a warm server, a Next click
   until the charts are redrawn (with the page's main-thread work for it, and split into the
   server's run, read on the websocket, and when each chart last changed), and the wait after a
   click on the HTML and PDF report buttons (right after the first page, and later, when reports
   built in the background are ready).
3. **Opening a new night**: the night selector is switched to a night not opened before, so its
   inference (with every attention map) runs, then the whole page is drawn.

Targets (issues 8 and 19): a Next click at most 150 ms on the server and 300 ms in the browser, a new
night at most 3 s, the first page 4 s, a new session 1.5 s, a download 1 s once ready, on this machine.
Run from the repository root (the first run builds the demo cohort, about a minute)::

    python benchmarks/bench_app.py [--clicks 10] [--servers 2] [--sessions 3] [--no-browser] [--no-apptest]

Old and new code in turn, in the same spell of the machine (``--old`` times a temporary copy of a
commit's tree first in each round; ``--rounds 2`` alternates them twice)::

    python benchmarks/bench_app.py --old 468b8f6 --no-apptest --no-downloads --servers 1 --sessions 3 --clicks 8 --rounds 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

from _common import REPO_ROOT, machine, old_tree, print_table

NEXT_TARGET_S = 0.150
NIGHT_TARGET_S = 3.0


def _timed_run(at) -> float:
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"the app failed: {at.exception[0].message}")
    return elapsed


def app_test_timings(clicks: int) -> dict[str, list[float]]:
    """Seconds of the first page, of each Next click and of each new night (whole-page runs)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=600)
    first = _timed_run(at)
    nights = list(at.selectbox(key="subject").options)
    steps = []
    for _ in range(clicks):
        if at.button(key="next").disabled:
            at.button(key="previous").click()
        else:
            at.button(key="next").click()
        steps.append(_timed_run(at))
    opens = []
    for night in nights[1:]:
        at.selectbox(key="subject").set_value(int(night.split("-")[-1]) if isinstance(night, str) else night)
        opens.append(_timed_run(at))
    return {"first page": [first], "Next click (whole page)": steps, "new night": opens}


def browser_timings(clicks: int, servers: int, sessions: int, script: Path,
                    downloads: bool = True) -> dict[str, list[float]]:
    """Seconds a user waits in headless Chromium (see ``_browser``): first page, new session, Next, downloads.

    Each of ``servers`` fresh servers of ``script`` shows its first page; on the first one the
    report buttons are clicked right after that page (the first-use wait; each click waits until
    its report is whole, so they are ready afterwards), then ``sessions`` new sessions open, Next is
    clicked ``clicks`` times, and the buttons are clicked again (the wait once a report is ready).
    Without ``downloads`` the buttons are left alone.
    """
    from _browser import Browser, MainThreadClock, download_s, next_click_s

    from mesa_report.app.server import PAGE_CHARTS, serve_app

    out: dict[str, list[float]] = {name: [] for name in BROWSER_MEASURES}

    def note(name: str, seconds: float) -> None:
        out.setdefault(name, []).append(seconds)
        print(f"  {script.name}: {name}: {seconds:.2f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)

    with Browser() as browser:
        for k in range(servers):
            started = time.perf_counter()
            with serve_app(ready_timeout_s=600, script=script) as url:
                page, seconds = browser.open(url, PAGE_CHARTS)
                note("first page (browser)", seconds)
                note("server start to first page (browser)", time.perf_counter() - started)
                note("first page: server run(s), websocket", sum(page.run_timer.durations_s))
                if k:
                    page.context.close()
                    continue
                for fmt in ("HTML", "PDF") if downloads else ():
                    note(f"{fmt} download right after the first page", download_s(page, f"{fmt} report")[0])
                for _ in range(sessions):
                    other, seconds = browser.open(url, PAGE_CHARTS)
                    note("new session, warm server (browser)", seconds)
                    note("new session: server run(s), websocket", sum(other.run_timer.durations_s))
                    other.context.close()
                clock = MainThreadClock(page)
                for _ in range(clicks):
                    runs, worked = len(page.run_timer.durations_s), clock.seconds()
                    seconds, each = next_click_s(page, "Next ▶", PAGE_CHARTS)
                    note("Next click to charts redrawn (browser)", seconds)
                    out.setdefault("Next: the page's main-thread work (until 0.8 s after)", []).append(
                        clock.seconds() - worked)
                    _note_click_parts(out, page.run_timer.durations_s[runs:], each)
                for fmt in ("HTML", "PDF") if downloads else ():
                    note(f"{fmt} download once ready", download_s(page, f"{fmt} report")[0])
                page.context.close()
    return out


PAGE_CHART_NAMES = ("confusion", "hypnogram", "hypnodensity", "inter-epoch", "channel", "temporal", "traces")
"""The page's charts in page order (``mesa_report.app.server.PAGE_CHARTS`` of them)."""


def _note_click_parts(out: dict[str, list[float]], runs_s: list[float], each: list[float | None]) -> None:
    """Where a Next click's time went: the server's run(s) read on the websocket, and each chart.

    A chart's row holds only the clicks that changed it (its ``runs``: how many did).
    """
    out.setdefault("Next: server run(s), websocket", []).append(sum(runs_s))
    for name, seconds in zip(PAGE_CHART_NAMES, each):
        if seconds is not None:
            out.setdefault(f"Next: {name} chart's last change", []).append(seconds)


BROWSER_MEASURES = ("first page (browser)", "server start to first page (browser)",
                    "new session, warm server (browser)", "Next click to charts redrawn (browser)",
                    "HTML download right after the first page",
                    "PDF download right after the first page", "HTML download once ready",
                    "PDF download once ready")
"""The browser's rows of the table, in order."""

BROWSER_TARGETS_S = {"first page (browser)": 4.0, "new session, warm server (browser)": 1.5,
                     "Next click to charts redrawn (browser)": 0.300, "HTML download once ready": 1.0,
                     "PDF download once ready": 1.0}
"""Targets of issue 19 (a download: at most 1 s once the night's reports are ready)."""


@contextlib.contextmanager
def old_app(commit: str):
    """The app script of ``commit``, in a temporary copy of that commit's whole tree (package included).

    The copy's script imports the copy's package (a script's folder comes first on ``sys.path``),
    so old and new code are timed in turn on the same machine and the same demo cohort.
    """
    with old_tree(commit) as folder:
        yield folder / "streamlit_app.py"


def script_labels(scripts: list[Path], old: Path | None = None, commit: str = "") -> dict[Path, str]:
    """How the table names each script: its file name, with its folder where two share a name; the
    old commit's copy by the commit; nothing when only one script is timed."""
    if len(scripts) == 1:
        return {scripts[0]: ""}
    names = [s.name for s in scripts if s != old]
    labels = {s: s.name if names.count(s.name) == 1 else f"{s.resolve().parent.name}/{s.name}" for s in scripts}
    return {**labels, **({old: f"{commit} (old)"} if old is not None else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=10, help="Next clicks to time (default 10)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium timing")
    parser.add_argument("--no-apptest", action="store_true", help="skip the server-side (AppTest) timing")
    parser.add_argument("--servers", type=int, default=2, help="fresh servers whose first page is timed")
    parser.add_argument("--sessions", type=int, default=3, help="new sessions timed on a warm server")
    parser.add_argument("--scripts", type=Path, nargs="+", default=[REPO_ROOT / "streamlit_app.py"],
                        help="app scripts timed in the browser in turn, e.g. a copy of the old one beside the new")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the browser timing (scripts in turn)")
    parser.add_argument("--no-downloads", action="store_true", help="leave the report buttons alone in the browser")
    parser.add_argument("--old", metavar="COMMIT", help="also time the app of this git commit, before each "
                        "round's scripts (a temporary copy of its tree)")
    args = parser.parse_args()
    with old_app(args.old) if args.old else contextlib.nullcontext() as old:
        if old is not None:
            args.scripts = [old, *args.scripts]
        run(args, script_labels(args.scripts, old, args.old or ""))


def run(args: argparse.Namespace, labels: dict[Path, str]) -> None:
    """Time what ``args`` asks for and print the table."""

    from mesa_report.app.sources import demo_size, demo_sources

    load = f"{os.getloadavg()[0]:.1f}"
    started = time.perf_counter()
    sources = demo_sources()
    nights, hours = demo_size()
    print(f"demo cohort ready in {time.perf_counter() - started:.1f} s: {nights} nights of {hours:g} h; "
          f"checkpoint {sources.checkpoint.name}")
    timings = {} if args.no_apptest else app_test_timings(args.clicks)
    if not args.no_browser:
        for _ in range(args.rounds):
            for script in args.scripts:
                for name, values in browser_timings(args.clicks, args.servers, args.sessions, script,
                                                    not args.no_downloads).items():
                    timings.setdefault(name + (f" [{labels[script]}]" if labels[script] else ""), []).extend(values)
    targets = {"Next click (whole page)": NEXT_TARGET_S, "new night": NIGHT_TARGET_S, **BROWSER_TARGETS_S}
    rows = []
    for name, values in timings.items():
        if not values:
            continue
        median = statistics.median(values)
        target = targets.get(name.split(" [")[0])
        verdict = "" if target is None else ("met" if median <= target else "missed")
        rows.append([name, len(values), f"{median * 1000:.0f}", f"{min(values) * 1000:.0f}",
                     f"{max(values) * 1000:.0f}", "" if target is None else f"{target * 1000:.0f}", verdict])
    print_table(f"Streamlit app on the demo ({machine()}; load before: {load})",
                ["measure", "runs", "median ms", "min ms", "max ms", "target ms", "target"], rows)


if __name__ == "__main__":
    main()
