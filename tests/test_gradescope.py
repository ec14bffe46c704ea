"""The Gradescope autograder bundle, built once, unpacked and run for real as Gradescope runs it.

Each test unpacks the zip into a temporary folder laid out like ``/autograder``
(``source/``, ``submission/``, ``results/``, and ``run_autograder`` copied to the
top), runs ``run_autograder`` with the kit's Python first on ``PATH``, and checks
``results/results.json`` against Gradescope's specification and against
``python -m grader --format json`` for the same files and seed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader import course
from grader.platforms.gradescope_run import collect
from tests.helpers import KIT

SEED = 4242  # fixed, so the bundle's grading and the plain grader's see the same data
SOLUTIONS = KIT / "solutions"
STUBS = KIT / "exercises"
BUGGY_CASE = KIT / "tests" / "cases" / "exercise_02" / "forward_swapped.json"

# What Gradescope's results.json may hold ("Autograder Specifications", output format).
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
             "tags", "visibility", "extra_data"}


# -- helpers ---------------------------------------------------------------------------


def build(*args: str, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.gradescope", "build", *args, "--output", str(output)],
                          cwd=KIT, env={**os.environ, "PYTHONPATH": str(KIT)}, capture_output=True, text=True,
                          timeout=60)


def unpack(bundle: Path, root: Path) -> Path:
    """Lay out ``root`` as Gradescope lays out /autograder, keeping the permissions stored in the zip."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            archive.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(source / info.filename, mode)
    shutil.copy2(source / "run_autograder", root / "run_autograder")  # as Gradescope does at image build
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def run_autograder(root: Path, timeout: float = 120) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``root/run_autograder`` as Gradescope would (working folder ``root``); return results.json and the process."""
    env = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root),
           # `python3` is the kit's Python, as /autograder/venv's would be on Gradescope.
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("PYTHONPATH", None)
    process = subprocess.run([str(root / "run_autograder"), "--seed", str(SEED)], cwd=root, env=env,
                             capture_output=True, text=True, timeout=timeout)
    assert process.returncode == 0, process.stdout + process.stderr
    text = (root / "results" / "results.json").read_text()
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"results.json holds {name}")), process


def check_spec(results: dict) -> None:
    """Fail unless ``results`` is a results.json that Gradescope's specification allows, and adds up."""
    number = (int, float)
    assert isinstance(results, dict)
    assert set(results) <= TOP_KEYS, f"unknown keys: {set(results) - TOP_KEYS}"
    assert isinstance(results.get("tests", []), list)
    tests = results.get("tests", [])
    assert "score" in results or (tests and all("score" in test for test in tests)), "no score anywhere"
    if "score" in results:
        assert isinstance(results["score"], number) and not isinstance(results["score"], bool)
        assert results["score"] >= 0
    if "execution_time" in results:
        assert isinstance(results["execution_time"], number) and results["execution_time"] >= 0
    for key in ("output", "output_format", "test_output_format", "test_name_format"):
        assert isinstance(results.get(key, ""), str)
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert results.get(key, "text") in FORMATS
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITIES
    for test in tests:
        assert isinstance(test, dict) and set(test) <= TEST_KEYS, f"unknown keys in {test}"
        assert isinstance(test.get("score", 0), number) and not isinstance(test.get("score", 0), bool)
        assert isinstance(test.get("max_score", 0), number) and test.get("max_score", 0) >= 0
        if "max_score" in test and "score" in test:
            assert 0 <= test["score"] <= test["max_score"], test
        assert test.get("status", "passed") in {"passed", "failed"}
        for key in ("name", "number", "output"):
            assert isinstance(test.get(key, ""), str), (key, test)
        assert test.get("visibility", "visible") in VISIBILITIES
        assert test.get("output_format", "text") in FORMATS and test.get("name_format", "text") in FORMATS
    if tests and "score" in results:
        assert results["score"] == pytest.approx(sum(test.get("score", 0) for test in tests))


def checks_of(results: dict) -> dict[str, dict]:
    """The grader's entries, by Gradescope number (``2.3``: exercise 02's third check); the upload entry left out."""
    return {test["number"]: test for test in results["tests"] if test["number"] != UPLOAD_NUMBER}


UPLOAD_NUMBER = "0"  # sorts before every check's number


def upload_entry(results: dict) -> dict:
    entry = results["tests"][0]
    assert entry["number"] == UPLOAD_NUMBER and entry["visibility"] == "visible" and entry["max_score"] == 0
    return entry


