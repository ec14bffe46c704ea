"""A class at once: grade a folder of submissions into one CSV gradebook.

``python -m grader.gradebook SUBMISSIONS_DIR [EXERCISE ...|--all] [--output grades.csv]``

Every immediate sub-folder of SUBMISSIONS_DIR is one learner, named after the
folder; rows follow the names in natural order (``student2`` before
``student10``). A learner's exercise files are found by their course names
(``exercise_02_models.py``, or the notebook ``exercise_02_models.ipynb``)
anywhere inside that folder (``grader.platforms.finder``); when one name occurs more than
once, the shallowest copy is graded (at equal depth: one in a folder named
``exercises``, then the first in alphabetical order) and the ``note`` column
names the copies left out. Of a ``.py`` file and a notebook of one exercise, the
one that differs from the kit's stub is graded, as ``python -m grader`` chooses;
when both differ, neither is: that exercise's checks are errors worth 0 and
the note says why, and the rest of the class is graded as usual. A missing file
is graded as the command line does under ``--all``: its checks are "not started".

The whole class is graded in one call of ``grader.runner.grade`` (torch is
imported once). Should the grader's worker die while grading one file, the
files it never reached are graded again, and the one it died on is graded again
on its own, so one learner's file never costs another learner a grade.

The CSV has one row per learner, preceded by a row whose learner is
``(max points)``: the most points each column can give on this machine (checks
skipped here, such as the ones that need CUDA on a CPU machine, are left out),
so a spreadsheet can compute percentages. A check's cell holds the points
earned (empty when skipped), and the column after it, ``<check>:status``, how
the check ended, so that a failure, a time-out and an untouched stub, all
worth 0, can be told apart. Text cells never start a formula. Nothing is written in SUBMISSIONS_DIR
(the grader only puts back a file that learner code changed while it ran).
"""

from __future__ import annotations

import csv
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from grader import course, wording
from grader.commands import (DEFAULT_MEMORY_MIB, Parser, UsageError, add_exercises, add_jobs, add_limits, add_suites,
                             check_limits, exercises_with_suites, names_or_all, need_fork, run_command, seed_of,
                             suites_folder)
from grader.files import written_whole
from grader.platforms import finder
from grader.results import ExerciseResult, Status
from grader.runner import Task, grade

MAX_ROW_NAME = "(max points)"
PREFERRED_FOLDER = "exercises"  # at equal depth, the kit's own folder name wins over copies such as solutions/


EPILOG = (
    "Each learner's files are found by name anywhere in their folder (the shallowest copy wins); an exercise "
    "may be a .py file or a notebook (.ipynb): of the two, the one that differs from the kit's stub is graded. "
    "The CSV has two columns per check (points earned, empty when skipped; and how it ended: passed, failed, "
    "not_started, error, timeout or skipped), one per exercise total, then "
    "total, max_total and note; its first row after the header, learner '(max points)', holds the most "
    "points each column can give. A learner whose file crashes the grader never stops the others.")


def build_parser() -> Parser:
    parser = Parser(prog="python -m grader.gradebook", description=(
        "Grade a folder of submissions (one sub-folder per learner) into a CSV gradebook."), epilog=EPILOG)
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="the folder that holds one folder per learner")
    add_exercises(parser, "exercise_03, 03 or 3 (default: every exercise)", all_help="grade every exercise (the default)")
    parser.add_argument("--output", metavar="FILE", help="write the CSV to FILE (folders are created) instead of standard output")
    add_suites(parser, "grade with an instructor's own suites (test_NN_<topic>.py) in DIR")
    add_limits(parser, device="where device-dependent checks run (default: auto)",
               seed="the seed for the checks' random data (default: a fresh one)",
               memory=f"memory one learner's code may use, in MiB (default: {DEFAULT_MEMORY_MIB})")
    add_jobs(parser, "grade N learners at a time, each batch in its own grading process (default: the cores)")
    parser.add_argument("--shard", metavar="I/N", help=SHARD_HELP)
    return parser


SHARD_HELP = ("grade only the I-th of N equal shares of the learners (1/4, 2/4, ...), for a batch system, a CI "
              "matrix or a Slurm array; join the shards' CSVs with: python -m grader.gradebook merge A.csv B.csv ...")


def shard_of(text: str | None) -> tuple[int, int]:
    """``(I, N)`` from ``--shard I/N`` (``(1, 1)`` without it)."""
    if text is None:
        return 1, 1
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard {text!r}: write I/N with 1 <= I <= N, such as 2/4 for the second of four shares")
    return int(match.group(1)), int(match.group(2))


