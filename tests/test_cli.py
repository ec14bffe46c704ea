"""The command line, run for real: exit statuses, usage errors, reports, and the learner's folder left alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from grader import course
from tests.helpers import KIT, grade_json, run_grader, statuses

SOLUTION_03 = KIT / "solutions" / "exercise_03_training.py"
STUB_03 = KIT / "exercises" / "exercise_03_training.py"
CONTRACT_STATUSES = {"passed", "failed", "not_started", "error", "timeout", "skipped"}


def learner_folder(tmp_path, source=SOLUTION_03, text: str | None = None):
    """A learner's folder holding one exercise 03 file (a copy of ``source``, or ``text``)."""
    folder = tmp_path / "learner"
    folder.mkdir()
    target = folder / "exercise_03_training.py"
    if text is None:
        shutil.copy(source, target)
    else:
        target.write_text(text)
    return folder


def test_readme_main_job_grades_every_solution_with_full_marks(solutions_graded):
    report, process = solutions_graded.report, solutions_graded.process  # --all --solutions --device cpu
    assert process.returncode == 0, process.stderr
    assert [e["exercise"] for e in report["exercises"]] == [e.name for e in course.EXERCISES]
    assert report["score"] == report["max_score"] > 0
    for exercise in report["exercises"]:
        # Checks that need CUDA are skipped on a machine without it; they do not count.
        assert set(statuses(exercise).values()) <= {"passed", "skipped"}, exercise["exercise"]


def test_the_report_process_never_imports_torch(solutions_graded, stubs_graded):
    # The README's promise: torch is imported in the sandbox only, never by the process that prints the report.
    for grading in (solutions_graded, stubs_graded):
        assert grading.report["exercises"] and grading.process.returncode in (0, 1), grading.process.stderr
        assert "grader.cli" in grading.imported  # what was recorded is the grading's own process
        assert [name for name in grading.imported if name.split(".")[0] == "torch"] == []


def test_untouched_stub_is_not_started_with_exit_1(stubs_graded):
    report, process = stubs_graded.report, stubs_graded.process  # --all --source exercises --device cpu
    assert process.returncode == 1
    for exercise in report["exercises"]:
        # Checks that need CUDA are skipped for every file on a machine without it (test_maximum_score).
        assert set(statuses(exercise).values()) <= {"not_started", "skipped"}, exercise["exercise"]
        assert "not_started" in statuses(exercise).values(), exercise["exercise"]
    training = next(exercise for exercise in report["exercises"] if exercise["exercise"] == "exercise_03")
    assert set(statuses(training).values()) == {"not_started"}
    assert report["score"] == 0


@pytest.mark.parametrize("name", ["exercise_03", "03", "3"])
def test_three_ways_to_name_an_exercise(name, grade_json_here):
    report, process = grade_json_here(name, "--solutions")
    assert process.returncode == 0
    assert [e["exercise"] for e in report["exercises"]] == ["exercise_03"]


def test_json_report_has_the_contract_shape(grade_json_here):
    report, _ = grade_json_here("3", "--solutions", "--seed", "7")
    # The contract's keys, plus "sandbox" (whether learner code ran in it) and "note" (an edit saved meanwhile).
    assert set(report) == {"score", "max_score", "seed", "exercises", "sandbox"}
    assert report["seed"] == 7 and set(report["sandbox"]) == {"on", "reason"}
    exercise = report["exercises"][0]
    assert set(exercise) == {"exercise", "title", "score", "max_score", "duration_s", "note", "checks"}
    assert exercise["title"] == "Training"
    for check in exercise["checks"]:
        assert set(check) == {"id", "name", "status", "points", "max_points", "message", "hint"}
        assert check["status"] in CONTRACT_STATUSES
        assert isinstance(check["points"], float) and isinstance(check["max_points"], float)
    assert exercise["score"] == sum(check["points"] for check in exercise["checks"])


