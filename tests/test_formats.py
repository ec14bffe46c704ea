"""The machine formats: each one valid for its reader, and each with the same scores as --format json.

One real grading (every status at least once) is turned into every format; a
second part runs the command line itself with ``--format`` and ``--output``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader import course, formats
from grader.runner import Task, grade
from tests.helpers import KIT

xmlschema = pytest.importorskip("xmlschema", reason="the dev extra installs xmlschema")

# A learner file for exercise 00 that earns every status but "skipped": an error,
# a hang, a wrong answer, and output full of characters that XML cannot hold.
MIXED_00 = '''
import torch

def make_tensor(values, requires_grad=False):
    print("\\x1b[31mred\\x1b[0m and a NUL \\x00 byte")
    raise ValueError("no tensors today")

def gradient(f, x):
    while True:
        pass

def manual_linear_gradients(w, b, x, y):
    return 0.0, 0.0
'''


@pytest.fixture(scope="module")
def mixed_report(tmp_path_factory):
    """One grading with passed, failed, error, timeout, not_started and skipped checks."""
    source = tmp_path_factory.mktemp("mixed")
    (source / "exercise_00_tensors.py").write_text(MIXED_00)
    shutil.copy(KIT / "exercises" / "exercise_02_models.py", source)  # the stub: not started
    shutil.copy(KIT / "solutions" / "exercise_06_workflow.py", source)  # passes; its CUDA check skips without CUDA
    suites = KIT / "grader" / "suites"
    tasks = [Task(exercise, source / exercise.filename, suites / exercise.suite_filename)
             for exercise in course.EXERCISES if exercise.number in (0, 2, 6)]
    return grade(tasks, device="cpu", timeout=1.0, seed=7)


def json_scores(report) -> dict[str, float]:
    """``{qualified check id: points}`` of the --format json document."""
    document = json.loads(formats.to_json(report))
    return {f"{exercise['exercise']}:{check['id']}": check["points"]
            for exercise in document["exercises"] for check in exercise["checks"]}


def test_the_mixed_grading_has_every_status(mixed_report):
    seen = {check.status.value for exercise in mixed_report.exercises for check in exercise.checks}
    expected = {"passed", "failed", "error", "timeout", "not_started"}
    assert expected <= seen, seen
    # The CUDA check skips where there is no CUDA; on a GPU machine it passes instead.
    assert seen <= expected | {"skipped"}


def test_gradescope_follows_the_specification(mixed_report):
    results = json.loads(formats.to_gradescope(mixed_report))
    assert set(results) == {"score", "execution_time", "output", "tests"}
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], float)
    assert "seed 7" in results["output"]
    numbers = [test["number"] for test in results["tests"]]
    assert len(numbers) == len(set(numbers)), "test numbers must be unique"
    for test in results["tests"]:
        assert {"name", "number", "score", "max_score", "output", "visibility"} <= set(test), test
        assert set(test) <= {"name", "number", "score", "max_score", "output", "visibility", "status"}, test
        assert test["visibility"] == "visible"
        assert 0 <= test["score"] <= test["max_score"]
        if test["max_score"]:
            assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        else:
            assert "status" not in test and test["output"].startswith("Skipped")
    # Numbers are dotted strings, exercise then check, as Gradescope sorts them: "0.1", "0.2", ..., "6.1".
    assert all(isinstance(n, str) and re.fullmatch(r"\d+\.\d+", n) for n in numbers)
    expected_numbers = [f"{int(e.exercise[-2:])}.{i}" for e in mixed_report.exercises for i in range(1, len(e.checks) + 1)]
    assert numbers == expected_numbers
    by_id = {f"{e.exercise}:{c.id}": test for e, c, test in
             zip([e for e in mixed_report.exercises for _ in e.checks],
                 [c for e in mixed_report.exercises for c in e.checks], results["tests"])}
    assert {key: test["score"] for key, test in by_id.items()} == json_scores(mixed_report)
    assert results["score"] == mixed_report.score == sum(test["score"] for test in results["tests"])
    # Statuses Gradescope does not know are said in words, with the message and the hint.
    timed_out = by_id["exercise_00:gradient_returns_float"]
    assert timed_out["output"].startswith("Timed out") and "\nHint: " in timed_out["output"]
    assert by_id["exercise_02:count_all_parameters"]["output"].startswith("Not started")


def test_classroom_result_is_what_the_reporter_decodes(mixed_report):
    result = json.loads(base64.b64decode(formats.to_classroom(mixed_report)))
    assert set(result) == {"version", "status", "max_score", "tests"}
    assert result["version"] == 1 and result["status"] == "fail"
    assert result["max_score"] == mixed_report.max_score > 0
    statuses = {f"{exercise.exercise}:{check.id}": check.status.value
                for exercise in mixed_report.exercises for check in exercise.checks}
    tests = {test["name"].split(": ")[0]: test for test in result["tests"]}
    # Every counted check is a test; skipped ones are left out, as they are of the score.
    assert set(tests) == {key for key, status in statuses.items() if status != "skipped"}
    assert sum(test["score"] for test in result["tests"]) == mixed_report.score
    scores = json_scores(mixed_report)
    for key, test in tests.items():
        keys = {"name", "status", "score", "message", "line_no", "execution_time"}
        # The reporter prints a failure's name, then its test_code; an error's "Error: <message>" only.
        assert set(test) == (keys | {"test_code"} if test["status"] == "fail" else keys), test
        assert test["score"] == scores[key]
        expected = {"passed": "pass", "error": "error"}.get(statuses[key], "fail")
        assert test["status"] == expected, (key, statuses[key], test["status"])
    errored = tests["exercise_00:make_tensor_float32"]
    assert errored["status"] == "error"
    # Shown as "Error: <message>": the check's name, then what happened, once, without a second "Error".
    check = next(c for e in mixed_report.exercises for c in e.checks if c.id == "make_tensor_float32")
    assert errored["message"].startswith(f"{check.name}: ") and "Error: Error" not in errored["message"]
    assert errored["message"].count(check.message) == 1


def test_each_check_as_a_classroom_runner_gives_exactly_its_points(mixed_report):
    """With one test per runner, the reporter's passed / tests * max_score is the check's own points."""
    for exercise in mixed_report.exercises:
        for check in exercise.checks:
            result = json.loads(base64.b64decode(formats.classroom_check_result(exercise, check)))
            [test] = result["tests"]
            passed = 1 if test["status"] == "pass" else 0
            assert passed / 1 * result["max_score"] == test["score"] == (check.points if check.counts else 0)
            assert result["max_score"] == (check.max_points if check.counts else 0)
            assert result["status"] == test["status"]


def test_classroom_never_reports_zero_of_zero_for_an_untouched_exercise(mixed_report):
    untouched = [exercise for exercise in mixed_report.exercises if exercise.exercise == "exercise_02"]
    only_02 = type(mixed_report)(exercises=untouched, seed=mixed_report.seed, device=mixed_report.device)
    result = json.loads(base64.b64decode(formats.to_classroom(only_02)))
    assert result["max_score"] > 0 and sum(test["score"] for test in result["tests"]) == 0
    assert result["status"] == "fail"


def test_junit_is_valid_against_the_schema_and_keeps_the_scores(mixed_report):
    schema = xmlschema.XMLSchema(str(Path(__file__).with_name("schemas") / "junit.xsd"))
    text = formats.to_junit(mixed_report)
    schema.validate(text)  # raises with the reason when the document is not valid
    root = ET.fromstring(text)
    names = {f"{e.exercise}:{c.id}": f"{e.exercise}:{formats.junit_name(c)}" for e in mixed_report.exercises for c in e.checks}
    found = {f"{case.get('classname')}:{case.get('name')}": case for case in root.iter("testcase")}
    assert set(found) == set(names.values())
    cases = {key: found[name] for key, name in names.items()}
    assert set(cases) == set(json_scores(mixed_report))
    statuses = {f"{exercise.exercise}:{check.id}": check.status.value
                for exercise in mixed_report.exercises for check in exercise.checks}
    for key, case in cases.items():
        outcome = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        expected = {"passed": [], "failed": ["failure"], "not_started": ["failure"], "timeout": ["failure"],
                    "error": ["error"], "skipped": ["skipped"]}[statuses[key]]
        assert outcome == expected, (key, statuses[key], outcome)
    failure = cases["exercise_00:linear_gradients_values"].find("failure")
    assert failure.get("message") and "Hint: " in failure.text
    # Points travel as suite properties, and add up to the json scores.
    for suite in root.iter("testsuite"):
        properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
        exercise = next(e for e in mixed_report.exercises if e.exercise == suite.get("name"))
        assert float(properties["score"]) == exercise.score and float(properties["max_score"]) == exercise.max_score
        earned = [float(value.split("/")[0]) for name, value in properties.items()
                  if name.startswith("points:") and value != "skipped"]
        assert sum(earned) == exercise.score
    # What the learner printed survives, minus what XML cannot hold.
    output = cases["exercise_00:make_tensor_float32"].find("system-out").text
    assert "red" in output and "\x00" not in output and "\x1b" not in output


def test_junit_dashboards_read_names_points_and_outcomes_with_junitparser(mixed_report, tmp_path):
    """A real consumer of JUnit XML: junitparser sees each check's name, exercise, points and outcome."""
    junitparser = pytest.importorskip("junitparser", reason="the dev extra installs junitparser")
    path = tmp_path / "report.xml"
    path.write_text(formats.to_junit(mixed_report), encoding="utf-8")
    xml = junitparser.JUnitXml.fromfile(str(path))
    read = {}
    for suite in xml:
        for case in suite:
            kinds = {type(result).__name__ for result in case.result}
            read[(case.classname, case.name)] = kinds
    expected = {}
    for exercise in mixed_report.exercises:
        for check in exercise.checks:
            points = f"{check.max_points:g} {'pt' if check.max_points == 1 else 'pts'}"
            kind = {"passed": set(), "skipped": {"Skipped"}, "error": {"Error"}}.get(check.status.value, {"Failure"})
            expected[(exercise.exercise, f"{check.name} [{points}]")] = kind
    assert read == expected
    assert any("[2 pts]" in name for _, name in read) and any("[1 pt]" in name for _, name in read)


