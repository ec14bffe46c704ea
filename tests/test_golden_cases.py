"""Every check catches at least one buggy learner file, and passes correct ones in other styles.

The cases live in ``tests/cases/`` (see its README). They are all graded in one
run of the real grader (one supervisor, one fork per case), then each case's
expectations are checked as a test of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import course
from grader.runner import Task, grade
from tests.conftest import KIT

CASES_DIR = Path(__file__).parent / "cases"
SUITES_DIR = KIT / "grader" / "suites"
CASES = sorted(CASES_DIR.glob("exercise_*/*.json"))
SEED = 20261123  # fixed, so a failure here can be repeated exactly


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
def graded(tmp_path_factory) -> dict[str, dict]:
    """Grade every case, each exercise's solution and each untouched stub, in one grader run."""
    root = tmp_path_factory.mktemp("cases")
    tasks, names = [], []
    for case in CASES:
        exercise = exercise_of(case)
        folder = root / exercise.name / case.stem
        folder.mkdir(parents=True)
        (folder / exercise.filename).write_text(learner_source(case, json.loads(case.read_text())))
        tasks.append(Task(exercise, folder / exercise.filename, SUITES_DIR / exercise.suite_filename))
        names.append(f"{exercise.name}/{case.stem}")
    for exercise in course.EXERCISES:
        for kind in ("solutions", "exercises"):
            tasks.append(Task(exercise, KIT / kind / exercise.filename, SUITES_DIR / exercise.suite_filename))
            names.append(f"{exercise.name}/{kind}")
    report = grade(tasks, device="cpu", timeout=2.0, seed=SEED)
    return {name: result for name, result in zip(names, report.exercises)}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.parent.name}/{case.stem}")
def test_case_gets_the_expected_statuses_and_messages(case, graded):
    spec = json.loads(case.read_text())
    result = graded[f"{case.parent.name}/{case.stem}"]
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


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_solution_gets_full_marks(exercise, graded):
    result = graded[f"{exercise.name}/solutions"]
    failing = [(check.id, check.status.value, check.message) for check in result.checks if check.status.value != "passed"]
    assert not failing and result.score == result.max_score > 0


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_untouched_stub_is_all_not_started(exercise, graded):
    result = graded[f"{exercise.name}/exercises"]
    assert result.checks and all(check.status.value == "not_started" for check in result.checks), \
        [(check.id, check.status.value, check.message) for check in result.checks]
    assert all("not written yet" in check.message for check in result.checks)


@pytest.mark.parametrize("exercise", course.EXERCISES, ids=lambda exercise: exercise.name)
def test_every_check_has_a_buggy_file_that_it_catches(exercise, graded):
    caught = set()
    for case in CASES:
        if exercise_of(case) != exercise:
            continue
        result = graded[f"{case.parent.name}/{case.stem}"]
        caught |= {check.id for check in result.checks if check.status.value in ("failed", "error", "timeout")}
    every_check = {check.id for check in graded[f"{exercise.name}/solutions"].checks}
    assert every_check - caught == set(), f"no buggy learner file is caught by: {sorted(every_check - caught)}"
