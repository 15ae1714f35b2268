"""From what the URL or the session asks for to a view that the night shown can show.

Every value that cannot be used is replaced by a sensible one and explained in words, never
raised: an unknown night, a sample or epoch out of range, a channel, layer, head, method or colour
scheme the model does not have.

Examples
--------
>>> choose_subject(None, [3, 4])
(3, [])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mesa_report.app.state import MEAN_HEADS, MapOptions, View, ViewRequest, shown_text
from mesa_report.core.errors import DataError
from mesa_report.data.night_ids import record_id
from mesa_report.explain.selection import rank_epochs


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
            problems.append(f"channel {shown_text(request.channel)!r} is not one the model reads "
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
            problems.append(f"{name} {shown_text(asked)!r} is not one of {', '.join(choices)}; "
                            f"showing {choices[0]}")
    if request.method in methods:
        method = request.method
    if request.scheme in schemes:
        scheme = request.scheme
    return MapOptions(layer=layer, head=head, method=method, scheme=scheme), problems