def test_same_seed_gives_the_same_grading(tmp_path, grade_warm):
    buggy = SOLUTION_03.read_text().replace("    model.eval()\n", "")
    folder = learner_folder(tmp_path, text=buggy)
    first, _ = grade_warm("3", folder / "exercise_03_training.py", seed=4242)
    second, _ = grade_warm("3", folder / "exercise_03_training.py", seed=4242)
    strip = lambda report: [(c["id"], c["status"], c["message"]) for c in report["exercises"][0]["checks"]]
    assert strip(first) == strip(second)
    assert first["seed"] == second["seed"] == 4242


@pytest.mark.parametrize("arguments, words", [
    (["exercise_99"], "unknown exercise"),
    (["banana"], "unknown exercise"),
    (["3", "--source", "/no/such/folder"], "no folder"),
    (["3", "--suites", "/no/such/folder"], "no folder"),
    (["3", "--solutions", "--source", "exercises"], "use one of them"),
    (["3", "--all"], "not both"),
    (["3", "--timeout", "0"], "--timeout"),
    (["3", "--format", "yaml"], "invalid choice"),
    (["--no-such-option"], "unrecognized arguments"),
])
def test_usage_errors_are_one_line_with_exit_2(arguments, words):
    process = run_grader(*arguments)
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], process.stderr
    assert "Traceback" not in process.stderr and not process.stdout


def test_named_exercise_missing_from_source_is_a_usage_error_naming_reset(tmp_path):
    process = run_grader("3", "--source", str(tmp_path))
    assert process.returncode == 2
    assert "exercise_03_training.py" in process.stderr and len(process.stderr.strip().splitlines()) == 1
    assert "--reset" in process.stderr


def test_a_source_folder_with_none_of_the_course_files_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not an exercise")
    for arguments in ([], ["--all"]):
        process = run_grader(*arguments, "--source", str(tmp_path))
        assert process.returncode == 2, process.stdout
        assert "none of the course's files" in process.stderr and len(process.stderr.strip().splitlines()) == 1


def test_source_given_a_file_says_it_wants_the_folder(tmp_path):
    folder = learner_folder(tmp_path)
    process = run_grader("3", "--source", str(folder / "exercise_03_training.py"))
    assert process.returncode == 2 and len(process.stderr.strip().splitlines()) == 1
    assert "wants the folder" in process.stderr and "python -m grader " in process.stderr


def test_an_exercise_named_by_its_path_is_graded(tmp_path, grade_json_here):
    folder = learner_folder(tmp_path)
    report, process = grade_json_here(str(folder / "exercise_03_training.py"))
    assert process.returncode == 0, process.stderr
    assert report["exercises"][0]["exercise"] == "exercise_03" and report["score"] == report["max_score"]


def test_device_cuda_without_cuda_is_a_usage_error(grader_here):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    process = grader_here("3", "--solutions", "--device", "cuda")
    assert process.returncode == 2
    assert "no CUDA" in process.stderr and len(process.stderr.strip().splitlines()) == 1


def test_all_reports_a_missing_file_as_not_started_naming_it(tmp_path, grade_json_here):
    folder = learner_folder(tmp_path)
    report, process = grade_json_here("--all", "--source", str(folder))
    assert process.returncode == 1
    by_name = {exercise["exercise"]: exercise for exercise in report["exercises"]}
    assert set(statuses(by_name["exercise_03"]).values()) == {"passed"}
    for exercise in course.EXERCISES:
        if exercise.name == "exercise_03":
            continue
        checks = [check for check in by_name[exercise.name]["checks"] if check["status"] != "skipped"]
        assert checks and all(check["status"] == "not_started" for check in checks)
        assert all(exercise.filename in check["message"] and "--reset" in check["message"] for check in checks)


