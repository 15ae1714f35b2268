"""Sleep stages from NSRR and Compumedics Profusion annotation XML.

Two layouts are read:

- NSRR (``<PSGAnnotation>``): ``<ScoredEvent>`` elements whose ``EventType`` is ``Stages|Stages``,
  each with an ``EventConcept`` such as ``Stage 2 sleep|2``, a ``Start`` and a ``Duration`` in
  seconds that may span many epochs; a ``Recording Start Time`` event carries the ``ClockTime``.
- Profusion (``<CMPStudyConfig>``): ``<SleepStages>`` with one ``<SleepStage>`` code per epoch.

Codes 0-5 are W N1 N2 N3 N4 REM; Movement (6), Unscored (9), unknown concepts, epochs no event
covers, and epochs two events score differently are ``-1``. Files are parsed with ``defusedxml``:
entity declarations and external references are refused. They are read as a stream
(``iterparse``), each element dropped once read, so a 100 MB export never becomes a 400 MB tree.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import numpy as np

from mesa_report.core.errors import IngestError
from mesa_report.core.vocabulary import CLASS_NAMES_6, UNSCORED

STAGE_CODES = range(len(CLASS_NAMES_6))
"""Codes that are stages (0-5); any other code is unscored."""

STAGE_CONCEPT_NAMES = {
    "wake": 0,
    "stage 1 sleep": 1,
    "stage 2 sleep": 2,
    "stage 3 sleep": 3,
    "stage 4 sleep": 4,
    "rem sleep": 5,
    "movement": 6,
    "unscored": 9,
}
"""NSRR stage concept names and their codes (used when a concept has no ``|code`` part)."""

MAX_NIGHT_SECONDS = 48 * 3600.0
"""Longest recording accepted; a stage event ending later is a damaged file."""

NSRR = "nsrr"
PROFUSION = "profusion"


@dataclass(frozen=True)
class Hypnogram:
    """Stages of one night as read from an annotation file.

    Attributes
    ----------
    labels : numpy.ndarray, shape (n_epochs,), int64
        Stage codes 0-5, ``-1`` unscored.
    epoch_seconds : float
        Epoch length.
    source : Path
        The annotation file.
    layout : str
        ``"nsrr"`` or ``"profusion"``.
    scored_epochs : int
        Epochs the file itself spans (before fitting to ``n_epochs``).
    start_clock : str or None
        Clock time of the first epoch, ``HH:MM:SS``, when the file gives it.
    warnings : list of str
        Problems found (each names the file).
    """

    labels: np.ndarray
    epoch_seconds: float
    source: Path
    layout: str
    scored_epochs: int
    start_clock: str | None = None
    warnings: list[str] = field(default_factory=list)


def _text(element: Element, tag: str) -> str | None:
    child = element.find(tag)
    return child.text.strip() if child is not None and child.text else None


def _stage_code(concept: str) -> int | None:
    """Stage code of an NSRR concept (``'Stage 2 sleep|2'`` -> 2); ``None`` if unknown."""
    name, _, code = concept.rpartition("|")
    try:
        return int(code)
    except ValueError:
        return STAGE_CONCEPT_NAMES.get((name or code).strip().lower())


def _as_label(code: int) -> int:
    return code if code in STAGE_CODES else UNSCORED


def _clock(text: str | None) -> str | None:
    """``'00.00.00 22.00.00'`` or ``'22:00:00'`` -> ``'22:00:00'``; ``None`` if not a time."""
    if not text:
        return None
    last = text.split()[-1].replace(".", ":")
    try:
        return dt.datetime.strptime(last, "%H:%M:%S").time().isoformat()
    except ValueError:
        return None


class _Scan:
    """What one streaming pass over an annotation file keeps (never the whole tree).

    NSRR stage events become ``(first epoch, stop epoch, code)`` triples in a flat int64 array;
    Profusion ``<SleepStage>`` codes an int8 array. Elements are dropped as soon as they end,
    except the few direct children of an open ``<ScoredEvent>`` that are read, so memory stays
    within a fixed bound plus a few bytes per event, whatever the file's size.
    """

    _EVENT_FIELDS = frozenset({"EventConcept", "EventType", "Start", "Duration", "ClockTime"})

    def __init__(self, path: Path, epoch_seconds: float) -> None:
        self.path, self.epoch_seconds = path, epoch_seconds
        self.events = array("q")  # (first, stop, code) per stage event, flattened
        self.unknown: dict[str, int] = {}
        self.clock: str | None = None
        self.event_error: IngestError | None = None  # raised only if the file is NSRR
        self.profusion = False  # the root has a <SleepStages> child
        self.epoch_length: str | None = None
        self.codes = array("b")  # Profusion codes, -1 unscored
        self.unknown_codes = 0

    def run(self) -> _Scan:
        open_elements: list[Element] = []
        stages_depth = 0  # >0 while inside the root's first <SleepStages>
        for kind, element in _iterparse(self.path):
            if kind == "start":
                open_elements.append(element)
                if (len(open_elements) == 2 and element.tag == "SleepStages"
                        and not self.profusion):
                    self.profusion, stages_depth = True, 2
                continue
            open_elements.pop()
            parent = open_elements[-1] if open_elements else None
            depth = len(open_elements) + 1
            if stages_depth and depth == stages_depth:
                stages_depth = 0
            if element.tag == "ScoredEvent":
                self._event(element)
            elif (parent is not None and parent.tag == "ScoredEvent"
                  and element.tag in self._EVENT_FIELDS and parent.find(element.tag) is element):
                del element[:]  # keep its text (read when the event ends), not its children
                continue
            elif stages_depth and element.tag == "SleepStage":
                self._stage(element)
            elif depth == 2 and element.tag == "EpochLength" and self.epoch_length is None:
                self.epoch_length = _own_text(element)
            if parent is not None:
                parent.remove(element)
        return self

    def _event(self, event: Element) -> None:
        concept = _text(event, "EventConcept") or ""
        if concept.lower() == "recording start time":
            self.clock = _clock(_text(event, "ClockTime"))
            return
        if (_text(event, "EventType") or "").partition("|")[0].strip().lower() != "stages":
            return
        try:
            start = _seconds(event, "Start", self.path)
            stop = start + _seconds(event, "Duration", self.path)
        except IngestError as exc:
            self.event_error = self.event_error or exc
            return
        # An epoch belongs to the event that covers its middle.
        first = math.ceil(start / self.epoch_seconds - 0.5)
        last = math.ceil(stop / self.epoch_seconds - 0.5)
        code = _stage_code(concept)
        if code is None:
            self.unknown[concept] = self.unknown.get(concept, 0) + max(last - first, 0)
            code = UNSCORED
        self.events.extend((first, last, _as_label(code)))

    def _stage(self, stage: Element) -> None:
        try:
            self.codes.append(_as_label(int((stage.text or "").strip())))
        except ValueError:
            self.codes.append(UNSCORED)
            self.unknown_codes += 1


def _own_text(element: Element) -> str | None:
    return element.text.strip() if element.text else None


def _iterparse(path: Path) -> Iterator[tuple[str, Element]]:
    """``(start|end, element)`` of a file parsed as a stream with ``defusedxml``."""
    try:
        yield from SafeET.iterparse(str(path), events=("start", "end"))
    except defusedxml.DefusedXmlException as exc:
        raise IngestError(f"annotation file {path} was refused: it declares XML entities or "
                          f"external references ({type(exc).__name__}), which annotation "
                          "exports never do; get a clean copy of the file") from exc
    except ParseError as exc:
        reason = "is empty" if path.stat().st_size == 0 else f"is not well-formed XML ({exc})"
        raise IngestError(f"annotation file {path} {reason}; download or export it again") from exc
    except OSError as exc:
        raise IngestError(f"annotation file {path} cannot be read: {exc.strerror or exc}") from exc


def _seconds(element: Element, tag: str, path: Path) -> float:
    text = _text(element, tag)
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not 0 <= value <= MAX_NIGHT_SECONDS:
        raise IngestError(f"annotation file {path}: a stage event has {tag} {text!r}; expected "
                          f"seconds from 0 to {MAX_NIGHT_SECONDS:g}")
    return value


def _nsrr_stages(scan: _Scan) -> tuple[np.ndarray, list[str]]:
    path = scan.path
    notes: list[str] = []
    if scan.event_error is not None:
        raise scan.event_error
    if not scan.events:
        raise IngestError(f"annotation file {path} holds no sleep stages (no 'Stages|Stages' "
                          "events); use the NSRR or Profusion annotation export of the night")
    n_epochs = max(scan.events[1::3])
    labels = np.full(n_epochs, UNSCORED, dtype=np.int64)  # (n_epochs,)
    covered = np.zeros(n_epochs, dtype=bool)  # (n_epochs,)
    conflict = np.zeros(n_epochs, dtype=bool)  # (n_epochs,)
    triples = iter(scan.events)
    for first, stop, code in zip(triples, triples, triples):  # one event at a time, no list
        span = slice(first, stop)
        conflict[span] |= covered[span] & (labels[span] != code)
        labels[span] = code
        covered[span] = True
    labels[conflict] = UNSCORED
    for concept, count in scan.unknown.items():
        notes.append(f"{path.name}: unknown stage concept {concept!r} ({count} epochs) left "
                     "unscored")
    if conflict.any():
        notes.append(f"{path.name}: {int(conflict.sum())} epochs are scored differently by "
                     "overlapping stage events; they are left unscored")
    if not covered.all():
        notes.append(f"{path.name}: {int((~covered).sum())} epochs of {n_epochs} are not "
                     "covered by any stage event; they are left unscored")
    return labels, notes


def _profusion_stages(scan: _Scan) -> tuple[np.ndarray, list[str]]:
    path, epoch_seconds, file_epoch = scan.path, scan.epoch_seconds, scan.epoch_length
    notes: list[str] = []
    try:
        file_seconds = epoch_seconds if file_epoch is None else float(file_epoch)
    except ValueError:
        file_seconds = math.nan
    if not math.isclose(file_seconds, epoch_seconds):
        raise IngestError(f"annotation file {path} scores {file_epoch} s epochs; the store uses "
                          f"{epoch_seconds:g} s epochs")
    if not scan.codes:
        raise IngestError(f"annotation file {path} has an empty <SleepStages>; use the NSRR or "
                          "Profusion annotation export of the night")
    if scan.unknown_codes:
        notes.append(f"{path.name}: {scan.unknown_codes} <SleepStage> values are not stage codes; "
                     "they are left unscored")
    return np.asarray(scan.codes, dtype=np.int64), notes


def fit_labels(labels: np.ndarray, n_epochs: int, source: str) -> tuple[np.ndarray, list[str]]:
    """Cut or pad (with ``-1``) labels to the signal's epochs, with a warning giving both lengths.

    Examples
    --------
    >>> fitted, notes = fit_labels(np.array([0, 1, 2]), 5, "a.xml")
    >>> fitted.tolist(), len(notes)
    ([0, 1, 2, -1, -1], 1)
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == n_epochs:
        return labels, []
    fitted = np.full(n_epochs, UNSCORED, dtype=np.int64)  # (n_epochs,)
    overlap = min(len(labels), n_epochs)
    fitted[:overlap] = labels[:overlap]
    rest = ("the extra annotations are ignored" if len(labels) > n_epochs
            else "the remaining epochs are unscored")
    note = (f"{source}: annotations span {len(labels)} epochs, the signal {n_epochs} epochs; "
            f"the overlap of {overlap} epochs is used and {rest}")
    return fitted, [note]


