"""Instructors check their suites as the kit checks its own: ``python -m grader.dev check`` (after rustlings')."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader import course
from grader.commands import (BUILT_IN_SUITES, DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_S, Parser, UsageError, add_exercises,
                             add_jobs, add_limits, add_suites, check_limits, exercises_with_suites, run_command, seed_of)
from grader.results import ExerciseResult, Status
from grader.files import display_path
from grader.runner import KIT_ROOT, Task, Worker
from grader.sandbox import SandboxFailed

BUILT_IN_CASES = KIT_ROOT / "tests" / "cases"
# The kit's checks take well under a second on a correct file; a case that loops forever costs this once per check.
DEV_TIMEOUT_S = 5.0
CAUGHT = {Status.FAILED, Status.ERROR, Status.TIMEOUT}
STATUSES = {status.value for status in Status} | {"any"}  # "any": a knock-on effect the case does not care about
LINE_NUMBER = re.compile(r"\blines?\s*\d", re.IGNORECASE)  # goes stale with the learner's first edit
HOW_TO = "see docs/writing-suites.md, 'Checking a suite'"


@dataclass(frozen=True)
class Folders:
    """Where the course's parts are: suites, stubs, solutions and the cases (bad learner files)."""

    suites: Path = BUILT_IN_SUITES
    stubs: Path = KIT_ROOT / "exercises"
    solutions: Path = KIT_ROOT / "solutions"
    cases: Path = BUILT_IN_CASES


@dataclass
class Shortfall:
    """One thing that falls short, printed as one line: ``exercise_03 check x: what; what to do``."""

    exercise: str
    about: str
    """``stub``, ``solution``, ``check ID`` or ``case NAME``."""
    text: str

    def __str__(self) -> str:
        return f"{self.exercise} {self.about}: {self.text}"


@dataclass
class ExerciseCheck:
    """What checking one exercise found: every graded file's result, and the shortfalls."""

    exercise: course.Exercise
    stub: ExerciseResult
    solution: ExerciseResult
    cases: dict[str, ExerciseResult]
    """Each case's name -> its grading."""
    shortfalls: list[Shortfall] = field(default_factory=list)

    def short(self, about: str, text: str) -> None:
        self.shortfalls.append(Shortfall(self.exercise.name, about, text))


@dataclass
class Case:
    """One bad (or differently written) learner file from the cases folder, and what it must get."""

    name: str
    source: str
    expect: dict[str, list]
    others: str = "passed"
    message: str = ""
    why: str = ""


