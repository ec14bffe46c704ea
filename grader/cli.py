"""The grader's command line (see ``../shared/contract.md``, "The grader's command line").

It works out what to grade, hands that to ``grader.runner``, and prints the
report. It never imports torch: the learner's code and the checks run in a
separate process, so whatever they do, this process still prints a report.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from grader import course, processes, reset
from grader.lanes import lanes_for
from grader.pick import learner_file
from grader.results import Report
from grader.runner import DEFAULT_MEMORY_MIB, KIT_ROOT, Task, UsageError, grade, named_exercise
from grader.state import ProgressState

DEFAULT_TIMEOUT_S = 15.0
FORMATS = ("text", "json", "gradescope", "junit", "classroom")
WATCH_HELP = ("grade the named exercise (default: the first unfinished one) again each time its file is saved, "
              "until Ctrl-C")
SOURCE_HELP = "the folder of learner files to grade (default: the kit's exercises/, or ./exercises when the kit has none)"
SOLUTIONS_HELP = "grade the kit's reference solutions (shorthand for --source solutions)"
SUITES_HELP = "grade with an instructor's own suites in DIR (files named test_NN_<topic>.py) instead of the built-in ones"
FORMAT_HELP = ("text (default) is for people; json, gradescope (results.json), junit (XML) and classroom "
               "(GitHub Classroom's base64 result) are for machines")
OUTPUT_HELP = "write the report to FILE instead of standard output (missing folders are created)"
DEVICE_HELP = "where device-dependent checks run; auto uses CUDA when present (default: auto)"
TIMEOUT_HELP = f"time limit for one check, in seconds (default: {DEFAULT_TIMEOUT_S:g})"
SEED_HELP = "the seed for the checks' random data (default: a fresh one, printed in the report)"
RESET_HELP = "put the named exercises back to their stubs, keeping your version as a backup first (prints where)"
MEMORY_HELP = f"memory learner code may use beyond the grader's own, in MiB (default: {DEFAULT_MEMORY_MIB}; Linux only)"


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is a one-line UsageError instead of a usage dump (every command of the kit uses it)."""

    def error(self, message: str):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader", description=(
        "Grade your PyTorch exercises. With no exercise named, shows your progress through the course."))
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help="exercise_03, 03 or 3 (several allowed)")
    parser.add_argument("--all", action="store_true", help="grade every exercise")
    parser.add_argument("--source", metavar="DIR", help=SOURCE_HELP)
    parser.add_argument("--solutions", action="store_true", help=SOLUTIONS_HELP)
    parser.add_argument("--suites", metavar="DIR", help=SUITES_HELP)
    parser.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    parser.add_argument("--output", metavar="FILE", help=OUTPUT_HELP)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help=DEVICE_HELP)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS", help=TIMEOUT_HELP)
    parser.add_argument("--seed", type=int, metavar="N", help=SEED_HELP)
    parser.add_argument("--memory-limit", type=int, default=DEFAULT_MEMORY_MIB, metavar="MIB", help=MEMORY_HELP)
    parser.add_argument("--watch", action="store_true", help=WATCH_HELP)
    parser.add_argument("--reset", action="store_true", help=RESET_HELP)
    parser.add_argument("--hints", action="store_true", help="show every hint level for the checks that did not pass")
    # For the course platforms (Gradescope's runner): an empty submission is graded as 0 of the maximum.
    parser.add_argument("--empty-source-ok", action="store_true", help=argparse.SUPPRESS)
    return parser


def source_folder(options) -> Path:
    """The folder of learner files to grade."""
    if options.solutions and options.source:
        raise UsageError("--solutions and --source both name a folder to grade: use one of them")
    if options.solutions:
        folder = KIT_ROOT / "solutions"
    elif options.source:
        folder = Path(options.source)
        if folder.is_file():
            raise UsageError(f"--source wants the folder that holds your exercise files, not a file: "
                             f"to grade {folder.name}, run python -m grader {folder}")
    else:
        # The contract's default is the kit's exercises/; an installed kit (no exercises/ beside the
        # grader package, as in a learners' repository) grades the ones in the current folder.
        folder = KIT_ROOT / "exercises" if (KIT_ROOT / "exercises").is_dir() else Path("exercises")
    if not folder.is_dir():
        raise UsageError(f"no folder {folder}: give --source the folder that holds your exercise_NN_*.py files")
    return folder


