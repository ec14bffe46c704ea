"""``python -m grader.dev check``: instructors check their own suites as the kit checks its own.

The kit's own use of it, on every built-in exercise and case, is ``test_golden_cases.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import KIT

SEED = "20261123"

# An instructor's suite for exercise 00: one check with a hint that a case catches, one with neither.
SUITE = '''
import pytest
import torch


@pytest.mark.check(id="gradient_of_sine", name="the gradient of sin at 0 is 1", points=1,
                   hint="Call backward() on what f returns.")
def test_gradient_of_sine(learner):
    value = learner.gradient(torch.sin, 0.0)
    assert abs(value - 1.0) < 1e-4, f"the gradient of sin at 0 should be 1, got {value}"


@pytest.mark.check(id="make_tensor_is_float", name="make_tensor gives float32", points=1)
def test_make_tensor_is_float(learner):
    assert learner.make_tensor([1, 2]).dtype == torch.float32, "make_tensor should give float32"
'''
CASE = {"why": "the gradient doubled",
        "edit": [["    return point.grad.item()", "    return 2 * point.grad.item()"]],
        "expect": {"gradient_of_sine": ["failed", "should be 1"]}}


def run_dev(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m grader.dev ARGS`` for real; return the completed process (text output)."""
    environment = {**os.environ, "PYTHONPATH": str(KIT)}
    return subprocess.run([sys.executable, "-m", "grader.dev", *args], cwd=KIT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_a_missing_hint_and_an_uncaught_check_are_each_one_line_and_exit_1(tmp_path):
    (tmp_path / "test_00_mine.py").write_text(SUITE)
    (tmp_path / "cases" / "exercise_00").mkdir(parents=True)
    (tmp_path / "cases" / "exercise_00" / "gradient_doubled.json").write_text(json.dumps(CASE))
    process = run_dev("check", "--suites", str(tmp_path), "--device", "cpu", "--seed", SEED)
    lines = process.stdout.splitlines()
    assert process.returncode == 1, process.stdout + process.stderr
    assert any(line.startswith("exercise_00 check make_tensor_is_float: has no hint") for line in lines), lines
    assert any(line.startswith("exercise_00 check make_tensor_is_float: no bad learner file is caught by it")
               and f"{tmp_path}/cases/exercise_00/" in line for line in lines), lines
    # The check with a hint and a case that catches it is fine, and so are the stub, the solution and the case.
    assert len(lines) == 3, lines
    assert lines[-1].startswith("dev check: 2 shortfall(s): 1 suite(s), 1 case(s)"), lines
    assert process.stderr == ""


def test_a_case_that_gets_other_statuses_than_it_expects_is_a_shortfall(tmp_path):
    (tmp_path / "test_00_mine.py").write_text(SUITE)
    wrong = {**CASE, "expect": {"gradient_of_sine": ["timeout", ""]}, "others": "failed"}
    (tmp_path / "cases" / "exercise_00").mkdir(parents=True)
    (tmp_path / "cases" / "exercise_00" / "wrong.json").write_text(json.dumps(wrong))
    (tmp_path / "cases" / "exercise_00" / "stale.json").write_text(json.dumps({"edit": [["no such text", ""]]}))
    process = run_dev("check", "00", "--suites", str(tmp_path), "--device", "cpu", "--seed", SEED)
    lines = process.stdout.splitlines()
    assert process.returncode == 1
    assert any(line.startswith("exercise_00 case wrong: check gradient_of_sine is failed, expected timeout")
               for line in lines), lines
    assert any(line.startswith("exercise_00 case wrong: check make_tensor_is_float is passed, expected failed")
               for line in lines), lines
    assert any(line.startswith("exercise_00 case stale: the text to edit occurs 0 times") for line in lines), lines


def test_the_built_in_exercise_00_falls_short_nowhere():
    process = run_dev("check", "00", "--device", "cpu", "--seed", SEED, "--timeout", "3")
    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.startswith("dev check: nothing falls short: 1 suite(s), 26 case(s)"), process.stdout


def test_usage_errors_are_one_line_and_exit_2(tmp_path):
    for args, says in [(("check", "--suites", str(tmp_path / "nowhere")), "no folder"),
                       (("check", "--cases", str(tmp_path / "nowhere")), "give --cases"),
                       (("check", "--timeout", "0"), "--timeout must be"),
                       (("check", "--jobs", "0"), "--jobs must be"),
                       (("check", "--suites", str(tmp_path)), "no suites in"),
                       (("chek",), "the command is: python -m grader.dev check")]:
        process = run_dev(*args)
        assert process.returncode == 2, (args, process.stdout, process.stderr)
        assert process.stdout == "" and process.stderr.count("\n") == 1, (args, process.stderr)
        assert says in process.stderr, (args, process.stderr)
