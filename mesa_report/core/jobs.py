"""One job per item, inline or in worker processes: an outcome per item, a progress bar, failures listed.

``preprocess`` (a night per EDF file), ``report`` (a subject's reports) and ``batch`` (a night's
row and reports) run their items through a :class:`JobRunner`. A job is a picklable function of
one item; whatever it raises becomes its item's :class:`Outcome` (the error's own message for
mesa-report's errors, the exception's type and message otherwise), so one bad item never stops
the others. Jobs write their files atomically (:mod:`mesa_report.core.fileio`), so an item that
fails or a run that is killed leaves no partial output under a final name.

With more than one worker the jobs run in spawned processes (the same on Linux, macOS and
Windows, and safe with torch's threads already started); a worker that dies (killed, out of
memory) fails its item with :data:`BROKEN_POOL` instead of stopping the run.

Examples
--------
>>> outcomes = run_jobs(int, [("a", "1"), ("b", "x")], quiet=True)
>>> [(o.key, o.value, o.failed) for o in outcomes]
[('a', 1, False), ('b', None, True)]
>>> failure_lines(outcomes)
["  b: unexpected ValueError: invalid literal for int() with base 10: 'x'"]
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from tqdm import tqdm

from mesa_report.core.errors import ConfigError, MesaReportError

BROKEN_POOL = ("a worker process stopped abruptly (out of memory, killed, or a script that starts "
               "worker processes outside an `if __name__ == \"__main__\":` block); run again with "
               "--jobs 1 to see the error")
"""The error of an item whose worker process died."""


@dataclass(frozen=True)
class Outcome:
    """What became of one item: its value, or why it failed (a failed job may still carry a value).

    Attributes
    ----------
    key : hashable
        What the item is known by (a night's id, a file's path).
    value : object
        The job's return value (``None`` when it raised).
    error : str
        Empty when the job succeeded.
    """

    key: Hashable
    value: Any = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def attempt(job: Callable[[Any], Any], key: Hashable, item: Any) -> Outcome:
    """Run ``job(item)``: its value, or the error that stopped it, never an exception.

    A job that returns an :class:`Outcome` (e.g. a value and an error) has it passed on as it is.

    Examples
    --------
    >>> attempt(int, 1, "7"), attempt(int, 2, "?").error
    (Outcome(key=1, value=7, error=''), "unexpected ValueError: invalid literal for int() with base 10: '?'")
    """
    try:
        value = job(item)
    except MesaReportError as exc:
        return Outcome(key, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one item's bug must not stop the others
        return Outcome(key, error=f"unexpected {type(exc).__name__}: {exc}")
    return value if isinstance(value, Outcome) else Outcome(key, value)


def check_workers(workers: int, option: str = "--jobs") -> int:
    """``workers`` as an int of at least 1, or a :class:`ConfigError` naming ``option``.

    Examples
    --------
    >>> check_workers(2)
    2
    """
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ConfigError(f"{option} must be at least 1 (a whole number), not {workers!r}")
    return int(workers)


@contextlib.contextmanager
def plain_main() -> Iterator[None]:
    """This module as ``__main__`` while worker processes are spawned.

    A spawned process first imports its parent's ``__main__``. Under Streamlit (the app, and its
    AppTest inside a test run) ``__main__`` is the app's script, so a worker would run the whole
    app and die while it boots; this plain module stands in for it meanwhile.

    Examples
    --------
    >>> with plain_main():
    ...     sys.modules["__main__"].__name__
    'mesa_report.core.jobs'
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = sys.modules[__name__]
    try:
        yield
    finally:
        if main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = main


