"""The progress overview and its state file: instant when nothing changed, re-grading only what did.

A result that comes from the state file carries the exact ``duration_s`` of the
grading that produced it; a new grading of several exercises practically never
measures the same milliseconds for every one of them. That is how these tests tell "reused" from "graded again"
without timing anything (the speed itself is measured by scripts/benchmark.py).
"""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import KIT


@pytest.fixture
def learner(tmp_path, grade_json_here):
    """A learner's folder (exercise 00 solved, the rest stubs) and a cache folder of its own.

    The ``grade`` it returns runs with the suites of exercises 00 to 02 only, to keep these tests quick.
    """
    folder = tmp_path / "exercises"
    shutil.copytree(KIT / "exercises", folder)
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", folder)
    suites = tmp_path / "suites"
    suites.mkdir()
    for suite in sorted((KIT / "grader" / "suites").glob("test_0[012]_*.py")):
        shutil.copy(suite, suites)
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}

    def grade(*args: str):
        return grade_json_here("--source", str(folder), "--suites", str(suites), *args, env=env)

    return folder, cache, grade


def durations(document: dict) -> dict[str, float]:
    return {exercise["exercise"]: exercise["duration_s"] for exercise in document["exercises"]}


def test_unchanged_files_come_from_the_state_file(learner):
    folder, cache, grade = learner
    first, _ = grade()
    before = sorted(path.name for path in folder.iterdir())
    second, process = grade()
    assert process.returncode == 1  # not every exercise is done: the same rule as grading
    assert durations(second) == durations(first)
    assert [e["score"] for e in second["exercises"]] == [e["score"] for e in first["exercises"]]
    # The state lives in the cache folder, never beside the learner's files.
    assert sorted(path.name for path in folder.iterdir()) == before
    assert list((cache / "pytorch-workflow-kit" / "progress").glob("*.json"))


def test_only_the_changed_exercise_is_graded_again(learner):
    folder, _, grade = learner
    first, _ = grade()
    shutil.copy(KIT / "solutions" / "exercise_02_models.py", folder)
    second, _ = grade()
    # The others are reused exactly; exercise 02 was graded again (a reused result would still be 0).
    assert {k: v for k, v in durations(second).items() if k != "exercise_02"} == \
        {k: v for k, v in durations(first).items() if k != "exercise_02"}
    scores = {e["exercise"]: e["score"] for e in second["exercises"]}
    assert scores["exercise_02"] == 12 and scores["exercise_00"] == 9


def test_a_grading_of_one_exercise_updates_the_overview(learner):
    folder, _, grade = learner
    grade()
    shutil.copy(KIT / "solutions" / "exercise_01_data.py", folder)
    graded, _ = grade("01")
    overview, _ = grade()
    assert durations(overview)["exercise_01"] == durations(graded)["exercise_01"]
    assert {e["exercise"]: e["score"] for e in overview["exercises"]}["exercise_01"] == 18


def test_settings_that_change_a_verdict_grade_again(learner):
    folder, _, grade = learner
    first, _ = grade()
    other_timeout, _ = grade("--timeout", "9")
    # Graded again: three exercises measuring the very same milliseconds twice would be a coincidence.
    assert durations(other_timeout) != durations(first)
    # An explicit --seed asks for a grading with that seed, so nothing is reused.
    seeded, _ = grade("--seed", "5")
    assert seeded["seed"] == 5
    assert durations(seeded) != durations(first) and durations(seeded) != durations(other_timeout)


def test_a_damaged_state_file_only_means_grading_again(learner):
    folder, cache, grade = learner
    grade()
    for path in (cache / "pytorch-workflow-kit" / "progress").glob("*.json"):
        path.write_text("{not json")
    document, process = grade()
    assert process.returncode == 1 and len(document["exercises"]) == 3
    assert "Traceback" not in process.stderr


def test_the_overview_names_the_next_exercise_and_its_lesson(learner, tmp_path, grader_here):
    folder, _, grade = learner
    process = grader_here("--source", str(folder), "--suites", str(tmp_path / "suites"),
                         env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert process.returncode == 1
    assert "exercise_00" in process.stdout and "done" in process.stdout
    assert "Next: exercise_01" in process.stdout and "lessons/01_data.md" in process.stdout


def test_how_long_an_exercise_took_outlives_a_change_to_its_file(learner, monkeypatch):
    """Lanes take the longest exercises first, by their last grading (grader.lanes.grading_order)."""
    from grader import course
    from grader.runner import Task
    from grader.state import ProgressState

    folder, cache, grade = learner
    first, _ = grade()
    shutil.copy(KIT / "solutions" / "exercise_02_models.py", folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    exercise = course.find_exercise("02")
    task = Task(exercise, folder / exercise.filename, KIT / "grader" / "suites" / exercise.suite_filename)
    state = ProgressState(folder, "auto", 15.0, 2048)
    assert state.cached(task) is None, "the file changed: its result is out of date"
    assert state.last_duration(task) == pytest.approx(durations(first)["exercise_02"], abs=0.01)
    assert state.last_duration(Task(course.find_exercise("05"), folder / "x.py", task.suite)) is None


def test_a_change_to_any_of_the_graders_modules_grades_again(tmp_path, monkeypatch):
    """The stored results are keyed by all of the grader's code, its packages too (grader.checking helps decide
    verdicts), and by the torch build, read without importing torch."""
    from grader import state

    package = tmp_path / "grader"
    (package / "checking").mkdir(parents=True)
    (package / "cli.py").write_text("# the command line\n")
    helper = package / "checking" / "values.py"
    helper.write_text("TOLERANCE = 1e-6\n")
    monkeypatch.setattr(state, "GRADER_PACKAGE", package)

    def settings() -> str:
        return state.ProgressState(tmp_path, "cpu", 15.0, 2048).settings

    before = settings()
    assert settings() == before
    helper.write_text("TOLERANCE = 1e-3\n")
    assert settings() != before
    assert b"__version__" in state.torch_version()
