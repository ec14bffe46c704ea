"""The GitHub Classroom starter, made and run for real.

``python -m grader.classroom starter`` writes the learners' repository; these
tests check what is in it and what must never be, then run the commands of its
workflow locally, as a GitHub runner would: the install step (offline: pip is
pointed at a wheel built from this checkout instead of PyPI, and finds torch
already installed), then each exercise's grading step under ``bash -e``, with
``GITHUB_WORKSPACE``, ``RUNNER_TEMP`` and ``GITHUB_OUTPUT`` set. Each step's
output is decoded the way ``classroom-resources/autograding-grading-reporter``
does it and must give the same points as ``--format json`` with the same seed
(the one change made to a step's script is adding that ``--seed``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from grader import classroom, course
from tests.conftest import KIT

SEED = 7
GRADED = ("exercise_00", "exercise_02")  # two quick exercises stand for all eight
GIT_REQUIREMENT = "pytorch-workflow-kit @ git+https://github.com/TEACHER/kit@v0.1.0"
NEVER_COPIED = ("solutions", "grader", "tests", ".ci", "scripts", "docs")


def make_starter(out_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m grader.classroom starter OUT_DIR ARGS`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(KIT)}
    return subprocess.run([sys.executable, "-m", "grader.classroom", "starter", str(out_dir), *args],
                          cwd=out_dir.parent, env=env, capture_output=True, text=True, timeout=60)


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def steps_by_id(workflow: dict) -> dict[str, dict]:
    [job] = workflow["jobs"].values()
    return {step["id"]: step for step in job["steps"] if "id" in step}


def run_step(script: str, env: dict, tmp: Path) -> subprocess.CompletedProcess:
    """One ``run:`` script, as GitHub runs a step with no ``shell:`` on Linux: ``bash -e``."""
    path = tmp / "step.sh"
    path.write_text(script)
    return subprocess.run(["bash", "-e", str(path)], env=env, capture_output=True, text=True, timeout=240)


def step_outputs(output_file: Path) -> dict[str, str]:
    """The ``name=value`` lines a step appended to ``$GITHUB_OUTPUT``."""
    lines = output_file.read_text().splitlines() if output_file.exists() else []
    assert all("=" in line and "<<" not in line.split("=")[0] for line in lines), lines
    return dict(line.split("=", 1) for line in lines)


def reporter_reads(workflow: dict, outputs: dict[str, dict[str, str]]) -> dict[str, dict]:
    """What the reporter step decodes, runner by runner, from the steps' outputs.

    As the reporter does it: ``runners`` split on commas; for each runner the
    variable ``<RUNNER>_RESULTS`` of its step's env; base64, then JSON.
    """
    [job] = workflow["jobs"].values()
    [reporter] = [s for s in job["steps"] if s.get("uses", "").startswith(classroom.REPORTER.split("@")[0])]
    results = {}
    for runner in reporter["with"]["runners"].split(","):
        if runner not in outputs:
            continue
        template = reporter["env"][f"{runner.strip().upper()}_RESULTS"]
        assert template == f"${{{{ steps.{runner}.outputs.result }}}}"
        results[runner] = json.loads(base64.b64decode(outputs[runner]["result"], validate=True))
    return results


def points(result: dict) -> tuple[float, float]:
    """``(score, max)`` of one runner, as the reporter adds them up for GitHub Classroom."""
    return sum(test["score"] for test in result["tests"]), result["max_score"]


# -- what the starter holds ------------------------------------------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    out_dir = tmp_path_factory.mktemp("made") / "starter"
    process = make_starter(out_dir)
    assert process.returncode == 0, process.stderr
    return out_dir


@pytest.fixture(scope="module")
def workflow(starter) -> dict:
    return yaml.safe_load((starter / classroom.WORKFLOW).read_text())


def test_starter_holds_lessons_stubs_readme_and_workflow_and_nothing_else(starter):
    lessons = {f"lessons/{name}" for name in files_under(KIT / "lessons")}
    stubs = {f"exercises/{e.filename}" for e in course.EXERCISES}
    expected = lessons | stubs | {"README.md", ".gitignore", ".github/workflows/classroom.yml"}
    assert files_under(starter) == expected
    assert not [name for name in files_under(starter) if name.split("/")[0] in NEVER_COPIED]
    # The stubs are the kit's, byte for byte, and the pristine ones the grader keeps for --reset.
    pristine = json.loads((KIT / "grader" / "stubs.json").read_text(encoding="utf-8"))["stubs"]
    for exercise in course.EXERCISES:
        copied = (starter / "exercises" / exercise.filename).read_bytes()
        assert copied == (KIT / "exercises" / exercise.filename).read_bytes()
        assert copied.decode("utf-8") == pristine[exercise.filename]
        assert copied != (KIT / "solutions" / exercise.filename).read_bytes()
    image = "lessons/images/03_loss_curves.png"
    assert (starter / image).read_bytes() == (KIT / image).read_bytes()


def test_every_link_in_the_starters_markdown_leads_to_a_file_in_it(starter):
    links = 0
    for page in starter.rglob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            links += 1
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(starter.resolve()) and path.exists(), f"{page.name} links to {target}"
    assert links > 20


def test_learner_readme_says_how_to_install_the_pinned_grader_and_how_grading_works(starter):
    readme = (starter / "README.md").read_text(encoding="utf-8")
    assert f"python -m pip install {classroom.DEFAULT_REQUIREMENT}" in readme
    assert "lessons/README.md" in readme and "python -m grader" in readme
    assert "On every push" in readme and ".github/workflows/classroom.yml" in readme
    assert all(f"`exercises/{e.filename}`" in readme for e in course.EXERCISES)


def test_workflow_has_the_names_classroom_looks_for_and_a_step_per_exercise(workflow):
    assert workflow["name"] == "Autograding Tests"
    assert {"push", "workflow_dispatch"} <= set(workflow["on"])
    [(job_name, job)] = workflow["jobs"].items()
    assert job_name == "run-autograding-tests" and job["runs-on"] == "ubuntu-latest"
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    install = next(s for s in job["steps"] if "pip install" in s.get("run", ""))
    assert "--index-url https://download.pytorch.org/whl/cpu" in install["run"]
    assert f"pip install {classroom.DEFAULT_REQUIREMENT}" in install["run"]
    ids = [e.name for e in course.EXERCISES]
    grading = steps_by_id(workflow)
    assert list(grading) == ids
    for name, step in grading.items():
        assert step["continue-on-error"] is True  # an unfinished exercise never stops the next ones
        assert "${{" not in step["run"]  # nothing for GitHub to fill in: the script runs here as written
        assert f"python -I -m grader {name} " in step["run"] and "--format classroom" in step["run"]
    reporter = job["steps"][-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"].split(",") == ids
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{ steps.{i}.outputs.result }}}}" for i in ids}


def test_named_exercises_and_a_git_requirement_make_a_smaller_starter(tmp_path):
    out_dir = tmp_path / "starter"
    assert make_starter(out_dir, "0", "exercise_03", "--grader-requirement", GIT_REQUIREMENT).returncode == 0
    stubs = sorted(p.name for p in (out_dir / "exercises").iterdir())
    assert stubs == ["exercise_00_tensors.py", "exercise_03_training.py"]
    workflow = yaml.safe_load((out_dir / classroom.WORKFLOW).read_text())
    assert list(steps_by_id(workflow)) == ["exercise_00", "exercise_03"]
    assert workflow["jobs"]["run-autograding-tests"]["steps"][-1]["with"]["runners"] == "exercise_00,exercise_03"
    assert f"python -m pip install '{GIT_REQUIREMENT}'" in (out_dir / "README.md").read_text()
    # The install step hands pip the requirement as one argument, spaces and all: run it with a
    # stand-in python that writes down its arguments.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python").write_text('#!/bin/sh\nprintf "%s|" "$@" >> "$CALLS"\necho >> "$CALLS"\n')
    (fake_bin / "python").chmod(0o755)
    install = next(s for s in workflow["jobs"]["run-autograding-tests"]["steps"] if "pip install" in s.get("run", ""))
    calls = tmp_path / "calls"
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "CALLS": str(calls)}
    assert run_step(install["run"], env, tmp_path).returncode == 0
    assert calls.read_text().splitlines() == [
        "-m|pip|install|torch|--index-url|https://download.pytorch.org/whl/cpu|",
        f"-m|pip|install|{GIT_REQUIREMENT}|",
    ]


# -- what the starter command refuses ----------------------------------------------------------


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    out_dir = tmp_path / "starter"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("mine")
    process = make_starter(out_dir)
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and "not an empty folder" in process.stderr
    assert files_under(out_dir) == {"notes.txt"}


@pytest.mark.parametrize("args, says", [
    (["--grader-requirement", "pytorch-workflow-kit"], "is not pinned"),
    (["--grader-requirement", "  "], "must be one pip requirement"),
    (["99"], "unknown exercise '99'"),
    (["3", "--all"], "not both"),
])
def test_bad_options_are_one_line_errors(tmp_path, args, says):
    process = make_starter(tmp_path / "starter", *args)
    assert process.returncode == 2 and process.stderr.count("\n") == 1 and says in process.stderr
    assert not (tmp_path / "starter").exists()


def test_a_kit_whose_stub_was_solved_is_refused(tmp_path, monkeypatch, capsys):
    """A teacher's worked copy in exercises/ must never be published to every learner."""
    fake_kit = tmp_path / "kit"
    shutil.copytree(KIT / "lessons", fake_kit / "lessons")
    shutil.copytree(KIT / "exercises", fake_kit / "exercises")
    shutil.copy(KIT / "solutions" / "exercise_02_models.py", fake_kit / "exercises")
    monkeypatch.setattr(classroom, "KIT_ROOT", fake_kit)
    assert classroom.main(["starter", str(tmp_path / "starter")]) == 2
    assert "exercise_02_models.py has no `raise NotImplementedError` left" in capsys.readouterr().err
    assert not (tmp_path / "starter").exists()
    # An installed grader has no lessons to copy: it says where to run the command instead.
    shutil.rmtree(fake_kit / "lessons")
    assert classroom.main(["starter", str(tmp_path / "starter")]) == 2
    assert "run this from a checkout of the kit" in capsys.readouterr().err


