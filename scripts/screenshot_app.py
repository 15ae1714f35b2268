"""Make ``docs/app.png``: the README's picture of the app on the demo cohort.

The app is served and photographed exactly as the browser test does it
(:mod:`mesa_report.app.server`): ``streamlit run streamlit_app.py`` on a free localhost port,
headless Chromium, the whole page once every chart is drawn. Before the picture it jumps to the
night's first wrong prediction, so the epoch views show a case worth a look.

Run from the repository root (the first run builds the demo cohort, about a minute)::

    python scripts/screenshot_app.py [--output docs/app.png] [--night 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as `python scripts/screenshot_app.py` from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from mesa_report.app.server import (  # noqa: E402
    click_and_wait,
    full_screenshot,
    open_page,
    serve_app,
    wait_for_charts,
)
from mesa_report.app.sources import demo_sources  # noqa: E402
from mesa_report.data.night_ids import record_id  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "app.png", help="PNG to write")
    parser.add_argument("--night", type=int, default=1, help="demo night to show (default 1)")
    args = parser.parse_args()
    print("preparing the demo cohort (built on the first run)…", flush=True)
    demo_sources()
    with serve_app(ready_timeout_s=600) as url:
        with open_page(f"{url}/?subject={record_id(args.night)}", timeout_s=600) as page:
            click_and_wait(page, "Next wrong prediction")
            wait_for_charts(page)
            path = full_screenshot(page, args.output)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
