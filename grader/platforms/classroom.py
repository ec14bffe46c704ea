"""``python -m grader.classroom starter OUT_DIR``: make the learners' repository for GitHub Classroom.

In GitHub Classroom every learner owns a whole copy of the starter repository,
workflow included, so nothing that grades them can live in it: the starter
holds the lessons, the exercise stubs (``.py`` files, or with ``--notebooks``
the kit's notebook stubs, ``exercise_03_training.ipynb``), a short README and
the grading workflow, and the workflow installs the grader, with its hidden
suites and the notebook extra, from a source the
teacher controls: their repository at a tag, or a wheel they host
(``--grader-requirement``, or else this checkout's ``origin`` remote at the tag
of its current commit). Never copied: solutions/, grader/, tests/, .ci/,
scripts/, docs/.

The workflow grades each exercise in a step of its own
(``python -m grader.classroom results``), from whichever file the learner has:
the ``.py`` file or the notebook, of both the one that differs from the kit's
stub, as ``python -m grader`` chooses (both changed: every check gets 0 points
and a message that says so). The step saves one result per check as
the step's outputs, and hands every check to GitHub Classroom's grading
reporter (``classroom-resources/autograding-grading-reporter@v1``) as a runner
of its own. The reporter's v1 prints a runner's points as passed tests ÷ tests
× the runner's maximum: with one check per runner that is exactly the check's
points, so every number it prints, and the "Points X/Y" that Classroom
records, equals the kit's own score. Each step writes a result for every check
even when the grader cannot run at all (0 points, and why). The reporter and
GitHub Classroom find the results by name: the workflow ``Autograding Tests``,
the job ``run-autograding-tests``, and for the runner ``ex03zerogradorder`` the
variable ``EX03ZEROGRADORDER_RESULTS``. Runner names are letters and digits
only, as the reporter's check of its ``runners`` input requires.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from grader import __version__, course, wording
from grader.commands import (BUILT_IN_SUITES, Parser, UsageError, add_exercises, add_limits, check_limits,
                             named_exercise, names_or_all, run_command, seed_of)
from grader.files import written_whole
from grader.pick import BothChanged, learner_file
from grader.platforms import finder
from grader.results import CheckResult, ExerciseResult, Status
from grader.runner import KIT_ROOT, Task, grade

WORKFLOW = Path(".github/workflows/classroom.yml")
PACKAGE = "pytorch-workflow-kit"
EXAMPLE_REQUIREMENT = f"{PACKAGE} @ git+https://github.com/TEACHER/kit@v{__version__}"
# torch is pinned to the range the kit is tested with; the CPU index keeps the download small (no GPU on runners).
CPU_TORCH = "python -m pip install 'torch>=2.2,<3' --index-url https://download.pytorch.org/whl/cpu"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
CHECKOUT = "actions/checkout@v6"
SETUP_PYTHON = "actions/setup-python@v6"

REQUIREMENT_HELP = ("where the workflow installs the grader from: your repository at a tag "
                    f"('{EXAMPLE_REQUIREMENT}') or a wheel you host ('{PACKAGE} @ https://.../"
                    f"pytorch_workflow_kit-{__version__}-py3-none-any.whl'); default: this checkout's origin "
                    "remote at the tag of its current commit")

NOTEBOOKS_HELP = ("a starter of notebooks: each exercise is the kit's notebook stub (exercise_03_training.ipynb), "
                  "for learners who work in Jupyter or Colab and check from a cell; the workflow grades a .py file "
                  "or a notebook either way")
NOTEBOOKS_EXTRA = "notebooks"  # the grader's extra that grades a notebook (and runs check() in Jupyter)

GITIGNORE = """\
__pycache__/
*.py[cod]
.venv/
venv/
.pytest_cache/
.ipynb_checkpoints/
.DS_Store
# Models the exercises save: results, not code to hand in.
*.pt
*.pth
models/
runs/
"""


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader.classroom", description=(
        "Make the learners' starter repository for a GitHub Classroom assignment."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    starter = commands.add_parser(
        "starter", help="write the starter repository into OUT_DIR (new or empty)",
        description="Write lessons, exercise stubs, a README and the grading workflow into OUT_DIR.")
    starter.add_argument("out_dir", metavar="OUT_DIR", help="a folder that does not exist yet, or an empty one")
    add_exercises(starter, "the exercises this assignment grades: exercise_03, 03 or 3 (default: all)",
                  all_help="every exercise of the course (the default)")
    starter.add_argument("--grader-requirement", metavar="SPEC", help=REQUIREMENT_HELP)
    starter.add_argument("--notebooks", action="store_true", help=NOTEBOOKS_HELP)
    results = commands.add_parser(
        "results", help="grade one exercise in a workflow step: one reporter result per check, as step outputs",
        description="Grade one exercise and write, for each check, a line CHECK_ID=RESULT (GitHub Classroom's "
                    "base64 result) to FILE, to be appended to $GITHUB_OUTPUT.")
    results.add_argument("exercise", metavar="EXERCISE", help="exercise_03, 03 or 3")
    results.add_argument("--source", required=True, metavar="DIR", help="the folder of the learner's exercise files")
    results.add_argument("--output", required=True, metavar="FILE", help="where to write the CHECK_ID=RESULT lines")
    add_limits(results, device=None, timeout="time limit for one check", seed="the seed for the checks' random data",
               memory="memory learner code may use")
    return parser


def chosen_exercises(names: list[str], everything: bool) -> list[course.Exercise]:
    """The exercises named, in course order; all of them when none is named."""
    chosen = set()
    for name in names_or_all(names, everything):
        chosen.add(named_exercise(name))
    return [e for e in course.EXERCISES if e in chosen or not names]


def check_requirement(spec: str) -> str:
    """``spec`` if it installs the grader from a source the teacher controls, pinned.

    A bare version pin (``pytorch-workflow-kit==0.1.0``) asks an index for a
    name the kit never published there: the install would fail, or install
    whatever someone registered under that name. Only a direct reference is
    accepted: a git repository at a tag or commit, or a wheel's URL.
    """
    spec = spec.strip()
    if not spec or "\n" in spec:
        raise UsageError(f"--grader-requirement must be one pip requirement, such as '{EXAMPLE_REQUIREMENT}'")
    name, at, url = (part.strip() for part in spec.partition("@"))
    if not at:
        raise UsageError(f"--grader-requirement {spec!r} would install a name from a package index, where the kit "
                         f"is not published: give your repository at a tag ('{EXAMPLE_REQUIREMENT}') or a wheel you host")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UsageError(f"--grader-requirement {spec!r} must start with the package name: '{EXAMPLE_REQUIREMENT}'")
    if url.startswith("git+"):
        if not re.search(r"\.[a-z]+/.+@[^/@]+$", url) and not re.search(r"/[^/@]+@[^/@]+$", url):
            raise UsageError(f"--grader-requirement {spec!r} is not pinned: end the URL with @ and a tag "
                             f"('{EXAMPLE_REQUIREMENT}'), so every learner is graded by the same grader")
    elif not (url.startswith("https://") and url.split("#")[0].endswith(".whl")):
        raise UsageError(f"--grader-requirement {spec!r}: give a git+https:// URL at a tag or the https:// URL of a wheel")
    return spec


def with_notebooks(requirement: str) -> str:
    """``requirement`` (a checked ``name @ url``) with the notebook extra: ``pytorch-workflow-kit[notebooks] @ ...``."""
    name, _, url = (part.strip() for part in requirement.partition("@"))
    return f"{name}[{NOTEBOOKS_EXTRA}] @ {url}"


def requirement_from_checkout(root: Path = KIT_ROOT) -> str:
    """``pytorch-workflow-kit @ git+<origin>@<tag>``: this checkout's remote at the tag of its current commit."""
    def git(*args: str) -> str:
        try:
            process = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except OSError:
            return ""
        return process.stdout.strip() if process.returncode == 0 else ""

    remote = git("remote", "get-url", "origin")
    tag = git("describe", "--tags", "--exact-match", "HEAD")
    if not remote or not tag:
        missing = "no origin remote" if not remote else "no tag on the current commit"
        raise UsageError(f"--grader-requirement not given, and this checkout has {missing} to install the grader "
                         f"from: tag and push a release (git tag v{__version__} && git push origin v{__version__}), "
                         f"or give --grader-requirement '{EXAMPLE_REQUIREMENT}'")
    ssh = re.fullmatch(r"[^@/]+@([^:/]+):(.+)", remote)  # git@github.com:OWNER/REPO.git
    url = f"https://{ssh.group(1)}/{ssh.group(2)}" if ssh else remote
    if not url.startswith("https://"):
        raise UsageError(f"the origin remote {remote} is not an https URL learners' runners can read: "
                         f"give --grader-requirement '{EXAMPLE_REQUIREMENT}'")
    return f"{PACKAGE} @ git+{url}@{tag}"


