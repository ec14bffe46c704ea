"""The GitHub Classroom starter, made and run for real.

``python -m grader.classroom starter`` writes the learners' repository; these
tests check what is in it and what must never be, then run the commands of its
workflow locally, as a GitHub runner would: the install step (offline: pip is
handed a wheel built from this checkout instead of the teacher's repository, and
finds torch already installed), then each exercise's grading step under
``bash -e``, with ``GITHUB_WORKSPACE``, ``RUNNER_TEMP`` and ``GITHUB_OUTPUT``
set. The reporter step's environment is then rebuilt from the workflow and the
steps' outputs, and read as ``classroom-resources/autograding-grading-reporter@v1``
reads it: ``reporter_v1`` below does its arithmetic, line for line from its
source. Every number it prints must be ``--format json``'s score with the same
seed (the one change made to a step's script is adding that ``--seed``), and
the solutions, the stubs, a realistic bug and a missing file are all graded out
of the same maximum.

The reporter itself, where a copy is at hand: set ``CLASSROOM_REPORTER_JS`` to the
``dist/main.js`` of a checkout, and node (20, as the action's runtime) runs it as
the runner starts a node action: ``node dist/main.js``, with the step's ``env``
and ``INPUT_RUNNERS``. Its code is never part of this repository; keep the checkout
outside it::

    git clone --branch v1 https://github.com/classroom-resources/autograding-grading-reporter /tmp/reporter
    CLASSROOM_REPORTER_JS=/tmp/reporter/dist/main.js python -m pytest tests/test_classroom.py -rP

(``dist/main.js`` is a self-contained bundle: no ``npm install``.) Every number it
prints (each runner's "Total points for", each row and the total of its table, the
"Points X/Y" notice and its JSON report) is then read from its own output and
compared with the kit's JSON; ``-rP`` shows what it printed.
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
from types import SimpleNamespace

import pytest
import yaml

from grader import course
from grader.platforms import classroom
from tests.helpers import KIT

SEED = 7
GRADED = ("exercise_00", "exercise_02")  # two quick exercises stand for all eight
GIT_REQUIREMENT = "pytorch-workflow-kit @ git+https://github.com/TEACHER/kit@v0.1.0"
# What the workflow installs: the same, with the notebook extra, so that a notebook is graded too.
WORKFLOW_REQUIREMENT = "pytorch-workflow-kit[notebooks] @ git+https://github.com/TEACHER/kit@v0.1.0"
NEVER_COPIED = ("solutions", "grader", "tests", ".ci", "scripts", "docs")


def make_starter(out_dir: Path, *args: str, requirement: str | None = GIT_REQUIREMENT) -> subprocess.CompletedProcess:
    """Run ``python -m grader.classroom starter OUT_DIR ARGS`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(KIT)}
    pin = ["--grader-requirement", requirement] if requirement and "--grader-requirement" not in args else []
    return subprocess.run([sys.executable, "-m", "grader.classroom", "starter", str(out_dir), *args, *pin],
                          cwd=out_dir.parent, env=env, capture_output=True, text=True, timeout=120)


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


def reporter_step(workflow: dict) -> dict:
    [job] = workflow["jobs"].values()
    [reporter] = [s for s in job["steps"] if s.get("uses", "").startswith(classroom.REPORTER.split("@")[0])]
    return reporter


def reporter_environment(workflow: dict, outputs: dict[str, dict[str, str]]) -> dict[str, str]:
    """The reporter step's environment, as the runner gives it: its ``env`` with each
    ``${{ steps.ID.outputs.NAME }}`` filled in (empty when the step set no such output), and
    ``INPUT_RUNNERS`` from its ``with``."""
    reporter = reporter_step(workflow)
    fill = lambda match: outputs.get(match.group(1), {}).get(match.group(2), "")
    env = {name: re.sub(r"\$\{\{ steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+) \}\}", fill, value)
           for name, value in reporter["env"].items()}
    return {**env, "INPUT_RUNNERS": reporter["with"]["runners"]}


def reporter_v1(env: dict[str, str]) -> dict:
    """What the reporter's v1 prints, computed as its source does (src/main.js, console-results.js,
    aggregate-results.js, notify-classroom.js and helpers/test-helpers.js of the v1 bundle).

    Runners are ``runners`` split on ","; each runner's result is ``<RUNNER>_RESULTS``,
    base64 then JSON (an empty one makes ``JSON.parse`` throw: nothing is printed at all).
    A runner's "score" is passed tests / tests * max_score; the table's total adds those;
    the "Points X/Y" notice adds every test's own ``score`` and the max_score of each runner
    that has one. Floating-point sums in the same order as JavaScript's.
    """
    runners = [(name, json.loads(base64.b64decode(env[f"{name.strip().upper()}_RESULTS"], validate=True)))
               for name in env["INPUT_RUNNERS"].split(",")]
    lines, table = {}, {}
    for name, results in runners:
        maximum = results["max_score"] or 0
        score = sum(1 for test in results["tests"] if test["status"] == "pass") / len(results["tests"]) * maximum
        table[name.strip()] = (score, maximum)
        if maximum != 0:
            lines[name] = (round(score, 2), maximum)  # printed with toFixed(2)
    total = maximum_total = 0.0
    for score, maximum in table.values():
        total, maximum_total = total + score, maximum_total + maximum
    points = max_points = 0
    for _, results in runners:
        if results["max_score"]:
            max_points += results["max_score"]
            for test in results["tests"]:
                points += test["score"]
    return {"lines": lines, "table": table, "table_total": (total, maximum_total),
            "notice": (points, max_points) if max_points else None}


def run_real_reporter(env: dict[str, str], tmp: Path) -> str | None:
    """What the real reporter printed (``node dist/main.js``, as the runner starts a node action),
    without colours; None when ``CLASSROOM_REPORTER_JS`` is not set."""
    script = os.environ.get("CLASSROOM_REPORTER_JS")
    if not script:
        return None
    if not Path(script).is_file() or not shutil.which("node"):
        pytest.fail(f"CLASSROOM_REPORTER_JS={script}: no such file, or no node on PATH to run it")
    process = subprocess.run(["node", script], env={"PATH": os.environ["PATH"], "HOME": str(tmp), **env},
                             capture_output=True, text=True, timeout=60, cwd=tmp)
    printed = re.sub(r"\x1b\[[0-9;]*m", "", process.stdout + process.stderr)
    print(f"--- {script} (exit {process.returncode}) ---\n{printed}")  # shown by pytest -rP
    return printed


def read_real_reporter(printed: str) -> dict:
    """Every number the real reporter printed, read from its own output."""
    cell = r"\s*([^│]*?)\s*"
    table = re.findall(rf"^│{cell}│{cell}│{cell}│$", printed, re.M)
    assert table and table[0] == ("Test Runner Name", "Test Score", "Max Score"), printed
    notice = re.findall(r"^::notice title=Autograding complete::Points (\S+)/(\S+)$", printed, re.M)
    report = re.findall(r"^::notice title=Autograding report::(.*)$", printed, re.M)
    passed = re.findall(r"Grand total tests passed: (\d+)/(\d+)", printed)
    assert len(notice) == len(report) == len(passed) == 1, printed
    return {
        "lines": [(runner, float(score), float(maximum)) for runner, score, maximum
                  in re.findall(r"^Total points for (\S+): (\S+)/(\S+)$", printed, re.M)],
        # float() fails on a cell the table cut short ("14.9999…"), as it should: that number is not the score
        "rows": [(float(score), float(maximum)) for _, score, maximum in table[1:-1]],
        "total": tuple(float(number) for number in table[-1][1:]) if table[-1][0] == "Total:" else None,
        "notice": tuple(float(number) for number in notice[0]),
        "report": json.loads(report[0]),
        "passed": tuple(int(number) for number in passed[0]),
    }


def assert_real_reporter_agrees(printed: str, runners: list[str], expected: dict) -> None:
    """Each runner's line and row is its check's points of its maximum, and every total is the JSON score."""
    numbers = read_real_reporter(printed)
    checks = {}  # runner name: (points, maximum) of its check in the JSON report
    for exercise in expected["exercises"]:
        number = int(exercise["exercise"].split("_")[1])
        ids = [SimpleNamespace(id=check["id"]) for check in exercise["checks"]]
        names = classroom.runner_names(SimpleNamespace(number=number), ids)
        for check in exercise["checks"]:
            counted = check["status"] != "skipped"
            checks[names[check["id"]]] = (check["points"] if counted else 0.0, check["max_points"] if counted else 0.0)
    assert set(runners) == set(checks)
    two = lambda pair: tuple(round(number, 2) for number in pair)
    assert [(runner, *two(points)) for runner, *points in numbers["lines"]] == \
        [(runner, *two(checks[runner])) for runner in runners if checks[runner][1]]
    assert [two(row) for row in numbers["rows"]] == [two(checks[runner]) for runner in runners]
    score, maximum = round(expected["score"], 2), expected["max_score"]
    assert numbers["total"] == (score, maximum) and numbers["notice"] == (score, maximum)
    assert (round(numbers["report"]["totalPoints"], 2), numbers["report"]["maxPoints"]) == (score, maximum)
    passed = sum(check["status"] == "passed" for exercise in expected["exercises"] for check in exercise["checks"])
    assert numbers["passed"] == (passed, len(runners))


def assert_reporter_agrees(workflow: dict, outputs: dict[str, dict[str, str]], expected: dict, tmp: Path) -> dict:
    """Every number the reporter prints is the kit's JSON score, to two decimals; returns what it printed."""
    env = reporter_environment(workflow, outputs)
    assert all(value for value in env.values()), [name for name, value in env.items() if not value]
    printed = reporter_v1(env)
    score, maximum = expected["score"], expected["max_score"]
    assert printed["notice"] is not None and round(printed["notice"][0], 2) == round(score, 2)
    assert printed["notice"][1] == maximum
    assert (round(printed["table_total"][0], 2), printed["table_total"][1]) == (round(score, 2), maximum)
    for (line_score, line_max), (table_score, table_max) in zip(printed["lines"].values(), printed["table"].values()):
        assert line_score == round(table_score, 2) and table_score in (0, table_max) and line_max == table_max
    real = run_real_reporter(env, tmp)
    if real is not None:  # the reporter itself: what it printed is what reporter_v1 says, and the kit's score
        assert f"::notice title=Autograding complete::Points {js_number(printed['notice'][0])}/{js_number(maximum)}" in real, real
        assert re.search(rf"Total: .*│ {re.escape(js_number(printed['table_total'][0]))} +│ {js_number(maximum)} ", real), real
        for runner, (line_score, line_max) in printed["lines"].items():
            assert f"Total points for {runner}: {line_score:.2f}/{js_number(line_max)}" in real, real
        assert_real_reporter_agrees(real, env["INPUT_RUNNERS"].split(","), expected)
    return printed


def js_number(value: float) -> str:
    """How JavaScript prints a number in a template string: 3 for 3.0."""
    return f"{value:g}" if float(value).is_integer() else repr(float(value))


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
    assert f"python -m pip install '{GIT_REQUIREMENT}'" in readme
    assert "lessons/README.md" in readme and "python -m grader" in readme
    assert "On every push" in readme and ".github/workflows/classroom.yml" in readme
    assert all(f"`exercises/{e.filename}`" in readme for e in course.EXERCISES)


def test_workflow_has_the_names_classroom_looks_for_and_a_step_per_exercise(workflow):
    assert workflow["name"] == "Autograding Tests"
    assert {"push", "workflow_dispatch"} <= set(workflow["on"])
    [(job_name, job)] = workflow["jobs"].items()
    assert job_name == "run-autograding-tests" and job["runs-on"] == "ubuntu-latest"
    # The actions' current majors, both running on Node 24 (Node 20 reaches its end of life on GitHub's runners).
    assert [s["uses"] for s in job["steps"][:2]] == ["actions/checkout@v6", "actions/setup-python@v6"]
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    install = next(s for s in job["steps"] if "pip install" in s.get("run", ""))
    assert "--index-url https://download.pytorch.org/whl/cpu" in install["run"] and "'torch>=2.2,<3'" in install["run"]
    assert f"pip install '{WORKFLOW_REQUIREMENT}'" in install["run"]
    grading = steps_by_id(workflow)
    assert list(grading) == [e.name.replace("_", "") for e in course.EXERCISES]
    for exercise, (step_id, step) in zip(course.EXERCISES, grading.items()):
        assert step["continue-on-error"] is True  # an unfinished exercise never stops the next ones
        assert "${{" not in step["run"]  # nothing for GitHub to fill in: the script runs here as written
        assert f"python -I -m grader.classroom results {exercise.name} " in step["run"]
    reporter = job["steps"][-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = reporter["with"]["runners"].split(",")
    # The reporter's own check of its input: letters and digits, comma-separated.
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", reporter["with"]["runners"])
    assert len(runners) == len(set(runners)) == len(reporter["env"])
    assert {f"{runner.upper()}_RESULTS" for runner in runners} == set(reporter["env"])
    assert all(re.fullmatch(r"\$\{\{ steps\.exercise\d\d\.outputs\.[a-z0-9_]+ \}\}", value)
               for value in reporter["env"].values())


def test_named_exercises_and_a_git_requirement_make_a_smaller_starter(tmp_path):
    out_dir = tmp_path / "starter"
    assert make_starter(out_dir, "0", "exercise_03").returncode == 0
    stubs = sorted(p.name for p in (out_dir / "exercises").iterdir())
    assert stubs == ["exercise_00_tensors.py", "exercise_03_training.py"]
    workflow = yaml.safe_load((out_dir / classroom.WORKFLOW).read_text())
    assert list(steps_by_id(workflow)) == ["exercise00", "exercise03"]
    runners = workflow["jobs"]["run-autograding-tests"]["steps"][-1]["with"]["runners"].split(",")
    assert {runner[:4] for runner in runners} == {"ex00", "ex03"}
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
        "-m|pip|install|torch>=2.2,<3|--index-url|https://download.pytorch.org/whl/cpu|",
        f"-m|pip|install|{WORKFLOW_REQUIREMENT}|",
    ]


def test_without_a_requirement_the_checkouts_remote_and_tag_are_used(tmp_path, monkeypatch):
    repo = tmp_path / "kit"
    repo.mkdir()
    git = lambda *args: subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    git("init", "-q")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "release")
    with pytest.raises(classroom.UsageError, match="no origin remote"):
        classroom.requirement_from_checkout(repo)
    git("remote", "add", "origin", "git@github.com:TEACHER/kit.git")
    with pytest.raises(classroom.UsageError, match="no tag on the current commit"):
        classroom.requirement_from_checkout(repo)
    git("tag", "v0.1.0")
    assert classroom.requirement_from_checkout(repo) == GIT_REQUIREMENT.replace("/kit@", "/kit.git@")


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
    (["--grader-requirement", "pytorch-workflow-kit==0.1.0"], "where the kit is not published"),
    (["--grader-requirement", "pytorch-workflow-kit"], "where the kit is not published"),
    (["--grader-requirement", "pytorch-workflow-kit @ git+https://github.com/T/kit"], "is not pinned"),
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
    assert classroom.main(["starter", str(tmp_path / "starter"), "--grader-requirement", GIT_REQUIREMENT]) == 2
    assert "exercise_02_models.py has no `raise NotImplementedError` left" in capsys.readouterr().err
    assert not (tmp_path / "starter").exists()
    # An installed grader has no lessons to copy: it says where to run the command instead.
    shutil.rmtree(fake_kit / "lessons")
    assert classroom.main(["starter", str(tmp_path / "starter"), "--grader-requirement", GIT_REQUIREMENT]) == 2
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
    # The teacher's repository at a tag, offline: the wheel of this checkout stands in for it.
    [wheel] = wheels.glob("*.whl")
    script = install["run"].replace(WORKFLOW_REQUIREMENT, f"pytorch-workflow-kit[notebooks] @ {wheel.as_uri()}")
    assert script != install["run"]
    process = run_step(script, env, root)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert (site / "grader" / "suites").is_dir() and not (site / "exercises").exists()
    return env


def run_grading_step(workflow, exercise: str, workspace: Path, env: dict, tmp: Path):
    """Run one exercise's step with this test's seed; return the process and its outputs."""
    script = steps_by_id(workflow)[step_id(exercise)]["run"]
    command = f"python -I -m grader.classroom results {exercise} "
    assert script.count(command) == 1
    script = script.replace(command, f"{command}--seed {SEED} ")
    runner_temp = tmp / f"temp_{exercise}"
    runner_temp.mkdir()
    output = runner_temp / "github_output"
    step_env = {**env, "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(runner_temp),
                "GITHUB_OUTPUT": str(output)}
    process = run_step(script, step_env, runner_temp)
    return process, step_outputs(output)


@pytest.fixture
def as_json(grade_json_here):
    """``as_json(exercises, source, *more)``: ``python -m grader EXERCISES --source SOURCE --format json`` with this
    test's seed, as one report. The same command line as the installed grader's, run in this process and graded in
    the session's warm sandbox (conftest's ``grade_json_here``): the workflow's steps are what run the installed
    grader for real."""
    def grade(exercises: tuple[str, ...], source: Path, *more: str) -> dict:
        report, _ = grade_json_here(*exercises, "--source", str(source), "--seed", str(SEED), *more)
        return report

    return grade


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
    (repo / "grader" / "classroom.py").write_text(f"print({fake!r})\n")
    return fake


def decoded(outputs: dict[str, dict[str, str]]) -> list[dict]:
    return [json.loads(base64.b64decode(value)) for step in outputs.values() for value in step.values()]


@pytest.fixture(scope="module")
def graded_maximum() -> float:
    """The points the graded exercises' checks are worth, as the starter declared them: every case's maximum."""
    from grader.declared import declared_checks

    suites = KIT / "grader" / "suites"
    chosen = [(exercise, suites / exercise.suite_filename) for exercise in course.EXERCISES if exercise.name in GRADED]
    return sum(check.max_points for checks in declared_checks(chosen).values() for check in checks if check.counts)


def grade_every_step(workflow, learner_repo: Path, runner_env: dict, tmp: Path) -> tuple[dict, dict]:
    """Run the grading step of each exercise in GRADED; return ``{step id: exit status}`` and the outputs."""
    statuses, outputs = {}, {}
    for exercise in GRADED:
        process, outputs[step_id(exercise)] = run_grading_step(workflow, exercise, learner_repo, runner_env, tmp)
        statuses[step_id(exercise)] = process.returncode
        assert process.returncode in (0, 1), process.stderr
    return statuses, outputs


def step_id(exercise: str) -> str:
    return exercise.replace("_", "")


def test_stubs_get_zero_of_every_checks_points_from_the_real_grader(as_json, workflow, runner_env, learner_repo, tmp_path,
                                                                   graded_maximum):
    fake = plant_fake_grader(learner_repo)
    # The planted package does shadow the grader for a plain `python -m grader` run in the repository...
    shadowed = subprocess.run(["python", "-m", "grader", "0"], cwd=learner_repo, env=runner_env,
                              capture_output=True, text=True, timeout=60)
    assert shadowed.stdout.strip() == fake
    statuses, outputs = grade_every_step(workflow, learner_repo, runner_env, tmp_path)
    assert set(statuses.values()) == {1}  # not finished: each step fails, the job goes on
    expected = as_json(GRADED, learner_repo / "exercises")
    # ...but not the workflow's steps: they report the real grader's points, 0 of the maximum.
    assert expected["score"] == 0 and expected["max_score"] == graded_maximum > 0
    assert_reporter_agrees(workflow_for(workflow, *outputs), outputs, expected, tmp_path)
    results = decoded(outputs)
    assert len(results) == sum(len(e["checks"]) for e in expected["exercises"])
    assert {r["status"] for r in results} == {"fail"} and all(len(r["tests"]) == 1 for r in results)
    assert all(r["tests"][0]["test_code"].startswith("Not started: `") for r in results)


