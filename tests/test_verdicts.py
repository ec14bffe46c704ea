"""How an outcome becomes a verdict, without a grading: ``learner.explain`` and the supervisor's record reader.

``learner.explain`` turns an exception raised during a check into a status and
one line for the learner; ``watchdog.ChildRun.accept`` reads the records a
grading child sends and keeps only those signed with its secret, in the order
the checks are due. Full gradings (``test_cli``, ``test_hostile``, the golden
cases) prove the same end to end; these say which piece does what, in
milliseconds.
"""

from __future__ import annotations

import json

from grader import learner
from grader.results import Status
from grader.watchdog import ChildRun

LEARNER_FILE = "/home/ada/exercises/exercise_03_training.py"
SECRET = "s3cret"


def raised_by_learner(source: str):
    """The exception that calling ``f`` from ``source``, compiled as the learner's file, raises."""
    namespace = {}
    exec(compile(source, LEARNER_FILE, "exec"), namespace)
    try:
        namespace["f"]()
    except BaseException as exc:  # noqa: BLE001 (any exception is what is explained)
        return exc
    raise AssertionError("f did not raise")


def raised_here(exc: BaseException) -> BaseException:
    """``exc`` raised and caught in this file (the suite's side, not the learner's)."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001
        return caught


# -- learner.explain ------------------------------------------------------------------------------------------


def test_a_stub_that_still_raises_not_implemented_is_not_started():
    status, message = learner.explain(raised_by_learner("def f():\n    raise NotImplementedError\n"), LEARNER_FILE)
    assert status is Status.NOT_STARTED and "`f` is not written yet" in message


def test_not_implemented_raised_outside_the_learners_file_is_not_a_stub():
    status, _ = learner.explain(raised_here(NotImplementedError("a library's")), LEARNER_FILE)
    assert status is Status.ERROR


def test_the_suites_assertion_is_a_failure_with_its_own_message():
    assert learner.explain(raised_here(AssertionError("loss should be a float")), LEARNER_FILE) == \
        (Status.FAILED, "loss should be a float")


def test_an_assertion_in_the_learners_own_code_is_an_error_naming_file_line_and_function():
    status, message = learner.explain(raised_by_learner("def f():\n    assert 1 == 2, 'mine'\n"), LEARNER_FILE)
    assert (status, message) == (Status.ERROR, "exercise_03_training.py, line 2, in f: AssertionError: mine")


def test_an_exception_in_the_learners_code_names_the_line_and_never_the_full_path():
    status, message = learner.explain(raised_by_learner("def f():\n    return 1 / 0\n"), LEARNER_FILE)
    assert status is Status.ERROR
    assert message == "exercise_03_training.py, line 2, in f: ZeroDivisionError: division by zero"


def test_an_exception_outside_the_learners_code_is_one_line():
    status, message = learner.explain(raised_here(ValueError("first\nsecond")), LEARNER_FILE)
    assert status is Status.ERROR and "\n" not in message and "ValueError: first second" in message


def test_the_graders_own_exceptions_keep_their_status():
    assert learner.explain(learner.LearnerHung("ran past the time limit"), LEARNER_FILE)[0] is Status.TIMEOUT
    assert learner.explain(learner.LearnerFileMissing("no file"), LEARNER_FILE) == (Status.NOT_STARTED, "no file")


# -- watchdog.ChildRun.accept ---------------------------------------------------------------------------------


def line(record: dict, secret: str = SECRET) -> bytes:
    return json.dumps({**record, "secret": secret}).encode()


COLLECTED = {"type": "collected", "checks": [{"id": "a"}, {"id": "b"}]}


def test_the_first_child_learns_the_checks_from_its_collected_record_and_takes_it_once():
    run = ChildRun(secret=SECRET, expected=None)
    run.accept(line(COLLECTED))
    run.accept(line({"type": "collected", "checks": [{"id": "forged"}]}))
    assert run.expected == ["a", "b"] and run.collected == COLLECTED["checks"]


def test_records_without_the_childs_secret_or_not_json_are_ignored():
    run = ChildRun(secret=SECRET, expected=["a"])
    assert not run.accept(line({"type": "start", "id": "a"}, secret="guessed"))
    assert not run.accept(b"not json at all")
    assert not run.accept(json.dumps(["start", "a", SECRET]).encode())
    assert not run.accept(line({"type": "finished"}, secret="guessed"))
    assert run.current is None and not run.finished and run.results == {}


def test_checks_start_and_end_only_in_the_order_they_are_due():
    run = ChildRun(secret=SECRET, expected=["a", "b"])
    assert not run.accept(line({"type": "start", "id": "b"}))  # b is not due before a
    assert run.accept(line({"type": "start", "id": "a"}))  # a new check: its clock restarts
    assert not run.accept(line({"type": "result", "id": "b", "status": "passed"}))  # not the check in flight
    assert run.accept(line({"type": "result", "id": "a", "status": "passed"}))
    assert not run.accept(line({"type": "result", "id": "a", "status": "failed"}))  # decided once
    assert run.results["a"]["status"] == "passed" and run.expected_next() == "b"


def test_a_phase_record_restarts_the_clock_and_errors_and_the_end_are_kept():
    run = ChildRun(secret=SECRET, expected=["a"])
    assert run.accept(line({"type": "phase", "phase": "import"})) and run.phase == "import"
    assert not run.accept(line({"type": "phase", "phase": "made-up"})) and run.phase == "import"
    run.accept(line({"type": "suite_error", "message": "line 3: SyntaxError"}))
    run.accept(line({"type": "child_error", "message": "could not start"}))
    run.accept(line({"type": "finished"}))
    assert (run.suite_error, run.child_error, run.finished) == ("line 3: SyntaxError", "could not start", True)


def test_learner_output_is_kept_with_the_check_in_flight_and_truncated_once():
    from grader.watchdog import OUTPUT_LIMIT, TRUNCATED

    run = ChildRun(secret=SECRET, expected=["a"])
    run.keep_output("before any check or import: dropped")
    assert run.outputs == {}
    run.accept(line({"type": "start", "id": "a"}))
    run.keep_output("x" * (OUTPUT_LIMIT + 10))
    run.keep_output("more after the cut")
    assert run.outputs["a"] == "x" * OUTPUT_LIMIT + TRUNCATED