def read_case(path: Path, solution: str | None) -> Case:
    """The case a ``NAME.json`` describes; ValueError with what to fix when it is not usable."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"cannot be read as JSON ({exc})") from exc
    if not isinstance(spec, dict):
        raise ValueError("it must hold a JSON object such as {\"why\": ..., \"edit\": ..., \"expect\": ...}")
    if "file" in spec:
        try:
            source = (path.parent / spec["file"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, TypeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ValueError(f"cannot read its learner file {spec['file']!r} ({reason})") from exc
    elif solution is None:
        raise ValueError("its edits need the solution, which is missing")
    else:
        source, edits = solution, spec.get("edit", [])
        if not isinstance(edits, list) or not all(isinstance(edit, list) and len(edit) == 2 and
                                                  all(isinstance(text, str) for text in edit) for edit in edits):
            raise ValueError('its edit must be a list of ["text in the solution", "what the learner wrote"]')
        for find, replace in edits:
            # Exactly once, so that a case never silently stops testing anything when the solution changes.
            if source.count(find) != 1:
                raise ValueError(f"the text to edit occurs {source.count(find)} times in the solution "
                                 f"(it must occur once): {find!r}")
            source = source.replace(find, replace)
    expect, others = spec.get("expect", {}), spec.get("others", "passed")
    if not isinstance(expect, dict) or not all(isinstance(value, list) and len(value) == 2 and
                                               isinstance(value[1], str) for value in expect.values()):
        raise ValueError('its expect must map check ids to ["status", "words the message says"]')
    for status in [*(value[0] for value in expect.values()), others]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}: use one of {', '.join(sorted(STATUSES))}")
    return Case(path.stem, source, expect, others, str(spec.get("message", "")), str(spec.get("why", "")))


def check_exercise(worker: Worker, folders: Folders, exercise: course.Exercise, suite: Path,
                   device: str, timeout: float, seed: int) -> ExerciseCheck:
    """Grade the stub, the solution and every case of ``exercise`` in ``worker``'s sandbox, and judge them."""
    stub, solution = folders.stubs / exercise.filename, folders.solutions / exercise.filename
    try:
        solution_source = solution.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        solution_source = None
    cases, unusable = [], []
    for path in sorted((folders.cases / exercise.name).glob("*.json")):
        try:
            cases.append(read_case(path, solution_source))
        except ValueError as exc:
            unusable.append(Shortfall(exercise.name, f"case {path.stem}", f"{exc}; fix {display_path(path)}"))
    with tempfile.TemporaryDirectory(prefix="grader-dev-") as scratch:
        tasks = [Task(exercise, stub, suite), Task(exercise, solution, suite)]
        for case in cases:
            # Each case in a folder of its own: the learner file must carry the exercise's file name.
            learner_file = Path(scratch) / case.name / exercise.filename
            learner_file.parent.mkdir()
            learner_file.write_text(case.source, encoding="utf-8")
            tasks.append(Task(exercise, learner_file, suite))
        report = worker.grade(tasks, device=device, timeout=timeout, seed=seed, memory_mib=DEFAULT_MEMORY_MIB)
    stub_result, solution_result, *case_results = report.exercises
    found = ExerciseCheck(exercise, stub_result, solution_result,
                          {case.name: result for case, result in zip(cases, case_results)}, unusable)
    judge_stub_and_solution(found, display_path(stub), display_path(solution))
    judge_hints(found)
    for case in cases:
        judge_case(found, case)
    judge_caught(found, display_path(folders.cases / exercise.name))
    return found


def judge_stub_and_solution(found: ExerciseCheck, stub_path: str, solution_path: str) -> None:
    """The stub is all ``not_started`` (skipped exactly where the solution is), the solution gets full marks."""
    stub, solution = found.stub, found.solution
    if solution.missing:
        found.short("solution", f"no file {solution_path}: give --solutions the folder of reference solutions")
    elif solution.problem or not solution.checks:
        found.short("solution", f"not graded: {solution.problem or 'the suite listed no check'}")
    for check in solution.checks if not solution.missing else []:
        if check.status not in (Status.PASSED, Status.SKIPPED):
            found.short("solution", f"check {check.id} is {check.status.value}, so {solution_path} does not get "
                                    f"full marks ({check.message or 'no message'}): fix the solution or the check")
    if stub.missing:
        found.short("stub", f"no file {stub_path}: give --stubs the folder of untouched stubs")
        return
    if stub.problem or {check.id for check in stub.checks} != {check.id for check in solution.checks}:
        found.short("stub", f"not graded as the solution was: {stub.problem or 'other checks ran'} ({stub_path})")
    skipped = {check.id for check in solution.checks if check.status is Status.SKIPPED}
    for check in stub.checks:
        # The maximum must not depend on the submission: a stub skips exactly the checks the solution skips.
        expected = Status.SKIPPED if check.id in skipped else Status.NOT_STARTED
        if check.status is not expected:
            found.short("stub", f"check {check.id} is {check.status.value}, not {expected.value}, for {stub_path} "
                                f"({check.message or 'no message'}): each function it reaches must still raise "
                                "NotImplementedError")


def judge_hints(found: ExerciseCheck) -> None:
    """Every check has a hint, and no hint points at a line number (it goes stale with the learner's first edit)."""
    for check in found.solution.checks:
        if not any(hint.strip() for hint in check.hints):
            found.short(f"check {check.id}", f"has no hint: give its @pytest.mark.check a hint=... ({HOW_TO})")
        elif any(LINE_NUMBER.search(hint) for hint in check.hints):
            found.short(f"check {check.id}", "a hint names a line number: describe the place in words instead")


