"""Escalating hints: every check carries one to three, in words, and --hints shows every level.

The first hint is a nudge, the last a near-answer that is still not the code.
Hints describe the place in the learner's code in words: line numbers change
as soon as the learner edits the file, so none may appear.
"""

from __future__ import annotations

import re

import pytest

from grader import course
from grader.runner import Task
from tests.helpers import KIT


@pytest.fixture(scope="module")
def every_check(warm_worker):
    """Every built-in check, as collected from grading the untouched stubs (in the session's warm sandbox)."""
    tasks = [Task(exercise, KIT / "exercises" / exercise.filename, KIT / "grader" / "suites" / exercise.suite_filename)
             for exercise in course.EXERCISES]
    report = warm_worker.grade(tasks, device="cpu", timeout=15, seed=0)
    checks = [check for exercise in report.exercises for check in exercise.checks]
    assert len(checks) > 100
    return checks


def test_every_check_has_one_to_three_distinct_hints(every_check):
    for check in every_check:
        assert 1 <= len(check.hints) <= 3, (check.id, check.hints)
        assert len(set(check.hints)) == len(check.hints), f"{check.id} repeats a hint level"


def test_hints_never_point_at_line_numbers(every_check):
    for check in every_check:
        for hint in check.hints:
            assert not re.search(r"\blines?\s*\d", hint, re.IGNORECASE), (check.id, hint)


def test_the_report_shows_the_first_hint_and_hints_shows_every_level(tmp_path, grader_here):
    # Started but wrong (an untouched stub is summed up in one line per function, without hints).
    wrong = (KIT / "solutions" / "exercise_00_tensors.py").read_text().replace("    return ", "    return 0 * ", 1)
    (tmp_path / "exercise_00_tensors.py").write_text(wrong)
    plain = grader_here("00", "--source", str(tmp_path)).stdout
    every = grader_here("00", "--source", str(tmp_path), "--hints").stdout
    assert "hint:" in plain and "hint 2:" not in plain
    assert "hint 1:" in every and "hint 2:" in every
    # The first level is the same hint in both.
    first = re.search(r"hint: (.+)", plain).group(1)
    assert f"hint 1: {first}" in every
