"""Grading several exercises at once, each lane a sandbox of its own, with progress told in the exercises' order."""

from __future__ import annotations

import os
import queue
import threading

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
    next_index = iter(grading_order(expected or [None] * len(tasks)))
    taking = threading.Lock()
    # Each lane may take any of the exercises: its sandbox imports ahead what any of them needs.
    warm_up = set().union(*(task.warm_up(None) for task in tasks))
    workers = [Worker(warm_up) for _ in range(lanes)]

    def lane(worker: Worker) -> None:
        while True:
            with taking:
                index = next(next_index, None)
            if index is None or worker.closed:
                return
            try:
                report = worker.grade([tasks[index]], on_progress=lambda event, data: events.put((index, event, data)),
                                      **settings)
            except BaseException as exc:  # noqa: BLE001 - told to the main thread, which raises it
                events.put((index, "failed", exc))
                return
            events.put((index, "graded", report))

    for worker in workers:
        threading.Thread(target=lane, args=(worker,), daemon=True).start()
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
