"""Machine-readable reports: one function per format, each returning text.

Every format is written from the same ``Report`` and carries the same scores as
``--format json``: a check's points are its ``max_points`` when it passed and 0
otherwise, and a skipped check counts in neither the score nor the maximum.
Checks are named everywhere by the same stable, qualified id,
``exercise_03:zero_grad_order``, so gradebooks and platforms can join them.

The text report for people lives in ``grader.report_text`` (the one module
that uses rich).
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET

from grader.results import CheckResult, ExerciseResult, Report, Status

# How each status reads in words, where a platform only knows "passed" and "failed".
STATUS_WORDS = {
    Status.PASSED: "Passed",
    Status.FAILED: "Failed",
    Status.NOT_STARTED: "Not started",
    Status.ERROR: "Error",
    Status.TIMEOUT: "Timed out",
    Status.SKIPPED: "Skipped (not counted)",
}


def qualified_id(exercise: ExerciseResult, check: CheckResult) -> str:
    """The check's id with its exercise: ``exercise_03:zero_grad_order``."""
    return f"{exercise.exercise}:{check.id}"


def first_hint(check: CheckResult) -> str:
    """The hint the report shows by default: the first level, and none for a passed check."""
    return "" if check.status is Status.PASSED or not check.hints else check.hints[0]


def message_of(exercise: ExerciseResult, check: CheckResult) -> str:
    """What was observed; when the exercise as a whole could not be graded, that reason."""
    return check.message or exercise.problem


def explanation(exercise: ExerciseResult, check: CheckResult) -> str:
    """The status in words, the message and the hint, one per line, for platforms that show text."""
    lines = [STATUS_WORDS[check.status]]
    if message_of(exercise, check):
        lines.append(message_of(exercise, check))
    if first_hint(check):
        lines.append(f"Hint: {first_hint(check)}")
    return "\n".join(lines)


def to_json(report: Report) -> str:
    """The contract's ``--format json`` object."""
    return json.dumps({
        "score": report.score,
        "max_score": report.max_score,
        "seed": report.seed,
        "sandbox": {"on": not report.sandbox, "reason": report.sandbox},
        "exercises": [
            {
                "exercise": exercise.exercise,
                "title": exercise.title,
                "score": exercise.score,
                "max_score": exercise.max_score,
                "duration_s": exercise.duration_s,
                "note": exercise.note,
                "checks": [
                    {
                        "id": check.id,
                        "name": check.name,
                        "status": check.status.value,
                        "points": check.points if check.counts else 0.0,
                        "max_points": check.max_points,
                        "message": message_of(exercise, check),
                        "hint": first_hint(check),
                    }
                    for check in exercise.checks
                ],
            }
            for exercise in report.exercises
        ],
    }, indent=2)


# -- Gradescope ------------------------------------------------------------------


def to_gradescope(report: Report) -> str:
    """Gradescope's ``results.json``: the total, and one entry per check with partial credit.

    A skipped check is listed with a maximum of 0 and no ``status``, so that
    Gradescope shows it as neither passed nor failed (as in ``--format json``,
    it counts in neither score). The ``visibility`` of every entry is
    ``visible``; the autograder bundle (``grader.gradescope``) sets the one the
    instructor chose.
    """
    tests = []
    for exercise in report.exercises:
        for position, check in enumerate(exercise.checks, start=1):
            entry = {
                "name": f"{exercise.exercise}: {check.name}",
                "number": gradescope_number(exercise, position),
                "score": check.points if check.counts else 0.0,
                "max_score": check.max_points if check.counts else 0.0,
                "output": explanation(exercise, check),
                "visibility": "visible",
            }
            if check.counts:
                entry["status"] = "passed" if check.status is Status.PASSED else "failed"
            tests.append(entry)
    return json.dumps({
        "score": report.score,
        "execution_time": round(sum(exercise.duration_s for exercise in report.exercises), 3),
        "output": summary(report),
        "tests": tests,
    }, indent=2)


def gradescope_number(exercise: ExerciseResult, position: int) -> str:
    """Gradescope's ``number``, a dotted string it sorts tests by: ``3.2`` for exercise 03's second check."""
    number = exercise.exercise.removeprefix("exercise_")
    return f"{int(number) if number.isdigit() else number}.{position}"


