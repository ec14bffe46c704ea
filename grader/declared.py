"""The checks that suites declare, read by grading them once against no learner file.

Commands that package suites for a platform (``grader.gradescope build``,
``grader.classroom starter``) call this before they write anything: it loads
each suite with the grader's own machinery, so a suite that fails to import,
collects no check or declares a check badly is refused there, as a usage
error, instead of reaching learners as a 0 of 0. With no learner file, every
check that reaches the learner's code ends at once as "not started", so this
costs little more than importing torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from grader import course
from grader.results import CheckResult
from grader.runner import Task, UsageError, grade

PROBE_TIMEOUT_S = 15.0


def declared_checks(chosen: list[tuple[course.Exercise, Path]]) -> dict[str, list[CheckResult]]:
    """``{exercise name: its checks, in the suite's order}``; a UsageError for a suite that cannot be used."""
    with tempfile.TemporaryDirectory(prefix="grader-declared-") as empty:
        tasks = [Task(exercise, Path(empty) / exercise.filename, suite) for exercise, suite in chosen]
        report = grade(tasks, device="cpu", timeout=PROBE_TIMEOUT_S, seed=0)
    checks = {}
    for (exercise, suite), result in zip(chosen, report.exercises):
        if not result.checks:
            raise UsageError(f"suite {suite}: it could not be loaded ({result.problem or 'no check was listed'})")
        checks[exercise.name] = result.checks
    return checks