def judge_caught(found: ExerciseCheck, cases_folder: str) -> None:
    """Every check that ran here fails (or errors, or times out) for at least one case."""
    caught = set()
    for result in found.cases.values():
        if not all(check.status is Status.ERROR for check in result.checks):  # an unimportable file proves nothing
            caught |= {check.id for check in result.checks if check.status in CAUGHT}
    # A check skipped here (it needs CUDA, say) cannot be caught here: a run on a GPU proves it.
    for check in found.solution.checks:
        if check.counts and check.id not in caught:
            found.short(f"check {check.id}", f"no bad learner file is caught by it: add a case that it fails to "
                                             f"{cases_folder}/ ({HOW_TO})")


def judge_case(found: ExerciseCheck, case: Case) -> None:
    """The case's checks get the statuses it expects, and their messages or hints say the words it expects."""
    result, about = found.cases[case.name], f"case {case.name}"
    why = f" (the case: {case.why})" if case.why else ""
    if result.problem or not result.checks:
        found.short(about, f"not graded: {result.problem or 'no check was graded'}")
        return
    unknown = sorted(set(case.expect) - {check.id for check in result.checks})
    if unknown:
        found.short(about, f"names checks the suite does not have: {', '.join(unknown)}; fix its expect")
    for check in result.checks:
        status, words = case.expect.get(check.id, (case.others, case.message))
        if status != "any" and check.status.value != status:
            found.short(about, f"check {check.id} is {check.status.value}, expected {status}{why}: "
                               f"{check.message or 'no message'}")
        elif words.lower() not in f"{check.message} {' '.join(check.hints)}".lower():
            found.short(about, f"check {check.id} ({check.status.value}) does not say {words!r}: it says "
                               f"{check.message or 'nothing'!r}")


# -- the command line ---------------------------------------------------------


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader.dev check", description=(
        "Check suites as the kit checks its own: the stub is all not_started, the solution gets full marks, "
        "every check has a hint and catches at least one bad learner file from the cases folder. Exit 0: "
        "nothing falls short; 1: something does (one line each, saying what to do); 2: a usage error."))
    add_exercises(parser, "exercise_03, 03 or 3 (default: every suite)")
    add_suites(parser, "the suites to check (default: the built-in ones)")
    parser.add_argument("--stubs", metavar="DIR", help="the untouched stubs (default: the kit's exercises/)")
    parser.add_argument("--solutions", metavar="DIR", help="the reference solutions (default: the kit's solutions/)")
    parser.add_argument("--cases", metavar="DIR", help=(
        "the bad learner files, DIR/exercise_NN/NAME.json as in the kit's tests/cases "
        "(default: SUITES/cases, or the kit's tests/cases for the built-in suites)"))
    add_limits(parser, device="as for python -m grader", default_timeout=DEV_TIMEOUT_S, timeout=(
        f"time limit for one check (default: {DEV_TIMEOUT_S:g}, shorter than the grader's {DEFAULT_TIMEOUT_S:g}: "
        "every case that loops forever costs it once per check)"),
        seed="the seed for the checks' data (default: a fresh one)", memory=None)
    add_jobs(parser, "check N exercises at a time, each in a sandbox of its own (default: the cores)")
    return parser


def folders_from(options) -> Folders:
    """The folders the options name; a UsageError for one that is not there."""
    suites = Path(options.suites) if options.suites else BUILT_IN_SUITES
    named = {"--suites": suites, "--stubs": Path(options.stubs or Folders.stubs),
             "--solutions": Path(options.solutions or Folders.solutions)}
    if options.cases:
        named["--cases"] = Path(options.cases)
    for option, folder in named.items():
        if not folder.is_dir():
            raise UsageError(f"no folder {folder}: give {option} the folder that holds them")
    # The default cases folder may be missing (a first suite has none yet): then every check is reported uncaught.
    cases = Path(options.cases) if options.cases else (
        BUILT_IN_CASES if suites.resolve() == BUILT_IN_SUITES else suites / "cases")
    return Folders(named["--suites"], named["--stubs"], named["--solutions"], cases)