def test_the_solutions_get_every_point_and_passing_steps(as_json, workflow, runner_env, learner_repo, tmp_path, graded_maximum):
    for exercise in course.EXERCISES:
        if exercise.name in GRADED:
            shutil.copy(KIT / "solutions" / exercise.filename, learner_repo / "exercises")
    statuses, outputs = grade_every_step(workflow, learner_repo, runner_env, tmp_path)
    assert set(statuses.values()) == {0}
    expected = as_json(GRADED, learner_repo / "exercises")
    assert expected["score"] == expected["max_score"] == graded_maximum
    assert_reporter_agrees(workflow_for(workflow, *outputs), outputs, expected, tmp_path)
    assert {r["status"] for r in decoded(outputs)} == {"pass"}


def workflow_for(workflow: dict, *step_ids: str) -> dict:
    """The workflow with the reporter reading only these steps' checks (a test that runs only them)."""
    copy = json.loads(json.dumps(workflow))
    reporter = reporter_step(copy)
    reporter["env"] = {name: value for name, value in reporter["env"].items()
                       if any(f"steps.{wanted}." in value for wanted in step_ids)}
    runners = [r for r in reporter["with"]["runners"].split(",") if f"{r.upper()}_RESULTS" in reporter["env"]]
    reporter["with"]["runners"] = ",".join(runners)
    return copy