def test_grading_writes_nothing_next_to_the_learner_file_and_keeps_it(tmp_path):
    folder = learner_folder(tmp_path)
    learner_file = folder / "exercise_03_training.py"
    before = (learner_file.read_bytes(), learner_file.stat().st_mtime_ns)
    (folder / "conftest.py").write_text("import sys\nsys.exit('a conftest next to the learner file ran')\n")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = --collect-only\n")
    report, process = grade_json("3", "--source", str(folder), env={"PYTEST_ADDOPTS": "--collect-only -x"})
    assert process.returncode == 0, report
    assert sorted(path.name for path in folder.iterdir()) == ["conftest.py", "exercise_03_training.py", "pytest.ini"]
    assert (learner_file.read_bytes(), learner_file.stat().st_mtime_ns) == before
    assert not list((KIT / "grader").rglob("__pycache__/test_*")), "suites were compiled to bytecode"


def test_text_report_is_plain_when_piped_and_names_the_problem(tmp_path, grader_here):
    buggy = SOLUTION_03.read_text().replace("    model.eval()\n", "")
    folder = learner_folder(tmp_path, text=buggy)
    for env in ({}, {"NO_COLOR": "1"}):
        process = grader_here("3", "--source", str(folder), "--seed", "1", env=env)
        assert process.returncode == 1
        assert "\x1b[" not in process.stdout
        assert "✗ test_step runs the forward pass in evaluation mode" in process.stdout
        assert "hint:" in process.stdout and "Score: 18/20" in process.stdout
        assert "--seed 1" in process.stdout


def test_an_error_shows_the_learner_frames_of_the_traceback_only(tmp_path, grader_here):
    buggy = SOLUTION_03.read_text().replace("    loss.backward()\n", "    loss.backwards()\n")
    folder = learner_folder(tmp_path, text=buggy)
    process = grader_here("3", "--source", str(folder))
    assert "AttributeError" in process.stdout
    assert "exercise_03_training.py\", line" in process.stdout
    assert "loss.backwards()" in process.stdout
    assert "grader/" not in process.stdout and "_pytest" not in process.stdout


def test_output_option_writes_the_report_creating_folders(tmp_path, grader_here):
    target = tmp_path / "reports" / "deep" / "report.json"
    process = grader_here("3", "--solutions", "--format", "json", "--output", str(target))
    assert process.returncode == 0 and not process.stdout.strip()
    assert json.loads(target.read_text())["score"] == 20.0


def test_progress_overview_names_the_next_exercise(tmp_path, grader_here):
    folder = learner_folder(tmp_path)
    process = grader_here("--source", str(folder))
    assert "exercise_03  Training" in process.stdout and "done" in process.stdout
    assert "Next: exercise_00" in process.stdout


def test_instructor_suite_from_the_docs_grades_with_its_own_points(tmp_path, grade_json_here):
    doc = (KIT / "docs" / "writing-suites.md").read_text()
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    suites = tmp_path / "my_suites"
    suites.mkdir()
    (suites / "test_03_training.py").write_text(example)
    report, process = grade_json_here("--all", "--solutions", "--suites", str(suites))
    assert process.returncode == 0, report
    assert [e["exercise"] for e in report["exercises"]] == ["exercise_03"]
    assert report["exercises"][0]["checks"][0]["id"] == "train_step_returns_loss"
    assert report["max_score"] == 2.0
    stub, process = grade_json_here("3", "--suites", str(suites), "--source", str(KIT / "exercises"))
    assert process.returncode == 1 and stub["exercises"][0]["checks"][0]["status"] == "not_started"


