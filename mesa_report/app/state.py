"""What the app shows, as plain values: the view in the URL, and where each navigation button goes.

Nothing here imports Streamlit, so every rule can be tested directly. The app keeps one
:class:`View` (subject, sample, night epoch, channel, and the maps' layer, head, method and colour
scheme); the URL holds the same eight values as query parameters, so a reload or a shared link
restores it. Values read from a URL are checked like any user input: a value that cannot be used
is replaced by a sensible one and explained, never raised.

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

import numpy as np

from mesa_report.core.errors import DataError
from mesa_report.explain.selection import rank_epochs, wrong_predictions
from mesa_report.core.vocabulary import UNSCORED
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


def _shown(value: str) -> str:
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
    problems.append(f"the link's {name}={_shown(text)!r} is not a whole number ≥ {first}; it was ignored")
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
            problems.append(f"the link's subject={_shown(text)!r} is not a night id "
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


def choose_subject(requested: int | None, mesaids: Sequence[int]) -> tuple[int, list[str]]:
    """The night to show: the requested one when the store holds it, else the first.

    Raises
    ------
    DataError
        If the store holds no night at all.

    Examples
    --------
    >>> choose_subject(9, [3, 4])
    (3, ['mesa-sleep-0009 is not in the opened folder; showing mesa-sleep-0003'])
    """
    if not mesaids:
        raise DataError("the opened folder holds no preprocessed night listed in its index CSV")
    if requested is None or requested in mesaids:
        return (mesaids[0] if requested is None else requested), []
    return mesaids[0], [f"{record_id(requested)} is not in the opened folder; "
                        f"showing {record_id(mesaids[0])}"]


def sample_epochs(sample_starts: np.ndarray, seq_len: int, sample: int) -> range:
    """Night epochs of one sample.

    Examples
    --------
    >>> list(sample_epochs(np.array([0, 20, 25]), 20, 2))[:3]
    [25, 26, 27]
    """
    first = int(sample_starts[sample])
    return range(first, first + int(seq_len))


def default_epoch(labels: np.ndarray, pred: np.ndarray, uncertainty: np.ndarray, first_epoch: int) -> int:
    """The sample's epoch most worth a look: a wrong prediction, else a transition, else the least sure.

    Parameters
    ----------
    labels, pred, uncertainty : array, shape (S,)
        The sample's scored stages, predictions and uncertainty.
    first_epoch : int
        Night index of the sample's first epoch.

    Examples
    --------
    >>> default_epoch(np.array([2, 2, 2]), np.array([2, 1, 2]), np.array([0.1, 0.2, 0.9]), 40)
    41
    """
    return int(first_epoch) + int(rank_epochs(labels, pred, uncertainty)[0])


def resolve_view(request: ViewRequest, *, subject: int, n_samples: int, sample_starts: np.ndarray,
                 seq_len: int, channel_names: Sequence[str],
                 fallback_epoch) -> tuple[View, list[str]]:
    """Make a requested view valid for the night shown, explaining every value that was changed.

    Parameters
    ----------
    request : ViewRequest
        What the URL or the session asks for (``subject`` is already settled).
    subject : int
        The night shown.
    n_samples : int
        Samples in the night.
    sample_starts : array, shape (n_samples,)
        First epoch of each sample.
    seq_len : int
        Epochs per sample.
    channel_names : sequence of str
        Channels the model reads.
    fallback_epoch : callable
        ``fallback_epoch(sample) -> int``: the epoch to select when none (or one outside the
        sample) is asked for.

    Returns
    -------
    view : View
    problems : list of str
        Why a requested value was not used.

    Examples
    --------
    >>> view, problems = resolve_view(ViewRequest(sample=5, epoch=3, channel="EEG9"), subject=1,
    ...     n_samples=2, sample_starts=np.array([0, 20]), seq_len=20,
    ...     channel_names=["EEG1", "EEG2"], fallback_epoch=lambda s: 20 * s)
    >>> view.sample, view.epoch, view.channel
    (0, 3, 'EEG1')
    >>> len(problems)
    2
    """
    problems: list[str] = []
    sample = 0
    if request.sample is not None:
        if request.sample < n_samples:
            sample = request.sample
        else:
            problems.append(f"{record_id(subject)} has {n_samples} samples (1-{n_samples}); "
                            f"sample {request.sample + 1} does not exist, showing sample 1")
    epochs = sample_epochs(sample_starts, seq_len, sample)
    if request.epoch is not None and request.epoch in epochs:
        epoch = request.epoch
    else:
        epoch = int(fallback_epoch(sample))
    channel = channel_names[0]
    if request.channel is not None:
        if request.channel in channel_names:
            channel = request.channel
        else:
            problems.append(f"channel {_shown(request.channel)!r} is not one the model reads "
                            f"({', '.join(channel_names)}); showing {channel}")
    return View(subject=subject, sample=sample, epoch=epoch, channel=channel), problems


def resolve_options(request: ViewRequest, *, layers: Sequence[int], heads: Sequence[int | None],
                    methods: Sequence[str], schemes: Sequence[str]) -> tuple[MapOptions, list[str]]:
    """The maps' layer, head, method and colours for this model, explaining every value not used.

    Defaults: the last layer, the mean of heads, the first method and the first scheme.

    Examples
    --------
    >>> options, problems = resolve_options(ViewRequest(layer=7, head=1, method="magic"), layers=[0, 1],
    ...     heads=[None, 0, 1], methods=["attention", "rollout"], schemes=["seed", "magma"])
    >>> options
    MapOptions(layer=1, head=1, method='attention', scheme='seed')
    >>> len(problems)
    2
    """
    problems: list[str] = []
    layer, head, method, scheme = layers[-1], None, methods[0], schemes[0]
    if request.layer is not None:
        if request.layer in layers:
            layer = request.layer
        else:
            problems.append(f"the model has layers 1-{len(layers)}; layer {request.layer + 1} does not exist, "
                            f"showing layer {layer + 1}")
    if request.head is not None and request.head != MEAN_HEADS:
        if request.head in heads:
            head = request.head
        else:
            problems.append(f"every level has heads 1-{len(heads) - 1}; head {request.head + 1} does not "
                            "exist, showing the mean of heads")
    for name, asked, choices in (("method", request.method, methods), ("colour scheme", request.scheme, schemes)):
        if asked is not None and asked not in choices:
            problems.append(f"{name} {_shown(asked)!r} is not one of {', '.join(choices)}; "
                            f"showing {choices[0]}")
    if request.method in methods:
        method = request.method
    if request.scheme in schemes:
        scheme = request.scheme
    return MapOptions(layer=layer, head=head, method=method, scheme=scheme), problems


# --------------------------------------------------------------------------------------------
# Navigation
# --------------------------------------------------------------------------------------------
def step_sample(sample: int, step: int, n_samples: int) -> int:
    """The sample ``step`` away, kept inside the night.

    Examples
    --------
    >>> step_sample(0, -1, 5), step_sample(3, 1, 5), step_sample(4, 1, 5)
    (0, 4, 4)
    """
    return int(min(max(sample + step, 0), n_samples - 1))


def _next_marked(marked: np.ndarray, after: int) -> int | None:
    """First marked epoch after ``after``, wrapping to the night's start; None when none is marked."""
    hits = np.flatnonzero(marked)  # (M,)
    if hits.size == 0:
        return None
    later = hits[hits > after]
    return int(later[0] if later.size else hits[0])