# -- the workflow, run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner_env(workflow, tmp_path_factory) -> dict:
    """The environment of a runner after the workflow's install step, run for real, offline.

    A fresh virtual environment sees this interpreter's packages (torch and the
    rest, through a .pth file) but not this checkout; the install step's own
    commands then install the grader into it from a wheel of this checkout,
    found by pip where PyPI would be.
    """
    root = tmp_path_factory.mktemp("runner")
    source = root / "kit"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(KIT / name, source)
    shutil.copytree(KIT / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(source)], check=True, capture_output=True, timeout=120)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    [site] = venv.glob("lib/python*/site-packages")
    # This interpreter's packages, seen through links, minus the kit itself: where the kit is installed
    # (`pip install -e .`, as CI does), pip would otherwise find it "already installed" and skip the step.
    shared = root / "shared-packages"
    shared.mkdir()
    for folder in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        for entry in Path(folder).iterdir():
            kit_itself = entry.name.startswith(("pytorch_workflow_kit", "__editable__")) or entry.name == "grader"
            if not kit_itself and not (shared / entry.name).exists():
                (shared / entry.name).symlink_to(entry)
    (site / "runner_packages.pth").write_text(f"{shared}\n")
    home = root / "home"
    home.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    [job] = workflow["jobs"].values()
    install = next(s for s in job["steps"] if "pip install" in s.get("run", ""))
    process = run_step(install["run"], env, root)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert (site / "grader" / "suites").is_dir() and not (site / "exercises").exists()
    return env


