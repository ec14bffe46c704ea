"""``python -m grader exercise_03 --watch``: grade again every time the learner saves the file.

The supervisor is kept warm (``runner.Worker``), and after each grading the
next grading's child is forked at once: it starts pytest, loads the suite and
waits for the file (``Worker.prepare``). A save then costs only what depends on
the file, and the result is on screen a fraction of a second after it. The file is
polled, not watched through the operating system, so it works the same with
every editor (including those that save by writing a new file and renaming it)
and needs nothing installed. A learner's crash, hang or exit costs only that one
grading; Ctrl-C stops watching and leaves nothing running.
"""

from __future__ import annotations

import time

from grader import course, report_text
from grader.results import CheckResult, ExerciseResult, Status
from grader.files import display_path
from grader.runner import Task, Worker
from grader.state import ProgressState

POLL_S = 0.05  # how often the file is read: small files, so reading them is cheaper than a stat-and-guess


def read(path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def fill_unknown_checks(result: ExerciseResult, known: list[CheckResult]) -> list[CheckResult]:
    """When learner code stopped the grader before it listed the checks, show the ones known from before.

    Each of them is an error with the reason, so the screen reads "0 of 12" instead of "0 of 0".
    Returns the checks to remember for next time.
    """
    if result.checks or not known:
        return result.checks
    result.checks = [CheckResult(check.id, check.name, check.max_points, Status.ERROR, result.problem, check.hints,
                                 lost=True) for check in known]
    return known


def watch(task: Task, options, state: ProgressState, seed: int) -> int:
    """Grade ``task`` each time its file changes, until Ctrl-C; exit status 0."""
    console = report_text.make_console()
    next_up = next((e for e in course.EXERCISES if e.number > task.exercise.number), None)
    graded = object()  # what was graded last: nothing yet
    known: list[CheckResult] = []  # the checks of the last grading that got as far as listing them
    # Said at once: the first grading starts the sandbox, which takes a few seconds.
    console.print(f"Watching {display_path(task.file)}: save it to grade again, Ctrl-C to stop.", soft_wrap=True)
    try:
        # Everything imported ahead (course.WARM_UPS), once: an edit may start to plot or train at any time, and
        # no save should wait for that import.
        with Worker(course.WARM_UPS) as worker:
            while True:
                content = read(task.file)
                if content != graded:
                    graded = content
                    if content is None:
                        report_text.render_watch_missing(task, console)
                    else:
                        console.print(f"grading {task.file.name} (saved at {time.strftime('%H:%M:%S')})…",
                                      soft_wrap=True)
                        key = state.key(task)
                        start = time.perf_counter()
                        report = worker.grade([task], device=options.device, timeout=options.timeout, seed=seed,
                                              memory_mib=options.memory_limit)
                        known = fill_unknown_checks(report.exercises[0], known)
                        state.store([(key, task, report.exercises[0])])
                        report_text.render_watch(report, console, next_up, time.perf_counter() - start,
                                                 all_hints=options.hints)
                        # The next grading's child loads the suite now, while the learner reads and edits.
                        worker.prepare(task, device=options.device, timeout=options.timeout, seed=seed,
                                       memory_mib=options.memory_limit)
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        console.print(f"\nStopped watching. {display_path(task.file)} is as you saved it.")
        return 0