def test_a_realistic_bug_loses_exactly_its_checks_points_in_every_number(as_json, workflow, runner_env, learner_repo, tmp_path,
                                                                         graded_maximum):
    """Checks worth different points, some lost: the case where the reporter's v1 arithmetic went wrong."""
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", learner_repo / "exercises")
    solution = (KIT / "solutions" / "exercise_02_models.py").read_text()
    buggy = solution.replace("return self.weights * x + self.bias", "return self.weights * x")
    assert buggy != solution
    (learner_repo / "exercises" / "exercise_02_models.py").write_text(buggy)
    statuses, outputs = grade_every_step(workflow, learner_repo, runner_env, tmp_path)
    assert statuses == {"exercise00": 0, "exercise02": 1}
    expected = as_json(GRADED, learner_repo / "exercises")
    [exercise_02] = [e for e in expected["exercises"] if e["exercise"] == "exercise_02"]
    lost = [c for c in exercise_02["checks"] if c["status"] != "passed"]
    assert 0 < exercise_02["score"] < exercise_02["max_score"] and lost
    assert 0 < expected["score"] < expected["max_score"] == graded_maximum
    printed = assert_reporter_agrees(workflow_for(workflow, *outputs), outputs, expected, tmp_path)
    # The same numbers with one runner per exercise, as the kit sent them before: three numbers for one grade.
    one_runner = {**expected, "score": exercise_02["score"], "max_score": exercise_02["max_score"],
                  "exercises": [exercise_02]}
    env = {"INPUT_RUNNERS": "exercise02", "EXERCISE02_RESULTS": classroom_one_runner(one_runner)}
    old = reporter_v1(env)
    assert round(old["table_total"][0], 2) != round(exercise_02["score"], 2)
    assert round(printed["table_total"][0], 2) == round(expected["score"], 2)


