"""The Gradescope autograder: build the bundle an instructor uploads, and grade one submission inside it.

    python -m grader.gradescope build 00 02           # or --all; writes dist/gradescope-autograder.zip
    python -m grader.gradescope run [--root /autograder]   # what the bundle's run_autograder calls

The bundle is a zip with ``setup.sh`` and ``run_autograder`` at its root (what
Gradescope requires), the grader package, the suites it grades with in
``suites/`` (the kit's own, or an instructor's ``--suites DIR``), a
``requirements.txt`` (the kit's dependencies, and nbformat and ipython, with
which an uploaded notebook is graded) and ``gradescope.json`` (the exercises, the visibility of
the results, the time limits). Gradescope unpacks it into ``/autograder/source``,
runs ``setup.sh`` once when it builds the image, and ``run_autograder`` for each
submission, which must leave ``/autograder/results/results.json``.

``run`` grades one submission inside the bundle (``grader.platforms.gradescope_run``)
and always leaves a results.json, even when the upload is empty, misnamed or
breaks the grader: without one, Gradescope shows only "The autograder failed
to execute correctly". See docs/gradescope.md for the instructor's steps.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

from grader import course
from grader.commands import (Parser, UsageError, add_exercises, add_limits, add_suites, exercises_with_suites,
                             names_or_all, suites_folder)
from grader.declared import declared_checks
from grader.platforms.gradescope_run import CONFIG_NAME, VISIBILITIES, fallback, run, write_results
from grader.runner import KIT_ROOT

DEFAULT_OUTPUT = Path("dist") / "gradescope-autograder.zip"
DEFAULT_TIME_LIMIT_S = 540.0  # under Gradescope's default of 10 minutes, so results.json is written in time
ROOT_VARIABLE = "GRADER_AUTOGRADER_ROOT"  # where run_autograder finds /autograder (the kit's tests use a folder)
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # Gradescope's machines have no GPU
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so that building twice gives the same zip

VISIBILITY_HELP = ("when learners see each check's result: visible (default), hidden, after_due_date or "
                   "after_published; the 'Files in your upload' entry is always visible")
TIME_LIMIT_HELP = (f"time limit for grading one submission, in seconds (default: {DEFAULT_TIME_LIMIT_S:g}); "
                   "keep it under the assignment's autograder timeout on Gradescope")
SUITES_HELP = "grade with your own suites in DIR (test_NN_<topic>.py) instead of the kit's"
ROOT_HELP = f"the autograder folder (default: ${ROOT_VARIABLE}, else /autograder)"
SEED_HELP = "the seed for the checks' random data (default: a fresh one, named in the results)"

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# It installs Python (if missing) and the kit's dependencies into /autograder/venv,
# with torch from the CPU-only index: Gradescope's machines have no GPU, and the
# CPU wheel is a fraction of the size of the default CUDA one.
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup.sh: the kit needs Python 3.10 or newer; choose the Ubuntu 22.04 (or newer) base image" >&2
  exit 1
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/python3 -m pip install --upgrade pip
# torch: the version range the kit is tested with (requirements.txt), from PyTorch's CPU-only index,
# chosen on purpose: the default index would install the multi-GB CUDA build, useless without a GPU.
# Override (an offline mirror, or a wheel file you provide): TORCH_REQUIREMENT=/path/to/torch-....whl
# and/or TORCH_INDEX_URL=https://your.mirror/simple.
TORCH_REQUIREMENT="${{TORCH_REQUIREMENT:-$(grep -E '^torch([^a-z]|$)' requirements.txt)}}"
TORCH_INDEX_URL="${{TORCH_INDEX_URL:-{CPU_TORCH_INDEX}}}"
/autograder/venv/bin/python3 -m pip install --index-url "$TORCH_INDEX_URL" "$TORCH_REQUIREMENT"
/autograder/venv/bin/python3 -m pip install -r requirements.txt
# Fail the image build now, not every submission later, if something did not install.
/autograder/venv/bin/python3 -c "import torch, numpy, matplotlib, rich, pytest, pytest_timeout, nbformat, IPython"
"""