def check_all(folders: Folders, chosen: list[tuple[course.Exercise, Path]], jobs: int,
              **settings) -> Iterator[ExerciseCheck]:
    """Check each exercise in one of ``jobs`` sandboxes at once; yield what was found, in the course's order.

    Each sandbox is kept for all the exercises its thread takes (torch is imported
    once per sandbox, each file is a fork of its warm zygote); the threads only
    wait on their sandboxes, as the gradebook's do.
    """
    local, workers = threading.local(), []
    # A sandbox may take any of the exercises: it imports ahead what any of them needs (Exercise.warm_up).
    warm_up = set().union(*(Task(exercise, folders.solutions / exercise.filename, suite).warm_up(None)
                            for exercise, suite in chosen))

    def check(item: tuple[course.Exercise, Path]) -> ExerciseCheck:
        if not hasattr(local, "worker"):
            local.worker = StoppableWorker(warm_up)
            workers.append(local.worker)
        return check_exercise(local.worker, folders, *item, **settings)

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(chosen)))
    try:
        yield from pool.map(check, chosen)
    finally:
        # After Ctrl-C or a suite that cannot be used, stop now, not once the exercises under way are done
        # (Python waits for the pool's threads before it exits).
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.stopped = True
            worker.close()


class StoppableWorker(Worker):
    """A Worker that, once stopped, starts no fresh sandbox: what it was grading ends at once, as not graded."""

    stopped = False

    def started_sandbox(self):
        if self.stopped:
            raise SandboxFailed("dev check was stopped")
        return super().started_sandbox()


def check_command(argv: list[str]) -> int:
    """``check``: grade and judge every chosen exercise, print the shortfalls; the exit status."""
    options = build_parser().parse_intermixed_args(argv)
    check_limits(options)
    folders = folders_from(options)
    chosen = exercises_with_suites(options.exercises, folders.suites)
    seed = seed_of(options)
    start, shortfalls, cases = time.perf_counter(), [], 0
    # The whole course takes minutes: a terminal is told where it is (and the line wiped after); logs are not.
    progress = sys.stderr.isatty()
    found_all = check_all(folders, chosen, options.jobs, device=options.device, timeout=options.timeout, seed=seed)
    for exercise, _ in chosen:
        if progress:
            print(f"checking {exercise.name} ...", end="\r", file=sys.stderr, flush=True)
        found = next(found_all)
        if progress:
            print(" " * 30, end="\r", file=sys.stderr, flush=True)
        for shortfall in found.shortfalls:
            print(shortfall, flush=True)
        shortfalls += found.shortfalls
        cases += len(found.cases)
    verdict = f"{len(shortfalls)} shortfall(s)" if shortfalls else "nothing falls short"
    print(f"dev check: {verdict}: {len(chosen)} suite(s), {cases} case(s), {time.perf_counter() - start:.0f} s, "
          f"seed {seed} (repeat with --seed {seed})")
    return 1 if shortfalls else 0


USAGE = "python -m grader.dev check [EXERCISE ...] [--suites DIR] [--stubs DIR] [--solutions DIR] [--cases DIR]"


def main(argv: list[str] | None = None) -> int:
    """Run ``check`` (the one command so far); 0 nothing falls short, 1 something does, 2 a usage error."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(f"usage: {USAGE}\n(see: python -m grader.dev check --help)")
        return 0

    def body() -> int:
        if argv[:1] != ["check"]:
            raise UsageError(f"the command is: {USAGE} (see: python -m grader.dev check --help)")
        return check_command(argv[1:])

    return run_command("grader.dev", body)


if __name__ == "__main__":
    sys.exit(main())
