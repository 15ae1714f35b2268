"""A helper process: values and errors cross back, a dead helper is reported, warm-ups stay out of the way."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from mesa_report.core.errors import DataError
from mesa_report.core.helpers import Helper, HelperStopped


def loaded(module: str) -> bool:
    """Whether ``module`` is imported in the process that runs this (called inside a helper)."""
    return module in sys.modules


def refuse(message: str) -> None:
    raise DataError(message)


class Unpicklable(Exception):
    def __init__(self, message, lock):
        super().__init__(message)
        self.lock = lock


def raise_unpicklable() -> None:
    import threading

    raise Unpicklable("holds a lock", threading.Lock())


def test_a_call_returns_its_value_and_the_helper_takes_the_next():
    with Helper() as helper:
        assert helper.call("math", "hypot", 6, 8) == 10.0
        assert helper.call("builtins", "sorted", [3, 1, 2], reverse=True) == [3, 2, 1]
        assert helper.call("os", "getpid") != os.getpid()


def test_errors_cross_with_their_type_and_message_and_the_helper_goes_on():
    with Helper() as helper:
        with pytest.raises(DataError, match="night 7 is empty"):
            helper.call(__name__, "refuse", "night 7 is empty")
        with pytest.raises(RuntimeError, match="Unpicklable: holds a lock"):
            helper.call(__name__, "raise_unpicklable")
        with pytest.raises(ModuleNotFoundError):
            helper.call("no_such_module_here", "f")
        assert helper.call("math", "sqrt", 9) == 3.0


def test_a_helper_that_died_is_reported_as_stopped():
    helper = Helper()
    try:
        pid = helper.call("os", "getpid")
        os.kill(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        with pytest.raises(HelperStopped, match="stopped"):
            helper.call("math", "sqrt", 4)
        assert not helper.alive
    finally:
        helper.close()


def test_a_failed_warm_up_does_not_stop_the_helper():
    with Helper(("no_such_module_here", "warm", (), {})) as helper:
        assert helper.call("math", "sqrt", 16) == 4.0


def test_the_helper_warms_up_at_its_own_priority_and_imports_only_what_it_is_asked():
    with Helper(("json", "dumps", ([1],), {}), niceness=3) as helper:
        if hasattr(os, "nice"):
            assert helper.call("os", "nice", 0) == os.nice(0) + 3
        assert helper.call(__name__, "loaded", "json")
        assert not helper.call(__name__, "loaded", "torch")


def test_one_call_at_a_time():
    with Helper() as helper:
        helper.submit("math", "sqrt", 4)
        with pytest.raises(RuntimeError, match="still working"):
            helper.submit("math", "sqrt", 9)
        assert helper.result() == 2.0
        with pytest.raises(RuntimeError, match="no call was submitted"):
            helper.result()  # rather than wait for an answer that never comes


def test_ctrl_c_is_left_to_the_command():
    with Helper() as helper:
        os.kill(helper.call("os", "getpid"), signal.SIGINT)
        assert helper.call("math", "sqrt", 25) == 5.0 and helper.alive