RUN_AUTOGRADER = f"""\
#!/usr/bin/env bash
# Gradescope runs this for every submission (copied to /autograder/run_autograder,
# working folder /autograder). The grading itself is Python: python -m grader.gradescope run.
# If that cannot even start, or ends without saying it wrote the results, this script
# writes a results.json that says so, because without one the learner sees only
# "The autograder failed to execute correctly".
ROOT="${{{ROOT_VARIABLE}:-/autograder}}"
RESULTS="$ROOT/results/results.json"
PYTHON=python3
if [ -x "$ROOT/venv/bin/python3" ]; then PYTHON="$ROOT/venv/bin/python3"; fi
mkdir -p "$ROOT/results"
rm -rf "$RESULTS"
# -E: no PYTHON* variables, so the grader package is the one in source/ (the current folder);
# -B: no bytecode written into the bundle.
(cd "$ROOT/source" && "$PYTHON" -E -B -m grader.gradescope run --root "$ROOT" "$@")
status=$?
# Only a run that ended well (exit 0) wrote the results: anything else, even a results.json
# already there (learner code could have written one), is replaced by a message.
if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
  echo "run_autograder: the grading ended with exit status $status; writing a results.json that says so"
  MESSAGE="The autograder could not finish grading this submission (exit status $status), so no points were given. If this happens again, tell your instructor."
  printf '{{"score": 0.0, "output": "%s", "stdout_visibility": "hidden", "tests": []}}\n' "$MESSAGE" > "$RESULTS"
fi
# Gradescope reads the verdict from results.json, not from this exit status; 0 says the file is there.
[ -s "$RESULTS" ]
"""


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader.gradescope", description=(
        "Build a Gradescope autograder for the kit's exercises, or grade one submission inside it."))
    commands = parser.add_subparsers(dest="command", metavar="build|run", parser_class=Parser)
    commands.required = True
    build_command = commands.add_parser(
        "build", help="write the autograder zip to upload to Gradescope",
        description="Write the autograder zip. It grades each exercise from the file learners upload under its "
                    "course name: exercise_03_training.py or the notebook exercise_03_training.ipynb (of both, "
                    "the one that differs from the kit's stub).")
    add = build_command.add_argument
    add_exercises(build_command, "exercise_03, 03 or 3 (several allowed)", all_help="grade every exercise that has a suite")
    add("--output", default=str(DEFAULT_OUTPUT), metavar="ZIP", help=f"where to write the zip (default: {DEFAULT_OUTPUT})")
    add_suites(build_command, SUITES_HELP)
    add("--visibility", choices=VISIBILITIES, default="visible", help=VISIBILITY_HELP)
    add_limits(build_command, device=None, seed=None, memory=None)  # --timeout: the bundle's time limit for one check
    add("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, metavar="SECONDS", help=TIME_LIMIT_HELP)
    run_command = commands.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json")
    run_command.add_argument("--root", default=os.environ.get(ROOT_VARIABLE, "/autograder"), metavar="DIR",
                             help=ROOT_HELP)
    add_limits(run_command, device=None, timeout=None, seed=SEED_HELP, memory=None)
    return parser


# -- build -----------------------------------------------------------------------


def chosen_exercises(options, suites: Path) -> list[tuple[course.Exercise, Path]]:
    """The exercises the bundle grades, each with its suite file, in course order."""
    if not names_or_all(options.exercises, options.all) and not options.all:
        raise UsageError("name the exercises this assignment grades (03, 3 or exercise_03), or use --all")
    return sorted(exercises_with_suites(options.exercises, suites), key=lambda pair: pair[0].number)


NOTEBOOK_GRADING = ("nbformat", "ipython")  # of the notebooks extra, what grading an uploaded notebook needs


def requirements() -> str:
    """The kit's dependencies, one a line, as pyproject.toml lists them, and what grading a notebook needs.

    Of the ``notebooks`` extra only nbformat and ipython: the kernel, nbclient
    and jupytext run and make notebooks, which the autograder never does.
    """
    text = (KIT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: the arrays are simple enough to read with a pattern
        def array(name: str) -> list[str]:
            block = re.search(rf"^{name}\s*=\s*\[(.*?)\]", text, re.S | re.M)
            return re.findall(r'"([^"]+)"', block.group(1)) if block else []

        dependencies, notebooks = array("dependencies"), array("notebooks")
    else:
        project = tomllib.loads(text)["project"]
        dependencies, notebooks = project["dependencies"], project.get("optional-dependencies", {}).get("notebooks", [])
    if not any(re.fullmatch(r"torch\s*>=[^,]+,\s*<.+", line) for line in dependencies):
        raise UsageError("pyproject.toml lists no torch dependency with a version range (torch>=A,<B): "
                         "the bundle's setup.sh installs torch within it")
    for_notebooks = [line for line in notebooks if re.split(r"[\s<>=!~\[;]", line, maxsplit=1)[0] in NOTEBOOK_GRADING]
    if len(for_notebooks) != len(NOTEBOOK_GRADING):
        raise UsageError(f"pyproject.toml's notebooks extra lacks one of {', '.join(NOTEBOOK_GRADING)}: the bundle "
                         "grades uploaded notebooks with them")
    return "".join(f"{line}\n" for line in dependencies + for_notebooks)


def add_file(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    """Add one file with Unix permissions (Gradescope runs run_autograder directly: it needs its x bit)."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.create_system = 3  # Unix, so unzip reads the permissions below
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def package_files() -> list[Path]:
    """The grader package's files, without bytecode and without the kit's suites (``suites/`` has those graded)."""
    package = KIT_ROOT / "grader"
    files = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        if relative.parts[0] == "suites" and relative.name != "__init__.py":
            continue
        files.append(path)
    return files


def suite_folder_files(suites: Path, chosen: list[tuple[course.Exercise, Path]]) -> list[Path]:
    """What goes into the bundle's ``suites/``: the chosen suites and any helper files beside them."""
    chosen_suites = {suite.resolve() for _, suite in chosen}
    files = []
    for path in sorted(suites.rglob("*")):
        relative = path.relative_to(suites)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        # Another exercise's suite would only be dead weight (and would be graded, being in suites/).
        if re.fullmatch(r"test_\d+_.*\.py", path.name) and path.resolve() not in chosen_suites:
            continue
        files.append(path)
    return files


def build(options) -> Path:
    """Write the autograder zip; return its path."""
    from grader import __version__

    suites = suites_folder(options)
    if not options.timeout > 0 or not options.time_limit > 0:
        raise UsageError("--timeout and --time-limit must be positive numbers of seconds")
    chosen = chosen_exercises(options, suites)
    declared_checks(chosen)  # a suite that cannot be used is refused here, not shown to learners as 0 of 0
    config = {
        "exercises": [exercise.name for exercise, _ in chosen],
        "visibility": options.visibility,
        "timeout": options.timeout,
        "time_limit": options.time_limit,
        "kit_version": __version__,
    }
    output = Path(options.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(output, "w") as bundle:
            add_file(bundle, "setup.sh", SETUP_SH.encode(), executable=True)
            add_file(bundle, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
            add_file(bundle, "requirements.txt", requirements().encode())
            add_file(bundle, CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode())
            for path in package_files():
                add_file(bundle, f"grader/{path.relative_to(KIT_ROOT / 'grader').as_posix()}", path.read_bytes())
            for path in suite_folder_files(suites, chosen):
                add_file(bundle, f"suites/{path.relative_to(suites).as_posix()}", path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return output


def main(argv: list[str] | None = None) -> int:
    """Run the command line: 0 when done, 1 when no results could be written, 2 for a usage error."""
    try:
        options = build_parser().parse_args(argv)
        if options.command == "build":
            output = build(options)
            print(f"Wrote {output}. Learners upload their exercise files, each a .py file or a notebook (.ipynb). "
                  "Upload the zip in Gradescope (Configure Autograder): base image Ubuntu 22.04 or "
                  "newer; raise the memory limit if submissions end with 'Killed'; keep the autograder timeout "
                  f"above --time-limit. See docs/gradescope.md.")
            return 0
    except UsageError as exc:
        print(f"grader.gradescope: {exc}", file=sys.stderr)
        return 2
    root = Path(options.root)
    submission = root / "submission"
    try:
        results = run(root, options.seed)
    except UsageError as exc:
        print(f"grader.gradescope: {exc}")
        results = fallback(str(exc), None, [], submission)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the learner still gets a results.json
        import traceback

        traceback.print_exc(file=sys.stdout)
        results = fallback(f"the autograder itself failed ({type(exc).__name__}: {exc})", None, [], submission)
    try:
        write_results(root / "results", results)
    except OSError as exc:
        print(f"grader.gradescope: cannot write {root / 'results' / 'results.json'}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