def test_a_check_that_ignores_the_alarm_is_killed_and_grading_goes_on(tmp_path, grade_warm):
    # SIGALRM ignored in the learner's process: the time limit, kept by the judge, must stop it all the same.
    # test_step hangs only when given the Poisson loss, which only test_step_returns_loss passes, so every later
    # check shows that grading went on with a fresh learner process (and a fresh judge: the judge's learner
    # process is the PID 1 of the one PID namespace it can make).
    hang = ("    import signal\n    if type(loss_fn).__name__ == 'PoissonNLLLoss':\n"
            "        signal.signal(signal.SIGALRM, signal.SIG_IGN)\n        while True:\n            pass\n")
    buggy = SOLUTION_03.read_text().replace("    model.eval()\n", hang + "    model.eval()\n", 1)
    folder = learner_folder(tmp_path, text=buggy)
    start = time.monotonic()
    report, returncode = grade_warm("3", folder / "exercise_03_training.py", timeout=2)
    elapsed = time.monotonic() - start
    found = statuses(report["exercises"][0])
    assert returncode == 1
    assert found.pop("test_step_returns_loss") == "timeout"
    assert set(found.values()) == {"passed"}, found
    assert elapsed < 60


SPINS_DEAF_TO_THE_ALARM = """
import signal


def spin():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass


def outer():
    return spin()
"""

def checks_of_spin(count: int) -> str:
    """A suite of ``count`` checks: the first two call spin() itself, the others call it through outer(), which
    never ran out of time itself."""
    return "import pytest\n" + "".join(f"""

@pytest.mark.check(id="spin_{number}", name="spin {number}", points=1)
def test_spin_{number}(learner):
    learner.{'spin' if number < 2 else 'outer'}()
""" for number in range(count))


def test_a_function_that_hung_and_ignores_the_alarm_gets_its_short_limit_from_the_judge(tmp_path, grade_warm,
                                                                                         warm_worker):
    # The short limit inside the learner process is an alarm, which this learner code ignores: the judge ends
    # each later call itself, also where the learner process said it entered spin() inside outer().
    # Without that, each of the five checks would wait the whole 2 s limit.
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_03_training.py").write_text(checks_of_spin(5))
    folder = learner_folder(tmp_path, text=SPINS_DEAF_TO_THE_ALARM)
    warm_worker.started_sandbox()  # the sandbox's own start is not what this test times
    began = time.monotonic()
    report, _ = grade_warm("3", folder / "exercise_03_training.py", timeout=2, suites=tmp_path / "suites")
    elapsed = time.monotonic() - began
    checks = report["exercises"][0]["checks"]
    assert [check["status"] for check in checks] == ["timeout"] * 5
    assert all("`spin` ran past the time limit again" in check["message"] and '"spin 0"' in check["message"]
               for check in checks[1:]), [check["message"] for check in checks]
    assert elapsed < 7, f"took {elapsed:.1f} s: later checks waited for their whole time limit"


# The same, but spin() first writes forged notices on every socket it can find (the learner process's one line to
# the judge): "left" for the limit the judge keeps, "entering" for functions that never ran out of time.
FORGES_NOTICES = SPINS_DEAF_TO_THE_ALARM.replace("""def spin():
""", """def forge(*notices):
    import os, pickle, socket, struct
    for fd in range(3, 256):
        try:
            channel = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            for event, name in notices:
                data = pickle.dumps({event: name})
                channel.sendall(struct.pack("!Q", len(data)) + data)
        except OSError:
            pass
        finally:
            channel.close()


def spin():
    forge(("left", "spin"), ("left", "outer"), ("entering", "outer"), ("entering", "no_such_function"))
""")


def test_forged_limit_notices_cost_the_learner_time_and_never_a_verdict(tmp_path, grade_warm):
    # Three checks: spin() hangs first (no limit yet), then directly (the judge's own limit, which no notice
    # lifts), then inside outer(), where the forged "left" lifts the judge's deadline: that check waits for its
    # whole limit instead. Every check is a timeout, whatever the notices said.
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_03_training.py").write_text(checks_of_spin(3))
    folder = learner_folder(tmp_path, text=FORGES_NOTICES)
    report, _ = grade_warm("3", folder / "exercise_03_training.py", timeout=2, suites=tmp_path / "suites")
    checks = report["exercises"][0]["checks"]
    assert [check["status"] for check in checks] == ["timeout"] * 3, [(c["status"], c["message"]) for c in checks]
    assert "`spin` ran past the time limit again" in checks[1]["message"]


