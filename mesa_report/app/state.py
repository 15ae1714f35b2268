"""What the app shows, as plain values: the view, and how the URL holds it.

Nothing here imports Streamlit, so every rule can be tested directly. The app keeps one
:class:`View` (subject, sample, night epoch, channel, and the maps' layer, head, method and colour
scheme); the URL holds the same eight values as query parameters, so a reload or a shared link
restores it. Values read from a URL are checked like any user input: a value that cannot be used
is replaced by a sensible one and explained, never raised (:mod:`mesa_report.app.resolve`); the
navigation buttons and their callbacks are :mod:`mesa_report.app.navigation`.

The URL numbers things as the page does (:mod:`mesa_report.explain.views`): samples, layers and
heads from 1, epochs by their index in the night.

Examples
--------
>>> request, problems = parse_view_query({"subject": "mesa-sleep-0007", "sample": "2", "head": "mean"})
>>> request.subject, request.sample, request.head, problems
(7, 1, 'mean', [])
>>> view_query(View(subject=7, sample=1, epoch=45, channel="EEG2", layer=1, head=0))
{'subject': 'mesa-sleep-0007', 'sample': '2', 'epoch': '45', 'channel': 'EEG2', 'layer': '2', 'head': '1', 'method': 'attention', 'scheme': 'seed'}
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from mesa_report.core.errors import DataError
from mesa_report.data.night_ids import parse_record_id, record_id

QUERY_KEYS = ("subject", "sample", "epoch", "channel", "layer", "head", "method", "scheme")
"""Query parameters the app reads and writes, in URL order (also the widgets' session keys)."""

SUBJECT_KEY, SAMPLE_KEY, EPOCH_KEY, CHANNEL_KEY, LAYER_KEY, HEAD_KEY, METHOD_KEY, SCHEME_KEY = QUERY_KEYS

MEAN_HEADS = "mean"
"""The URL's head value for the mean of the heads."""

SEED_SCHEME = "seed"
"""The colour-scheme value that keeps the seed's colour map per view."""

NOTICE_KEY = "navigation_notice"
"""Session key of a message left by a navigation button for the next run to show."""

GENERATION_KEY = "chart_generation"
"""Session key counting epoch changes made outside the inter-epoch chart (see :func:`chart_key`)."""

NIGHT_PICKS_KEY = "night_pick_generation"
"""Session key counting the picks taken from the night's charts and tables (see ``night_overview.pick_keys``)."""

LAST_PICK_KEY = "last_chart_pick"
"""Session key of the epoch last taken from a click in the inter-epoch chart."""

URL_READ_KEY = "url_read"
"""Session key set once the URL's view has been read (on a session's first run)."""

_MAX_SHOWN = 40


@dataclass(frozen=True)
class View:
    """The part of the page a link restores.

    Attributes
    ----------
    subject : int
        MESA id of the night shown.
    sample : int
        Index of the 20-epoch sample within the night (0-based; the page and the URL show it + 1).
    epoch : int
        Night epoch selected for the channel and temporal views (inside the sample).
    channel : str
        Channel selected for the temporal view and the EEG trace.
    layer : int, optional
        Encoder layer of the maps (0-based); ``None`` leaves it out of the URL.
    head : int, optional
        Attention head (0-based); ``None`` the mean of heads.
    method : str
        Explanation method.
    scheme : str
        Colour scheme: :data:`SEED_SCHEME` or a colour map's name.
    """

    subject: int
    sample: int
    epoch: int
    channel: str
    layer: int | None = None
    head: int | None = None
    method: str = "attention"
    scheme: str = SEED_SCHEME


@dataclass(frozen=True)
class ViewRequest:
    """Values asked for by a URL or by the session; ``None`` where nothing usable was given.

    ``sample``, ``layer`` and ``head`` are 0-based here; ``head`` is :data:`MEAN_HEADS` for the mean.
    """

    subject: int | None = None
    sample: int | None = None
    epoch: int | None = None
    channel: str | None = None
    layer: int | None = None
    head: int | str | None = None
    method: str | None = None
    scheme: str | None = None


@dataclass(frozen=True)
class MapOptions:
    """How the maps are drawn: layer and head (0-based; head ``None`` the mean), method, colours."""

    layer: int
    head: int | None
    method: str
    scheme: str


def shown_text(value: str) -> str:
    return value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."


def _first(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value
    return str(value[0]) if len(value) else ""


def _count(name: str, text: str, problems: list[str], first: int = 0) -> int | None:
    """A whole number ≥ ``first`` from the URL, less ``first`` (so numbers from 1 become indices)."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and int(stripped) >= first:
        return int(stripped) - first
    problems.append(f"the link's {name}={shown_text(text)!r} is not a whole number ≥ {first}; it was ignored")
    return None


def parse_view_query(params: Mapping[str, str | Sequence[str]]) -> tuple[ViewRequest, list[str]]:
    """Read the view from URL query parameters, collecting a message for each unusable value.

    Parameters
    ----------
    params : mapping
        Query parameters (``st.query_params`` or a plain dict); a list value uses its first item.
        Keys other than :data:`QUERY_KEYS` are ignored.

    Returns
    -------
    request : ViewRequest
        The values that could be read.
    problems : list of str
        One sentence per value that was ignored.

    Examples
    --------
    >>> request, problems = parse_view_query({"subject": "../etc", "sample": "0", "channel": "EEG3"})
    >>> request
    ViewRequest(subject=None, sample=None, epoch=None, channel='EEG3', layer=None, head=None, method=None, scheme=None)
    >>> len(problems)
    2
    """
    problems: list[str] = []
    subject = sample = epoch = channel = layer = head = None
    if "subject" in params:
        text = _first(params["subject"])
        try:
            subject = parse_record_id(text)
        except DataError:
            problems.append(f"the link's subject={shown_text(text)!r} is not a night id "
                            "(mesa-sleep-NNNN); it was ignored")
    if "sample" in params:
        sample = _count("sample", _first(params["sample"]), problems, first=1)
    if "epoch" in params:
        epoch = _count("epoch", _first(params["epoch"]), problems)
    if "layer" in params:
        layer = _count("layer", _first(params["layer"]), problems, first=1)
    if "head" in params:
        text = _first(params["head"]).strip()
        head = MEAN_HEADS if text == MEAN_HEADS else _count("head", text, problems, first=1)
    channel, method, scheme = (_first(params[key]).strip() or None if key in params else None
                               for key in ("channel", "method", "scheme"))
    return ViewRequest(subject=subject, sample=sample, epoch=epoch, channel=channel, layer=layer, head=head,
                       method=method, scheme=scheme), problems


def session_request(state: MutableMapping, params: Mapping[str, str | Sequence[str]]
                    ) -> tuple[ViewRequest, list[str]]:
    """The view asked for in this run: the URL's on a session's first run, the session's after.

    Examples
    --------
    >>> state = {}
    >>> session_request(state, {"sample": "4"})[0].sample, session_request(state, {"sample": "4"})[0].sample
    (3, None)
    """
    if not state.get(URL_READ_KEY):
        state[URL_READ_KEY] = True
        return parse_view_query(params)
    return state_request(state), []


def state_request(state: Mapping) -> ViewRequest:
    """The view the session's widgets hold.

    Examples
    --------
    >>> state_request({"sample": 2, "channel": "EEG3", "head": None}).head
    'mean'
    """
    head = None if HEAD_KEY not in state else MEAN_HEADS if state[HEAD_KEY] is None else state[HEAD_KEY]
    return ViewRequest(subject=state.get(SUBJECT_KEY), sample=state.get(SAMPLE_KEY),
                       epoch=state.get(EPOCH_KEY), channel=state.get(CHANNEL_KEY), layer=state.get(LAYER_KEY),
                       head=head, method=state.get(METHOD_KEY), scheme=state.get(SCHEME_KEY))


def view_query(view: View) -> dict[str, str]:
    """The query parameters that restore ``view``.

    Examples
    --------
    >>> view_query(View(subject=1, sample=0, epoch=3, channel="EEG1"))["sample"]
    '1'
    """
    query = {"subject": record_id(view.subject), "sample": str(view.sample + 1),
             "epoch": str(view.epoch), "channel": view.channel}
    if view.layer is not None:
        query["layer"] = str(view.layer + 1)
    query["head"] = MEAN_HEADS if view.head is None else str(view.head + 1)
    query.update(method=view.method, scheme=view.scheme)
    return query