def run_grading_step(workflow, exercise: str, workspace: Path, env: dict, tmp: Path):
    """Run one exercise's step with this test's seed; return the process and its outputs."""
    script = steps_by_id(workflow)[exercise]["run"]
    assert script.count("--format classroom") == 1
    script = script.replace("--format classroom", f"--format classroom --seed {SEED}")
    runner_temp = tmp / f"temp_{exercise}"
    runner_temp.mkdir()
    output = runner_temp / "github_output"
    step_env = {**env, "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(runner_temp),
                "GITHUB_OUTPUT": str(output)}
    process = run_step(script, step_env, runner_temp)
    return process, step_outputs(output)


def grade_json(exercises: tuple[str, ...], source: Path, env: dict, cwd: Path) -> dict[str, dict]:
    """``--format json`` of the installed grader, same seed: ``{exercise: its report}``."""
    process = subprocess.run(["python", "-I", "-m", "grader", *exercises, "--source", str(source),
                              "--format", "json", "--seed", str(SEED)],
                             env=env, cwd=cwd, capture_output=True, text=True, timeout=240)
    assert process.stdout, process.stderr
    return {e["exercise"]: e for e in json.loads(process.stdout)["exercises"]}


@pytest.fixture
def learner_repo(starter, tmp_path) -> Path:
    """A learner's copy of the starter, to change at will."""
    repo = tmp_path / "repo"
    shutil.copytree(starter, repo)
    return repo