def next_wrong_epoch(labels: np.ndarray, pred: np.ndarray, after: int) -> int | None:
    """The next scored epoch after ``after`` that the model got wrong (wrapping around).

    Examples
    --------
    >>> next_wrong_epoch(np.array([0, 2, 2, -1, 5]), np.array([0, 1, 2, 0, 2]), 1)
    4
    >>> next_wrong_epoch(np.array([0, 2]), np.array([0, 2]), 0) is None
    True
    """
    return _next_marked(wrong_predictions(labels, pred), after)


def transition_onsets(labels: np.ndarray) -> np.ndarray:
    """Epochs where the scored stage differs from the epoch before (both scored).

    Examples
    --------
    >>> transition_onsets(np.array([2, 2, 3, -1, 3, 5])).tolist()
    [False, False, True, False, False, True]
    """
    codes = np.asarray(labels, dtype=np.int64)  # (E,)
    onset = np.zeros(codes.shape, dtype=bool)
    onset[1:] = (codes[1:] != codes[:-1]) & (codes[1:] != UNSCORED) & (codes[:-1] != UNSCORED)
    return onset


def next_transition_epoch(labels: np.ndarray, after: int) -> int | None:
    """First epoch of the next scored stage change after ``after`` (wrapping around).

    Examples
    --------
    >>> next_transition_epoch(np.array([0, 0, 1, 1, 2]), 2)
    4
    """
    return _next_marked(transition_onsets(labels), after)


def sample_holding(epoch: int, sample: int, sample_starts: np.ndarray, seq_len: int) -> int:
    """The sample to show ``epoch`` in: the current one if it holds it, else the first that does.

    Examples
    --------
    >>> sample_holding(22, 2, np.array([0, 20, 21]), 20), sample_holding(5, 2, np.array([0, 20, 21]), 20)
    (2, 0)
    """
    if epoch in sample_epochs(sample_starts, seq_len, sample):
        return int(sample)
    return int(np.flatnonzero(np.asarray(sample_starts) + seq_len > epoch)[0])


# --------------------------------------------------------------------------------------------
# Button callbacks: they change the session's state before the next run draws the page
# --------------------------------------------------------------------------------------------
def _epoch_set_elsewhere(state: MutableMapping) -> None:
    state[GENERATION_KEY] = int(state.get(GENERATION_KEY, 0)) + 1