def named_file(text: str) -> Path | None:
    """The learner file ``text`` names by its path (``exercises/exercise_03_training.py`` or ``.ipynb``), or None."""
    path = Path(text)
    if path.suffix not in (".py", ".ipynb") or (len(path.parts) == 1 and not path.is_file()):
        return None
    return path


def suite_for(exercise: course.Exercise, suites: Path) -> Path | None:
    """The suite for ``exercise`` in ``suites``: ``test_03_training.py``, or any ``test_03_*.py``."""
    matches = sorted(suites.glob(f"test_{exercise.number:02d}_*.py"))
    if len(matches) > 1:  # grading with one and silently ignoring the other would hide checks
        raise UsageError(f"{len(matches)} suites for {exercise.name} in {suites} ({', '.join(m.name for m in matches)}): "
                         "keep one file per exercise")
    return matches[0] if matches else None


def select_tasks(options) -> list[Task]:
    """The exercises to grade, each with its learner file and its suite."""
    source = source_folder(options)
    suites = Path(options.suites) if options.suites else Path(__file__).with_name("suites")
    if not suites.is_dir():
        raise UsageError(f"no folder {suites}: give --suites the folder that holds your test_NN_<topic>.py suites")
    named = [] if options.all else options.exercises
    # An exercise may be named by its file's path, as tab completion gives it: that file is the one graded.
    files, names = {}, []
    for text in named:
        path = named_file(text)
        if path is not None:
            exercise = named_exercise(path.name, " (or run python -m grader to see them all)")
            files[exercise], text = path, exercise.name
        names.append(text)
    tasks = []
    for exercise, suite in exercises_with_suites(names, suites, " (or run python -m grader to see them all)"):
        # Of exercise_03_training.py and .ipynb, the one worked on (the contract's rule, grader.pick).
        file = files.get(exercise) or learner_file(source, exercise)
        if named and not file.is_file():
            # Named on the command line, so wanted: say what to do. With --all, a missing file is "not started".
            raise UsageError(f"no file {file}: python -m grader {exercise.name} --reset puts the stub back "
                             "(or point --source at the folder that has it)")
        tasks.append(Task(exercise, file, suite))
    if not named and tasks and not options.empty_source_ok and not any(task.file.is_file() for task in tasks):
        raise UsageError(f"{source} holds none of the course's files (exercise_NN_<topic>.py): point --source at "
                         "the folder that has them, or run python -m grader 00 --reset to start with the first stub")
    return tasks


def exercises_with_suites(named: list[str], suites: Path, then: str = "") -> list[tuple[course.Exercise, Path]]:
    """The exercises ``named`` (once each, in the order named), each with its suite in ``suites``.

    With none named: every exercise that has a suite there. Unknown names and
    missing suites are UsageErrors (``then`` ends the unknown-name message).
    Every command that grades (the grader, the gradebook, the Gradescope
    bundle) chooses its exercises here.
    """
    if not named:
        found = [(exercise, suite_for(exercise, suites)) for exercise in course.EXERCISES]
        found = [(exercise, suite) for exercise, suite in found if suite is not None]
        if not found:
            raise UsageError(f"no suites in {suites}: a suite is a file named test_NN_<topic>.py")
        return found
    chosen = []
    for text in named:
        exercise = named_exercise(text, then)
        suite = suite_for(exercise, suites)
        if suite is None:
            raise UsageError(f"no suite for {exercise.name} in {suites}: add a file named {exercise.suite_filename}")
        if all(exercise != other for other, _ in chosen):
            chosen.append((exercise, suite))
    return chosen


def check_options(options) -> None:
    """Refuse what is not there yet, or makes no sense, before any work starts."""
    if not hasattr(os, "fork"):
        raise UsageError("grading needs fork(), which this system lacks: on Windows, run the grader inside WSL")
    if options.all and options.exercises:
        raise UsageError("name exercises or use --all, not both")
    if options.watch and options.reset:
        raise UsageError("--reset and --watch are two steps: reset first, then run the same command with --watch")
    check_limits(options)


def check_limits(options) -> None:
    """Refuse a time limit, memory limit or seed that makes no sense (shared by every command that grades)."""
    if not options.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {options.timeout:g}")
    if options.memory_limit < 1:
        raise UsageError(f"--memory-limit must be a positive number of MiB, got {options.memory_limit}")
    if options.seed is not None and options.seed < 0:
        raise UsageError(f"--seed must be zero or more, got {options.seed}")