def read_stages(xml_path: str | Path, n_epochs: int | None = None,
                epoch_seconds: float = 30.0) -> Hypnogram:
    """Read the sleep stages of an NSRR or Profusion annotation file.

    Parameters
    ----------
    xml_path : path-like
        ``mesa-sleep-NNNN-nsrr.xml`` or ``mesa-sleep-NNNN-profusion.xml``.
    n_epochs : int, optional
        Epochs of the signal: labels are cut or padded to it (with a warning).
    epoch_seconds : float
        Epoch length.

    Returns
    -------
    Hypnogram

    Raises
    ------
    IngestError
        For an empty, malformed or unsafe file, or one without sleep stages.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mesa-sleep-0001-nsrr.xml"
    >>> _ = path.write_text(
    ...     "<PSGAnnotation><ScoredEvents><ScoredEvent><EventType>Stages|Stages</EventType>"
    ...     "<EventConcept>Stage 2 sleep|2</EventConcept><Start>30</Start>"
    ...     "<Duration>60</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>")
    >>> read_stages(path).labels.tolist()
    [-1, 2, 2]
    """
    path = Path(xml_path)
    if epoch_seconds <= 0:
        raise IngestError(f"epoch_seconds must be positive, not {epoch_seconds}")
    scan = _Scan(path, float(epoch_seconds)).run()
    start_clock = None
    if scan.profusion:
        layout = PROFUSION
        labels, notes = _profusion_stages(scan)
    else:
        layout = NSRR
        labels, notes = _nsrr_stages(scan)
        start_clock = scan.clock
    scored_epochs = len(labels)
    if n_epochs is not None:
        labels, fit_notes = fit_labels(labels, int(n_epochs), path.name)
        notes += fit_notes
    return Hypnogram(labels=labels, epoch_seconds=float(epoch_seconds), source=path,
                     layout=layout, scored_epochs=scored_epochs, start_clock=start_clock,
                     warnings=notes)
