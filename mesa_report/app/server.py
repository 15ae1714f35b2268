"""Serve the app as the README runs it, and drive it with headless Chromium.

:func:`serve_app` starts the app as ``make app`` does (``python -m mesa_report.app.serve``, i.e.
``streamlit run streamlit_app.py`` with the first page's work begun at once) on a free localhost
port and stops it by its process id; :func:`open_page` opens it in a headless Chromium (Playwright, with the
system's browser) and waits until the charts are drawn. The browser test, the README screenshot
script and the app benchmark all go through these functions, so they see the app the same way.

Playwright is a test dependency: it is imported only when a browser is opened.

Examples
--------
>>> with serve_app() as url, open_page(url) as page:  # doctest: +SKIP
...     click_and_wait(page, "Next ▶")
...     page.screenshot(path="app.png", full_page=True)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from mesa_report.app.serve import APP_SCRIPT
from mesa_report.core.errors import MesaReportError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
"""Browser executables looked for on the PATH."""

CHART_SELECTOR = "[data-testid='stVegaLiteChart'] svg, [data-testid='stVegaLiteChart'] canvas"
"""A drawn chart (Vega renders into an SVG or a canvas)."""

EXCEPTION_SELECTOR = "[data-testid='stException']"
"""An uncaught exception shown by Streamlit in the page."""

SAMPLE_TEXT = r"Sample \d+ of \d+"
"""Pattern of the caption naming the current sample."""

PAGE_CHARTS = 7
"""Charts on the page with a night open: confusion, hypnogram, hypnodensity, inter-epoch, channel,
temporal, trace."""

HYPNOGRAM_CHART = 1
"""Position of the night's hypnogram among the page's charts."""

INTER_EPOCH_CHART = 3
"""Position of the inter-epoch heatmap among the page's charts."""

CLICKABLE_EPOCHS = "path[fill-opacity='0']"
"""The transparent bars of the hypnogram's epochs, one per epoch in each of its three panels."""