def stub_name(exercise: course.Exercise, notebooks: bool) -> str:
    """The stub the starter holds for ``exercise``: its ``.py`` file, or its notebook."""
    return exercise.notebook if notebooks else exercise.filename


def check_sources(exercises: list[course.Exercise], notebooks: bool = False) -> None:
    """Refuse to publish from an installed grader, or stubs that someone has started to solve."""
    for folder in ("lessons", "exercises"):
        if not (KIT_ROOT / folder).is_dir():
            raise UsageError(f"no {folder}/ beside the grader in {KIT_ROOT}: run this from a checkout of the kit "
                             "(lessons and stubs are not part of the installed package)")
    for exercise in exercises:
        name = stub_name(exercise, notebooks)
        stub = KIT_ROOT / "exercises" / name
        if not stub.is_file():
            raise UsageError(f"no stub {stub}: restore it (git checkout -- exercises/{name})")
        # The starter is published to every learner: a teacher's worked copy must not go with it.
        if "raise NotImplementedError" not in stub.read_text(encoding="utf-8"):
            raise UsageError(f"{stub} has no `raise NotImplementedError` left, so it is not a stub: put the "
                             f"stub back (python -m grader {exercise.name} --reset) before making a starter")


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir} already exists and is not an empty folder: choose a new OUT_DIR")


