"""``python -m grader.classroom starter OUT_DIR``: make the learners' repository for GitHub Classroom.

In GitHub Classroom every learner owns a whole copy of the starter repository,
workflow included, so nothing that grades them can live in it: the starter
holds the lessons, the exercise stubs, a short README and the grading workflow,
and the workflow installs the grader, with its hidden suites, at a pinned
version from outside the repository (PyPI by default, or the teacher's own
repository with ``--grader-requirement``). Never copied: solutions/, grader/,
tests/, .ci/, scripts/, docs/.

The workflow grades each exercise in a step of its own and hands each step's
``--format classroom`` result to GitHub Classroom's grading reporter
(``classroom-resources/autograding-grading-reporter@v1``), which adds up the
points of every check. The reporter and GitHub Classroom find the results by
name, so the workflow keeps the names they look for: the workflow
``Autograding Tests``, the job ``run-autograding-tests``, and for a step with
``id: exercise_03`` the variable ``EXERCISE_03_RESULTS`` and the runner
``exercise_03``.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from grader import __version__, course
from grader.cli import Parser
from grader.runner import KIT_ROOT, UsageError, named_exercise

WORKFLOW = Path(".github/workflows/classroom.yml")
DEFAULT_REQUIREMENT = f"pytorch-workflow-kit=={__version__}"
CPU_TORCH = "python -m pip install torch --index-url https://download.pytorch.org/whl/cpu"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"

REQUIREMENT_HELP = (f"what the workflow installs the grader from, pinned (default: {DEFAULT_REQUIREMENT}; "
                    "for your own copy: 'pytorch-workflow-kit @ git+https://github.com/TEACHER/kit@v0.1.0')")

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
    starter.add_argument("exercises", nargs="*", metavar="EXERCISE",
                         help="the exercises this assignment grades: exercise_03, 03 or 3 (default: all)")
    starter.add_argument("--all", action="store_true", help="every exercise of the course (the default)")
    starter.add_argument("--grader-requirement", default=DEFAULT_REQUIREMENT, metavar="SPEC", help=REQUIREMENT_HELP)
    return parser


def chosen_exercises(names: list[str], everything: bool) -> list[course.Exercise]:
    """The exercises named, in course order; all of them when none is named."""
    if everything and names:
        raise UsageError("name exercises or use --all, not both")
    chosen = set()
    for name in names:
        chosen.add(named_exercise(name))
    return [e for e in course.EXERCISES if e in chosen or not names]


def check_requirement(spec: str) -> str:
    """``spec`` if it is one pinned pip requirement: learners must all be graded by the same grader."""
    spec = spec.strip()
    if not spec or "\n" in spec:
        raise UsageError("--grader-requirement must be one pip requirement, such as " + DEFAULT_REQUIREMENT)
    if "==" not in spec and "@" not in spec:
        raise UsageError(f"--grader-requirement {spec!r} is not pinned: give a version "
                         f"({DEFAULT_REQUIREMENT}) or a tag ('pytorch-workflow-kit @ git+https://...@v0.1.0')")
    return spec


def check_sources(exercises: list[course.Exercise]) -> None:
    """Refuse to publish from an installed grader, or stubs that someone has started to solve."""
    for folder in ("lessons", "exercises"):
        if not (KIT_ROOT / folder).is_dir():
            raise UsageError(f"no {folder}/ beside the grader in {KIT_ROOT}: run this from a checkout of the kit "
                             "(lessons and stubs are not part of the installed package)")
    for exercise in exercises:
        stub = KIT_ROOT / "exercises" / exercise.filename
        if not stub.is_file():
            raise UsageError(f"no stub {stub}: restore it (git checkout -- exercises/{exercise.filename})")
        # The starter is published to every learner: a teacher's worked copy must not go with it.
        if "raise NotImplementedError" not in stub.read_text(encoding="utf-8"):
            raise UsageError(f"{stub} has no `raise NotImplementedError` left, so it is not a stub: put the "
                             f"stub back (python -m grader {exercise.name} --reset) before making a starter")


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir} already exists and is not an empty folder: choose a new OUT_DIR")


def make_starter(out_dir: Path, exercises: list[course.Exercise], requirement: str) -> None:
    """Write the starter repository into ``out_dir`` (which must be new or empty)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Every lesson, its images and the scripts that draw them: reading material is never secret,
    # and the course map links all lessons whichever exercises this assignment grades.
    shutil.copytree(KIT_ROOT / "lessons", out_dir / "lessons", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out_dir / "exercises").mkdir()
    for exercise in exercises:
        shutil.copy2(KIT_ROOT / "exercises" / exercise.filename, out_dir / "exercises" / exercise.filename)
    (out_dir / "README.md").write_text(learner_readme(exercises, requirement), encoding="utf-8")
    (out_dir / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (out_dir / WORKFLOW).parent.mkdir(parents=True)
    (out_dir / WORKFLOW).write_text(workflow(exercises, requirement), encoding="utf-8")


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


def workflow(exercises: list[course.Exercise], requirement: str) -> str:
    """The text of ``.github/workflows/classroom.yml``: install, one step per exercise, then the reporter."""
    steps = "".join(grading_step(exercise) for exercise in exercises)
    results = "".join(f"          {e.name.upper()}_RESULTS: ${{{{ steps.{e.name}.outputs.result }}}}\n"
                      for e in exercises)
    runners = ",".join(e.name for e in exercises)
    return f"""\
# Made by `python -m grader.classroom starter` (pytorch-workflow-kit {__version__}).
# GitHub Classroom reads the points this workflow reports: it looks for the workflow
# "Autograding Tests" and its job "run-autograding-tests", and the reporter finds each
# exercise's result through its step id, so keep those names.
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
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
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the grader and its checks, from outside this repository
        run: |
          {CPU_TORCH}
          python -m pip install {shlex.quote(requirement)}
{steps}      - name: Report the points to GitHub Classroom
        uses: {REPORTER}
        env:
{results}        with:
          runners: {runners}
"""


def grading_step(exercise: course.Exercise) -> str:
    """One exercise's step: its ``result`` output is the grader's ``--format classroom`` text."""
    name, file = exercise.name, exercise.filename
    missing = (f"{file} is missing from the exercises/ folder of your repository: restore it "
               f"from an earlier commit (git log --oneline -- exercises/{file} lists them)")
    # continue-on-error: an unfinished exercise fails its own step, and the next exercises are still graded.
    return f"""\
      - name: "{name}: {exercise.title}"
        id: {name}
        continue-on-error: true
        run: |
          exercises="$GITHUB_WORKSPACE/exercises"
          if [ ! -f "$exercises/{file}" ]; then
            # A missing file still gets a result, 0 of the exercise's points, with the reason.
            exercises="$RUNNER_TEMP/missing_{name}"
            mkdir -p "$exercises"
            echo 'raise FileNotFoundError("{missing}")' > "$exercises/{file}"
          fi
          # From a folder of its own, and with -I, so a grader/ folder in this repository
          # cannot stand in for the installed grader.
          cd "$RUNNER_TEMP"
          status=0
          result="$(python -I -m grader {name} --source "$exercises" --format classroom)" || status=$?
          if [ -z "$result" ]; then
            echo "::error::the grader gave no result for {name} (exit $status): the lines above say why"
            exit 1
          fi
          echo "result=$result" >> "$GITHUB_OUTPUT"
          exit "$status"
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 2 usage error)."""
    try:
        options = build_parser().parse_args(argv)
        exercises = chosen_exercises(options.exercises, options.all)
        requirement = check_requirement(options.grader_requirement)
        out_dir = Path(options.out_dir)
        check_out_dir(out_dir)
        check_sources(exercises)
        make_starter(out_dir, exercises, requirement)
    except UsageError as exc:
        print(f"grader.classroom: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"grader.classroom: cannot write the starter in {options.out_dir}: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote a starter repository for {len(exercises)} exercise(s) to {out_dir}, "
          f"graded by {requirement}.")
    print(f"Next: cd {shlex.quote(str(out_dir))} && git init && git add -A && git commit -m 'Starter', push it "
          "to GitHub, mark it as a template repository, and make it the starter of a Classroom assignment.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
