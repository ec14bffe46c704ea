"""Finding and ending the processes below a sandbox's zygote (``grader.processes``, ``Sandbox.end_learner_processes``)."""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import pytest

from grader import processes
from grader.sandbox import box
from tests.helpers import still_there_after

pytestmark = pytest.mark.skipif(not processes.MEMORY_CAP_AVAILABLE, reason="finds processes through /proc")

# A stand-in for a zygote: one child that has ended (a zombie: never reaped) and one that sleeps.
PARENT_OF_TWO = """
import os, time
ended = os.fork()
if ended == 0:
    os._exit(0)
sleeping = os.fork()
if sleeping == 0:
    time.sleep(600)
    os._exit(0)
print(ended, sleeping, flush=True)
time.sleep(600)
"""


@pytest.fixture
def parent_of_two():
    """``(parent, ended child, sleeping child)``; the parent reaps neither."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT_OF_TWO], stdout=subprocess.PIPE, text=True)
    try:
        ended, sleeping = map(int, parent.stdout.readline().split())
        assert still_there_after(lambda: [pid for pid in [ended] if processes.state(pid) != "Z"]) == []
        yield parent.pid, ended, sleeping
    finally:
        parent.kill()
        parent.wait()


# A process that forks a child from a second thread; that child forks a grandchild.
FORKS_FROM_A_THREAD = """
import os, threading, time
told, tell = os.pipe()
pids = []
def fork_here():
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(600)
            os._exit(0)
        os.write(tell, str(grandchild).encode())
        time.sleep(600)
        os._exit(0)
    pids.append(child)
thread = threading.Thread(target=fork_here)
thread.start()
thread.join()
print(pids[0], int(os.read(told, 100)), flush=True)
time.sleep(600)
"""


@pytest.fixture(params=[True, False], ids=["children-lists", "whole-table"])
def either_way(request, monkeypatch):
    """Walking down the kernel's children lists, and reading every process's parent, find the same processes."""
    if request.param and not processes.CHILDREN_LISTED:
        pytest.skip("this kernel keeps no list of a thread's children")
    monkeypatch.setattr(processes, "CHILDREN_LISTED", request.param)


def test_descendants_can_leave_out_the_processes_that_have_ended(parent_of_two, either_way):
    parent, ended, sleeping = parent_of_two
    assert sorted(processes.descendants(parent)) == sorted([ended, sleeping])
    assert processes.descendants(parent, living=True) == [sleeping]


def test_descendants_include_children_of_other_threads_and_their_children(either_way):
    parent = subprocess.Popen([sys.executable, "-c", FORKS_FROM_A_THREAD], stdout=subprocess.PIPE, text=True)
    try:
        child, grandchild = map(int, parent.stdout.readline().split())
        assert sorted(processes.descendants(parent.pid, living=True)) == sorted([child, grandchild])
    finally:
        processes.end_everything_below(parent.pid)
        parent.kill()
        parent.wait()


def test_ending_the_learners_processes_kills_the_living_and_does_not_wait_for_zombies(parent_of_two):
    """The zygote reaps an orphan that ends after the grading child only before its next fork: until then it is a
    zombie, and waiting for it to go would last the whole loop (0.1 s of every third grading, before this test)."""
    parent, ended, sleeping = parent_of_two
    sandbox = box.Sandbox.__new__(box.Sandbox)
    sandbox.zygote_pid = parent
    with mock.patch.object(box.time, "sleep", wraps=box.time.sleep) as sleep:
        sandbox.end_learner_processes()
    assert processes.state(sleeping) in ("Z", ""), "the sleeping process was not killed"
    assert sleep.call_count < 20, "it waited, to the end of its loop, for processes that had already ended"