def make_starter(out_dir: Path, exercises: list[course.Exercise], checks: dict[str, list[CheckResult]],
                 requirement: str, notebooks: bool = False) -> None:
    """Write the starter repository into ``out_dir`` (which must be new or empty)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Every lesson, its images and the scripts that draw them: reading material is never secret,
    # and the course map links all lessons whichever exercises this assignment grades.
    shutil.copytree(KIT_ROOT / "lessons", out_dir / "lessons", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out_dir / "exercises").mkdir()
    for exercise in exercises:
        name = stub_name(exercise, notebooks)
        shutil.copy2(KIT_ROOT / "exercises" / name, out_dir / "exercises" / name)
    readme = notebooks_readme(exercises, requirement) if notebooks else learner_readme(exercises, requirement)
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    (out_dir / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (out_dir / WORKFLOW).parent.mkdir(parents=True)
    (out_dir / WORKFLOW).write_text(workflow(exercises, checks, requirement), encoding="utf-8")


def learner_readme(exercises: list[course.Exercise], requirement: str) -> str:
    graded = "\n".join(f"- `{e.name}`, {e.title}: `exercises/{e.filename}`" for e in exercises)
    first = exercises[0]
    return f"""\
# PyTorch Workflow Kit: your course repository

Lessons to read, exercise files to fill in, and a grader that checks your code
and says what to look at next. Every push is graded on GitHub as well.

## Start

1. Install the grader (Python 3.10 or newer). The first line is for a machine
   without a GPU: it keeps PyTorch's download small.

   ```bash
   {CPU_TORCH}
   python -m pip install {shlex.quote(requirement)}
   ```

2. Open the course map, [`lessons/README.md`](lessons/README.md), and read the
   lesson of your first exercise, [`{first.lesson}`]({first.lesson}).
3. In the exercise file with the same number, `exercises/{first.filename}`,
   replace each `# TODO` and its `raise NotImplementedError` with your code.
4. From this folder, grade it: `python -m grader {first.number}`. `python -m grader`
   alone shows your progress and what comes next; `--hints` shows every hint;
   `python -m grader {first.number} --reset` starts the exercise over (your version is kept).

## How you are graded

This assignment grades:

{graded}

