"""What the app's tests share: a small demo cohort, built once per test session, and chart readers."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from mesa_report import demo
from mesa_report.core.settings import DEMO_SIZE_ENV

DEMO_NIGHTS = 2
DEMO_HOURS = 0.5
"""The tests' demo cohort: two nights of 30 min (60 epochs, three samples each)."""

def demo_env(tmp_path_factory) -> dict[str, str]:
    """Environment that makes the app open the small demo cohort, built on first call.

    The cohort lives under the session's temporary folder; later calls (another test module,
    the browser's server) find it complete and reuse it.
    """
    cache = tmp_path_factory.getbasetemp() / "app-cache"
    demo.demo_store(cache, n_nights=DEMO_NIGHTS, hours=DEMO_HOURS)
    return {demo.CACHE_ENV: str(cache), DEMO_SIZE_ENV: f"{DEMO_NIGHTS}x{DEMO_HOURS:g}"}


def _inline_values(node, found: dict[str, list]) -> None:
    """Inline data sets of a spec, depth first, each distinct one once (keyed by its JSON)."""
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            found.setdefault(json.dumps(data["values"], sort_keys=True), data["values"])
        for key, value in node.items():
            if key != "data":
                _inline_values(value, found)
    elif isinstance(node, list):
        for item in node:
            _inline_values(item, found)


def _arrow_frame(blob: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(blob).read_all().to_pandas()


def chart_specs(at) -> list[tuple[dict, list[pd.DataFrame]]]:
    """Every chart an AppTest run drew: its Vega-Lite spec and its data sets as frames.

    The data sets are the top-level one (which Streamlit carries as an Arrow table), then the
    spec's inline ones in the order they first appear, then any named ones.
    """
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        top = [element.proto.data.data] if element.proto.data.data else []
        named = [d.data.data for d in element.proto.datasets]
        inline: dict[str, list] = {}
        _inline_values(spec, inline)
        frames = [_arrow_frame(blob) for blob in top]
        frames += [pd.DataFrame(values) for values in inline.values()]
        frames += [_arrow_frame(blob) for blob in named]
        out.append((spec, frames))
    return out


def chart_titled(at, text: str) -> tuple[str, list[pd.DataFrame]]:
    """Title + subtitle and data of the one chart whose title or subtitle starts with ``text``."""
    found = []
    for spec, frames in chart_specs(at):
        title = spec.get("title") or {}
        parts = [" ".join(v) if isinstance(v := title.get(name) or "", list) else str(v)
                 for name in ("text", "subtitle")]
        if any(part.startswith(text) for part in parts):
            found.append((" | ".join(parts), frames))
    assert len(found) == 1, f"{len(found)} charts titled {text!r}"
    return found[0]


def chart_data(at, text: str) -> pd.DataFrame:
    """The first data set of the one chart titled ``text`` (see :func:`chart_titled`)."""
    return chart_titled(at, text)[1][0]


TOOLTIP = "#vg-tooltip-element"
"""Vega's tooltip in Streamlit's page (shown with the class ``visible``)."""


def tooltip_at(page, x: float, y: float) -> dict[str, str]:
    """The fields of the chart tooltip with the pointer at viewport point (x, y); {} where none shows.

    The pointer first leaves the charts (the tooltip hides), so a field is never read from the
    tooltip of the point before.
    """
    page.mouse.move(0, 0)
    page.wait_for_function(f"() => !document.querySelector('{TOOLTIP}.visible')")
    page.mouse.move(x, y)
    try:
        page.wait_for_function(f"() => document.querySelector('{TOOLTIP}.visible')", timeout=2000)
    except Exception:  # noqa: BLE001 - Playwright's timeout: no mark under the pointer
        return {}
    fields = {}
    for pair in page.locator(TOOLTIP).inner_text().split("\n\n"):
        name, _, value = pair.partition("\t\n")
        fields[name.strip()] = value.strip()
    return fields


def click_heatmap_row(page, chart, query_epoch: int, field: str = "query epoch") -> None:
    """Click the inter-epoch heatmap (drawn on a canvas) in the row of ``query_epoch``.

    A canvas holds no element per cell, so the row is found as a user finds it: by the tooltip.
    Two readings down the middle column give the rows' height; the pointer then goes to the
    wanted row and is checked there before the click.
    """
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    x = box["x"] + box["width"] * 0.4
    readings = {}
    for fraction in (0.35, 0.65):
        y = box["y"] + box["height"] * fraction
        readings[y] = int(tooltip_at(page, x, y)[field])
    (y0, q0), (y1, q1) = sorted(readings.items())
    row_px = (y1 - y0) / (q1 - q0)
    y = y0 + (query_epoch - q0) * row_px
    assert int(tooltip_at(page, x, y).get(field, -1)) == query_epoch, f"no cell of {field} {query_epoch} at y={y}"
    page.mouse.click(x, y)
