"""Several exercises graded at once (``grader.lanes``): the same report, and progress told in order."""

from __future__ import annotations

import os

from grader import course
from grader.lanes import grading_order, lane_warm_ups, lanes_for, next_task
from grader.runner import KIT_ROOT, Task, grade


def solution_tasks(names: list[str]) -> list[Task]:
    tasks = []
    for name in names:
        exercise = course.find_exercise(name)
        tasks.append(Task(exercise, KIT_ROOT / "solutions" / exercise.filename,
                          KIT_ROOT / "grader" / "suites" / exercise.suite_filename))
    return tasks


def test_lanes_grade_as_one_lane_does_and_tell_progress_exercise_by_exercise():
    tasks = solution_tasks(["00", "02", "01"])
    heard = []
    # exercise_01 took longest last time: it is graded second, yet told last, in the tasks' order.
    in_lanes = grade(tasks, device="cpu", timeout=15, seed=7, lanes=2, expected=[None, 0.2, 3.0],
                     on_progress=lambda event, data: heard.append((event, data)))
    alone = grade(tasks, device="cpu", timeout=15, seed=7)

    def outcome(report):
        return [(result.exercise, [(check.id, check.status.value, check.message) for check in result.checks])
                for result in report.exercises]

    assert outcome(in_lanes) == outcome(alone)
    assert [result.exercise for result in in_lanes.exercises] == ["exercise_00", "exercise_02", "exercise_01"]
    # Each exercise's events come together, between its "exercise" and its "done", in the tasks' order.
    told = [(event, data["exercise"] if event == "exercise" else getattr(data, "exercise", None))
            for event, data in heard if event in ("exercise", "done")]
    assert told == [("exercise", "exercise_00"), ("done", "exercise_00"), ("exercise", "exercise_02"),
                    ("done", "exercise_02"), ("exercise", "exercise_01"), ("done", "exercise_01")]
    current = None
    for event, data in heard:
        if event == "exercise":
            current = data["exercise"]
        elif event == "check":
            assert data.id in {check.id for result in in_lanes.exercises if result.exercise == current
                                  for check in result.checks}


def test_lanes_take_the_first_exercise_first_then_the_longest():
    assert grading_order([]) == []
    assert grading_order([None, None, None]) == [0, 1, 2], "nothing known: the course's order"
    assert grading_order([0.3, 0.5, 2.0, 0.1, 1.0]) == [0, 2, 4, 1, 3]
    assert grading_order([0.3, 0.5, None, 0.1]) == [0, 2, 1, 3], "an exercise never graded counts as a long one"


def test_lanes_never_outnumber_the_exercises_or_the_cores():
    assert lanes_for(1) == 1
    assert 1 <= lanes_for(11) <= min(os.cpu_count() or 1, 4)
    assert lanes_for(11, memory_mib=10**9) == 1, "more lanes than the memory holds at the learners' limit"


def test_kit_lanes_lowers_the_number_of_lanes(monkeypatch):
    monkeypatch.delenv("KIT_LANES", raising=False)
    every_core = lanes_for(11)
    monkeypatch.setenv("KIT_LANES", "1")
    assert lanes_for(11) == 1
    monkeypatch.setenv("KIT_LANES", "64")
    assert lanes_for(11) == every_core, "KIT_LANES lowers the limit, never raises it"
    monkeypatch.setenv("KIT_LANES", "many")
    assert lanes_for(11) == every_core, "a value that is not a number is ignored"


def test_only_the_first_lane_imports_ahead_what_few_exercises_need_and_it_grades_them():
    needs = [set(), {"plotting"}, {"gradients"}, {"plotting", "training"}, set(), *[{"training"}] * 6]
    first, second = lane_warm_ups(needs, 2)
    assert first == {"plotting", "gradients", "training"}
    assert second == {"training"}, "plotting (2 of 11) and gradients (1 of 11) only in the first lane"
    assert lane_warm_ups([{"plotting"}, {"plotting"}], 2) == [{"plotting"}, {"plotting"}], "needed by all: everywhere"

    lanes = [first, second]
    waiting = list(range(len(needs)))
    # The first lane takes first what only it imported ahead for; the second, in order, what it can.
    assert next_task(waiting, needs, first, lanes) == 1
    assert next_task(waiting, needs, second, lanes) == 0
    assert next_task(waiting, needs, first, lanes) == 2
    assert next_task(waiting, needs, first, lanes) == 3
    assert next_task(waiting, needs, second, lanes) == 4
    # With none it can take left, a lane takes the next of any rather than wait idle.
    assert next_task([7, 1], needs, second, lanes) == 7
    assert next_task([1], needs, second, lanes) == 1
    assert next_task([], needs, second, lanes) is None