On every push, the workflow in `.github/workflows/classroom.yml` installs the
same grader, at the same version as above, grades each exercise in a step of
its own and reports the points of every check to GitHub Classroom: each check
you pass counts, even when others in the exercise do not. To see them, open the
**Actions** tab, the latest run, then `run-autograding-tests`. Each grading
draws fresh random data for its checks (the report's seed), so make your code
right, not right for one set of numbers. Leave `.github/` as it is: your
teacher grades with it.
"""


def notebooks_readme(exercises: list[course.Exercise], requirement: str) -> str:
    """The README of a starter of notebooks (``--notebooks``): Jupyter or Colab, and check() from a cell."""
    graded = "\n".join(f"- `{e.name}`, {e.title}: `exercises/{e.notebook}`" for e in exercises)
    first = exercises[0]
    return f"""\
# PyTorch Workflow Kit: your course repository, in notebooks

Lessons to read and run block by block, exercise notebooks to fill in, and a
grader that checks your code from a cell and says what to look at next. Every
push is graded on GitHub as well.

## Start

1. Install the grader with its notebook extra (Python 3.10 or newer). The first
   line is for a machine without a GPU: it keeps PyTorch's download small.

   ```bash
   {CPU_TORCH}
   python -m pip install {shlex.quote(with_notebooks(requirement))}
   ```

2. Open the course map, [`lessons/README.md`](lessons/README.md), and the lesson
   of your first exercise as a notebook, `lessons/{Path(first.lesson).stem}.ipynb`, in Jupyter
   or VS Code. In Colab, open it from your repository on GitHub (*File → Open notebook →
   GitHub*) and run the second line above, as `!pip install ...`, in a first cell.
3. Open the exercise notebook with the same number, `exercises/{first.notebook}`,
   and replace each `# TODO` and its `raise NotImplementedError` with your code.
4. Run its last cell to grade it: `from grader import check` then `check("{first.number:02d}")`
   shows your score, a mark per check and a hint for each one that fails. Save the
   notebook first (Ctrl-S) in Jupyter: `check` grades the notebook as saved. From a
   terminal, `python -m grader {first.number}` grades it the same way.

The grader takes from your code cells what a Python file would hold: imports,
functions, classes and plain assignments. Training runs, loops and plots are
yours to run; they are not graded.

## How you are graded

This assignment grades:

{graded}

On every push, the workflow in `.github/workflows/classroom.yml` installs the
same grader, at the same version as above, grades each exercise in a step of
its own and reports the points of every check to GitHub Classroom: each check
you pass counts, even when others in the exercise do not. Commit your notebooks
(saved) to be graded. To see the points, open the **Actions** tab, the latest
run, then `run-autograding-tests`. Each grading draws fresh random data for its
checks (the report's seed), so make your code right, not right for one set of
numbers. Leave `.github/` as it is: your teacher grades with it.
"""


def runner_names(exercise: course.Exercise, checks: list[CheckResult]) -> dict[str, str]:
    """``{check id: reporter runner name}``: ``ex03zerogradorder``, letters and digits only, unique."""
    names: dict[str, str] = {}
    for check in checks:
        name = f"ex{exercise.number:02d}" + re.sub(r"[^a-z0-9]", "", check.id.lower())
        while name in names.values():  # two ids that differ only in case or underscores
            name += "x"
        names[check.id] = name
    return names


def step_id(exercise: course.Exercise) -> str:
    """``exercise03``: letters and digits, like every name the reporter reads."""
    return exercise.name.replace("_", "")


def workflow(exercises: list[course.Exercise], checks: dict[str, list[CheckResult]], requirement: str) -> str:
    """The text of ``.github/workflows/classroom.yml``: install, one step per exercise, then the reporter."""
    steps = "".join(grading_step(exercise, checks[exercise.name]) for exercise in exercises)
    results, runners = "", []
    for exercise in exercises:
        for check_id, runner in runner_names(exercise, checks[exercise.name]).items():
            results += f"          {runner.upper()}_RESULTS: ${{{{ steps.{step_id(exercise)}.outputs.{check_id} }}}}\n"
            runners.append(runner)
    return f"""\
# Made by `python -m grader.classroom starter` (pytorch-workflow-kit {__version__}).
# GitHub Classroom reads the points this workflow reports: it looks for the workflow
# "Autograding Tests" and its job "run-autograding-tests". Each check of each exercise is
# a runner of its own for the reporter, so that the points it prints are the grader's.
name: Autograding Tests
"on":
  push:
  workflow_dispatch:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Check out the exercises
        uses: {CHECKOUT}
      - name: Set up Python
        uses: {SETUP_PYTHON}
        with:
          python-version: "3.11"
      - name: Install the grader and its checks, from outside this repository
        # With the notebook extra: an exercise is graded from its .py file or its notebook, whichever was worked on.
        run: |
          {CPU_TORCH}
          python -m pip install {shlex.quote(with_notebooks(requirement))}
{steps}      - name: Report the points to GitHub Classroom
        uses: {REPORTER}
        env:
{results}        with:
          runners: {",".join(runners)}
"""


def fallback_result(exercise: course.Exercise, check: CheckResult) -> str:
    """A check's result for when the grader gave none at all: 0 of its points, and where to look."""
    from grader.formats import classroom_check_result

    lost = CheckResult(check.id, check.name, check.max_points, Status.ERROR,
                       message=wording.no_result(f"{exercise.name}: {exercise.title}"), lost=True)
    return classroom_check_result(ExerciseResult(exercise.name, exercise.title, exercise.filename, [lost]), lost)


def grading_step(exercise: course.Exercise, checks: list[CheckResult]) -> str:
    """One exercise's step: an output per check, named by its id, holding the reporter's result for it."""
    name = exercise.name
    fallbacks = "".join(f"          {check.id}={fallback_result(exercise, check)}\n" for check in checks)
    # continue-on-error: an unfinished exercise fails its own step, and the next exercises are still graded.
    return f"""\
      - name: "{name}: {exercise.title}"
        id: {step_id(exercise)}
        continue-on-error: true
        run: |
          # From a folder of its own, and with -I, so a grader/ folder in this repository
          # cannot stand in for the installed grader.
          cd "$RUNNER_TEMP"
          graded="$RUNNER_TEMP/{name}.results"
          status=0
          python -I -m grader.classroom results {name} --source "$GITHUB_WORKSPACE/exercises" --output "$graded" || status=$?
          # Every check gets a result, the grader's or, should it have given none, 0 points and why:
          # the reporter cannot read an empty one, and would then report no points at all.
          while read -r fallback; do
            line="$(grep -m 1 "^${{fallback%%=*}}=" "$graded" 2>/dev/null)" || line="$fallback"
            echo "$line" >> "$GITHUB_OUTPUT"
          done <<'FALLBACK'
{fallbacks}          FALLBACK
          exit "$status"
"""


def grade_one_exercise(options) -> int:
    """``results``: grade one exercise and write each check's reporter result; the grader's exit status."""
    from grader.formats import classroom_check_result

    check_limits(options)
    exercise = named_exercise(options.exercise)
    suite = BUILT_IN_SUITES / exercise.suite_filename
    source = Path(options.source)
    # The .py file or the notebook, as `python -m grader` chooses; a missing file is graded as
    # `python -m grader --all` grades it: every check not started, saying why.
    seed = seed_of(options)
    try:
        task = Task(exercise, learner_file(source, exercise), suite)
    except BothChanged as both:
        # Every check, worth 0, says why: the suite's checks as declared (graded against no file), as errors.
        from grader.declared import declared_checks

        why = wording.both_changed(both.script.name, both.notebook.name, wording.NEITHER_GRADED)
        checks = declared_checks([(exercise, suite)])[exercise.name]
        result = finder.neither_graded(ExerciseResult(exercise.name, exercise.title, both.script.name, checks), why)
        exit_code = 1
    else:
        report = grade([task], device="cpu", timeout=options.timeout, seed=seed, memory_mib=options.memory_limit)
        [result], exit_code = report.exercises, report.exit_code
    lines = "".join(f"{check.id}={classroom_check_result(result, check)}\n" for check in result.checks)
    output = Path(options.output)
    with written_whole(output, encoding="ascii") as file:
        file.write(lines)  # complete or not there at all: the step's fallback covers what is missing
    print(f"{exercise.name}: {result.score:g} of {result.max_score:g} points (seed {seed})", file=sys.stderr)
    for check in result.checks:
        print(f"  {check.status.value:<11} {check.points:g}/{check.max_points:g}  {check.name}"
              + (f": {check.message}" if check.message and check.status is not Status.PASSED else ""), file=sys.stderr)
    if result.problem:
        print(f"  {result.problem}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 checks did not all pass, 2 usage error)."""
    options = None

    def body() -> int:
        nonlocal options
        options = build_parser().parse_args(argv)
        if options.command == "results":
            return grade_one_exercise(options)
        return make_starter_command(options)

    try:
        return run_command("grader.classroom", body)
    except OSError as exc:
        where = getattr(options, "out_dir", None) or getattr(options, "output", "")
        print(f"grader.classroom: cannot write {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def make_starter_command(options) -> int:
    """``starter``: check everything, then write the starter repository."""
    from grader.declared import declared_checks

    exercises = chosen_exercises(options.exercises, options.all)
    requirement = check_requirement(options.grader_requirement or requirement_from_checkout())
    out_dir = Path(options.out_dir)
    check_out_dir(out_dir)
    check_sources(exercises, options.notebooks)
    checks = declared_checks([(exercise, BUILT_IN_SUITES / exercise.suite_filename) for exercise in exercises])
    make_starter(out_dir, exercises, checks, requirement, options.notebooks)
    kind = "notebook " if options.notebooks else ""
    print(f"Wrote a {kind}starter repository for {len(exercises)} exercise(s) to {out_dir}, "
          f"graded by {requirement}.")
    print(f"Next: cd {shlex.quote(str(out_dir))} && git init && git add -A && git commit -m 'Starter', push it "
          "to GitHub, mark it as a template repository, and make it the starter of a Classroom assignment.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