def classroom_one_runner(report: dict) -> str:
    tests = [{"name": c["id"], "status": "pass" if c["status"] == "passed" else "fail", "score": c["points"]}
             for e in report["exercises"] for c in e["checks"]]
    return base64.b64encode(json.dumps({"version": 1, "status": "fail", "max_score": report["max_score"],
                                        "tests": tests}).encode()).decode()


def test_a_missing_exercise_file_reports_zero_of_its_points_as_json_does(as_json, workflow, runner_env, learner_repo, tmp_path,
                                                                         graded_maximum):
    (learner_repo / "exercises" / "exercise_02_models.py").unlink()
    statuses, outputs = grade_every_step(workflow, learner_repo, runner_env, tmp_path)
    assert set(statuses.values()) == {1}
    # The JSON of --all (naming a missing file is a usage error), for the graded exercises only.
    report = as_json((), learner_repo / "exercises", "--all")
    exercises = [e for e in report["exercises"] if e["exercise"] in GRADED]
    expected = {"score": sum(e["score"] for e in exercises), "max_score": sum(e["max_score"] for e in exercises),
                "exercises": exercises}
    assert expected["score"] == 0 and expected["max_score"] == graded_maximum
    assert_reporter_agrees(workflow_for(workflow, *outputs), outputs, expected, tmp_path)
    # The same status and message as --format json gives: the learner reads what is missing.
    [exercise] = [e for e in exercises if e["exercise"] == "exercise_02"]
    tests = [r["tests"][0] for r in decoded({"exercise02": outputs["exercise02"]})]
    assert {c["status"] for c in exercise["checks"]} == {"not_started"} and {t["status"] for t in tests} == {"fail"}
    assert all(exercise["checks"][0]["message"] in t["test_code"] for t in tests)
    assert "exercise_02_models.py does not exist" in exercise["checks"][0]["message"]