@pytest.fixture
def plain_report(grade_json_here):
    """``plain_report(learner_folder, root)``: the plain grader's JSON report of ``learner_folder`` with the bundle's
    suites and seed. Its command line is run in this process and graded in the warm sandbox (conftest's
    ``grade_json_here``): ``run_autograder`` is what runs a grader of its own, as Gradescope does."""
    def report_of(learner_folder: Path, root: Path) -> dict:
        report, _ = grade_json_here("--all", "--source", str(learner_folder), "--suites",
                                    str(root / "source" / "suites"), "--seed", str(SEED))
        return report

    return report_of


def expect_same_scores(results: dict, report: dict) -> None:
    """The bundle's scores are the plain grader's ``report`` for the same files, suites and seed, check by check."""
    plain = {f"{int(exercise['exercise'][-2:])}.{position}": check["points"]
             for exercise in report["exercises"] for position, check in enumerate(exercise["checks"], start=1)}
    assert {number: test["score"] for number, test in checks_of(results).items()} == plain
    assert results["score"] == report["score"]


def read_cmdline(pid: str) -> bytes:
    try:
        return Path("/proc", pid, "cmdline").read_bytes()
    except OSError:  # it ended meanwhile
        return b""


def set_config(root: Path, **changes) -> None:
    """Change the unpacked bundle's gradescope.json, as a rebuild with other options would."""
    config_file = root / "source" / "gradescope.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), **changes}))


