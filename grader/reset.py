"""``python -m grader exercise_03 --reset``: put an exercise back to its stub (its ``.py`` file, its notebook, or both).

The pristine stubs come from ``grader/stubs.json``, a copy made by
``scripts/freeze_stubs.py`` (its docstring says why the copy exists). The
learner's version is saved in the grader's backup folder first, under a name
that never replaces an earlier backup, so a reset never loses work. A file that
is already the stub, byte for byte, is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from grader import course
from grader.commands import UsageError, named_exercise
from grader.files import display_path, keep_backup, written_whole
from grader.runner import KIT_ROOT

STUBS_FILE = Path(__file__).with_name("stubs.json")
STUBS_FORMAT = 1
NOTHING_TO_DO = "; nothing to do"


def exercises_to_reset(options) -> list[course.Exercise]:
    """The exercises named for ``--reset``, refusing what a reset must never do."""
    if options.solutions:
        raise UsageError("--reset never touches the reference solutions: leave out --solutions "
                         "(or name your own folder with --source)")
    if options.all or not options.exercises:
        # A whole-course reset is too easy to type by accident: every exercise is named on purpose.
        raise UsageError("--reset puts back only the exercises you name: "
                         "python -m grader exercise_03 --reset (several allowed, never --all)")
    chosen = []
    for text in options.exercises:
        exercise = named_exercise(text, "; nothing was reset")
        if exercise not in chosen:
            chosen.append(exercise)
    return chosen


def load_stubs() -> dict[str, str]:
    """``{file name: stub source}`` from ``grader/stubs.json``."""
    try:
        data = json.loads(STUBS_FILE.read_text(encoding="utf-8"))
        if data["format"] != STUBS_FORMAT:
            raise ValueError(f"format {data['format']!r}")
        return data["stubs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the grader's copy of the stubs ({STUBS_FILE}) cannot be read ({exc}): "
                         "reinstall the grader; nothing was reset") from exc


def reset_exercises(exercises: list[course.Exercise], folder: Path) -> Iterator[str]:
    """Reset each exercise's file in ``folder``; yield one line per exercise, as it is done."""
    if folder.resolve() == (KIT_ROOT / "solutions").resolve():
        raise UsageError(f"{folder} holds the reference solutions, which --reset never touches: "
                         "give --source the folder of your own exercises")
    stubs = load_stubs()
    paths = {exercise: files_to_reset(exercise, folder, stubs) for exercise in exercises}
    missing = [path.name for chosen in paths.values() for path in chosen if path.name not in stubs]
    if missing:
        raise UsageError(f"the grader's copy of the stubs has no {', '.join(missing)}: reinstall the grader")
    for exercise in exercises:
        done = [reset_one(exercise, path, stubs[path.name].encode("utf-8")) for path in paths[exercise]]
        # Of a .py file and a notebook, say only what changed: "nothing to do" once, when nothing did.
        yield from [line for line in done if not line.endswith(NOTHING_TO_DO)] or done[:1]


def files_to_reset(exercise: course.Exercise, folder: Path, stubs: dict[str, str]) -> list[Path]:
    """A learner may work in the .py file, the notebook, or both: each that is there is reset (with its backup),
    and a missing .py file is written again unless the notebook holds the learner's work. A missing notebook
    is never made: not every learner wants one."""
    from grader.pick import differs

    script, notebook = folder / exercise.filename, folder / exercise.notebook
    chosen = [path for path in (script, notebook) if path.exists()]
    worked_in_notebook = notebook.exists() and differs(notebook.read_bytes(), stubs.get(notebook.name), code_only=True)
    if not script.exists() and not worked_in_notebook:
        chosen.insert(0, script)
    return chosen


def reset_one(exercise: course.Exercise, path: Path, stub: bytes) -> str:
    """Put ``stub`` in ``path``, keeping what was there first; return what was done, in a sentence."""
    shown = display_path(path)
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise UsageError(f"cannot read {shown} ({exc.strerror}); it was not reset") from exc
    if current == stub:
        return f"{exercise.name}: {shown} is already the stub{NOTHING_TO_DO}"
    saved = None
    if current is not None:
        try:
            saved = keep_backup(current, path.name)
        except OSError as exc:
            raise UsageError(f"cannot keep a backup of {shown} ({exc}); it was not reset") from exc
    try:
        with written_whole(path, "wb") as file:
            file.write(stub)
    except OSError as exc:
        kept = f"; your version is saved as {saved}" if saved else ""
        raise UsageError(f"cannot write {shown} ({exc.strerror}){kept}") from exc
    if saved is None:
        return f"{exercise.name}: {shown} was missing; it is written fresh from the stub"
    return f"{exercise.name}: your version is saved as {saved}; {shown} is the stub again"