def test_a_grader_that_cannot_run_still_gives_every_check_a_result(as_json, workflow, runner_env, learner_repo, tmp_path):
    """The grader is not installed at all: each check gets 0 of its points and a message, never an empty result."""
    broken_env = {**runner_env, "PATH": f"{tmp_path / 'nothing'}:/usr/bin:/bin"}
    stub = as_json(("exercise_00",), learner_repo / "exercises")
    bin_dir = tmp_path / "nothing"
    bin_dir.mkdir()
    (bin_dir / "python").write_text("#!/bin/sh\necho 'python: killed' >&2\nexit 137\n")
    (bin_dir / "python").chmod(0o755)
    process, outputs = run_grading_step(workflow, "exercise_00", learner_repo, broken_env, tmp_path)
    assert process.returncode == 137
    assert_reporter_agrees(workflow_for(workflow, "exercise00"), {"exercise00": outputs}, stub, tmp_path)
    tests = [r["tests"][0] for r in decoded({"exercise00": outputs})]
    assert {t["status"] for t in tests} == {"error"}
    # An error prints "Error: <message>" only: the message names the check, once, and says what happened.
    for test, check in zip(tests, stub["exercises"][0]["checks"]):
        assert test["message"].startswith(f"{check['name']}: not graded: the grader gave no result")
        assert "test_code" not in test and test["message"].count("not graded") == 1