def on_step(state: MutableMapping, step: int, n_samples: int) -> None:
    """Previous/Next: move ``step`` samples; the new sample's default epoch gets selected.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 7}
    >>> on_step(state, 1, 3); state["sample"], state["epoch"]
    (1, None)
    """
    state[SAMPLE_KEY] = step_sample(int(state.get(SAMPLE_KEY) or 0), step, n_samples)
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_sample_chosen(state: MutableMapping) -> None:
    """The sample slider moved: select the new sample's default epoch.

    Examples
    --------
    >>> state = {"sample": 4, "epoch": 3}
    >>> on_sample_chosen(state); state["epoch"]
    """
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_subject_chosen(state: MutableMapping) -> None:
    """Another night was chosen: start at its first sample.

    Examples
    --------
    >>> state = {"subject": 2, "sample": 4}
    >>> on_subject_chosen(state); state["sample"]
    0
    """
    state[SAMPLE_KEY] = 0
    state[EPOCH_KEY] = None
    _epoch_set_elsewhere(state)


def on_sources_changed(state: MutableMapping) -> None:
    """Other files were opened: forget the night shown (it may not exist there).

    Examples
    --------
    >>> state = {"subject": 2, "sample": 4}
    >>> on_sources_changed(state); "subject" in state, state["sample"]
    (False, 0)
    """
    state.pop(SUBJECT_KEY, None)
    on_subject_chosen(state)


def on_epoch_chosen(state: MutableMapping) -> None:
    """The epoch was chosen from the list: the chart's own highlight no longer applies.

    Examples
    --------
    >>> state = {}
    >>> on_epoch_chosen(state); chart_key(0, state)
    'inter_epoch_0_1'
    """
    _epoch_set_elsewhere(state)


def on_jump(state: MutableMapping, kind: str, labels: np.ndarray, pred: np.ndarray,
            sample_starts: np.ndarray, seq_len: int) -> None:
    """Jump to the next wrong prediction or stage transition after the selected epoch.

    The search wraps around to the night's start. When the night has none, the view stays and
    a notice says so.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 1}
    >>> on_jump(state, "wrong", np.array([0] * 30), np.array([0] * 25 + [1] * 5), np.array([0, 10]), 20)
    >>> state["sample"], state["epoch"]
    (1, 25)
    """
    after = int(state.get(EPOCH_KEY) or 0)
    if kind == "wrong":
        target, missing = next_wrong_epoch(labels, pred, after), "no wrong prediction"
    else:
        target, missing = next_transition_epoch(labels, after), "no scored stage transition"
    if target is None:
        state[NOTICE_KEY] = f"This night has {missing}."
        return
    show_epoch(state, target, sample_starts, seq_len)


def show_epoch(state: MutableMapping, epoch: int, sample_starts: np.ndarray, seq_len: int,
               sample: int | None = None) -> None:
    """Select night ``epoch`` in ``sample``, by default the current sample if it holds it, else the first that does.

    For the jumps and for a click on the night's charts or tables.

    Examples
    --------
    >>> state = {"sample": 0, "epoch": 3}
    >>> show_epoch(state, 27, np.array([0, 20, 25]), 20); state["sample"], state["epoch"]
    (1, 27)
    >>> show_epoch(state, 30, np.array([0, 20, 25]), 20, sample=2); state["sample"], state["epoch"]
    (2, 30)
    """
    if sample is None:
        sample = sample_holding(epoch, int(state.get(SAMPLE_KEY) or 0), sample_starts, seq_len)
    state[SAMPLE_KEY] = int(sample)
    state[EPOCH_KEY] = int(epoch)
    _epoch_set_elsewhere(state)


def chart_key(sample: int, state: Mapping) -> str:
    """Widget key of the inter-epoch chart.

    It changes with the sample and whenever the epoch was chosen by other means, so the chart's
    click highlight is either absent or the selected epoch, never a stale one.

    Examples
    --------
    >>> chart_key(3, {"chart_generation": 2})
    'inter_epoch_3_2'
    """
    return f"inter_epoch_{int(sample)}_{int(state.get(GENERATION_KEY, 0))}"


def take_chart_pick(state: MutableMapping, pick: int | None, epochs: range) -> bool:
    """Select the epoch clicked in the inter-epoch chart, once per click.

    Returns True when the selected epoch changed.

    Examples
    --------
    >>> state = {"epoch": 3}
    >>> take_chart_pick(state, 5, range(0, 20)), take_chart_pick(state, 5, range(0, 20)), state["epoch"]
    (True, False, 5)
    """
    if pick is None or pick not in epochs:
        state[LAST_PICK_KEY] = None
        return False
    if pick == state.get(LAST_PICK_KEY):
        return False
    state[LAST_PICK_KEY] = pick
    state[EPOCH_KEY] = pick
    return True
