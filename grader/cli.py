"""The grader's command line (see ``../shared/contract.md``, "The grader's command line").

It works out what to grade, hands that to ``grader.runner``, and prints the
report. It never imports torch: the learner's code and the checks run in a
separate process, so whatever they do, this process still prints a report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import course, reset
from grader.commands import (Parser, UsageError, add_exercises, add_limits, add_suites, check_limits,
                             exercises_with_suites, named_exercise, names_or_all, need_fork, run_command, seed_of,
                             suites_folder)
from grader.lanes import lanes_for
from grader.pick import learner_file
from grader.results import Report
from grader.runner import KIT_ROOT, Task, grade
from grader.state import ProgressState

FORMATS = ("text", "json", "gradescope", "junit", "classroom")
WATCH_HELP = ("grade the named exercise (default: the first unfinished one) again each time its file is saved, "
              "until Ctrl-C")
SOURCE_HELP = "the folder of learner files to grade (default: the kit's exercises/, or ./exercises when the kit has none)"
SOLUTIONS_HELP = "grade the kit's reference solutions (shorthand for --source solutions)"
SUITES_HELP = "grade with an instructor's own suites in DIR (files named test_NN_<topic>.py) instead of the built-in ones"
FORMAT_HELP = ("text (default) is for people; json, gradescope (results.json), junit (XML) and classroom "
               "(GitHub Classroom's base64 result) are for machines")
OUTPUT_HELP = "write the report to FILE instead of standard output (missing folders are created)"
RESET_HELP = "put the named exercises back to their stubs, keeping your version as a backup first (prints where)"


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader", description=(
        "Grade your PyTorch exercises. With no exercise named, shows your progress through the course."))
    add_exercises(parser, "exercise_03, 03 or 3 (several allowed)", all_help="grade every exercise")
    parser.add_argument("--source", metavar="DIR", help=SOURCE_HELP)
    parser.add_argument("--solutions", action="store_true", help=SOLUTIONS_HELP)
    add_suites(parser, SUITES_HELP)
    parser.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    parser.add_argument("--output", metavar="FILE", help=OUTPUT_HELP)
    add_limits(parser)
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


def select_tasks(options) -> list[Task]:
    """The exercises to grade, each with its learner file and its suite."""
    source = source_folder(options)
    suites = suites_folder(options)
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


def check_options(options) -> None:
    """Refuse what is not there yet, or makes no sense, before any work starts."""
    need_fork()
    names_or_all(options.exercises, options.all)
    if options.watch and options.reset:
        raise UsageError("--reset and --watch are two steps: reset first, then run the same command with --watch")
    check_limits(options)


def grade_with_state(tasks: list[Task], options, state: ProgressState, seed: int, reuse: bool,
                     on_progress=None) -> Report:
    """Grade ``tasks`` (with ``reuse``, only those whose stored result is out of date) and store the results."""
    stored = {task: state.cached(task) for task in tasks} if reuse else {}
    stale = [task for task in tasks if stored.get(task) is None]
    keys = [state.key(task) for task in stale]  # taken before grading: an edit saved meanwhile is graded next time
    fresh = Report(exercises=[], seed=seed, device=options.device, sandbox="")
    if stale:
        fresh = grade(stale, device=options.device, timeout=options.timeout, seed=seed, memory_mib=options.memory_limit,
                      on_progress=on_progress, lanes=lanes_for(len(stale), options.memory_limit),
                      expected=[state.last_duration(task) for task in stale])
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


def grade_from_command_line(argv: list[str] | None) -> int:
    options = build_parser().parse_args(argv)
    check_options(options)
    if options.reset:
        # Resetting grades nothing: it is done, and said, before any grading could start.
        for line in reset.reset_exercises(reset.exercises_to_reset(options), source_folder(options)):
            print(line, flush=True)
        return 0
    tasks = select_tasks(options)
    seed = seed_of(options)
    state = ProgressState(source_folder(options), options.device, options.timeout, options.memory_limit)
    progress = not options.exercises and not options.all
    if options.watch:
        from grader.watch import watch

        return watch(watched_task(tasks, options, state, seed), options, state, seed)
    # The overview reuses what is stored for files that did not change; an explicit --seed asks for a new grading.
    reuse = progress and options.seed is None
    if options.format == "text" and not options.output and not progress:
        from grader import report_text

        console = report_text.make_console() if report_text.LiveProgress.possible() else None
        if console is not None and report_text.LiveProgress.wanted(console):
            with report_text.LiveProgress(console) as live:
                report = grade_with_state(tasks, options, state, seed, reuse, on_progress=live)
            write_report(report, options, progress)
            return report.exit_code
        drawn = report_text.DrawnAsGraded(all_hints=options.hints)
        report = grade_with_state(tasks, options, state, seed, reuse, on_progress=drawn)
        drawn.write(report, report_text.make_console())
        return report.exit_code
    report = grade_with_state(tasks, options, state, seed, reuse)
    write_report(report, options, progress)
    if report.sandbox and options.format != "text":
        from grader.formats import sandbox_off

        print(f"grader: {sandbox_off(report)}", file=sys.stderr)  # a CI log shows it beside the machine format
    return report.exit_code
