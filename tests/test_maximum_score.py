"""The maximum score never depends on what was submitted.

A check that cannot run on this machine (one that needs CUDA, say) is skipped for
every file, stubs and broken files included; otherwise an untouched stub would
show a larger maximum than the solution (0/143 against 141/141), and the overview,
Classroom and the gradebook would disagree with themselves.
"""

from __future__ import annotations


def test_stubs_and_solutions_have_the_same_maximum_score(stubs_graded, solutions_graded):
    # --all --source exercises and --all --solutions, both --device cpu (run once for the session: conftest)
    stubs, (solutions, process) = stubs_graded.report, (solutions_graded.report, solutions_graded.process)
    assert process.returncode == 0, process.stderr
    assert stubs["score"] == 0
    assert stubs["max_score"] == solutions["max_score"] == solutions["score"] > 0
    per_exercise = {exercise["exercise"]: exercise["max_score"] for exercise in stubs["exercises"]}
    assert per_exercise == {exercise["exercise"]: exercise["max_score"] for exercise in solutions["exercises"]}
