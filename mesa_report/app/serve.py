"""Start the app the way ``make app`` does: Streamlit's server, with the first page's work begun at once.

``streamlit run streamlit_app.py`` runs nothing until a browser opens a session; that first
session then pays for importing torch and the package, opening the demo cohort, loading the model,
reading the first night's results and starting the report worker (3-5 s here, more when the cohort
is built). ``python -m mesa_report.app.serve`` starts the same server with :func:`warm_server` in a
background thread, so those costs run while the server starts and the browser loads the page.
What it loads lands in the app's own caches (``st.cache_resource``), where the first session finds
it; a session that comes before it is done waits for the step in progress instead of repeating it.
Arguments are passed on to ``streamlit run`` (e.g. ``--server.port 8502``).

Examples
--------
>>> sorted(WARM_UP_STEPS)
['demo cohort', 'first night', 'model', 'report worker']
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

APP_SCRIPT = Path(__file__).resolve().parents[2] / "streamlit_app.py"
"""The app the README's ``make app`` runs."""

WARM_UP_THREAD = "mesa-report warm-up"
"""The name of the thread that runs :func:`warm_server`."""

CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"
"""Streamlit's logger that warns of a thread using its caches outside a page's run."""


def not_from_warm_up(record: logging.LogRecord) -> bool:
    """A log filter: Streamlit's warning that the warm-up thread has no page of its own is expected, so dropped.

    Examples
    --------
    >>> record = logging.makeLogRecord({"threadName": WARM_UP_THREAD, "msg": "missing ScriptRunContext"})
    >>> not_from_warm_up(record), not_from_warm_up(logging.makeLogRecord({"threadName": "ScriptRunner"}))
    (False, True)
    """
    return record.threadName != WARM_UP_THREAD


def _demo_sources():
    from mesa_report.app import sources as app_sources

    return app_sources.demo_sources()


def _model():
    from mesa_report.app import sources as app_sources

    return app_sources.open_model(_demo_sources().checkpoint)


def _first_night():
    from mesa_report.app import resolve, support
    from mesa_report.app import sources as app_sources

    sources = _demo_sources()
    store = app_sources.open_store(sources.preprocessed_dir, sources.csv_path)
    subject, _ = resolve.choose_subject(None, store.mesaids)  # the night a new session opens, chosen as the page does
    night = app_sources.night_in_store(store, subject)
    return support.results_service().night(_model(), night, batch_size=support.BATCH_SIZE)


def _report_worker():
    from mesa_report.app import report_builder

    return report_builder.shared_builder()


WARM_UP_STEPS: dict[str, Callable[[], object]] = {
    "demo cohort": _demo_sources,
    "model": _model,
    "first night": _first_night,
    "report worker": _report_worker,
}
"""What the first page needs, in the order it needs it (each step lands in the app's caches)."""


def warm_server(log=sys.stderr) -> dict[str, float]:
    """Run :data:`WARM_UP_STEPS`; return seconds per step done. Never raises.

    A step that fails is reported in one line on ``log`` and the rest are skipped: the page
    then meets the same error and shows it where the user can act on it.

    Examples
    --------
    >>> seconds = warm_server()  # doctest: +SKIP
    >>> list(seconds)  # doctest: +SKIP
    ['demo cohort', 'model', 'first night', 'report worker']
    """
    seconds: dict[str, float] = {}
    for name, step in WARM_UP_STEPS.items():
        started = time.perf_counter()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - a warm-up never stops the server; the page shows the error
            print(f"mesa-report: warm-up stopped at {name}: {exc}", file=log)
            break
        seconds[name] = time.perf_counter() - started
    return seconds


def streamlit_command(script: Path = APP_SCRIPT, args: Sequence[str] = ()) -> list[str]:
    """The ``streamlit run`` arguments this launcher hands to Streamlit.

    Examples
    --------
    >>> streamlit_command(Path("app.py"), ["--server.port", "8502"])
    ['streamlit', 'run', 'app.py', '--server.port', '8502']
    """
    return ["streamlit", "run", str(script), *args]


def main(argv: Sequence[str] | None = None) -> None:
    """Start the warm-up thread, then Streamlit's server on the app (blocks until it stops)."""
    from streamlit.web import cli

    logging.getLogger(CONTEXT_LOGGER).addFilter(not_from_warm_up)
    threading.Thread(target=warm_server, name=WARM_UP_THREAD, daemon=True).start()
    sys.argv = streamlit_command(APP_SCRIPT, sys.argv[1:] if argv is None else argv)
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
