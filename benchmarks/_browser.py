"""The app as a user feels it, timed in headless Chromium (what ``bench_app.py`` measures).

Every figure ends when the page's charts stop changing: a ``MutationObserver`` installed before
the page loads notes the page clock (``performance.now()``) of the last change inside any
``stVegaLiteChart`` (Vega drawing its SVG, a chart inserted or replaced). A measure is over once
no chart has changed for :data:`QUIET_MS` and Streamlit shows no running indicator; the figure is
the time of the last change, so the quiet wait itself is not counted.

* **first page**: from the browser's request of the page (the server having just answered its
  health check) until the last of its charts is drawn.
* **new session**: the same on a server that has already shown the page once.
* **Next click**: the click is dispatched in the page (its clock read just before) until the last
  chart change after it; the view in the URL must have changed too. The observer also notes
  when each chart last changed, so a click's time can be split by chart.
* **download**: click on a download button until the browser holds the whole file.

:class:`MainThreadClock` also reads how long the page's main thread worked for a click.
"""

from __future__ import annotations

import time

from mesa_report.app.server import (
    CHART_SELECTOR,
    VIEWPORT,
    ScriptRunTimer,
    chromium_path,
    wait_for_charts,
    wait_until_idle,
)

QUIET_MS = 800
"""A measure ends after this long without a chart change (not counted in the figure)."""

OBSERVER = """
window.__charts = {last: 0, changes: 0, each: new WeakMap()};
new MutationObserver(records => {
  const now = performance.now();
  let seen = false;
  for (const r of records) {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    const inside = el && el.closest("[data-testid='stVegaLiteChart']");
    if (inside) { window.__charts.each.set(inside, now); seen = true; }
    for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue;
      const charts = n.matches("[data-testid='stVegaLiteChart']") ? [n]
        : [...n.querySelectorAll("[data-testid='stVegaLiteChart']")];
      for (const c of charts) { window.__charts.each.set(c, now); seen = true; }
    }
  }
  if (seen) { window.__charts.last = now; window.__charts.changes++; }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""

CLICK = """
(label) => {
  const button = [...document.querySelectorAll("button")].find(b => b.innerText.trim() === label);
  window.__charts.last = 0;
  const at = performance.now();
  button.click();
  return at;
}
"""


def _settled_ms(page, charts: int) -> float:
    """Page-clock time of the last chart change, once the page is quiet with ``charts`` drawn."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[CHART_SELECTOR, charts])
    while True:
        wait_until_idle(page)
        page.wait_for_function(f"() => window.__charts.last > 0 && performance.now() - window.__charts.last > {QUIET_MS}",
                               polling=100)
        last = page.evaluate("() => window.__charts.last")
        wait_until_idle(page)
        if page.evaluate("() => window.__charts.last") == last:
            return float(last)


class Browser:
    """A headless Chromium whose pages carry the chart observer (a context manager)."""

    def __init__(self, timeout_s: float = 600.0) -> None:
        self.timeout_s = timeout_s

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=str(chromium_path()), headless=True)
        return self

    def __exit__(self, *exc) -> None:
        self.browser.close()
        self._playwright.stop()

    def open(self, url: str, charts: int) -> tuple[object, float]:
        """A new session (own browser context) on ``url``, and seconds until its charts are drawn.

        The page's ``run_timer`` (:class:`ScriptRunTimer`) holds the server's seconds of each run.
        """
        context = self.browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(self.timeout_s * 1000)
        page.run_timer = ScriptRunTimer(page)
        page.add_init_script(OBSERVER)
        page.goto(url)
        seconds = _settled_ms(page, charts) / 1000.0  # page clock starts at the navigation
        wait_for_charts(page, charts)
        return page, seconds


PER_CHART = """
(since) => [...document.querySelectorAll("[data-testid='stVegaLiteChart']")].map(c => {
  const at = window.__charts.each.get(c);
  return at !== undefined && at > since ? at - since : null;
})
"""


def next_click_s(page, label: str, charts: int) -> tuple[float, list[float | None]]:
    """Seconds from a click on ``label`` until the charts are redrawn (the URL must change).

    Also the seconds until each chart of the page (in page order) last changed after the click,
    None for a chart the click left alone.
    """
    before = page.url
    clicked_ms = page.evaluate(CLICK, label)
    page.wait_for_function("(old) => window.location.href !== old", arg=before)
    seconds = (_settled_ms(page, charts) - clicked_ms) / 1000.0
    each = [None if ms is None else ms / 1000.0 for ms in page.evaluate(PER_CHART, clicked_ms)]
    return seconds, each


class MainThreadClock:
    """Seconds the page's main thread worked (Chrome's ``Performance.getMetrics`` ``TaskDuration``).

    Read before and after a click, it gives the page's own work for it (Vega, React, painting),
    which drifts less with the host's other load than the wall-clock figure. Between the two
    readings lie the click, the drawing and the 0.8 s quiet wait that ends a measure (its polling
    costs the same for old and new code).
    """

    def __init__(self, page) -> None:
        self._session = page.context.new_cdp_session(page)
        self._session.send("Performance.enable")

    def seconds(self) -> float:
        metrics = self._session.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def download_s(page, label: str) -> tuple[float, int]:
    """Seconds from a click on the download button ``label`` until the file is whole, and its size."""
    started = time.perf_counter()
    with page.expect_download() as info:
        page.get_by_role("button", name=label).click()
    path = info.value.path()
    return time.perf_counter() - started, path.stat().st_size