def grade_with_state(tasks: list[Task], options, state: ProgressState, seed: int, reuse: bool,
                     on_progress=None) -> Report:
    """Grade ``tasks`` (with ``reuse``, only those whose stored result is out of date) and store the results."""
    stored = {task: state.cached(task) for task in tasks} if reuse else {}
    stale = [task for task in tasks if stored.get(task) is None]
    keys = [state.key(task) for task in stale]  # taken before grading: an edit saved meanwhile is graded next time
    fresh = Report(exercises=[], seed=seed, device=options.device, sandbox="")
    if stale:
        fresh = grade(stale, device=options.device, timeout=options.timeout, seed=seed, memory_mib=options.memory_limit,
                      on_progress=on_progress, lanes=lanes_for(len(stale), options.memory_limit))
        state.store(list(zip(keys, stale, fresh.exercises)))
    results = iter(fresh.exercises)
    exercises = [stored.get(task) or next(results) for task in tasks]
    return Report(exercises=exercises, seed=seed, device=fresh.device, sandbox=fresh.sandbox)


def watched_task(tasks: list[Task], options, state: ProgressState, seed: int) -> Task:
    """The one exercise ``--watch`` follows: the one named, or else the first one not done yet."""
    if options.all or len(options.exercises) > 1:
        raise UsageError("--watch follows one exercise at a time: name one (or none, for the first unfinished one)")
    if options.format != "text" or options.output:
        raise UsageError("--watch draws its report in the terminal: leave out --format and --output")
    if options.exercises:
        return tasks[0]
    report = grade_with_state(tasks, options, state, seed, reuse=True)
    unfinished = [task for task, result in zip(tasks, report.exercises) if not result.complete]
    if not unfinished:
        raise UsageError("every exercise is done: name one to watch it anyway (python -m grader exercise_03 --watch)")
    return unfinished[0]


def write_report(report, options, progress: bool) -> None:
    """Print the report, or write it to ``--output``."""
    from grader import formats, report_text

    out = None
    if options.output:
        path = Path(options.output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write --output {path}: {exc.strerror}") from exc
    try:
        if options.format in formats.FORMATTERS:
            print(formats.FORMATTERS[options.format](report), file=out or sys.stdout)
            return
        console = report_text.make_console(out)
        if progress:
            report_text.render_progress(report, console, course.EXERCISES)
        else:
            report_text.render(report, console, all_hints=options.hints)
    finally:
        if out is not None:
            out.close()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 all passed, 1 something did not, 2 usage error)."""
    return run_command("grader", lambda: grade_from_command_line(argv))


def run_command(prog: str, body: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run ``body`` as a command: usage errors as one line and exit 2, Ctrl-C and SIGTERM cleaned up after.

    Every command of the kit (``grader``, ``grader.gradebook``, ...) runs through here.
    """
    # Should learner code kill the grader's worker, what it started is adopted here and ended below.
    processes.become_subreaper()
    # Stopped with SIGTERM (by `timeout`, a CI runner, an autograder): end as after Ctrl-C, cleaning up.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        return body()
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): send what is still buffered nowhere, and stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        processes.end_everything_below(os.getpid())


def grade_from_command_line(argv: list[str] | None) -> int:
    options = build_parser().parse_args(argv)
    check_options(options)
    if options.reset:
        # Resetting grades nothing: it is done, and said, before any grading could start.
        for line in reset.reset_exercises(reset.exercises_to_reset(options), source_folder(options)):
            print(line, flush=True)
        return 0
    tasks = select_tasks(options)
    seed = options.seed if options.seed is not None else secrets.randbelow(100_000)
    state = ProgressState(source_folder(options), options.device, options.timeout, options.memory_limit)
    progress = not options.exercises and not options.all
    if options.watch:
        from grader.watch import watch

        return watch(watched_task(tasks, options, state, seed), options, state, seed)
    # The overview reuses what is stored for files that did not change; an explicit --seed asks for a new grading.
    reuse = progress and options.seed is None
    if options.format == "text" and not options.output and not progress:
        from grader import report_text

        console = report_text.make_console()
        if report_text.LiveProgress.wanted(console):
            with report_text.LiveProgress(console) as live:
                report = grade_with_state(tasks, options, state, seed, reuse, on_progress=live)
            write_report(report, options, progress)
            return report.exit_code
    report = grade_with_state(tasks, options, state, seed, reuse)
    write_report(report, options, progress)
    if report.sandbox and options.format != "text":
        from grader.formats import sandbox_off

        print(f"grader: {sandbox_off(report)}", file=sys.stderr)  # a CI log shows it beside the machine format
    return report.exit_code
