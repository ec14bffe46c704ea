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

from grader import learner, records
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


def line(record, secret: str = SECRET) -> bytes:
    return records.encode(record, secret)


def info(check_id: str) -> records.CheckInfo:
    return records.CheckInfo(check_id, check_id.upper(), 1.0)


COLLECTED = records.Collected((info("a"), info("b")))


def test_the_first_child_learns_the_checks_from_its_collected_record_and_takes_it_once():
    run = ChildRun(secret=SECRET, expected=None)
    run.accept(line(COLLECTED))
    run.accept(line(records.Collected((info("forged"),))))
    assert run.expected == ["a", "b"] and run.collected == list(COLLECTED.checks) and run.loaded


def test_a_child_resuming_after_a_crash_is_loaded_once_it_starts_without_listing_the_checks_again():
    run = ChildRun(secret=SECRET, expected=["b"])
    assert not run.loaded
    run.accept(line(COLLECTED))  # only an exercise's first child lists the checks: from a later one it is ignored
    assert run.collected is None and run.expected == ["b"] and not run.loaded
    assert run.accept(line(records.Phase("import"))) and run.loaded


def test_records_without_the_childs_secret_or_not_json_are_ignored():
    run = ChildRun(secret=SECRET, expected=["a"])
    assert not run.accept(line(records.Start("a"), secret="guessed"))
    assert not run.accept(b"not json at all")
    assert not run.accept(json.dumps(["start", "a", SECRET]).encode())
    assert not run.accept(line(records.Finished(), secret="guessed"))
    assert run.current is None and not run.finished and run.results == {}


def test_checks_start_and_end_only_in_the_order_they_are_due():
    run = ChildRun(secret=SECRET, expected=["a", "b"])
    assert not run.accept(line(records.Start("b")))  # b is not due before a
    assert run.accept(line(records.Start("a")))  # a new check: its clock restarts
    assert not run.accept(line(records.Result("b", Status.PASSED)))  # not the check in flight
    assert run.accept(line(records.Result("a", Status.PASSED)))
    assert not run.accept(line(records.Result("a", Status.FAILED)))  # decided once
    assert run.results["a"].status is Status.PASSED and run.expected_next() == "b"


def test_a_phase_record_restarts_the_clock_and_errors_and_the_end_are_kept():
    run = ChildRun(secret=SECRET, expected=["a"])
    assert run.accept(line(records.Phase("import"))) and run.phase == "import"
    made_up = json.dumps({"type": "phase", "phase": "made-up", "secret": SECRET}).encode()
    assert not run.accept(made_up) and run.phase == "import"
    run.accept(line(records.SuiteError("line 3: SyntaxError")))
    run.accept(line(records.ChildError("could not start")))
    run.accept(line(records.Finished()))
    assert (run.suite_error, run.child_error, run.finished) == ("line 3: SyntaxError", "could not start", True)


def test_learner_output_is_kept_with_the_check_in_flight_and_truncated_once():
    from grader.watchdog import OUTPUT_LIMIT
    from grader.wording import OUTPUT_CUT

    run = ChildRun(secret=SECRET, expected=["a"])
    run.keep_output("before any check or import: dropped")
    assert run.outputs == {}
    run.accept(line(records.Start("a")))
    run.keep_output("short, ")
    assert run.cut == set()
    run.keep_output("x" * OUTPUT_LIMIT)
    run.keep_output("more after the cut")
    assert run.outputs["a"] == ("short, " + "x" * OUTPUT_LIMIT)[:OUTPUT_LIMIT] + OUTPUT_CUT
    assert run.cut == {"a"}, "the truncation is a flag of its own, not only words in the text"
