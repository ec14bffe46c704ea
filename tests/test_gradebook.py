"""The class gradebook: one real run over a small class, checked cell by cell against the grader's JSON.

A class of learners who each stand for one situation a teacher meets (a correct
file in a sub-folder, a stub, a bug, a file that ends the process at import,
a file that kills the grader's worker, two copies of one file, an empty folder)
is graded once with ``python -m grader.gradebook`` on exercise 02. The tests
then read the CSV, and grade some learners again with ``python -m grader
--format json`` to prove the gradebook says exactly what the grader says.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import course
from grader.platforms.gradebook import MAX_ROW_NAME, Learner, find_learner, gradebook_rows, natural_order
from grader.results import CheckResult, ExerciseResult, Status
from grader.sandbox import probe
from tests.helpers import KIT, grade_in

EXERCISE = course.find_exercise("02")
SEED = "4242"
TIMEOUT = "5"
BUGGY_CASE = KIT / "tests" / "cases" / "exercise_02" / "forward_swapped.json"


def run_gradebook(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m grader.gradebook ARGS`` as a teacher runs it."""
    env = {**os.environ, "PYTHONPATH": str(KIT)}
    return subprocess.run([sys.executable, "-m", "grader.gradebook", *args], cwd=KIT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def solution() -> str:
    return (KIT / "solutions" / EXERCISE.filename).read_text()


def edited_solution(edits: list[tuple[str, str]]) -> str:
    """The solution with each ``(find, replace)`` made; each text must occur once, so the edit cannot silently miss."""
    source = solution()
    for find, replace in edits:
        assert source.count(find) == 1, find
        source = source.replace(find, replace)
    return source


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` and a hash of its bytes: what "unchanged" means."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class folder, its fingerprint before grading, the finished run and its CSV rows by learner."""
    root = tmp_path_factory.mktemp("class")
    name = EXERCISE.filename
    write(root / "amy" / name, "import os\nos._exit(0)\n")  # ends the grading process at import
    # kills the grader's worker (the supervisor) during a check: the learners after her must still be graded
    write(root / "ben" / name, edited_solution([
        ("from torch import Tensor, nn\n", "from torch import Tensor, nn\nimport os, signal\n"),
        ("def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:\n",
         "def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:\n"
         "    os.kill(os.getppid(), signal.SIGKILL)\n")]))
    write(root / "cat" / "exercises" / name, solution())  # a correct file, in a sub-folder
    case = json.loads(BUGGY_CASE.read_text())
    write(root / "dan" / name, edited_solution(case["edit"]))  # a bug, and an older correct copy deeper down
    write(root / "dan" / "old" / name, solution())
    write(root / "eve" / name, (KIT / "exercises" / name).read_text())  # the untouched stub
    (root / "fay").mkdir()  # submitted nothing
    write(root / ".git" / name, solution())  # hidden folders are not learners
    write(root / "README.txt", "loose files are not learners\n")
    before = tree_fingerprint(root)
    output = tmp_path_factory.mktemp("out") / "new" / "folder" / "grades.csv"
    start = time.monotonic()
    process = run_gradebook(str(root), "02", "--output", str(output), "--seed", SEED, "--timeout", TIMEOUT,
                            "--device", "cpu")
    elapsed = time.monotonic() - start
    assert process.returncode == 0, process.stderr
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    header = rows[0]
    by_learner = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    return {"root": root, "before": before, "process": process, "output": output, "header": header,
            "rows": rows, "by_learner": by_learner, "elapsed": elapsed}


@pytest.fixture(scope="module")
def grader_json(graded_class, warm_worker):
    """``grader_json(folder)``: the grader's own JSON report of exercise 02 for the file in one learner's folder
    (cached), as ``python -m grader 02 --source FOLDER`` gives it (graded in the warm sandbox: tests.helpers.grade_in)."""
    cache: dict[str, dict] = {}

    def report_for(source: str) -> dict:
        if source not in cache:
            cache[source], _ = grade_in(warm_worker, "02", graded_class["root"] / source / EXERCISE.filename,
                                        seed=int(SEED), timeout=float(TIMEOUT), device="cpu")
        return cache[source]

    return report_for


def test_one_row_per_learner_in_order_after_the_max_row(graded_class):
    learners = [row[0] for row in graded_class["rows"][1:]]
    assert learners == [MAX_ROW_NAME, "amy", "ben", "cat", "dan", "eve", "fay"]


def test_columns_are_every_check_then_the_totals(graded_class, grader_json):
    header = graded_class["header"]
    ids = [column.split(":", 1)[1] for column in header if column.startswith("exercise_02:")
           and not column.endswith(":status")]
    assert header[0] == "learner"
    # Each check's points, then how it ended.
    assert [c for c in header if c.endswith(":status")] == [f"exercise_02:{i}:status" for i in ids]
    assert header.index(f"exercise_02:{ids[0]}:status") == header.index(f"exercise_02:{ids[0]}") + 1
    assert header[-4:] == ["exercise_02", "total", "max_total", "note"]
    assert ids == [check["id"] for check in grader_json("cat/exercises")["exercises"][0]["checks"]]


@pytest.mark.parametrize("learner, source", [("cat", "cat/exercises"), ("dan", "dan"), ("amy", "amy"), ("eve", "eve")])
def test_cells_agree_with_the_graders_json(graded_class, grader_json, learner, source):
    report = grader_json(source)
    exercise = report["exercises"][0]
    row = graded_class["by_learner"][learner]
    for check in exercise["checks"]:
        cell = row[f"exercise_02:{check['id']}"]
        expected = "" if check["status"] == "skipped" else check["points"]
        assert (cell if cell == "" else float(cell)) == expected, (learner, check["id"], check["status"])
        assert row[f"exercise_02:{check['id']}:status"] == check["status"], (learner, check["id"])
    assert float(row["exercise_02"]) == exercise["score"]
    assert float(row["total"]) == report["score"]
    assert float(row["max_total"]) == report["max_score"]


def test_max_row_holds_each_checks_points(graded_class):
    maximum = graded_class["by_learner"][MAX_ROW_NAME]
    correct = graded_class["by_learner"]["cat"]
    checks = [column for column in graded_class["header"] if column.startswith("exercise_02:")
              and not column.endswith(":status")]
    assert all(maximum[f"{column}:status"] == "" for column in checks)
    assert all(float(maximum[column]) > 0 for column in checks)
    # the correct file earns exactly the maximum, column by column
    assert [maximum[column] for column in checks] == [correct[column] for column in checks]
    assert float(maximum["exercise_02"]) == sum(float(maximum[column]) for column in checks)
    assert maximum["total"] == maximum["max_total"] == maximum["exercise_02"] == correct["total"]


def test_a_bug_costs_only_its_checks(graded_class):
    dan = graded_class["by_learner"]["dan"]
    assert dan["exercise_02:model_forward"] == "0"
    assert float(dan["exercise_02:model_parameters"]) > 0
    assert 0 < float(dan["total"]) < float(dan["max_total"])


def test_learners_who_break_the_grader_do_not_stop_the_others(graded_class):
    rows = graded_class["by_learner"]
    assert rows["amy"]["total"] == "0" and "ended the grading process while it was being imported" in rows["amy"]["note"]
    if probe().on:
        # In the sandbox the worker is PID 1 of the learner's namespace: the kill reaches nothing, and ben's
        # otherwise correct file gets what it earns.
        assert rows["ben"]["total"] == rows[MAX_ROW_NAME]["total"]
    else:
        assert rows["ben"]["total"] == "0"
        assert "not graded" in rows["ben"]["note"] and "also when graded on its own" in rows["ben"]["note"]
    # cat comes after both, and still gets every point
    assert rows["cat"]["total"] == rows[MAX_ROW_NAME]["total"]
    assert rows["eve"]["total"] == "0" and rows["eve"]["max_total"] == rows[MAX_ROW_NAME]["max_total"]


def test_notes_say_where_files_were_found(graded_class):
    rows = graded_class["by_learner"]
    assert rows["cat"]["note"] == "files from exercises/"
    assert f"exercise_02: 2 copies, graded {EXERCISE.filename}, left out old/{EXERCISE.filename}" in rows["dan"]["note"]
    assert rows["fay"]["note"] == "no exercise files found"
    assert rows["fay"]["total"] == "0" and rows["fay"]["max_total"] == rows[MAX_ROW_NAME]["max_total"]
    assert rows["eve"]["note"] == ""


def test_submissions_are_left_exactly_as_they_were(graded_class):
    assert tree_fingerprint(graded_class["root"]) == graded_class["before"]


def test_summary_says_how_many_and_where(graded_class):
    lines = graded_class["process"].stderr.strip().splitlines()
    assert graded_class["process"].stdout == ""
    assert "graded 6 learners" in lines[-1] and str(graded_class["output"]) in lines[-1]
    assert "s per learner" in lines[-1]
    assert not [name for name in os.listdir(graded_class["output"].parent) if name != "grades.csv"]  # no temporary left


def test_own_suites_missing_files_and_standard_output(tmp_path, grade_json_here, gradebook_here):
    """With --suites holding only exercise 00's suite, the default (every exercise) grades 00 alone;
    learners without the file get what ``--all`` says for a missing file; no --output: the CSV goes to stdout."""
    suites = tmp_path / "suites"
    suites.mkdir()
    zero = course.find_exercise("0")
    (suites / zero.suite_filename).write_bytes((KIT / "grader" / "suites" / zero.suite_filename).read_bytes())
    write(tmp_path / "class" / "yan" / zero.filename, (KIT / "solutions" / zero.filename).read_text())
    for name in ("zed", "zoe"):
        write(tmp_path / "class" / name / "notes.md", "nothing yet\n")
    process = gradebook_here(str(tmp_path / "class"), "--suites", str(suites), "--seed", SEED, "--device", "cpu")
    assert process.returncode == 0, process.stderr
    rows = list(csv.reader(io.StringIO(process.stdout)))
    assert [row[0] for row in rows] == ["learner", MAX_ROW_NAME, "yan", "zed", "zoe"]
    assert {column.split(":")[0] for column in rows[0][1:-3]} == {"exercise_00"}
    points = [i for i, column in enumerate(rows[0]) if 0 < i < len(rows[0]) - 1 and not column.endswith(":status")]
    assert [rows[2][i] for i in points] == [rows[1][i] for i in points]  # the solution earns the maximum
    by_learner = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    report, _ = grade_json_here("--all", "--empty-source-ok", "--source", str(tmp_path / "class" / "zed"), "--suites", str(suites),
                           "--seed", SEED, "--device", "cpu")
    assert report["exercises"][0]["checks"] and {c["status"] for c in report["exercises"][0]["checks"]} == {"not_started"}
    for check in report["exercises"][0]["checks"]:
        assert float(by_learner["zed"][f"exercise_00:{check['id']}"]) == check["points"]
    assert float(by_learner["zed"]["max_total"]) == report["max_score"] > 0
    assert by_learner["zed"]["note"] == by_learner["zoe"]["note"] == "no exercise files found"
    assert rows[3][1:] == rows[4][1:]
    assert "standard output" in process.stderr


def test_the_shallowest_copy_wins_and_exercises_beats_solutions(tmp_path):
    name = EXERCISE.filename
    for folder in ("solutions", "exercises", "a/b"):
        write(tmp_path / "kim" / folder / name, "")
    learner = find_learner(tmp_path / "kim", [EXERCISE])
    assert learner.files == {"exercise_02": tmp_path / "kim" / "exercises" / name}
    assert learner.notes[-1] == f"exercise_02: 3 copies, graded exercises/{name}, left out solutions/{name}, a/b/{name}"
    write(tmp_path / "kim" / name, "")
    assert find_learner(tmp_path / "kim", [EXERCISE]).files["exercise_02"] == tmp_path / "kim" / name


def test_a_check_skipped_on_this_machine_is_empty_and_out_of_the_maximum(tmp_path):
    """As the CUDA check on a CPU machine: skipped for a working file, an error for one that does not import."""
    def result(*checks):
        return ExerciseResult("exercise_02", "Building models", "f.py", checks=list(checks))

    broken = "f.py could not be imported"
    results = {
        ("ok", "exercise_02"): result(CheckResult("a", "A", 2.0, Status.PASSED),
                                      CheckResult("gpu", "GPU", 3.0, Status.SKIPPED, "needs a CUDA GPU")),
        ("ko", "exercise_02"): result(CheckResult("a", "A", 2.0, Status.ERROR, broken),
                                      CheckResult("gpu", "GPU", 3.0, Status.ERROR, broken)),
    }
    learners = [Learner("ok", tmp_path), Learner("ko", tmp_path)]
    header, maximum, ok, ko = gradebook_rows([EXERCISE], learners, results, alone=set())
    assert header == ["learner", "exercise_02:a", "exercise_02:a:status", "exercise_02:gpu", "exercise_02:gpu:status",
                      "exercise_02", "total", "max_total", "note"]
    assert maximum[:8] == [MAX_ROW_NAME, "2", "", "", "", "2", "2", "2"]
    assert ok == ["ok", "2", "passed", "", "skipped", "2", "2", "2", ""]
    # the grader's own max_score for this learner counts the check, as --format json does
    assert ko == ["ko", "0", "error", "0", "error", "0", "0", "5", f"exercise_02: {broken}"]


def test_learners_are_in_natural_order():
    assert sorted(["student10", "Student2", "student1"], key=natural_order) == ["student1", "Student2", "student10"]


@pytest.mark.parametrize("make_args, words", [
    (lambda tmp: [str(tmp / "nowhere")], "no folder"),
    (lambda tmp: [str(tmp / "only_files")], "no learner folders"),
    (lambda tmp: [str(tmp / "class"), "--output", str(tmp / "a_file" / "grades.csv")], "cannot write --output"),
    (lambda tmp: [str(tmp / "class"), "--output", str(tmp)], "is a folder"),
    (lambda tmp: [str(tmp / "class"), "--output", str(tmp / "class" / "al" / "grades.csv")], "inside a learner's folder"),
    (lambda tmp: [str(tmp / "class"), "99"], "unknown exercise"),
    (lambda tmp: [str(tmp / "class"), "02", "--all"], "not both"),
    (lambda tmp: [str(tmp / "class"), "--timeout", "0"], "--timeout"),
    (lambda tmp: [str(tmp / "class"), "--suites", str(tmp / "nowhere")], "--suites"),
    (lambda tmp: [], "required"),
], ids=["missing folder", "no learners", "unwritable output", "output is a folder", "output in a learner folder",
        "unknown exercise", "names and --all", "bad timeout", "missing suites", "no folder given"])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, make_args, words):
    (tmp_path / "only_files").mkdir()
    (tmp_path / "only_files" / "notes.txt").write_text("")
    (tmp_path / "only_files" / ".git").mkdir()
    (tmp_path / "class" / "al").mkdir(parents=True)
    (tmp_path / "a_file").write_text("")
    process = run_gradebook(*make_args(tmp_path), timeout=30)
    assert process.returncode == 2
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradebook: ") and words in lines[0], process.stderr
    assert "grading" not in lines[0]  # refused before any grading started
    assert not (tmp_path / "class" / "al" / "grades.csv").exists()


def test_statuses_formula_names_non_utf8_names_and_options_after_the_exercises(tmp_path, gradebook_here):
    """An untouched stub, a loop that never ends and a pass all earn different statuses; a folder named
    like a formula is text in a spreadsheet; a name that is not UTF-8 is graded and shown; and the
    exercises may come after the options, as with `python -m grader`."""
    root = tmp_path / "class"
    name = "exercise_00_tensors.py"
    solution_00 = (KIT / "solutions" / name).read_text()
    write(root / "=1+2" / name, solution_00)
    write(Path(os.fsdecode(bytes(root) + b"/caf\xe9")) / name, (KIT / "exercises" / name).read_text())
    looping = solution_00.replace("def gradient(f, x: float) -> float:\n", "def gradient(f, x: float) -> float:\n    while True:\n        pass\n")
    assert looping != solution_00
    write(root / "loops" / name, looping)
    output = tmp_path / "grades.csv"
    process = gradebook_here(str(root), "--seed", SEED, "--timeout", "3", "0", "--output", str(output))
    assert process.returncode == 0, process.stderr
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    by_learner = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(by_learner) == {MAX_ROW_NAME, "'=1+2", "caf\\xe9", "loops"}
    statuses = lambda who: {v for k, v in by_learner[who].items() if k.endswith(":status")}
    assert statuses("'=1+2") == {"passed"} and statuses("caf\\xe9") == {"not_started"}
    assert "timeout" in statuses("loops") and "passed" in statuses("loops")
    assert by_learner["caf\\xe9"]["total"] == "0" and by_learner["'=1+2"]["total"] == by_learner["'=1+2"]["max_total"]
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_shards_merged_equal_one_parallel_grading_of_the_whole_class(tmp_path):
    """--shard I/N splits the learners without overlap; merge joins the CSVs into the whole class's,
    and --jobs 2 grades the whole class into the same CSV as --jobs 1 would."""
    root = tmp_path / "class"
    name = "exercise_00_tensors.py"
    for index, learner in enumerate(("a1", "a2", "a10", "b")):
        source = KIT / ("solutions" if index % 2 else "exercises") / name
        write(root / learner / name, source.read_text())
    whole, shard_csvs = tmp_path / "whole.csv", []
    assert run_gradebook(str(root), "0", "--seed", SEED, "--jobs", "2", "--output", str(whole)).returncode == 0
    for shard in ("1/2", "2/2"):
        shard_csvs.append(tmp_path / f"shard{shard[0]}.csv")
        process = run_gradebook(str(root), "0", "--seed", SEED, "--jobs", "1", "--shard", shard,
                                "--output", str(shard_csvs[-1]))
        assert process.returncode == 0, process.stderr
    learners_in = lambda path: [row[0] for row in csv.reader(io.StringIO(path.read_text()))][2:]
    assert learners_in(shard_csvs[0]) == ["a1", "a10"] and learners_in(shard_csvs[1]) == ["a2", "b"]
    merged = tmp_path / "merged.csv"
    process = run_gradebook("merge", str(shard_csvs[1]), str(shard_csvs[0]), "--output", str(merged))
    assert process.returncode == 0, process.stderr
    assert merged.read_text() == whole.read_text()
    assert learners_in(merged) == ["a1", "a2", "a10", "b"]
    # Merging a shard twice, or a file that is not a gradebook, is a usage error.
    assert run_gradebook("merge", str(shard_csvs[0]), str(shard_csvs[0])).returncode == 2
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    assert run_gradebook("merge", str(tmp_path / "other.csv")).returncode == 2
    assert run_gradebook(str(root), "--shard", "3/2").returncode == 2


def test_notebooks_are_graded_as_python_m_grader_chooses_and_both_changed_is_one_learners_note(tmp_path, grade_json_here, gradebook_here):
    """A class where exercise 02 is a notebook: alone (with a bug), beside the untouched .py stub, and beside a
    changed .py file (both changed: neither graded, that learner's note says why, the others are graded)."""
    notebooks = pytest.importorskip("tests.test_notebooks")  # skips without the notebook extra
    notebook_of = lambda source: notebooks.learner_notebook(EXERCISE, source)  # noqa: E731

    root, name = tmp_path / "class", EXERCISE.filename
    buggy = edited_solution(json.loads(BUGGY_CASE.read_text())["edit"])
    write(root / "nia" / "exercises" / EXERCISE.notebook, notebook_of(buggy))
    write(root / "noa" / EXERCISE.notebook, notebook_of(solution()))
    write(root / "noa" / name, (KIT / "exercises" / name).read_text())  # the stub, set aside
    write(root / "nox" / EXERCISE.notebook, notebook_of(solution()))
    write(root / "nox" / name, buggy)
    write(root / "pia" / name, buggy)
    before = tree_fingerprint(root)
    output = tmp_path / "grades.csv"
    process = gradebook_here(str(root), "02", "--output", str(output), "--seed", SEED, "--timeout", TIMEOUT,
                            "--device", "cpu")
    assert process.returncode == 0, process.stderr
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    by_learner = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    report, _ = grade_json_here("02", "--source", str(root / "nia" / "exercises"), "--seed", SEED, "--timeout", TIMEOUT,
                           "--device", "cpu")
    checks = report["exercises"][0]["checks"]
    # The notebook's cells are what python -m grader says, and the same as the same code in a .py file.
    for check in checks:
        assert by_learner["nia"][f"exercise_02:{check['id']}:status"] == check["status"]
        assert by_learner["nia"][f"exercise_02:{check['id']}"] == by_learner["pia"][f"exercise_02:{check['id']}"]
    assert 0 < float(by_learner["nia"]["total"]) < float(by_learner["nia"]["max_total"])
    assert by_learner["nia"]["note"] == "files from exercises/"
    assert by_learner["noa"]["total"] == by_learner[MAX_ROW_NAME]["total"]
    assert by_learner["noa"]["note"] == (f"exercise_02: 2 files, graded {EXERCISE.notebook}, left out {name} "
                                         "(the kit's stub)")
    nox = by_learner["nox"]
    assert nox["total"] == "0" and {nox[f"exercise_02:{c['id']}:status"] for c in checks} == {"error"}
    assert nox["note"] == (f"exercise_02: {name} and {EXERCISE.notebook} both differ from the kit's stub, so neither "
                           "was graded: keep the work in one of them")
    assert tree_fingerprint(root) == before
