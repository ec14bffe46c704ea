"""A broken suite is the instructor's error: exit 2 with its file and line, in every command, never a learner's 0/0.

And a check whose own code is broken (a NameError in the suite, a misspelt
fixture) is reported as the suite's fault, while what the learner's value
does to the suite's code stays the learner's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from grader.platforms import gradescope
from tests.helpers import KIT, run_grader, run_here

GOOD_CHECK = '''
@pytest.mark.check(id="makes_tensor", name="make_tensor works", points=2)
def test_makes_tensor(learner):
    assert learner.make_tensor([1.0]).tolist() == [1.0], "wrong values"
'''

BROKEN = {
    "syntax_error": ("import pytest\n\ndef test_a(learner)\n    pass\n", "line 3", "SyntaxError"),
    "missing_module": ("import pytest\nimport no_such_module_anywhere\n" + GOOD_CHECK, "line 2", "no_such_module_anywhere"),
    "no_check": ("import pytest\n\ndef helper():\n    return 1\n", "collects no check", ""),
    "duplicate_id": ("import pytest\n" + GOOD_CHECK + GOOD_CHECK.replace("def test_makes_tensor", "def test_again"),
                     "line 7", "two checks have the id 'makes_tensor'"),
    "misspelt_keyword": ('import pytest\n\n@pytest.mark.check(id="a", name="A", points=1, hnit="look")\n'
                         "def test_a(learner):\n    pass\n", "line 3", "no keyword 'hnit'"),
    # pytest lets these two through its collection; the judge names them as the suite's.
    "exits_on_import": ("import pytest\nraise SystemExit(3)\n" + GOOD_CHECK, "line 2", "SystemExit: 3"),
    "interrupts_on_import": ("import pytest\n\nraise KeyboardInterrupt\n" + GOOD_CHECK, "line 3", "KeyboardInterrupt"),
    "four_hints": ('import pytest\n\n@pytest.mark.check(id="a", name="A", hint=["1", "2", "3", "4"])\n'
                   "def test_a(learner):\n    pass\n", "line 3", "at most 3"),
}


def suite_folder(tmp_path: Path, text: str, name: str = "test_00_tensors.py") -> Path:
    folder = tmp_path / "suites"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def assert_usage_error(process: subprocess.CompletedProcess, *words: str) -> None:
    assert process.returncode == 2, (process.returncode, process.stdout[-500:], process.stderr[-2000:])
    # One line that says what to do (the gradebook's progress line may come before it), never a traceback.
    assert "Traceback" not in process.stderr, process.stderr
    error = process.stderr.splitlines()[-1]
    assert "test_00_tensors.py" in error and all(word in error for word in words), process.stderr


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_suite_is_a_usage_error_naming_its_file_and_line(tmp_path, kind, grader_here):
    text, where, what = BROKEN[kind]
    suites = suite_folder(tmp_path, text)
    process = grader_here("0", "--solutions", "--suites", str(suites), "--format", "json")
    assert_usage_error(process, where, what)
    assert process.stdout == ""  # no report that a platform could take for a grade


@pytest.mark.parametrize("kind", ["missing_module", "duplicate_id"])
def test_every_command_refuses_a_broken_suite(tmp_path, kind, grader_here, gradebook_here, warm_worker):
    text, where, what = BROKEN[kind]
    suites = suite_folder(tmp_path, text)
    for format_ in ("text", "classroom", "junit"):
        assert_usage_error(grader_here("--all", "--solutions", "--suites", str(suites), "--format", format_), where)
    learners = tmp_path / "class" / "ada"
    learners.mkdir(parents=True)
    (learners / "exercise_00_tensors.py").write_text((KIT / "solutions" / "exercise_00_tensors.py").read_text())
    gradebook = gradebook_here(str(tmp_path / "class"), "--suites", str(suites),
                               "--output", str(tmp_path / "grades.csv"), cwd=tmp_path)
    assert_usage_error(gradebook, where, what)
    assert not (tmp_path / "grades.csv").exists()
    bundle = run_here(warm_worker, gradescope.main, "build", "0", "--suites", str(suites),
                      "--output", str(tmp_path / "bundle.zip"), cwd=tmp_path)
    assert_usage_error(bundle, where, what)
    assert not (tmp_path / "bundle.zip").exists()


def test_two_suites_for_one_exercise_are_a_usage_error(tmp_path):
    suites = suite_folder(tmp_path, "import pytest\n" + GOOD_CHECK)
    (suites / "test_00_more.py").write_text("import pytest\n" + GOOD_CHECK)
    process = run_grader("0", "--solutions", "--suites", str(suites))
    assert process.returncode == 2 and "test_00_more.py" in process.stderr and "one file per exercise" in process.stderr


SUITE_WITH_FAULTS = '''
import pytest
import suite_helper

@pytest.mark.check(id="uses_helper", name="a helper beside the suite imports", points=1)
def test_uses_helper(learner):
    assert learner.make_tensor([suite_helper.VALUE]).tolist() == [3.0], "wrong values"

@pytest.mark.check(id="name_error", name="a check with a typo", points=1)
def test_name_error(learner):
    learner.make_tensor([1.0])
    undefined_in_the_suite

@pytest.mark.check(id="missing_fixture", name="a misspelt fixture", points=1)
def test_missing_fixture(learner, tmp_pth):
    pass

@pytest.mark.check(id="learners_value", name="the suite uses what the learner returned", points=1)
def test_learners_value(learner):
    learner.make_tensor([1.0]).not_an_attribute
'''


def test_faults_in_the_suites_own_code_are_the_suites_and_helpers_beside_it_import(tmp_path, grade_warm):
    suites = suite_folder(tmp_path, SUITE_WITH_FAULTS)
    (suites / "suite_helper.py").write_text("VALUE = 3.0\n")
    report, returncode = grade_warm("0", KIT / "solutions" / "exercise_00_tensors.py", suites=suites)
    assert returncode == 1, report
    checks = {check["id"]: check for check in report["exercises"][0]["checks"]}
    assert checks["uses_helper"]["status"] == "passed"
    for check_id, where in (("name_error", "line 12: NameError"), ("missing_fixture", "line 14: fixture 'tmp_pth' not found")):
        assert checks[check_id]["status"] == "error"
        assert "the check itself is broken, not your code" in checks[check_id]["message"]
        assert f"test_00_tensors.py, {where}" in checks[check_id]["message"]
    # An exception in the suite's line that the learner's value caused is the learner's to fix.
    assert checks["learners_value"]["status"] == "error"
    assert "while checking your code" in checks["learners_value"]["message"]
