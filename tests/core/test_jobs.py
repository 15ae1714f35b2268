"""The job runner: an outcome per item whatever the job does, inline or in spawned workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.core.jobs import BROKEN_POOL, JobRunner, Outcome, attempt, failure_lines, run_jobs


def _square_or_fail(value: int) -> int:
    if value < 0:
        raise DataError(f"{value} is negative; give a count")
    if value == 13:
        raise RuntimeError("unlucky")
    return value * value


def _die_on_zero(value: int) -> int:
    if value == 0:
        os._exit(3)  # the worker process vanishes, as when it is killed or runs out of memory
    return value


def test_every_item_gets_an_outcome_and_errors_say_what_happened():
    outcomes = run_jobs(_square_or_fail, [(k, k) for k in (2, -1, 13, 3)], quiet=True)
    assert [o.key for o in outcomes] == [2, -1, 13, 3]
    by_key = {o.key: o for o in outcomes}
    assert by_key[2].value == 4 and by_key[3].value == 9 and not by_key[3].failed
    assert by_key[-1].error == "-1 is negative; give a count"  # the project's own message, as it is
    assert by_key[13].error == "unexpected RuntimeError: unlucky"
    assert failure_lines(outcomes, name=lambda k: f"item {k}") == [
        "  item -1: -1 is negative; give a count", "  item 13: unexpected RuntimeError: unlucky"]


def test_a_job_may_return_its_own_outcome():
    kept = Outcome("x", value={"row": 1}, error="its report failed")
    assert attempt(lambda item: kept, "x", None) is kept


def test_worker_processes_give_the_same_outcomes():
    items = [(k, k) for k in (1, 2, -3, 4)]
    pooled = run_jobs(_square_or_fail, items, workers=2, quiet=True)
    inline = run_jobs(_square_or_fail, items, quiet=True)
    assert sorted(map(repr, pooled)) == sorted(map(repr, inline))


def test_a_dead_worker_fails_its_item_and_the_run_ends():
    with JobRunner(2, total=4, quiet=True) as runner:
        runner.submit(_die_on_zero, 0, 0)
        runner.wait()  # the pool is broken now: later items fail without running
        for k in (1, 2, 3):
            runner.submit(_die_on_zero, k, k)
    assert [o.key for o in runner.outcomes] == [0, 1, 2, 3]
    assert {o.error for o in runner.outcomes} == {BROKEN_POOL}


def test_outcomes_stream_as_they_are_recorded_and_bad_worker_counts_are_refused():
    with JobRunner(1, total=3, quiet=True) as runner:
        runner.submit(_square_or_fail, "a", 2)
        assert [o.value for o in runner.finished()] == [4]
        runner.add(Outcome("b", error="missing file"))
        runner.advance(1)  # an item with nothing to do
        assert [o.key for o in runner.finished()] == ["b"] and list(runner.finished()) == []
    assert [o.key for o in runner.failures()] == ["b"]
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="--jobs must be at least 1"):
            JobRunner(bad, total=1)


def test_freezing_the_loaded_objects_keeps_them_out_of_later_collections():
    child = ("import gc, json, numpy; from mesa_report.core.jobs import freeze_loaded_objects; "
             "before = len(gc.get_objects()); n = freeze_loaded_objects(); "
             "print(json.dumps([before, n, gc.get_freeze_count(), len(gc.get_objects())]))")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)  # not here
    assert done.returncode == 0, done.stderr
    tracked_before, frozen, counted, tracked_after = json.loads(done.stdout)
    assert frozen == counted >= 0.9 * tracked_before  # what was loaded is frozen...
    assert tracked_after < 0.1 * tracked_before  # ...so a full collection no longer walks it


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities (Windows)")
def test_a_niced_call_lowers_the_priority_then_imports_and_calls_its_target():
    child = ("import os, sys, types; from mesa_report.core.jobs import call_niced; "
             "module = types.ModuleType('target'); module.run = lambda: print(os.nice(0), 'target' in sys.modules); "
             "sys.modules['target'] = module; base = os.nice(0); call_niced(3, 'target', 'run'); print(base)")
    lines = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout.split()
    assert int(lines[0]) == min(int(lines[2]) + 3, 19) and lines[1] == "True"