# -- finding the class --------------------------------------------------------


@dataclass
class Learner:
    """One learner's folder, and the file found in it for each exercise."""

    name: str
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    """Exercise name -> the file to grade (only the exercises whose file was found)."""
    notes: list[str] = field(default_factory=list)
    unresolved: dict[str, str] = field(default_factory=dict)
    """Exercise name -> why no file was graded although the learner has one (both the .py and notebook changed)."""


def natural_order(name: str) -> list:
    """Sort key that puts ``student2`` before ``student10``, ignoring case."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]


def learner_folders(submissions: Path) -> list[Path]:
    """The learners' folders, sorted by name; hidden folders (``.git``) are not learners."""
    if not submissions.is_dir():
        raise UsageError(f"no folder {submissions}: give the folder that holds one folder per learner")
    folders = sorted((path for path in submissions.iterdir() if path.is_dir() and not path.name.startswith((".", "__"))),
                     key=lambda path: (natural_order(path.name), path.name))
    if not folders:
        raise UsageError(f"no learner folders in {submissions}: put each learner's files in a folder named after them")
    return folders


def skipped_folder(name: str) -> bool:
    """Hidden folders (``.git``) and caches (``__pycache__``) hold no learner's work."""
    return name.startswith((".", "__"))


def candidates(folder: Path, filenames: set[str]) -> dict[str, list[Path]]:
    """Every file in ``folder`` (at any depth) named like an exercise file, by name.

    Hidden folders and caches are not searched, and links are not followed
    (a link could loop, or lead outside the learner's folder).
    """
    found: dict[str, list[Path]] = {}
    for path in finder.walk(folder, skipped_folder):
        if path.name in filenames and path.is_file() and not path.is_symlink():
            found.setdefault(path.name, []).append(path)
    return found


def preference(path: Path, folder: Path) -> tuple:
    """Sort key of a candidate: shallowest first, then one in ``exercises/``, then alphabetical."""
    parts = path.relative_to(folder).parts
    return len(parts), parts[-2:-1] != (PREFERRED_FOLDER,), parts


def find_learner(folder: Path, exercises: list[course.Exercise]) -> Learner:
    """The learner in ``folder``, with the file chosen for each exercise and notes about the choice.

    Each exercise may be a ``.py`` file or a notebook: of the two, the one that
    differs from the kit's stub is graded, as ``python -m grader`` grades it;
    when both differ, neither is (``Learner.unresolved`` says why).
    """
    learner = Learner(folder.name, folder)
    found = candidates(folder, {name for exercise in exercises for name in (exercise.filename, exercise.notebook)})
    if not found:
        learner.notes.append("no exercise files found")
        return learner
    from_folders: dict[str, list[str]] = {}
    shown = lambda path: path.relative_to(folder).as_posix()  # noqa: E731
    for exercise in exercises:
        choice = finder.choose_file(exercise, found, lambda path: preference(path, folder))
        if choice.both_changed:
            script, notebook = choice.both_changed
            learner.unresolved[exercise.name] = wording.both_changed(shown(script), shown(notebook),
                                                                     wording.NEITHER_GRADED_TEACHER)
            continue
        if choice.file is None:
            continue
        chosen = learner.files[exercise.name] = choice.file
        relative = chosen.relative_to(folder)
        if len(relative.parts) > 1:
            from_folders.setdefault(relative.parent.as_posix(), []).append(exercise.name)
        if choice.left_out:
            kind = "copies" if all(path.suffix == chosen.suffix for path in choice.left_out) else "files"
            others = ", ".join(shown(path) + ("" if path.suffix == chosen.suffix else " (the kit's stub)")
                               for path in choice.left_out)
            learner.notes.append(f"{exercise.name}: {len(choice.left_out) + 1} {kind}, graded {relative.as_posix()}, "
                                 f"left out {others}")
    if len(from_folders) == 1 and len(next(iter(from_folders.values()))) == len(learner.files):
        learner.notes.insert(0, f"files from {next(iter(from_folders))}/")  # the usual case, said briefly
    else:
        for sub_folder, names in sorted(from_folders.items(), reverse=True):
            learner.notes.insert(0, f"{', '.join(names)} from {sub_folder}/")
    missing = [exercise.name for exercise in exercises
               if exercise.name not in learner.files and exercise.name not in learner.unresolved]
    if missing:
        learner.notes.insert(0, f"not found: {', '.join(missing)}")
    return learner


