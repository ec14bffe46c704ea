"""Grading several exercises at once, each lane a sandbox of its own, with progress told in the exercises' order."""

from __future__ import annotations

import os
import queue
import threading

from grader.files import read_or_none
from grader.results import Report

MAX_LANES = 4  # each lane is a sandbox that has imported torch: a few hundred MB of memory
LANES_VARIABLE = "KIT_LANES"  # KIT_LANES=1: one exercise at a time (a machine shared with other work)


SANDBOX_MIB = 768  # what one lane's sandbox holds before learner code runs (torch, pytest, matplotlib)


def lanes_for(task_count: int, memory_mib: int = 2048) -> int:
    """How many exercises to grade at once: one per core this process may use, at most ``MAX_LANES``, and no
    more than the memory available holds if each lane's learner code used all it may (``memory_mib``).
    ``KIT_LANES=N`` in the environment lowers the limit to N."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    most = MAX_LANES
    if os.environ.get(LANES_VARIABLE, "").strip().isdigit():
        most = min(most, int(os.environ[LANES_VARIABLE]))
    return max(1, min(task_count, cores, most, available_mib() // (memory_mib + SANDBOX_MIB)))


def available_mib() -> int:
    """Memory available for new processes (``MemAvailable``); a large number where it cannot be read."""
    try:
        for line in open("/proc/meminfo", encoding="ascii"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 30


def grading_order(expected: list[float | None]) -> list[int]:
    """The order lanes take exercises in: the first one first (the live display starts with it), then the
    longest first, by ``expected`` seconds (each exercise's last grading; None where unknown, taken as longest).

    Lanes end together that way: in the course's order, one lane was often left grading the last long
    exercise alone while the other waited (0.2 s of a 4 s ``--all`` on two cores).
    """
    def longest_first(index: int) -> float:
        return -(float("inf") if expected[index] is None else expected[index])

    return [0, *sorted(range(1, len(expected)), key=longest_first)] if expected else []


def lane_warm_ups(needs: list[set[str]], lanes: int) -> list[set[str]]:
    """What each lane's sandbox imports ahead (``Exercise.warm_up``), given what each exercise ``needs``.

    The first lane imports everything any exercise needs. What fewer than half of the exercises need (matplotlib,
    for the two that plot) the other lanes leave out: they start 0.2 s sooner, and those exercises go to the first
    lane (``next_task``). Importing it in every lane would cost that time in each of them for the same work.
    """
    everything = set().union(*needs)
    rare = {name for name in everything if 2 * sum(name in need for need in needs) < len(needs)}
    return [everything] + [everything - rare for _ in range(lanes - 1)]


def next_task(waiting: list[int], needs: list[set[str]], mine: set[str], lanes: list[set[str]]) -> int | None:
    """Take, from ``waiting`` (in grading order), the next exercise for the lane that imported ``mine`` ahead
    (``lanes``: what each lane did): one it imported ahead for, those fewest lanes can take first (so that they
    are done before the others run out); else, rather than wait idle, the next of any."""
    def lanes_that_can(index: int) -> int:
        return sum(needs[index] <= lane for lane in lanes)

    if not waiting:
        return None
    ready = [index for index in waiting if needs[index] <= mine]
    index = min(ready, key=lambda index: (lanes_that_can(index), waiting.index(index))) if ready else waiting[0]
    waiting.remove(index)
    return index


def grade_in_lanes(tasks: list, lanes: int, settings: dict, on_progress=None, expected=None) -> Report:
    """Grade ``tasks`` in ``lanes`` workers (``runner.Worker``), each taking the next exercise when it is free.

    Each lane has its own sandbox, memory limit and zygote, exactly as when one exercise is graded alone,
    so nothing one exercise's code does reaches another lane. ``on_progress`` hears every event in the
    exercises' order: what a later exercise says while an earlier one is still being graded waits here.
    ``expected``: how long each exercise took last time, or None (see ``grading_order``).
    """
    from grader.runner import Worker

    progress = on_progress or (lambda event, data: None)
    events: queue.Queue = queue.Queue()
    waiting_tasks = grading_order(expected or [None] * len(tasks))
    taking = threading.Lock()
    needs = [task.warm_up(read_or_none(task.file)) for task in tasks]
    warm_ups = lane_warm_ups(needs, lanes)
    workers = [Worker(warm_up) for warm_up in warm_ups]

    def lane(worker: Worker, warm_up: set[str]) -> None:
        while True:
            with taking:
                index = next_task(waiting_tasks, needs, warm_up, warm_ups)
            if index is None or worker.closed:
                return
            try:
                report = worker.grade([tasks[index]], on_progress=lambda event, data: events.put((index, event, data)),
                                      **settings)
            except BaseException as exc:  # noqa: BLE001 - told to the main thread, which raises it
                events.put((index, "failed", exc))
                return
            events.put((index, "graded", report))

    for worker, warm_up in zip(workers, warm_ups):
        threading.Thread(target=lane, args=(worker, warm_up), daemon=True).start()
    reports: list[Report | None] = [None] * len(tasks)
    waiting: list[list] = [[] for _ in tasks]
    current = 0
    try:
        while current < len(tasks):
            index, event, data = events.get()
            if event == "failed":
                raise data
            if event == "graded":
                reports[index] = data
            else:
                waiting[index].append((event, data))
            while current < len(tasks):  # tell what the earliest unfinished exercise (and any done after it) said
                for told in waiting[current]:
                    progress(*told)
                waiting[current].clear()
                if reports[current] is None:
                    break
                current += 1
    finally:
        for worker in workers:
            worker.close()
    first = reports[0]
    return Report(exercises=[report.exercises[0] for report in reports], seed=first.seed, device=first.device,
                  sandbox=first.sandbox)
