"""Every check catches at least one buggy learner file, and passes correct ones in other styles.

The cases live in ``tests/cases/`` (see its README). They are all graded in one
run of the real grader (one supervisor, one fork per case), then each case's
expectations are checked as a test of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader import course
from grader.runner import Task, grade
from tests.conftest import KIT

CASES_DIR = Path(__file__).parent / "cases"
SUITES_DIR = KIT / "grader" / "suites"
CASES = sorted(CASES_DIR.glob("exercise_*/*.json"))
SEED = 20261123  # fixed, so a failure here can be repeated exactly
CHECK_TIMEOUT_S = 3.0  # every check of a correct file takes well under a second
# What matplotlib calls an artist drawn without label=: a learner never gave these names, so never sees them.
MATPLOTLIB_INTERNAL_NAME = re.compile(r"'_(child|line|collection|nolegend_)\w*'")


def exercise_of(case: Path) -> course.Exercise:
    return course.find_exercise(case.parent.name)


def learner_source(case: Path, spec: dict) -> str:
    """The learner file a case describes: a whole file, or the solution with edits made."""
    if "file" in spec:
        return (case.parent / spec["file"]).read_text()
    source = (KIT / "solutions" / exercise_of(case).filename).read_text()
    for find, replace in spec.get("edit", []):
        count = source.count(find)
        assert count == 1, f"{case.name}: the text to edit occurs {count} times in the solution: {find!r}"
        source = source.replace(find, replace)
    return source


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(exercise)``: every case of that exercise, its solution and its untouched stub, graded in one run.

    Each exercise is graded the first time a test asks for it, so ``-k exercise_03`` grades only exercise 03.
    """
    cache: dict[str, dict] = {}

    def grade_exercise(exercise: course.Exercise) -> dict:
        if exercise.name not in cache:
            root = tmp_path_factory.mktemp(exercise.name)
            suite = SUITES_DIR / exercise.suite_filename
            tasks, names = [], []
            for case in CASES:
                if exercise_of(case) != exercise:
                    continue
                (root / case.stem).mkdir()
                learner_file = root / case.stem / exercise.filename
                learner_file.write_text(learner_source(case, json.loads(case.read_text())))
                tasks.append(Task(exercise, learner_file, suite))
                names.append(case.stem)
            for kind in ("solutions", "exercises"):
                tasks.append(Task(exercise, KIT / kind / exercise.filename, suite))
                names.append(kind)
            report = grade(tasks, device="cpu", timeout=CHECK_TIMEOUT_S, seed=SEED)
            cache[exercise.name] = dict(zip(names, report.exercises))
        return cache[exercise.name]

    return grade_exercise


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.parent.name}/{case.stem}")
def test_case_gets_the_expected_statuses_and_messages(case, graded):
    spec = json.loads(case.read_text())
    result = graded(exercise_of(case))[case.stem]
    assert not result.problem, result.problem
    assert result.checks, "no checks were graded"
    expect = spec.get("expect", {})
    others = spec.get("others", "passed")
    unknown = set(expect) - {check.id for check in result.checks}
    assert not unknown, f"the case names checks the suite does not have: {unknown}"
    for check in result.checks:
        status, words = expect.get(check.id, (others, spec.get("message", "")))
        seen = f"{check.id}: {check.status.value}: {check.message!r}"
        if status != "any":
            assert check.status.value == status, f"{seen} (expected {status}) — case: {spec['why']}"
        told = f"{check.message} {' '.join(check.hints)}"
        assert words.lower() in told.lower(), f"{seen} does not say {words!r}"
        assert not MATPLOTLIB_INTERNAL_NAME.search(check.message), f"{seen} shows matplotlib's internal names"


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_solution_gets_full_marks(exercise, graded):
    result = graded(exercise)["solutions"]
    failing = [(check.id, check.status.value, check.message) for check in result.checks
               if check.status.value not in ("passed", "skipped")]
    assert not result.problem, result.problem
    assert not failing and result.score == result.max_score > 0, failing


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_untouched_stub_is_all_not_started(exercise, graded):
    result = graded(exercise)["exercises"]
    assert not result.problem, result.problem
    # A check that needs CUDA is skipped before any learner code runs on a machine without it.
    counted = [check for check in result.checks if check.status.value != "skipped"]
    assert counted and all(check.status.value == "not_started" for check in counted), \
        [(check.id, check.status.value, check.message) for check in counted]
    assert all("not written yet" in check.message for check in counted)
    # The maximum never depends on the submission: the stub's checks that count are the solution's.
    solution = graded(exercise)["solutions"]
    assert result.max_score == solution.max_score, (result.max_score, solution.max_score)
    assert {check.id for check in counted} == {check.id for check in solution.checks if check.status.value != "skipped"}


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_every_check_has_a_buggy_file_that_it_catches(exercise, graded):
    results = graded(exercise)
    caught = set()
    for name, result in results.items():
        if name in ("solutions", "exercises") or all(check.status.value == "error" for check in result.checks):
            continue  # a file that cannot even be imported proves nothing about any one check
        caught |= {check.id for check in result.checks if check.status.value in ("failed", "error", "timeout")}
    # Checks skipped here (they need CUDA) cannot be caught here: GPU runs prove those.
    every_check = {check.id for check in results["solutions"].checks if check.status.value != "skipped"}
    assert every_check, "the solution was graded with no checks"
    assert every_check - caught == set(), f"no buggy learner file is caught by: {sorted(every_check - caught)}"