VIEWPORT = {"width": 1440, "height": 1000}
"""Browser window size in CSS pixels."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Examples
    --------
    >>> 1024 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, n_chars: int = 2000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return text[-n_chars:]


@contextlib.contextmanager
def serve_app(*, env: Mapping[str, str] | None = None, port: int | None = None,
              script: Path = APP_SCRIPT, ready_timeout_s: float = 60.0) -> Iterator[str]:
    """Run the app with Streamlit on localhost and yield its URL; stop it on exit.

    Parameters
    ----------
    env : mapping, optional
        Extra environment variables for the server (e.g. ``MESA_REPORT_CACHE_DIR``).
    port : int, optional
        Port to serve on; by default a free one.
    script : Path
        The app script, run from its own folder by that folder's launcher
        (:mod:`mesa_report.app.serve`) as ``make app`` does; a script without one beside it (an
        older commit's tree, a variant being timed) by ``streamlit run``.
    ready_timeout_s : float
        How long to wait for the server to answer.

    Raises
    ------
    MesaReportError
        If the server exits or does not answer in time; the message holds the end of its log.

    Examples
    --------
    >>> with serve_app() as url:  # doctest: +SKIP
    ...     print(url)
    http://127.0.0.1:40123
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    options = ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    launcher = script.parent / "mesa_report" / "app" / "serve.py"
    if launcher.is_file() and script.name == APP_SCRIPT.name:
        command = [sys.executable, "-m", "mesa_report.app.serve", *options]
    else:
        command = [sys.executable, "-m", "streamlit", "run", str(script), *options]
    with tempfile.TemporaryDirectory(prefix="mesa-report-app-") as folder:
        log_path = Path(folder) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=script.parent, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, **(env or {})})
        try:
            deadline = time.monotonic() + ready_timeout_s
            while not _healthy(url):
                if process.poll() is not None:
                    raise MesaReportError(f"the app server exited with code {process.returncode}:\n"
                                          f"{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise MesaReportError(f"the app server did not answer at {url} within "
                                          f"{ready_timeout_s:g} s:\n{_tail(log_path)}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def chromium_path() -> Path:
    """The system's Chromium, which Playwright drives (no browser download needed).

    Raises
    ------
    MesaReportError
        If no Chromium is installed (``make test`` installs it: ``scripts/system_deps.sh``).

    Examples
    --------
    >>> chromium_path()  # doctest: +SKIP
    PosixPath('/usr/bin/chromium')
    """
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise MesaReportError("no Chromium found on the PATH; install it with scripts/system_deps.sh "
                          "(Debian package chromium)")


class ScriptRunTimer:
    """Server-side seconds of each script run, read from the page's websocket.

    A run is timed from the rerun request the browser sends (a Streamlit ``BackMsg``) to the
    ``script_finished`` message the server sends back: the server's work for a click, whole page
    or fragment alone, without the browser's drawing. Attach it before the page loads.

    Examples
    --------
    >>> timer = ScriptRunTimer(page)  # doctest: +SKIP
    >>> click_and_wait(page, "Next ▶"); timer.durations_s[-1]  # doctest: +SKIP
    0.09
    """

    def __init__(self, page) -> None:
        self.durations_s: list[float] = []
        self._requested_at: float | None = None
        page.on("websocket", self._watch)

    def _watch(self, socket) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            self._requested_at = time.perf_counter()

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if self._requested_at is None or not isinstance(payload, bytes):
            return
        if ForwardMsg.FromString(payload).WhichOneof("type") == "script_finished":
            self.durations_s.append(time.perf_counter() - self._requested_at)
            self._requested_at = None


@contextlib.contextmanager
def open_page(url: str, *, timeout_s: float = 90.0, charts: int = PAGE_CHARTS,
              timer: bool = False) -> Iterator:
    """Open the app in headless Chromium and wait until ``charts`` charts are drawn.

    Yields a Playwright ``Page``; with ``timer`` a :class:`ScriptRunTimer` watches it from the
    start and is the page's ``run_timer`` attribute.

    Examples
    --------
    >>> with serve_app() as url, open_page(url) as page:  # doctest: +SKIP
    ...     sample_text(page)
    'Sample 1 of 24'
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(timeout_s * 1000)
            if timer:
                page.run_timer = ScriptRunTimer(page)
            page.goto(url)
            wait_for_charts(page, charts)
            yield page
        finally:
            browser.close()


def wait_for_charts(page, count: int = PAGE_CHARTS) -> None:
    """Wait until at least ``count`` charts are drawn and no script run is in progress.

    Raises
    ------
    MesaReportError
        If the page shows an uncaught exception instead (its text is in the message).

    Examples
    --------
    >>> wait_for_charts(page)  # doctest: +SKIP
    """
    page.wait_for_function(
        "([charts, failure, n]) => document.querySelectorAll(charts).length >= n"
        " || document.querySelector(failure) !== null",
        arg=[CHART_SELECTOR, EXCEPTION_SELECTOR, count])
    failure = page.query_selector(EXCEPTION_SELECTOR)
    if failure is not None:
        raise MesaReportError(f"the app failed in the browser:\n{failure.inner_text()}")
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    """Wait until Streamlit shows no running indicator.

    Examples
    --------
    >>> wait_until_idle(page)  # doctest: +SKIP
    """
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
        " || !document.querySelector(\"[data-testid='stStatusWidget']\").innerText.match(/Running|Stop/)")


def full_screenshot(page, path: Path) -> Path:
    """Screenshot of the whole page: the window is made as tall as the app's content first.

    Streamlit scrolls its main area inside the window, so Playwright's ``full_page`` would only
    capture the visible part.

    Examples
    --------
    >>> full_screenshot(page, Path("docs/app.png"))  # doctest: +SKIP
    PosixPath('docs/app.png')
    """
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMainBlockContainer'],"
        " [data-testid='stSidebarContent']\")].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 120})
    wait_until_idle(page)
    page.wait_for_timeout(500)  # let Vega redraw charts that resized with the window
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    return Path(path)


def sample_text(page) -> str:
    """The caption naming the current sample.

    Examples
    --------
    >>> sample_text(page)  # doctest: +SKIP
    'Sample 2 of 24'
    """
    import re

    caption = page.get_by_text(re.compile(SAMPLE_TEXT)).first
    return re.search(SAMPLE_TEXT, caption.inner_text()).group(0)


def click_and_wait(page, button: str) -> float:
    """Click a button by its label and wait until the view in the URL changes; return the seconds.

    The app writes the view to the URL as the last step of a run, so the time covers the
    server's whole rerun and the round trip to the browser (not the drawing of the charts).

    Examples
    --------
    >>> seconds = click_and_wait(page, "Next ▶")  # doctest: +SKIP
    """
    page.wait_for_url("**sample=**")  # the first run has written its view: a later change is the click's
    before = page.url
    started = time.perf_counter()
    page.get_by_role("button", name=button).click()
    page.wait_for_function("(old) => window.location.href !== old", arg=before)
    elapsed = time.perf_counter() - started
    wait_until_idle(page)
    return elapsed