@pytest.mark.parametrize("fmt", ["gradescope", "classroom", "junit"])
def test_command_line_formats_agree_with_json(fmt, tmp_path, grade_json_here, grader_here):
    """The same run, asked for in another format through --output, has the json scores."""
    document, _ = grade_json_here("02", "--solutions", "--seed", "3")
    target = tmp_path / "new" / "folder" / f"report.{fmt}"
    process = grader_here("02", "--solutions", "--seed", "3", "--format", fmt, "--output", str(target))
    assert process.returncode == 0, process.stderr
    assert process.stdout == ""
    text = target.read_text()
    expected = document["exercises"][0]["score"]
    if fmt == "gradescope":
        assert json.loads(text)["score"] == expected
    elif fmt == "classroom":
        result = json.loads(base64.b64decode(text))
        assert sum(test["score"] for test in result["tests"]) == expected == result["max_score"]
    else:
        suite = ET.fromstring(text).find("testsuite")
        assert float({p.get("name"): p.get("value") for p in suite.find("properties")}["score"]) == expected


def test_the_text_report_drawn_as_each_exercise_is_graded_is_the_same_text(mixed_report):
    """``DrawnAsGraded`` draws each exercise's part while the others are graded; the text is render's own."""
    import io

    from grader import report_text

    for hints in (False, True):
        whole, drawn = io.StringIO(), io.StringIO()
        report_text.render(mixed_report, report_text.make_console(whole), all_hints=hints)
        listener = report_text.DrawnAsGraded(all_hints=hints)
        for exercise in mixed_report.exercises:
            listener("exercise", {"exercise": exercise.exercise})
            listener("done", exercise)
        listener.write(mixed_report, report_text.make_console(drawn))
        assert drawn.getvalue() == whole.getvalue()
        assert "Score: " in drawn.getvalue() and "exercise_02" in drawn.getvalue()
    # An exercise that was not heard (a result from the state file) has the whole report drawn at the end.
    partial, whole = io.StringIO(), io.StringIO()
    listener = report_text.DrawnAsGraded(all_hints=False)
    listener("done", mixed_report.exercises[0])
    listener.write(mixed_report, report_text.make_console(partial))
    report_text.render(mixed_report, report_text.make_console(whole))
    assert partial.getvalue() == whole.getvalue()