def summary(report: Report) -> str:
    """A few lines for people: each exercise's score, then the seed and device to reproduce the grading."""
    lines = []
    for exercise in report.exercises:
        line = f"{exercise.exercise} ({exercise.title}): {exercise.score:g} of {exercise.max_score:g} points"
        if exercise.problem:
            line += f": {exercise.problem}"
        lines.append(line)
    lines.append(f"Graded on {report.device} with seed {report.seed} "
                 f"(python -m grader ... --seed {report.seed} reproduces this grading).")
    if report.sandbox:
        lines.append(sandbox_off(report))
    return "\n".join(lines)


def sandbox_off(report: Report) -> str:
    """The one sentence every format carries when learner code ran without the sandbox."""
    return (f"The sandbox was off ({report.sandbox}): learner code ran with the grader's older defences only; "
            "see docs/security.md to turn it on.")


# -- GitHub Classroom ------------------------------------------------------------


def to_classroom(report: Report) -> str:
    """The base64-encoded JSON that GitHub Classroom's grading reporter reads from a step's ``result``.

    One test per counted check, with its points; skipped checks are left out,
    as they are of the score. The step's ``max_score`` is the exercises'
    maximum: an exercise that is not started shows 0 of its maximum, never 0
    of 0. The reporter's v1 prints each runner's points as passed tests ÷ tests
    × ``max_score``, which is right only when every check is worth the same:
    the Classroom starter's workflow therefore gives the reporter one runner per
    check (``classroom_check_result``), and this one-runner form is for tools
    that add up the tests' scores themselves.
    """
    tests = [classroom_test(exercise, check) for exercise in report.exercises for check in exercise.checks
             if check.counts]
    has_problem = any(exercise.problem for exercise in report.exercises)
    status = "error" if has_problem else ("pass" if report.exit_code == 0 else "fail")
    return encode_classroom({"version": 1, "status": status, "max_score": report.max_score, "tests": tests})


CLASSROOM_MESSAGE_CHARS = 1000


def classroom_status(status: Status) -> str:
    """The reporter knows pass, fail and error: the learner's own exceptions are errors."""
    if status is Status.PASSED:
        return "pass"
    return "error" if status is Status.ERROR else "fail"


def encode_classroom(result: dict) -> str:
    """Base64 of the JSON, as the reporter decodes it (ASCII, so no byte of it is ever re-encoded)."""
    return base64.b64encode(json.dumps(result).encode()).decode()


def classroom_test(exercise: ExerciseResult, check: CheckResult) -> dict:
    """One test entry, written for what the reporter prints of each status.

    A pass prints its name; a failure prints its name, then ``test_code``
    (which carries what was observed, and the hint); an error prints only
    ``Error: <message>``, so its message starts with the check's name.
    """
    status = classroom_status(check.status)
    message = message_of(exercise, check)
    # The status in words where the reporter's own mark does not say it (not started, timed out, skipped).
    said = check.status in (Status.FAILED, Status.ERROR, Status.PASSED)
    lines = [message if said and message else f"{STATUS_WORDS[check.status]}: {message}" if message
             else STATUS_WORDS[check.status]]
    if first_hint(check):
        lines.append(f"Hint: {first_hint(check)}")
    text = "\n".join(lines)[:CLASSROOM_MESSAGE_CHARS]  # each result travels in an environment variable
    test = {
        "name": f"{qualified_id(exercise, check)}: {check.name}",
        "status": status,
        "score": check.points if check.counts else 0.0,
        "message": f"{check.name}: {text}" if status == "error" else text,
        "line_no": 0,  # a check tests behaviour, not one line of the learner's file
        "execution_time": f"{check.duration_s:.2f}s",
    }
    if status == "fail":
        test["test_code"] = text  # the reporter prints a failed test's name only, then its test_code
    return test


def classroom_check_result(exercise: ExerciseResult, check: CheckResult) -> str:
    """One check as a whole runner's result, for the reporter's v1 arithmetic.

    With one test per runner, passed ÷ tests × ``max_score`` is exactly the
    check's points (1 × points, or 0 × points), so every number the reporter
    prints, per runner, in its table and in the "Points X/Y" it sends to
    Classroom, is the kit's own. A skipped check is a runner worth 0 that
    passed: it counts in neither the score nor the maximum, as everywhere.
    """
    test = classroom_test(exercise, check)
    if not check.counts:
        test.update(status="pass", name=f"{test['name']} (skipped, not counted: {message_of(exercise, check)})"[:300])
    status = test["status"]
    return encode_classroom({"version": 1, "status": status, "max_score": check.max_points if check.counts else 0.0,
                             "tests": [test]})


