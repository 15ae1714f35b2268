"""Turn any chart of :mod:`mesa_report.charts` into PNG, SVG or PDF bytes, or a spec for HTML.

Rendering runs in process through ``vl-convert`` (no browser, no network): external data URLs
are refused. PNGs are drawn at twice the chart's pixel size by default, so text stays crisp.
For offline HTML, :func:`vega_javascript` gives the Vega, Vega-Lite and vega-embed libraries as one
script (include it once per page) and :func:`chart_spec_json` each chart's spec; reports lay several
charts out as one figure with :func:`concat_specs` and draw specs with :func:`render_spec`.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import altair as alt
import vl_convert

from mesa_report.core.errors import MesaReportError, ReportError
from mesa_report.core.fileio import write_bytes_atomic, write_text_atomic
from mesa_report.core.settings import load_settings

FORMATS = ("png", "svg", "pdf")
"""Formats :func:`render_chart` writes."""

DEFAULT_SCALE = 2.0
"""Pixels per chart pixel in PNG output."""

VEGALITE_VERSION = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
"""Vega-Lite version the specs are written for (Altair's), e.g. ``6.4``."""


def chart_spec(chart: alt.TopLevelMixin, *, validate: bool = True) -> dict:
    """The chart's Vega-Lite spec as a dict, whatever the number of rows in its data.

    Altair refuses data sets above 5,000 rows by default; the limit is lifted only while this
    spec is built. ``validate=False`` skips the check against the Vega-Lite schema, which costs
    as much as building the spec: for charts of :mod:`mesa_report.charts`, whose specs the tests
    validate, when they are drawn while a user waits.

    Examples
    --------
    >>> import pandas as pd
    >>> chart = alt.Chart(pd.DataFrame({"x": range(6000)})).mark_tick().encode(x="x:Q")
    >>> len(next(iter(chart_spec(chart)["datasets"].values())))
    6000
    """
    with alt.data_transformers.disable_max_rows():
        spec = chart.to_dict(validate=validate)
    # mesa_report.charts.data.table holds rows in tuples (cheap to copy); JSON has lists
    if "datasets" in spec:
        spec["datasets"] = {name: list(rows) for name, rows in spec["datasets"].items()}
    return spec


def spec_json(spec: dict) -> str:
    """A spec as JSON text that can sit inside an HTML ``<script>`` element.

    ``</`` is written ``<\\/`` so no value can close the script element early.

    Examples
    --------
    >>> text = spec_json({"data": {"values": [{"a": "</script>"}]}, "mark": "text"})
    >>> "</script>" in text, json.loads(text)["mark"]
    (False, 'text')
    """
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def chart_spec_json(chart: alt.TopLevelMixin) -> str:
    """The chart's spec as JSON text for an HTML ``<script>`` element (see :func:`spec_json`).

    Examples
    --------
    >>> import pandas as pd
    >>> spec = chart_spec_json(alt.Chart(pd.DataFrame({"a": ["</script>"]})).mark_text().encode(text="a"))
    >>> "</script>" in spec, json.loads(spec)["mark"]["type"]
    (False, 'text')
    """
    return spec_json(chart_spec(chart))


def concat_specs(specs: list[dict], direction: str = "vconcat", *, spacing: float | None = None,
                 colour_scales: str | None = None) -> dict:
    """Specs placed under (``vconcat``) or beside (``hconcat``) each other, as one spec.

    The composition is done on the specs, not on Altair objects: Altair deep-copies every chart
    it concatenates, several times for nested layouts, which costs more than building them.
    Data sets are merged (their names are content hashes), ``$schema`` and ``config`` are the
    first spec's.

    Parameters
    ----------
    specs : list of dict
        Specs from :func:`chart_spec` (or from this function).
    direction : {"vconcat", "hconcat"}
    spacing : float, optional
        Pixels between the parts.
    colour_scales : {"shared", "independent"}, optional
        Whether the parts share one colour scale.

    Examples
    --------
    >>> import pandas as pd
    >>> a = chart_spec(alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q"))
    >>> both = concat_specs([a, a], "hconcat", spacing=8, colour_scales="independent")
    >>> len(both["hconcat"]), len(both["datasets"]), both["resolve"]
    (2, 1, {'scale': {'color': 'independent'}})
    """
    if direction not in ("vconcat", "hconcat"):
        raise ReportError(f"direction must be 'vconcat' or 'hconcat', not {direction!r}")
    if not specs:
        raise ReportError("nothing to concatenate: give at least one spec")
    datasets: dict = {}
    parts = []
    for spec in specs:
        datasets.update(spec.get("datasets") or {})
        parts.append({key: value for key, value in spec.items() if key not in ("$schema", "config", "datasets")})
    out = {"$schema": specs[0]["$schema"], "config": specs[0].get("config", {}), direction: parts}
    if spacing is not None:
        out["spacing"] = spacing
    if colour_scales is not None:
        out["resolve"] = {"scale": {"color": colour_scales}}
    if datasets:
        out["datasets"] = datasets
    return out


BUNDLE_DIRNAME = "vega"
"""Folder of the cache folder (:mod:`mesa_report.core.settings`) that keeps the Vega bundle."""


def bundle_file(folder: str | os.PathLike) -> Path:
    """Where :func:`load_bundle` keeps the bundle: one file per vl-convert and Vega-Lite version.

    Examples
    --------
    >>> bundle_file("cache").name.startswith("vega-bundle-")
    True
    """
    return Path(folder) / f"vega-bundle-{vl_convert.__version__}-vl{VEGALITE_VERSION}.js"


def load_bundle(folder: str | os.PathLike) -> str:
    """The Vega bundle read from ``folder``, or built by vl-convert and kept there.

    vl-convert builds the bundle in 2-3 s, the same text for a given vl-convert and Vega-Lite
    version; read back from disk it costs milliseconds, so a new process (the ``report``
    command, the app's report worker) does not pay it again. A folder that cannot be written
    costs the time, not the report.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> "vegaEmbed" in load_bundle(folder), bundle_file(folder).is_file()
    (True, True)
    """
    path = bundle_file(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    if "vegaEmbed" in text:
        return text
    text = vl_convert.javascript_bundle(vl_version=VEGALITE_VERSION)
    try:
        write_text_atomic(path, text)
    except MesaReportError:
        pass  # a folder that cannot be written: the next process builds the bundle again
    return text


@functools.lru_cache(maxsize=1)
def vega_javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one script defining ``vegaEmbed`` (about 1 MB).

    Read once per process, from the cache folder when an earlier process kept it there
    (:func:`load_bundle`). Include it once per HTML page, before the ``vegaEmbed`` calls.

    Examples
    --------
    >>> "vegaEmbed" in vega_javascript()
    True
    """
    return load_bundle(load_settings().cache_dir / BUNDLE_DIRNAME)


def _check_format(fmt: str) -> str:
    name = str(fmt).lower().lstrip(".")
    if name not in FORMATS:
        raise ReportError(f"unknown chart format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return name


def render_spec(spec: dict, fmt: str = "png", *, scale: float = DEFAULT_SCALE) -> bytes:
    """Render a Vega-Lite spec to PNG, SVG or PDF bytes (see :func:`render_chart`).

    Examples
    --------
    >>> spec = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    >>> render_spec(spec, "svg")[:4]
    b'<svg'
    """
    name = _check_format(fmt)
    if not scale >= 1:
        raise ReportError(f"scale must be at least 1, not {scale}")
    common = {"vl_version": VEGALITE_VERSION, "allowed_base_urls": []}
    try:
        if name == "png":
            return vl_convert.vegalite_to_png(spec, scale=float(scale), **common)
        if name == "svg":
            return vl_convert.vegalite_to_svg(spec, **common).encode("utf-8")
        return vl_convert.vegalite_to_pdf(spec, **common)
    except ValueError as exc:
        raise ReportError(f"the chart could not be drawn as {name}: {exc}") from exc


def render_chart(chart: alt.TopLevelMixin, fmt: str = "png", *, scale: float = DEFAULT_SCALE) -> bytes:
    """Render a chart to PNG, SVG or PDF bytes.

    Parameters
    ----------
    chart : altair chart
        Any chart, layer or concatenation.
    fmt : {"png", "svg", "pdf"}
        Output format. SVG is returned as UTF-8 bytes.
    scale : float
        Pixels per chart pixel for PNG (PDF is vector); at least 1.

    Returns
    -------
    bytes

    Raises
    ------
    ReportError
        For an unknown format, a scale below 1 or a chart that cannot be drawn.

    Examples
    --------
    >>> import pandas as pd
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> render_chart(chart, "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    >>> render_chart(chart, "svg")[:4]
    b'<svg'
    """
    _check_format(fmt)
    return render_spec(chart_spec(chart), fmt, scale=scale)


def save_chart(chart: alt.TopLevelMixin, path: str | os.PathLike, fmt: str | None = None, *,
               scale: float = DEFAULT_SCALE) -> Path:
    """Render a chart and write it atomically; the format comes from the suffix unless given.

    Parameters
    ----------
    chart : altair chart
        The chart to draw.
    path : path-like
        Output file; its folder is created when missing.
    fmt : {"png", "svg", "pdf"}, optional
        Format; by default the file's suffix.
    scale : float
        Pixels per chart pixel for PNG.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> out = save_chart(chart, Path(tempfile.mkdtemp()) / "chart.svg")
    >>> out.read_text()[:4]
    '<svg'
    """
    target = Path(path)
    if fmt is None and not target.suffix:
        raise ReportError(f"{target} has no suffix; name it .png, .svg or .pdf or pass fmt")
    data = render_chart(chart, fmt or target.suffix, scale=scale)
    return write_bytes_atomic(target, data)