def buggy_source() -> str:
    """Exercise 02's solution with the golden case's edit made: forward computes bias * x + weights."""
    source = (SOLUTIONS / "exercise_02_models.py").read_text()
    for find, replace in json.loads(BUGGY_CASE.read_text())["edit"]:
        assert source.count(find) == 1
        source = source.replace(find, replace)
    return source


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The autograder for exercises 00 and 02, built once with the documented command."""
    output = tmp_path_factory.mktemp("dist") / "gradescope-autograder.zip"
    process = build("00", "02", output=output)
    assert process.returncode == 0, process.stderr
    return output


@pytest.fixture
def root(bundle, tmp_path) -> Path:
    return unpack(bundle, tmp_path / "autograder")


# -- the bundle -----------------------------------------------------------------------


def test_bundle_has_gradescopes_layout_and_executable_scripts(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        config = json.loads(archive.read("gradescope.json"))
        setup = archive.read("setup.sh").decode()
        requirements = archive.read("requirements.txt").decode()
    for script in ("setup.sh", "run_autograder"):
        assert script in infos, "must be at the root of the zip"
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, f"{script} is not executable"
    assert (infos["grader/cli.py"].external_attr >> 16) & 0o111 == 0
    assert {name for name in infos if name.startswith("suites/test_")} == {
        "suites/test_00_tensors.py", "suites/test_02_models.py"}
    assert not [name for name in infos if "__pycache__" in name or name.endswith(".pyc")]
    assert config["exercises"] == ["exercise_00", "exercise_02"] and config["visibility"] == "visible"
    # torch within a version range, from the CPU-only index on purpose, with a documented override.
    assert 'TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"' in setup
    assert '--index-url "$TORCH_INDEX_URL" "$TORCH_REQUIREMENT"' in setup and "TORCH_REQUIREMENT=/path/to/" in setup
    assert "torch>=2.2,<3\n" in requirements and "pytest-timeout" in requirements
    unpack(bundle, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(tmp_path / "source" / script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_build_with_instructor_suites_copies_only_the_chosen_ones(tmp_path):
    suites = tmp_path / "my_suites"
    suites.mkdir()
    shutil.copy(KIT / "grader" / "suites" / "test_02_models.py", suites / "test_02_my_models.py")
    shutil.copy(KIT / "grader" / "suites" / "test_00_tensors.py", suites)
    (suites / "helpers.py").write_text("ANSWER = 42\n")
    output = tmp_path / "ag.zip"
    process = build("2", "--suites", str(suites), "--visibility", "after_due_date", output=output)
    assert process.returncode == 0, process.stderr
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("gradescope.json"))
    assert {n for n in names if n.startswith("suites/")} == {"suites/test_02_my_models.py", "suites/helpers.py"}
    assert not [n for n in names if n.startswith("grader/suites/test_")]
    assert config["exercises"] == ["exercise_02"] and config["visibility"] == "after_due_date"


@pytest.mark.parametrize("args, says", [
    ((), "name the exercises"),
    (("42",), "unknown exercise '42'"),
    (("03", "--suites", "no/such/folder"), "no folder no/such/folder"),
    (("03", "--all"), "not both"),
])
def test_build_refuses_a_bad_request_in_one_line(tmp_path, args, says):
    process = build(*args, output=tmp_path / "x.zip")
    assert process.returncode == 2
    assert says in process.stderr and len(process.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.zip").exists()


# -- grading submissions ----------------------------------------------------------------


def test_correct_submission_gets_full_marks_and_the_graders_scores(root, plain_report):
    for name in ("exercise_00_tensors.py", "exercise_02_models.py"):
        shutil.copy(SOLUTIONS / name, root / "submission" / name)
    results, _ = run_autograder(root)
    check_spec(results)
    tests = checks_of(results)
    assert {number.split(".")[0] for number in tests} == {"0", "2"}
    assert {test["name"].split(":")[0] for test in tests.values()} == {"exercise_00", "exercise_02"}
    assert all(test["status"] == "passed" and test["score"] == test["max_score"] > 0 for test in tests.values())
    assert upload_entry(results)["status"] == "passed"
    assert results["output"].startswith(f"Score: {results['score']:g} of {results['score']:g} points")
    assert results["stdout_visibility"] == "hidden"
    assert "submission-" not in json.dumps(results), "the private grading folder leaked into the results"
    expect_same_scores(results, plain_report(SOLUTIONS, root))


def test_buggy_submission_loses_exactly_the_checks_the_grader_fails(root, tmp_path, plain_report):
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / "exercise_02_models.py").write_text(buggy_source())
    shutil.copy(learner / "exercise_02_models.py", root / "submission")
    results, _ = run_autograder(root)
    check_spec(results)
    report = plain_report(learner, root)
    numbers = {f"{e['exercise']}:{c['id']}": f"{int(e['exercise'][-2:])}.{i}"
               for e in report["exercises"] for i, c in enumerate(e["checks"], start=1)}
    tests = {check_id: checks_of(results)[number] for check_id, number in numbers.items()}
    for check_id in json.loads(BUGGY_CASE.read_text())["expect"]:
        assert tests[f"exercise_02:{check_id}"]["status"] == "failed"
        assert tests[f"exercise_02:{check_id}"]["score"] == 0
    assert "Hint:" in tests["exercise_02:model_forward"]["output"]
    expect_same_scores(results, report)


def test_files_in_a_sub_folder_are_graded_and_the_shallowest_copy_wins(root):
    folder = root / "submission" / "homework"
    (folder / "old").mkdir(parents=True)
    shutil.copy(SOLUTIONS / "exercise_02_models.py", folder)
    shutil.copy(STUBS / "exercise_02_models.py", folder / "old")  # an unsolved stub: graded, it would score 0
    results, _ = run_autograder(root)
    check_spec(results)
    tests = checks_of(results)
    assert all(t["status"] == "passed" for n, t in tests.items() if n.startswith("2."))
    missing = [t for n, t in tests.items() if n.startswith("0.")]
    absent = "exercise_00_tensors.py (or the notebook exercise_00_tensors.ipynb) is not in your upload"
    assert missing and all(t["score"] == 0 and absent in t["output"] for t in missing)
    entry = upload_entry(results)
    assert "graded submission/homework/exercise_02_models.py" in entry["output"]
    assert "ignored submission/homework/old/exercise_02_models.py" in entry["output"]
    assert "no file named exercise_00_tensors.py" in results["output"]


def test_empty_upload_gets_results_that_say_what_was_expected(root):
    results, _ = run_autograder(root)
    check_spec(results)
    assert results["score"] == 0 and checks_of(results)
    assert all(test["status"] == "failed" for test in checks_of(results).values())
    assert upload_entry(results)["status"] == "failed"
    for name in ("exercise_00_tensors", "exercise_02_models"):
        assert f"no file named {name}.py (or the notebook {name}.ipynb) in your upload" in results["output"]
    # Each check speaks to a Gradescope learner, who uploads files: of the upload, not of folders or --source.
    for test in checks_of(results).values():
        assert "is not in your upload" in test["output"] and "--source" not in test["output"], test["output"]


def test_near_miss_file_names_are_told_even_while_checks_are_hidden(root):
    set_config(root, visibility="after_due_date")
    submission = root / "submission"
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", submission / "exercise_00.py")
    shutil.copy(SOLUTIONS / "exercise_02_models.py", submission / "Exercise_02_models (1).py")
    (submission / "exercise_02_models (1).ipynb").write_text("{}")
    results, _ = run_autograder(root)
    check_spec(results)
    assert results["score"] == 0
    assert "found submission/exercise_00.py, but the file must be named exactly exercise_00_tensors.py" \
        in results["output"]
    assert ("found submission/Exercise_02_models (1).py, submission/exercise_02_models (1).ipynb, but the file "
            "must be named exactly exercise_02_models.py (or exercise_02_models.ipynb for a notebook)") \
        in results["output"]
    assert upload_entry(results)["status"] == "failed"  # and visible, while every check waits for the due date
    assert checks_of(results) and all(t["visibility"] == "after_due_date" for t in checks_of(results).values())
    assert "points" not in results["output"], "the summary must not show the score the checks hide"


HOSTILE = '''\
import json, os, time
FAKE = {"score": 1000.0, "output": "forged", "tests": []}
TARGET = os.path.join(os.environ.get("GRADER_AUTOGRADER_ROOT", "/nonexistent"), "results", "results.json")

def forge():
    try:
        with open(TARGET, "w") as file:
            json.dump(FAKE, file)
    except OSError:
        pass

forge()
if os.fork() == 0:  # a helper that outlives the import, in a session of its own, forging again and again
    os.setsid()
    for _ in range(100):
        time.sleep(0.2)
        forge()
    os._exit(0)
os._exit(0)  # and end the grading process at import
'''


def test_hostile_submission_cannot_forge_the_results(root):
    # The grader waits for the forger's pipe until the check's time limit: keep it short.
    set_config(root, timeout=2)
    submission = root / "submission"
    (submission / "exercise_00_tensors.py").write_text(HOSTILE)
    (submission / "conftest.py").write_text("raise SystemExit('conftest ran')\n")
    os.symlink(SOLUTIONS / "exercise_02_models.py", submission / "exercise_02_models.py")
    results, _ = run_autograder(root)
    time.sleep(1.0)  # long enough for a surviving forger to strike again
    results = json.loads((root / "results" / "results.json").read_text())
    check_spec(results)
    assert results["score"] == 0 and "forged" not in results["output"]
    assert checks_of(results) and all(t["status"] == "failed" for t in checks_of(results).values())
    entry = upload_entry(results)
    assert "exercise_02_models.py is a link" in entry["output"]
    assert "conftest.py" in entry["output"]  # listed as not graded, never run


# -- notebooks -----------------------------------------------------------------------------------


def notebook_of(name: str, source: str) -> str:
    """Exercise ``name``'s ``source`` as a learner's notebook (skips the test without the notebook extra)."""
    return pytest.importorskip("tests.test_notebooks").learner_notebook(course.find_exercise(name), source)


def test_an_uploaded_notebook_is_graded_with_the_scores_of_the_same_py_file(root, tmp_path, plain_report):
    """exercise_02 as a notebook, beside the untouched .py stub (the stub is set aside, as python -m grader does),
    and exercise_00 as a .py file: the scores are the plain grader's for the .py files, check by check."""
    submission = root / "submission"
    (submission / "exercise_02_models.ipynb").write_text(notebook_of("02", buggy_source()))
    shutil.copy(STUBS / "exercise_02_models.py", submission)
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", submission)
    before = {path.name: path.read_bytes() for path in submission.iterdir()}
    results, _ = run_autograder(root)
    check_spec(results)
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / "exercise_02_models.py").write_text(buggy_source())
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", learner)
    expect_same_scores(results, plain_report(learner, root))
    assert 0 < results["score"] and any(t["status"] == "failed" for n, t in checks_of(results).items() if n.startswith("2."))
    entry = upload_entry(results)
    assert entry["status"] == "passed", entry["output"]
    assert "exercise_02_models.ipynb: graded submission/exercise_02_models.ipynb" in entry["output"]
    assert ("submission/exercise_02_models.py is still the kit's stub, so submission/exercise_02_models.ipynb "
            "was graded") in entry["output"]
    assert {path.name: path.read_bytes() for path in submission.iterdir()} == before