def select_exercises(options, suites: Path) -> list[tuple[course.Exercise, Path]]:
    """The exercises to grade, each with its suite, in course order."""
    names = names_or_all(options.exercises, options.all)
    return sorted(exercises_with_suites(names, suites), key=lambda pair: pair[0].number)


# -- grading ------------------------------------------------------------------


def exercise_note(result: ExerciseResult, graded_alone: bool) -> str:
    """What the gradebook says about one exercise beyond its points: why it could not be graded, or "" ."""
    if graded_alone and result.lost:
        return f"{result.problem}, also when graded on its own"
    parts = ["the grader's worker died while grading it with the class; graded again on its own"] if graded_alone else []
    counted = [check for check in result.checks if check.counts]
    if result.problem:
        parts.append(result.problem)
    elif counted and all(check.status in (Status.ERROR, Status.TIMEOUT) for check in counted) \
            and len({check.message for check in counted}) == 1:
        parts.append(counted[0].message)  # one cause for every check, such as a file that does not import
    return "; ".join(parts)


def grade_class(tasks: list[Task], **settings) -> tuple[list[ExerciseResult], set[int]]:
    """Grade every task; return the results in task order and the tasks that had to be graded alone.

    One supervisor grades the tasks in order, so when it dies, the first task
    it did not finish is the one it died on: that one is graded again on its
    own, and the tasks after it (other learners' files, innocent) again together.
    """
    results: dict[int, ExerciseResult] = {}
    alone: set[int] = set()
    pending = list(range(len(tasks)))
    while pending:
        report = grade([tasks[index] for index in pending], **settings)
        lost = []
        for index, result in zip(pending, report.exercises):
            if result.lost:  # the worker died before it graded this one
                lost.append(index)
            else:
                results[index] = result
        if not lost:
            break
        culprit, pending = lost[0], lost[1:]
        if len(lost) == 1 and len(report.exercises) == 1:
            results[culprit] = report.exercises[0]  # it was already graded on its own
        else:
            results[culprit] = grade([tasks[culprit]], **settings).exercises[0]
        alone.add(culprit)
    return [results[index] for index in range(len(tasks))], alone


# -- the CSV --------------------------------------------------------------------


def points(value: float) -> str:
    """``2`` for 2.0, ``0.5`` for 0.5: what a spreadsheet reads as a number."""
    return f"{value:g}"


def check_columns(results: list[ExerciseResult]) -> list[tuple[str, float, bool]]:
    """``(check id, max points, skipped for someone)`` for one exercise, in the suite's order."""
    columns: dict[str, list] = {}
    for result in results:
        for check in result.checks:
            column = columns.setdefault(check.id, [check.max_points, False])
            column[1] = column[1] or check.status is Status.SKIPPED
    return [(check_id, max_points, skipped) for check_id, (max_points, skipped) in columns.items()]


