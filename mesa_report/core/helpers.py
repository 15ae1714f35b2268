"""A helper process: started early, warmed up on the side, then asked to run named functions.

A command that will need a slow library later (vl-convert's JavaScript engine, WeasyPrint's fonts)
can start a :class:`Helper` before its own heavy imports: the helper imports and warms that
library on another core meanwhile, and later runs the work that needs it. Functions are named by
module and name, so the helper imports only what they need (never torch, unless asked to), and
values cross as pickles through a pipe.

The helper is spawned (the same on Linux, macOS and Windows) and is a daemon: it ends with the
command that started it, whatever happens. Should it die, the next call raises
:class:`HelperStopped`, and the caller can do the work itself.

Examples
--------
>>> with Helper() as helper:
...     helper.call("math", "hypot", 3, 4)
5.0
>>> with Helper() as helper:
...     helper.call("math", "sqrt", -1)
Traceback (most recent call last):
...
ValueError: math domain error
"""

from __future__ import annotations

import pickle
import signal
from multiprocessing import get_context
from typing import Any

from mesa_report.core.errors import MesaReportError
from mesa_report.core.jobs import call_named, lower_priority, plain_main

Call = tuple[str, str, tuple, dict]
"""A function named by its module and name, with its positional and keyword arguments."""


class HelperStopped(MesaReportError):
    """The helper process ended before it answered (killed, out of memory)."""


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that cannot cross becomes one that can
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def serve(connection, niceness: int, warm_up: Call | None) -> None:
    """The helper's life: lower its priority, warm up, then answer calls until told to stop.

    Each call is answered with ``(True, value)`` or ``(False, exception)``. A failed warm-up is
    not an error of its own: the first call that needs what it would have loaded fails with
    the real reason. Ctrl-C is left to the command (it stops its helpers), so that a helper
    prints no traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority(niceness)
    if warm_up is not None:
        try:
            call_named(warm_up[0], warm_up[1], *warm_up[2], **warm_up[3])
        except Exception:  # noqa: BLE001, S110 - see the docstring
            pass
    while True:
        try:
            call = connection.recv()
        except EOFError:  # the command has gone
            return
        if call is None:
            return
        try:
            module, name, args, kwargs = call
            answer = (True, call_named(module, name, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            answer = (False, _picklable(exc))
        connection.send(answer)


class Helper:
    """One spawned process that runs named functions, one call at a time.

    Parameters
    ----------
    warm_up : (module, name, args, kwargs), optional
        Called first, as soon as the process starts (e.g. an import and a tiny drawing).
    niceness : int
        How far the process lowers its own priority (POSIX only), so that it warms up behind
        what the command is doing.
    """

    def __init__(self, warm_up: Call | None = None, *, niceness: int = 0) -> None:
        context = get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(theirs, niceness, warm_up), daemon=True,
                                        name="mesa-report helper")
        with plain_main():  # the helper imports this light module as its __main__, not the caller's
            self._process.start()
        theirs.close()
        self._waiting = False

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def submit(self, module: str, name: str, *args, **kwargs) -> None:
        """Start ``module.name(*args, **kwargs)`` in the helper; :meth:`result` gives its value."""
        if self._waiting:
            raise RuntimeError("the helper is still working on a call; take its result first")
        try:
            self._connection.send((module, name, args, kwargs))
        except (OSError, ValueError) as exc:
            raise HelperStopped("the helper process has stopped") from exc
        self._waiting = True

    def result(self) -> Any:
        """The value of the call submitted last; its exception is raised here."""
        if not self._waiting:
            raise RuntimeError("no call was submitted to the helper; submit one first")
        self._waiting = False
        try:
            ok, value = self._connection.recv()
        except (EOFError, OSError) as exc:
            self._process.join(timeout=5)  # its end of the pipe is closed: it is exiting
            raise HelperStopped("the helper process stopped before it answered") from exc
        if not ok:
            raise value
        return value

    def call(self, module: str, name: str, *args, **kwargs) -> Any:
        """``module.name(*args, **kwargs)`` run in the helper; its value, or its exception."""
        self.submit(module, name, *args, **kwargs)
        return self.result()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        """Stop the helper now (a warm-up still running is cut short)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._connection.close()