def test_a_py_file_and_a_notebook_both_changed_are_told_and_the_rest_is_graded(root):
    submission = root / "submission"
    (submission / "exercise_02_models.ipynb").write_text(notebook_of("02", (SOLUTIONS / "exercise_02_models.py")
                                                                     .read_text()))
    shutil.copy(SOLUTIONS / "exercise_02_models.py", submission)
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", submission)
    results, _ = run_autograder(root)
    check_spec(results)
    tests = checks_of(results)
    assert all(t["status"] == "passed" for n, t in tests.items() if n.startswith("0."))
    of_02 = [t for n, t in tests.items() if n.startswith("2.")]
    both = ("submission/exercise_02_models.py and submission/exercise_02_models.ipynb both differ from the kit's "
            "stub, so neither was graded: upload only the one you want graded")
    assert of_02 and all(t["score"] == 0 and both in t["output"] for t in of_02)
    assert upload_entry(results)["status"] == "failed" and both in upload_entry(results)["output"]
    assert both in results["output"]


def test_collect_takes_a_notebook_by_its_name_and_allows_it_more_size(tmp_path):
    submission = tmp_path / "submission"
    (submission / "work").mkdir(parents=True)
    training, models = course.find_exercise("03"), course.find_exercise("02")
    (submission / "work" / training.notebook).write_text("{}" + " " * 2_000_000)  # a notebook saved with its plots
    (submission / models.notebook).write_text("{}" + " " * 30_000_000)
    upload = collect(submission, [training, models])
    assert upload.files == {"exercise_03": submission / "work" / training.notebook}
    assert f"submission/{models.notebook} is larger than 20000 kB: not graded." in upload.notes