# -- JUnit XML -------------------------------------------------------------------


def to_junit(report: Report) -> str:
    """JUnit XML, as CI systems read it: a test suite per exercise, a test case per check.

    Each case's name is the check's readable name with its points,
    ``train_step returns the loss [2 pts]``, and its classname the exercise, so
    dashboards show what was checked and what it is worth. A check that did not
    pass is a ``<failure>`` (failed, not started, timed out) or an ``<error>``
    (the learner's code raised), with the message as its ``message`` and the
    message and hint as its text; a skipped check is ``<skipped>``. Each suite's
    properties carry its score, its maximum, and every check's stable id with
    its points as ``points:<check id>``.
    """
    root = ET.Element("testsuites", name="pytorch-workflow-kit", tests=str(count(report.exercises)),
                      failures=str(count(report.exercises, FAILURES)), errors=str(count(report.exercises, ERRORS)),
                      skipped=str(count(report.exercises, SKIPS)),
                      time=f"{sum(exercise.duration_s for exercise in report.exercises):.3f}")
    for exercise in report.exercises:
        suite = ET.SubElement(root, "testsuite", name=exercise.exercise, tests=str(count([exercise])),
                              failures=str(count([exercise], FAILURES)), errors=str(count([exercise], ERRORS)),
                              skipped=str(count([exercise], SKIPS)), time=f"{exercise.duration_s:.3f}")
        properties = ET.SubElement(suite, "properties")
        for name, value in (("title", exercise.title), ("file", exercise.file), ("score", f"{exercise.score:g}"),
                            ("max_score", f"{exercise.max_score:g}"), ("seed", str(report.seed)),
                            ("device", report.device), ("sandbox", f"off: {report.sandbox}" if report.sandbox else "on")):
            ET.SubElement(properties, "property", name=name, value=xml_text(value))
        for check in exercise.checks:
            ET.SubElement(properties, "property", name=f"points:{check.id}",
                          value=f"{check.points:g}/{check.max_points:g}" if check.counts else "skipped")
        for check in exercise.checks:
            suite.append(junit_case(exercise, check))
        if exercise.problem:
            ET.SubElement(suite, "system-err").text = xml_text(exercise.problem)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


# Characters XML 1.0 cannot hold at all (learner output may print any of them, escape codes included).
NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot hold replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", text)


FAILURES = (Status.FAILED, Status.NOT_STARTED, Status.TIMEOUT)
ERRORS = (Status.ERROR,)
SKIPS = (Status.SKIPPED,)


def count(exercises: list[ExerciseResult], statuses: tuple[Status, ...] | None = None) -> int:
    """How many checks of ``exercises`` have one of ``statuses`` (all of them when None)."""
    return sum(1 for exercise in exercises for check in exercise.checks
               if statuses is None or check.status in statuses)


def junit_name(check: CheckResult) -> str:
    """``train_step returns the loss [2 pts]``: what a dashboard shows of the check."""
    unit = "pt" if check.max_points == 1 else "pts"
    return f"{check.name} [{check.max_points:g} {unit}]"


def junit_case(exercise: ExerciseResult, check: CheckResult) -> ET.Element:
    case = ET.Element("testcase", classname=exercise.exercise, name=xml_text(junit_name(check)),
                      time=f"{check.duration_s:.3f}")
    message = message_of(exercise, check)
    if check.status in FAILURES or check.status in ERRORS:
        tag = "error" if check.status in ERRORS else "failure"
        ET.SubElement(case, tag, message=xml_text(message or STATUS_WORDS[check.status]),
                      type=check.status.value).text = xml_text(explanation(exercise, check))
    elif check.status in SKIPS:
        ET.SubElement(case, "skipped", message=xml_text(message))
    if check.output:
        ET.SubElement(case, "system-out").text = xml_text(check.output)
    return case


FORMATTERS = {"json": to_json, "gradescope": to_gradescope, "classroom": to_classroom, "junit": to_junit}