def gradebook_rows(exercises: list[course.Exercise], learners: list[Learner],
                   results: dict[tuple[str, str], ExerciseResult], alone: set[tuple[str, str]]) -> list[list[str]]:
    """The header, the max row, and one row per learner."""
    header, max_row = ["learner"], [MAX_ROW_NAME]
    layout = []
    grand_max = 0.0
    for exercise in exercises:
        columns = check_columns([results[learner.name, exercise.name] for learner in learners])
        layout.append((exercise, columns))
        # A check skipped for anyone is one this machine cannot grade (the CUDA ones on a CPU): not in the maximum.
        exercise_max = sum(max_points for _, max_points, skipped in columns if not skipped)
        grand_max += exercise_max
        for check_id, max_points, skipped in columns:
            header += [f"{exercise.name}:{check_id}", f"{exercise.name}:{check_id}:status"]
            max_row += ["" if skipped else points(max_points), ""]
        header.append(exercise.name)
        max_row.append(points(exercise_max))
    header += ["total", "max_total", "note"]
    max_row += [points(grand_max), points(grand_max), "checks skipped on this machine are left out"]
    rows = [header, max_row]
    for learner in learners:
        row, total, max_total, notes = [learner.name], 0.0, 0.0, list(learner.notes)
        for exercise, columns in layout:
            result = results[learner.name, exercise.name]
            by_id = {check.id: check for check in result.checks}
            for check_id, _, _ in columns:
                check = by_id.get(check_id)
                row.append("" if check is None or not check.counts else points(check.points))
                # How the check ended: failed, timeout and not_started all earn 0, and say different things.
                row.append(check.status.value if check is not None else "")
            row.append(points(result.score))
            total += result.score
            max_total += result.max_score
            note = exercise_note(result, (learner.name, exercise.name) in alone)
            if note:
                notes.append(f"{exercise.name}: {note}")
        rows.append(row + [points(total), points(max_total), "; ".join(notes)])
    return rows


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet shows as text: never a formula (CSV injection), always valid UTF-8.

    Learners name their own folders, and notes quote their files: ``=1+2`` (or
    ``=HYPERLINK(...)``) would otherwise run as a formula when the teacher opens
    the gradebook. A name that is not UTF-8 keeps its undecodable bytes visible
    as ``\\xNN``.
    """
    try:
        cell = cell.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name decoding made
        cell = cell.encode("utf-8", "replace").decode("utf-8")
    return "'" + cell if cell.startswith(FORMULA_START) and not is_number(cell) else cell


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def check_output(path: Path, submissions: Path) -> None:
    """Refuse an ``--output`` inside a learner's folder, or one that is a folder; make the folders it needs."""
    inside = path.resolve()
    root = submissions.resolve()
    if root in inside.parents and inside.parent != root:
        raise UsageError(f"--output {path} is inside a learner's folder: write the gradebook outside {submissions}")
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder: name a file, such as {path / 'grades.csv'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write --output {path}: {exc.strerror}") from exc


def write_csv(rows: list[list[str]], out) -> None:
    csv.writer(out, lineterminator="\n").writerows([[safe_cell(cell) for cell in row] for row in rows])


# -- the command ----------------------------------------------------------------


def file_contents(learners: list[Learner]) -> dict[Path, bytes | None]:
    """The bytes of every file chosen for grading (None: gone), to see afterwards whether any changed."""
    try_read = lambda path: path.read_bytes() if path.is_file() else None
    return {path: try_read(path) for learner in learners for path in learner.files.values()}


def plan_tasks(learners: list[Learner], chosen: list[tuple[course.Exercise, Path]]
               ) -> tuple[list[Task], dict[tuple[str, str], int]]:
    """The tasks to grade, and for each ``(learner, exercise)`` the index of the task that grades it.

    A missing file is graded too, as the command line does under ``--all`` (its
    checks are not started, each worth its points in ``max_total``), but only
    once per exercise: what the grader says about a file that is not there is
    the same for every learner, and a large class early in the course would
    otherwise spend most of its time grading absent files.
    """
    tasks: list[Task] = []
    slots: dict[tuple[str, str], int] = {}
    absent: dict[str, int] = {}
    for learner in learners:
        for exercise, suite in chosen:
            file = learner.files.get(exercise.name)
            if file is None and exercise.name in absent:
                slots[learner.name, exercise.name] = absent[exercise.name]
                continue
            if file is None:
                absent[exercise.name] = len(tasks)
            slots[learner.name, exercise.name] = len(tasks)
            tasks.append(Task(exercise, file or learner.folder / exercise.filename, suite))
    return tasks, slots


def grade_in_parallel(learners: list[Learner], chosen: list[tuple[course.Exercise, Path]], jobs: int, **settings
                      ) -> tuple[dict[tuple[str, str], ExerciseResult], set[tuple[str, str]]]:
    """Grade the class in ``jobs`` batches of learners at once; return the results by (learner, exercise)
    and the pairs that had to be graded alone.

    Each batch is graded by its own grading process (``grade_class``), started
    from a thread of this process, which only waits: one learner's crash or
    hang costs only their own batch a restart, as with one batch.
    """
    from concurrent.futures import ThreadPoolExecutor

    batches = [learners[index::jobs] for index in range(min(jobs, len(learners)))]

    def grade_batch(batch: list[Learner]):
        tasks, slots = plan_tasks(batch, chosen)
        results, alone = grade_class(tasks, **settings)
        return ({key: results[index] for key, index in slots.items()},
                {key for key, index in slots.items() if index in alone})

    by_key: dict[tuple[str, str], ExerciseResult] = {}
    graded_alone: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        for results, alone in pool.map(grade_batch, batches):
            by_key.update(results)
            graded_alone |= alone
    return by_key, graded_alone


def run(options) -> None:
    """Check the options, find the class, grade it and write the CSV; a UsageError for what cannot be done."""
    check_limits(options)
    need_fork()
    chosen = select_exercises(options, suites_folder(options))
    exercises = [exercise for exercise, _ in chosen]
    submissions = Path(options.submissions)
    shard, shards = shard_of(options.shard)
    # Every shard sees the same sorted list of folders and keeps every N-th: the shares never overlap.
    learners = [find_learner(folder, exercises) for index, folder in enumerate(learner_folders(submissions))
                if index % shards == shard - 1]
    if not learners:
        raise UsageError(f"--shard {shard}/{shards} holds no learner: there are fewer learners than shards")
    output = Path(options.output) if options.output else None
    with ExitStack() as stack:
        out = sys.stdout
        if output is not None:
            check_output(output, submissions)
            try:
                # Opened now, so that an unwritable place is known before grading; it replaces the gradebook
                # only once it is complete: an interrupted run leaves the previous one as it was.
                out = stack.enter_context(written_whole(output, encoding="utf-8", newline=""))
            except OSError as exc:
                raise UsageError(f"cannot write --output {output}: {exc.strerror}") from exc
        seed = seed_of(options)
        print(f"gradebook: grading {len(learners)} learners, {len(exercises)} exercises each (seed {seed})...",
              file=sys.stderr)
        before = file_contents(learners)
        start = time.perf_counter()
        by_key, graded_alone = grade_in_parallel(learners, chosen, options.jobs, device=options.device,
                                                 timeout=options.timeout, seed=seed, memory_mib=options.memory_limit)
        elapsed = time.perf_counter() - start
        for learner in learners:
            for name, why in learner.unresolved.items():
                by_key[learner.name, name] = finder.neither_graded(by_key[learner.name, name], why)
        after = file_contents(learners)
        for learner in learners:
            # Another learner's code could write here (it runs as you): say so rather than trust the grade.
            changed = [path for path in learner.files.values() if after[path] != before[path]]
            if changed:
                learner.notes.append(f"changed while the class was graded: {', '.join(p.name for p in changed)}; grade again")
        write_csv(gradebook_rows(exercises, learners, by_key, graded_alone), out)
    where = output if output else "standard output"
    again = f"; {len(graded_alone)} file(s) that stopped the grader were graded again on their own" if graded_alone else ""
    print(f"gradebook: graded {len(learners)} learners in {elapsed:.1f} s ({elapsed / len(learners):.1f} s per learner)"
          f"{again}; CSV written to {where}", file=sys.stderr)


def merge(argv: list[str]) -> int:
    """``merge SHARD.csv ... [--output FILE]``: one gradebook from the shards' CSVs, learners in order."""
    parser = Parser(prog="python -m grader.gradebook merge", description=(
        "Join the CSVs of a class graded in shards (--shard I/N) into one gradebook."))
    parser.add_argument("shards", nargs="+", metavar="SHARD_CSV", help="the CSV of each shard")
    parser.add_argument("--output", metavar="FILE", help="write the joined CSV to FILE instead of standard output")
    options = parser.parse_intermixed_args(argv)
    header, max_row, rows = None, None, []
    for name in options.shards:
        try:
            with open(name, encoding="utf-8", newline="") as handle:
                table = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from exc
        if len(table) < 2 or table[0][:1] != ["learner"] or table[1][:1] != [MAX_ROW_NAME]:
            raise UsageError(f"{name} is not a gradebook CSV (its first rows must be the header and {MAX_ROW_NAME})")
        if header is not None and (table[0] != header or table[1] != max_row):
            raise UsageError(f"{name} has other columns or maximum points than {options.shards[0]}: merge shards "
                             "graded with the same exercises, suites and device")
        header, max_row = table[0], table[1]
        rows += table[2:]
    names = [row[0] for row in rows]
    if len(set(names)) != len(names):
        raise UsageError("a learner appears in more than one shard: merge the CSVs of one grading, each shard once")
    rows.sort(key=lambda row: (natural_order(row[0].removeprefix("'")), row[0]))
    out = open(options.output, "w", encoding="utf-8", newline="") if options.output else sys.stdout
    try:
        csv.writer(out, lineterminator="\n").writerows([header, max_row, *rows])
    finally:
        if options.output:
            out.close()
    print(f"gradebook: merged {len(rows)} learners from {len(options.shards)} shard(s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Grade the class (or ``merge`` shards); 0 when the gradebook was written, 2 for a usage error."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return run_command("gradebook", lambda: merge(argv[1:]))

    def grade_the_class() -> int:
        # Intermixed: the exercises may come after the options, as with `python -m grader`.
        run(build_parser().parse_intermixed_args(argv))
        return 0

    return run_command("gradebook", grade_the_class, interrupted="interrupted; no gradebook was written")


if __name__ == "__main__":
    sys.exit(main())
