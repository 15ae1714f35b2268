"""Benchmark of the Streamlit app on the demo cohort: a Next click and opening a new night.

1. **Next click, whole page**: server-side seconds of one script run after clicking Next, measured
   with ``streamlit.testing`` (the script runs in this process; no browser). This reruns the whole
   page, so it is an upper bound of what a browser's click costs.
2. **Next click, in a browser**: the app served as ``make app`` serves it and headless Chromium
   clicks Next. Streamlit reruns only the sample's part of the page here (a fragment). Two
   figures: the server's run, from the rerun request on the websocket to the server's "script
   finished" message (what the target is about), and click to the new view in the URL, which
   adds the browser's handling and shares this machine's two cores with it.
3. **Opening a new night**: the night selector is switched to a night not opened before, so its
   inference (with every attention map) runs, then the whole page is drawn.

Targets (the app's issue): a Next click at most 150 ms, a new night at most 3 s, on this machine.
Run from the repository root (the first run builds the demo cohort, about a minute)::

    python benchmarks/bench_app.py [--clicks 10] [--no-browser]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import REPO_ROOT, machine, print_table

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


def browser_timings(clicks: int) -> dict[str, list[float]]:
    """Seconds of Next clicks in headless Chromium: the server's run, and click to new URL."""
    from mesa_report.app.server import click_and_wait, open_page, serve_app, wait_for_charts

    round_trips = []
    with serve_app(ready_timeout_s=600) as url, open_page(url, timeout_s=600, timer=True) as page:
        runs_before = len(page.run_timer.durations_s)
        for _ in range(clicks):
            round_trips.append(click_and_wait(page, "Next ▶"))
            wait_for_charts(page)
        server = page.run_timer.durations_s[runs_before:]
    return {"Next click, server run (browser)": server, "Next click, click to new URL (browser)": round_trips}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=10, help="Next clicks to time (default 10)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium timing")
    args = parser.parse_args()

    from mesa_report.app.sources import demo_size, demo_sources

    started = time.perf_counter()
    sources = demo_sources()
    nights, hours = demo_size()
    print(f"demo cohort ready in {time.perf_counter() - started:.1f} s: {nights} nights of {hours:g} h; "
          f"checkpoint {sources.checkpoint.name}")
    timings = app_test_timings(args.clicks)
    if not args.no_browser:
        timings.update(browser_timings(args.clicks))
    targets = {"Next click (whole page)": NEXT_TARGET_S, "Next click, server run (browser)": NEXT_TARGET_S,
               "new night": NIGHT_TARGET_S}
    rows = []
    for name, values in timings.items():
        median = statistics.median(values)
        target = targets.get(name)
        verdict = "" if target is None else ("met" if median <= target else "missed")
        rows.append([name, len(values), f"{median * 1000:.0f}", f"{min(values) * 1000:.0f}",
                     f"{max(values) * 1000:.0f}", "" if target is None else f"{target * 1000:.0f}", verdict])
    print_table(f"Streamlit app on the demo ({machine()})",
                ["measure", "runs", "median ms", "min ms", "max ms", "target ms", "target"], rows)


if __name__ == "__main__":
    main()
