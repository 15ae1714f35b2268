"""Sleep stages from NSRR and Compumedics Profusion annotation XML.

Two layouts are read:

- NSRR (``<PSGAnnotation>``): ``<ScoredEvent>`` elements whose ``EventType`` is ``Stages|Stages``,
  each with an ``EventConcept`` such as ``Stage 2 sleep|2``, a ``Start`` and a ``Duration`` in
  seconds that may span many epochs; a ``Recording Start Time`` event carries the ``ClockTime``.
- Profusion (``<CMPStudyConfig>``): ``<SleepStages>`` with one ``<SleepStage>`` code per epoch.

Codes 0-5 are W N1 N2 N3 N4 REM; Movement (6), Unscored (9), unknown concepts, epochs no event
covers, and epochs two events score differently are ``-1``. Files are parsed with ``defusedxml``:
entity declarations and external references are refused.
"""

from __future__ import annotations

import datetime as dt
import math
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


def _parse(path: Path) -> Element:
    try:
        return SafeET.parse(str(path)).getroot()
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


def _nsrr_stages(root: Element, path: Path, epoch_seconds: float
                 ) -> tuple[np.ndarray, str | None, list[str]]:
    notes: list[str] = []
    events = []  # (first epoch, stop epoch, code)
    clock = None
    unknown: dict[str, int] = {}
    for event in root.iter("ScoredEvent"):
        concept = _text(event, "EventConcept") or ""
        if concept.lower() == "recording start time":
            clock = _clock(_text(event, "ClockTime"))
            continue
        if (_text(event, "EventType") or "").partition("|")[0].strip().lower() != "stages":
            continue
        start = _seconds(event, "Start", path)
        stop = start + _seconds(event, "Duration", path)
        # An epoch belongs to the event that covers its middle.
        first = math.ceil(start / epoch_seconds - 0.5)
        last = math.ceil(stop / epoch_seconds - 0.5)
        code = _stage_code(concept)
        if code is None:
            unknown[concept] = unknown.get(concept, 0) + max(last - first, 0)
            code = UNSCORED
        events.append((first, last, _as_label(code)))
    if not events:
        raise IngestError(f"annotation file {path} holds no sleep stages (no 'Stages|Stages' "
                          "events); use the NSRR or Profusion annotation export of the night")
    n_epochs = max(stop for _, stop, _ in events)
    labels = np.full(n_epochs, UNSCORED, dtype=np.int64)  # (n_epochs,)
    covered = np.zeros(n_epochs, dtype=bool)  # (n_epochs,)
    conflict = np.zeros(n_epochs, dtype=bool)  # (n_epochs,)
    for first, stop, code in events:
        span = slice(first, stop)
        conflict[span] |= covered[span] & (labels[span] != code)
        labels[span] = code
        covered[span] = True
    labels[conflict] = UNSCORED
    for concept, count in unknown.items():
        notes.append(f"{path.name}: unknown stage concept {concept!r} ({count} epochs) left "
                     "unscored")
    if conflict.any():
        notes.append(f"{path.name}: {int(conflict.sum())} epochs are scored differently by "
                     "overlapping stage events; they are left unscored")
    if not covered.all():
        notes.append(f"{path.name}: {int((~covered).sum())} epochs of {n_epochs} are not "
                     "covered by any stage event; they are left unscored")
    return labels, clock, notes


def _profusion_stages(root: Element, path: Path, epoch_seconds: float
                      ) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    file_epoch = _text(root, "EpochLength")
    try:
        file_seconds = epoch_seconds if file_epoch is None else float(file_epoch)
    except ValueError:
        file_seconds = math.nan
    if not math.isclose(file_seconds, epoch_seconds):
        raise IngestError(f"annotation file {path} scores {file_epoch} s epochs; the store uses "
                          f"{epoch_seconds:g} s epochs")
    codes = []
    unknown = 0
    for stage in root.find("SleepStages").iter("SleepStage"):
        try:
            codes.append(_as_label(int((stage.text or "").strip())))
        except ValueError:
            codes.append(UNSCORED)
            unknown += 1
    if not codes:
        raise IngestError(f"annotation file {path} has an empty <SleepStages>; use the NSRR or "
                          "Profusion annotation export of the night")
    if unknown:
        notes.append(f"{path.name}: {unknown} <SleepStage> values are not stage codes; they are "
                     "left unscored")
    return np.asarray(codes, dtype=np.int64), notes


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
    root = _parse(path)
    start_clock = None
    if root.find("SleepStages") is not None:
        layout = PROFUSION
        labels, notes = _profusion_stages(root, path, epoch_seconds)
    else:
        layout = NSRR
        labels, start_clock, notes = _nsrr_stages(root, path, epoch_seconds)
    scored_epochs = len(labels)
    if n_epochs is not None:
        labels, fit_notes = fit_labels(labels, int(n_epochs), path.name)
        notes += fit_notes
    return Hypnogram(labels=labels, epoch_seconds=float(epoch_seconds), source=path,
                     layout=layout, scored_epochs=scored_epochs, start_clock=start_clock,
                     warnings=notes)