class JobRunner:
    """Jobs inline (one worker) or in a pool of spawned processes, with one progress bar.

    Parameters
    ----------
    workers : int
        1 runs each job in this process as it is submitted; more start that many processes.
    total : int
        Items expected, for the bar (outcomes added with :meth:`add` count too).
    desc, unit : str
        The bar's label and unit.
    quiet : bool
        No bar.

    Examples
    --------
    >>> with JobRunner(1, total=2, quiet=True) as runner:
    ...     runner.submit(abs, "x", -3)
    ...     runner.add(Outcome("y", error="no file"))
    >>> [o.value for o in runner.outcomes], [o.key for o in runner.failures()]
    ([3, None], ['y'])
    """

    def __init__(self, workers: int = 1, *, total: int, desc: str = "items", unit: str = "item",
                 quiet: bool = False) -> None:
        workers = check_workers(workers)
        self.outcomes: list[Outcome] = []
        self._fresh: list[Outcome] = []
        self._futures: dict[Future, Hashable] = {}
        self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet or total == 0)
        self._pool = (ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
                      if workers > 1 and total > 1 else None)

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if self._pool is not None:
                if exc_type is None:
                    self.wait()
                self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._bar.close()

    def submit(self, job: Callable[[Any], Any], key: Hashable, item: Any) -> None:
        """Run ``job(item)`` (now, or in a worker); its outcome is recorded under ``key``."""
        if self._pool is None:
            self.add(attempt(job, key, item))
            return
        try:
            with plain_main():  # a submit may spawn a worker
                self._futures[self._pool.submit(attempt, job, key, item)] = key
        except BrokenProcessPool:  # a worker died earlier: the pool takes no more jobs
            self.add(Outcome(key, error=BROKEN_POOL))
        self._collect(block=False)

    def add(self, outcome: Outcome) -> None:
        """Record an outcome found without a job (e.g. an item that failed before it could start)."""
        self.outcomes.append(outcome)
        self._fresh.append(outcome)
        self._bar.update()

    def advance(self, n: int) -> None:
        """Move the bar for ``n`` items that need no job and have no outcome (e.g. up to date)."""
        self._bar.update(n)

    def finished(self, block: bool = False) -> Iterator[Outcome]:
        """Outcomes recorded since the last call; with ``block``, wait for every job first."""
        self._collect(block)
        fresh, self._fresh = self._fresh, []
        yield from fresh

    def wait(self) -> list[Outcome]:
        """Wait for every submitted job; every outcome so far."""
        self._collect(block=True)
        return self.outcomes

    def failures(self) -> list[Outcome]:
        """The outcomes that failed, in the order they were recorded."""
        return [o for o in self.outcomes if o.failed]

    def _collect(self, block: bool) -> None:
        while self._futures:
            done, _ = wait(self._futures, timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for future in done:
                key = self._futures.pop(future)
                try:
                    self.add(future.result())
                except BrokenProcessPool:
                    self.add(Outcome(key, error=BROKEN_POOL))
            if not block or not done:
                return


def run_jobs(job: Callable[[Any], Any], items: Iterable[tuple[Hashable, Any]], *, workers: int = 1,
             desc: str = "items", unit: str = "item", quiet: bool = False) -> list[Outcome]:
    """Run ``job`` on every ``(key, item)``; one :class:`Outcome` per item, in the order they finish.

    Examples
    --------
    >>> [o.value for o in run_jobs(len, [(1, "ab"), (2, "abc")], quiet=True)]
    [2, 3]
    """
    items = list(items)
    with JobRunner(workers, total=len(items), desc=desc, unit=unit, quiet=quiet) as runner:
        for key, item in items:
            runner.submit(job, key, item)
    return runner.outcomes


def freeze_loaded_objects() -> int:
    """Leave every object made so far out of the garbage collector's later passes; return how many.

    For a process's entry point, once its libraries and model are loaded: each full collection
    would otherwise walk those objects again (several hundred thousand, torch's, WeasyPrint's and
    the charts' libraries'), about a tenth of a fresh ``report`` command. No collection runs first:
    it would cost a fresh command 0.15 s, to free the little that the imports left behind. It changes
    the process's state, so only commands and worker processes call it, never the library.

    Examples
    --------
    >>> freeze_loaded_objects() > 0  # doctest: +SKIP
    True
    """
    gc.freeze()
    return gc.get_freeze_count()


def failure_lines(outcomes: Iterable[Outcome], name: Callable[[Hashable], str] = str) -> list[str]:
    """One indented line per failed outcome, ``  <name of key>: <error>``.

    Examples
    --------
    >>> failure_lines([Outcome(3, error="too short"), Outcome(4, value=1)], name=lambda k: f"night {k}")
    ['  night 3: too short']
    """
    return [f"  {name(o.key)}: {o.error}" for o in outcomes if o.failed]


def lower_priority(niceness: int) -> None:
    """Lower this process's priority by ``niceness`` (POSIX ``nice``); nothing where it does not exist (Windows).

    Examples
    --------
    >>> lower_priority(0)
    """
    if hasattr(os, "nice") and niceness:
        os.nice(niceness)


def call_named(module: str, name: str, *args, **kwargs):
    """``module.name(*args, **kwargs)``, the module imported first: a call that crosses processes as strings.

    Examples
    --------
    >>> call_named("math", "hypot", 3, 4)
    5.0
    """
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def call_niced(niceness: int, module: str, name: str) -> None:
    """Lower this process's priority by ``niceness``, then import ``module`` and call its ``name()``.

    A spawned worker's initializer: named by strings, it is unpickled with only this light module
    imported, so the worker's own imports (torch, the report stack: seconds of processor time)
    already run at the lower priority, behind what a user waits for.

    Examples
    --------
    >>> call_niced(0, "gc", "collect")
    """
    lower_priority(niceness)
    call_named(module, name)