# -- when grading itself breaks ------------------------------------------------------------


def test_a_grader_that_breaks_still_leaves_results_that_say_why(root):
    (root / "source" / "grader" / "formats.py").write_text("raise RuntimeError('formats broken on purpose')\n")
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", root / "submission")
    results, process = run_autograder(root)
    check_spec(results)
    assert results["score"] == 0
    assert "could not finish grading" in results["output"] and "formats broken on purpose" in results["output"]
    assert "graded submission/exercise_00_tensors.py" in upload_entry(results)["output"]
    assert "formats broken on purpose" in process.stdout  # the instructor's log says it too


def test_grading_past_the_time_limit_leaves_results_that_say_so(root):
    set_config(root, time_limit=0.5)
    shutil.copy(SOLUTIONS / "exercise_00_tensors.py", root / "submission")
    started = time.monotonic()
    results, _ = run_autograder(root)
    assert time.monotonic() - started < 30
    check_spec(results)
    assert results["score"] == 0 and "longer than the time limit of 0.5 s" in results["output"]
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and str(root).encode() in read_cmdline(pid)] \
        if Path("/proc").is_dir() else []
    assert not left, "the grader stopped at the time limit left processes running"


def test_python_that_cannot_start_still_leaves_results(root):
    venv = root / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python3").write_text("#!/bin/sh\nexit 3\n")
    (venv / "python3").chmod(0o755)
    (root / "results" / "results.json").write_text('{"score": 1000}')  # stale or forged: must not survive
    results, process = run_autograder(root)
    check_spec(results)
    assert results["score"] == 0 and "exit status 3" in results["output"]
    assert "writing a results.json" in process.stdout


# -- finding the learner's files ---------------------------------------------------------------


def test_collect_names_each_kind_of_near_miss_and_ignores_zip_leftovers(tmp_path):
    submission = tmp_path / "submission"
    (submission / "__MACOSX").mkdir(parents=True)
    (submission / "__MACOSX" / "._exercise_03_training.py").write_text("")
    (submission / "._exercise_03_training.py").write_text("")
    for name in ("exercise_03.py", "Exercise_03_training.py", "exercise_03_training (1).py",
                 "exercise-03-training.ipynb", "data.csv", "exercise_05_persistence.py"):
        (submission / name).write_text("")
    training = course.find_exercise("03")
    upload = collect(submission, [training])
    assert upload.files == {} and upload.problems
    text = "\n".join(upload.notes)
    assert ("found submission/Exercise_03_training.py, submission/exercise-03-training.ipynb, "
            "submission/exercise_03.py, submission/exercise_03_training (1).py, but the file must be named "
            "exactly exercise_03_training.py") in text
    assert "submission/exercise_05_persistence.py is not part of this assignment" in text
    assert "Also in your upload, not graded: submission/data.csv." in text
    assert "MACOSX" not in text and "._" not in text