def plant_fake_grader(repo: Path) -> str:
    """A learner's own grader/ package that claims full marks; returns what it prints."""
    fake = base64.b64encode(json.dumps({"version": 1, "status": "pass", "max_score": 1,
                                        "tests": [{"name": "all", "status": "pass", "score": 1}]}).encode()).decode()
    (repo / "grader").mkdir()
    (repo / "grader" / "__init__.py").write_text("")
    (repo / "grader" / "__main__.py").write_text(f"print({fake!r})\n")
    return fake


def test_grading_steps_report_each_stubs_points_as_zero_of_its_maximum(workflow, runner_env, learner_repo, tmp_path):
    fake = plant_fake_grader(learner_repo)
    # The planted package does shadow the grader for a plain `python -m grader` run in the repository...
    shadowed = subprocess.run(["python", "-m", "grader", "0"], cwd=learner_repo, env=runner_env,
                              capture_output=True, text=True, timeout=60)
    assert shadowed.stdout.strip() == fake
    outputs = {}
    for exercise in GRADED:
        process, outputs[exercise] = run_grading_step(workflow, exercise, learner_repo, runner_env, tmp_path)
        assert process.returncode == 1, process.stderr  # not finished: the step fails, the job goes on
    expected = grade_json(GRADED, learner_repo / "exercises", runner_env, tmp_path)
    for exercise, result in reporter_reads(workflow, outputs).items():
        # ...but not the workflow's steps: they report the real grader's points.
        assert outputs[exercise]["result"] != fake
        score, maximum = points(result)
        assert (score, maximum) == (expected[exercise]["score"], expected[exercise]["max_score"]) == (0, maximum)
        assert maximum > 0 and result["tests"]  # never 0 of 0, never an empty list (the reporter divides by it)
        assert result["version"] == 1 and result["status"] == "fail"
        assert len(result["tests"]) == len(expected[exercise]["checks"])
        assert {t["status"] for t in result["tests"]} == {"fail"}
        assert all(t["line_no"] == 0 and t["name"] and t["message"] for t in result["tests"])
        assert len(outputs[exercise]["result"]) < 100_000  # far below what one environment variable may hold


def test_a_solved_exercise_gets_every_point_and_a_passing_step(workflow, runner_env, learner_repo, tmp_path):
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", learner_repo / "exercises")
    process, outputs = run_grading_step(workflow, "exercise_00", learner_repo, runner_env, tmp_path)
    assert process.returncode == 0, process.stderr
    [result] = reporter_reads(workflow, {"exercise_00": outputs}).values()
    expected = grade_json(("exercise_00",), learner_repo / "exercises", runner_env, tmp_path)["exercise_00"]
    assert points(result) == (expected["score"], expected["max_score"]) == (expected["max_score"],) * 2
    assert result["status"] == "pass" and {t["status"] for t in result["tests"]} == {"pass"}


def test_a_missing_exercise_file_reports_zero_of_its_points_and_says_why(workflow, runner_env, learner_repo, tmp_path):
    stub = grade_json(("exercise_02",), learner_repo / "exercises", runner_env, tmp_path)["exercise_02"]
    (learner_repo / "exercises" / "exercise_02_models.py").unlink()
    process, outputs = run_grading_step(workflow, "exercise_02", learner_repo, runner_env, tmp_path)
    assert process.returncode == 1, process.stderr
    [result] = reporter_reads(workflow, {"exercise_02": outputs}).values()
    assert points(result) == (0, stub["max_score"])
    # The reporter prints an "error" test's message: the learner reads what is missing.
    assert result["status"] != "pass" and {t["status"] for t in result["tests"]} == {"error"}
    assert all("exercise_02_models.py is missing" in t["message"] for t in result["tests"])


def test_installed_grader_grades_the_repositorys_exercises_by_default(runner_env, learner_repo):
    """What the learner README says to run, from the repository's root: ./exercises is graded."""
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", learner_repo / "exercises")
    process = subprocess.run(["python", "-m", "grader", "0", "--format", "json", "--seed", str(SEED)],
                             cwd=learner_repo, env=runner_env, capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert report["score"] == report["max_score"] > 0