HANG_TIMEOUT_S = 5


def test_a_hanging_train_step_costs_one_timeout_not_one_per_check(tmp_path, grade_warm):
    # `while True:` in train_step: the first check that calls it waits the whole limit; every later call
    # of train_step gets a short limit, and the message names the check where it first hung.
    source = SOLUTION_03.read_text()
    start = source.index('"""', source.index('"""', source.index("def train_step(")) + 3) + 3
    folder = learner_folder(tmp_path, text=source[:start] + "\n    while True:\n        pass\n" + source[start:])
    began = time.monotonic()
    report, returncode = grade_warm("3", folder / "exercise_03_training.py", timeout=HANG_TIMEOUT_S)
    elapsed = time.monotonic() - began
    checks = {check["id"]: check for check in report["exercises"][0]["checks"]}
    assert returncode == 1
    assert checks["train_step_returns_loss"]["status"] == "timeout"
    later = [check for check in checks.values() if check["status"] == "timeout" and check["id"] != "train_step_returns_loss"]
    assert later and all("ran past the time limit again" in check["message"] for check in later)
    assert all(checks["train_step_returns_loss"]["name"] in check["message"] for check in later)
    assert checks["test_step_returns_loss"]["status"] == "passed"  # a check that does not call train_step is fair
    assert elapsed < HANG_TIMEOUT_S + 10, f"took {elapsed:.1f} s"


def test_an_edit_saved_during_grading_survives_and_the_report_says_which_version_was_graded(tmp_path):
    # The file takes three seconds to import, so the grading is still running when the learner saves.
    slow = SOLUTION_03.read_text() + "\nimport time\ntime.sleep(3)\n"
    folder = learner_folder(tmp_path, text=slow)
    learner_file = folder / "exercise_03_training.py"
    edited = slow + "\n# an edit saved while the grader was running\n"
    process = subprocess.Popen([sys.executable, "-m", "grader", "3", "--source", str(folder), "--format", "json"],
                               cwd=KIT, env={**os.environ, "PYTHONPATH": str(KIT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # the grading has begun (its snapshot is taken at once) and cannot be over yet
    learner_file.write_text(edited)
    out, err = process.communicate(timeout=240)
    assert learner_file.read_text() == edited, "the grader undid the learner's edit"
    exercise = json.loads(out)["exercises"][0]
    assert exercise["note"].startswith("exercise_03_training.py changed while it was being graded"), exercise["note"]


def test_an_untouched_exercise_fits_on_one_screen_one_line_per_function(grader_here):
    text = grader_here("3", "--source", str(KIT / "exercises")).stdout
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) <= 8, text
    for function in ("train_step", "test_step", "fit", "plot_loss_curves"):
        assert sum(f"`{function}` is not written yet" in line for line in lines) == 1, text


def test_a_file_that_cannot_be_imported_gets_one_message_and_no_hints(tmp_path, grader_here):
    folder = learner_folder(tmp_path, text=SOLUTION_03.read_text() + "\ndef broken(:\n")
    text = grader_here("3", "--source", str(folder)).stdout
    assert text.count("could not import") == 1 and "hint" not in text, text


def test_one_exception_shared_by_several_checks_is_shown_once(tmp_path, grader_here):
    source = SOLUTION_03.read_text()
    start = source.index('"""', source.index('"""', source.index("def train_step(")) + 3) + 3
    folder = learner_folder(tmp_path, text=source[:start] + "\n    raise ValueError('oops')\n" + source[start:])
    text = grader_here("3", "--source", str(folder)).stdout
    assert text.count("ValueError: oops") == 2, text  # the message and its traceback, under the first check only
    assert "the same error as" in text


def test_the_overview_shows_a_missing_file_as_missing(tmp_path, grader_here):
    folder = learner_folder(tmp_path)
    text = grader_here("--source", str(folder)).stdout
    assert "missing" in text and "--reset" in text
    assert "exercise_03" in text
