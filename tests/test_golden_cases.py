"""Every check catches at least one buggy learner file, and passes correct ones in other styles.

The cases live in ``tests/cases/`` (see its README). These tests are the kit's
own ``python -m grader.dev check``: each exercise's stub, solution and cases are
graded in one sandbox kept for the whole session (one fork per file) and judged
by ``grader.dev``; each test then reads what it found about one case or file.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from grader import course, dev
from tests.helpers import KIT

CASES_DIR = Path(__file__).parent / "cases"
SUITES_DIR = KIT / "grader" / "suites"
# Exercises with the most cases first: pytest-xdist hands tests out in this order and each exercise is checked
# when its first test comes, so the last ones checked are small, and the run does not end waiting for a large one.
CASE_COUNT = Counter(case.parent.name for case in CASES_DIR.glob("exercise_*/*.json"))
CASES = sorted(CASES_DIR.glob("exercise_*/*.json"), key=lambda case: (-CASE_COUNT[case.parent.name], case))
EXERCISES = sorted(course.EXERCISES, key=lambda exercise: (-CASE_COUNT[exercise.name], exercise.number))
SEED = 20261123  # fixed, so a failure here can be repeated exactly
CHECK_TIMEOUT_S = 3.0  # every check of a correct file takes well under a second
# What matplotlib calls an artist drawn without label=: a learner never gave these names, so never sees them.
MATPLOTLIB_INTERNAL_NAME = re.compile(r"'_(child|line|collection|nolegend_)\w*'")


def exercise_of(case: Path) -> course.Exercise:
    return course.find_exercise(case.parent.name)


@pytest.fixture(scope="session")
def checked(warm_worker, once_per_run, request):
    """``checked(exercise)``: what ``grader.dev check`` finds about that exercise of the built-in course.

    Each exercise is checked the first time a test asks for it, so ``-k exercise_03`` grades only exercise 03,
    in the session's warm sandbox (conftest's ``warm_worker``), and once for the run (``once_per_run``): an
    exercise one pytest-xdist worker checked, the others read back. A worker that finds another one checking
    the exercise it needs checks one that nobody has started meanwhile, among those this run's tests ask for,
    instead of waiting idle (the one with the most cases first, as ``CASES`` are ordered).
    """
    folders = dev.Folders(suites=SUITES_DIR, stubs=KIT / "exercises", solutions=KIT / "solutions", cases=CASES_DIR)
    asked = {item.callspec.params.get("exercise") or exercise_of(item.callspec.params["case"])
             for item in request.session.items if item.module.__name__ == __name__ and hasattr(item, "callspec")}
    wanted = [exercise for exercise in EXERCISES if exercise in asked]

    def key(exercise: course.Exercise) -> str:
        return f"checked-{exercise.name}"

    def make(exercise: course.Exercise):
        suite = SUITES_DIR / exercise.suite_filename
        return lambda: dev.check_exercise(warm_worker, folders, exercise, suite, "cpu", CHECK_TIMEOUT_S, SEED)

    def check(exercise: course.Exercise) -> dev.ExerciseCheck:
        if once_per_run.attempt(key(exercise), make(exercise), wait=False) is None:
            for other in wanted:
                if once_per_run.attempt(key(other), make(other), wait=False) == "made":
                    break  # that took a while: this one may be ready now
        return once_per_run(key(exercise), make(exercise))

    return check


def shortfalls(found: dev.ExerciseCheck, about: str) -> list[str]:
    return [str(shortfall) for shortfall in found.shortfalls if shortfall.about.startswith(about)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.parent.name}/{case.stem}")
def test_case_gets_the_expected_statuses_and_messages(case, checked):
    found = checked(exercise_of(case))
    assert shortfalls(found, f"case {case.stem}") == []
    for check in found.cases[case.stem].checks:
        seen = f"{check.id}: {check.message!r}"
        assert not MATPLOTLIB_INTERNAL_NAME.search(check.message), f"{seen} shows matplotlib's internal names"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.name)
def test_solution_gets_full_marks(exercise, checked):
    found = checked(exercise)
    assert shortfalls(found, "solution") == []
    result = found.solution
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.name)
def test_untouched_stub_is_all_not_started(exercise, checked):
    # dev check also proves that the stub skips exactly the checks the solution skips (those that need
    # CUDA, before any learner code runs), so the maximum never depends on the submission.
    found = checked(exercise)
    assert shortfalls(found, "stub") == []
    assert all("not written yet" in check.message for check in found.stub.checks if check.counts)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.name)
def test_every_check_has_a_hint_and_a_buggy_file_that_it_catches(exercise, checked):
    # Checks skipped here (they need CUDA) cannot be caught here: GPU runs prove those.
    assert shortfalls(checked(exercise), "check ") == []


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.name)
def test_dev_check_finds_nothing_short(exercise, checked):
    assert [str(shortfall) for shortfall in checked(exercise).shortfalls] == []