def test_installed_grader_grades_the_repositorys_exercises_by_default(runner_env, learner_repo):
    """What the learner README says to run, from the repository's root: ./exercises is graded."""
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", learner_repo / "exercises")
    process = subprocess.run(["python", "-m", "grader", "0", "--format", "json", "--seed", str(SEED)],
                             cwd=learner_repo, env=runner_env, capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert report["score"] == report["max_score"] > 0


# -- notebooks ----------------------------------------------------------------------------------


def test_a_notebooks_starter_holds_the_kits_notebook_stubs_and_says_how_to_check_from_a_cell(tmp_path, starter):
    out_dir = tmp_path / "starter"
    process = make_starter(out_dir, "0", "2", "--notebooks")
    assert process.returncode == 0, process.stderr
    assert sorted(p.name for p in (out_dir / "exercises").iterdir()) == ["exercise_00_tensors.ipynb",
                                                                        "exercise_02_models.ipynb"]
    for name in ("exercise_00_tensors.ipynb", "exercise_02_models.ipynb"):
        assert (out_dir / "exercises" / name).read_bytes() == (KIT / "exercises" / name).read_bytes()
    assert (out_dir / "lessons" / "00_tensors.ipynb").is_file()
    readme = (out_dir / "README.md").read_text(encoding="utf-8")
    assert f"python -m pip install '{WORKFLOW_REQUIREMENT}'" in readme
    assert 'check("00")' in readme and "`exercises/exercise_02_models.ipynb`" in readme
    # The same workflow as a .py starter's for the same exercises: it grades whichever file the learner has.
    py_starter = tmp_path / "py_starter"
    assert make_starter(py_starter, "0", "2").returncode == 0
    assert (out_dir / classroom.WORKFLOW).read_text() == (py_starter / classroom.WORKFLOW).read_text()


def learner_notebook(exercise: str, source: str) -> str:
    """``source`` as a learner's notebook of ``exercise`` (skips the test without the notebook extra)."""
    return pytest.importorskip("tests.test_notebooks").learner_notebook(course.find_exercise(exercise), source)


def test_a_notebook_is_graded_by_its_step_as_json_grades_it_and_both_changed_gets_every_check_a_reason(
        as_json, workflow, runner_env, learner_repo, tmp_path, graded_maximum):
    """exercise_02 as a buggy notebook beside the untouched .py stub; exercise_00's notebook and .py both changed."""
    exercises = learner_repo / "exercises"
    solution_02 = (KIT / "solutions" / "exercise_02_models.py").read_text()
    buggy = solution_02.replace("return self.weights * x + self.bias", "return self.weights * x")
    assert buggy != solution_02
    (exercises / "exercise_02_models.ipynb").write_text(learner_notebook("02", buggy))
    shutil.copy(KIT / "solutions" / "exercise_00_tensors.py", exercises)
    (exercises / "exercise_00_tensors.ipynb").write_text(
        learner_notebook("00", (KIT / "solutions" / "exercise_00_tensors.py").read_text()))
    statuses, outputs = grade_every_step(workflow, learner_repo, runner_env, tmp_path)
    assert statuses == {"exercise00": 1, "exercise02": 1}
    # exercise_02: what --format json says of the notebook, and of the same code as a .py file.
    expected = as_json(("exercise_02",), exercises)
    as_py = tmp_path / "as_py"
    as_py.mkdir()
    (as_py / "exercise_02_models.py").write_text(buggy)
    assert [c["points"] for c in as_json(("exercise_02",), as_py)["exercises"][0]["checks"]] \
        == [c["points"] for c in expected["exercises"][0]["checks"]]
    assert 0 < expected["score"] < expected["max_score"]
    assert_reporter_agrees(workflow_for(workflow, "exercise02"), {"exercise02": outputs["exercise02"]}, expected,
                           tmp_path)
    # exercise_00: every check 0 points, saying why, in the learner's words.
    tests = [r["tests"][0] for r in decoded({"exercise00": outputs["exercise00"]})]
    assert tests and {t["status"] for t in tests} == {"error"}
    assert all("exercise_00_tensors.py and exercise_00_tensors.ipynb both differ from the kit's stub, so neither "
               "was graded" in t["message"] for t in tests)
