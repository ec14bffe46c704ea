"""Loading a learner's file, and explaining what went wrong in it.

The learner's file is read once, before any of its code runs, and executed from
that snapshot: the file on disk is never imported through the import system (so
no ``__pycache__`` appears next to it), and a file that rewrites or deletes
itself while it is graded changes nothing. Tracebacks still name the learner's
real path, so messages point at the file the learner has open.
"""

from __future__ import annotations

import linecache
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from grader import wording
from grader.results import Status

MESSAGE_LIMIT = 300  # characters; a message is one line a learner reads at a glance
TRACEBACK_FRAMES = 12  # of the learner's frames shown in a traceback (a deep recursion has thousands)


class LearnerFileMissing(Exception):
    """The exercise file is not in the folder being graded."""


class LearnerImportFailed(Exception):
    """The learner's file raised (or ended the program) while it was imported."""


class LearnerHung(BaseException):
    """A learner function that already ran out of time once in this grading did so again, under its short limit.

    A BaseException, like the time limit itself: learner code that catches Exception does not swallow it.
    """


class LearnerEscaped(Exception):
    """Learner code raised something that would otherwise end or skip the check (exit, Ctrl-C, pytest.skip)."""


@dataclass(frozen=True)
class Snapshot:
    """The learner's file as it was when grading began."""

    path: Path
    source: bytes
    """The Python graded: the file itself, or what ``grader.notebook`` took from a notebook's cells."""
    cells: tuple[tuple[int, int], ...] | None = None
    """For a notebook: the (cell, line) of each line of ``source``, so messages point into the notebook."""

    def __post_init__(self):
        # Messages are written from a file name (tracebacks carry nothing else): the map is found by it.
        if self.cells:
            CELL_MAPS[self.filename] = self.cells

    @property
    def filename(self) -> str:
        return str(self.path)


CELL_MAPS: dict[str, tuple[tuple[int, int], ...]] = {}


def snapshot_from(file: str, source: str | None, cells) -> Snapshot | None:
    """The snapshot a grading request carries (``source`` in base64; None: the file is missing)."""
    if source is None:
        return None
    import base64

    return Snapshot(Path(file), base64.b64decode(source), tuple(tuple(where) for where in cells) if cells else None)


def place(filename: str, lineno: int | None) -> str:
    """``exercise_03_training.py, line 17``, or for a notebook ``exercise_03_training.ipynb, cell 4, line 3``."""
    name = Path(filename).name
    cells = CELL_MAPS.get(filename)
    if cells and lineno and 1 <= lineno <= len(cells):
        cell, line = cells[lineno - 1]
        return f"{name}, cell {cell}, line {line}"
    return f"{name}, line {lineno}"


def format_frames(frames: list[traceback.FrameSummary], filename: str) -> str:
    """Like ``traceback.format_list``, but a notebook's frames name the cell and the line within it."""
    if filename not in CELL_MAPS:
        return "".join(traceback.format_list(frames))
    text = []
    for frame in frames:
        cell, line = CELL_MAPS[filename][frame.lineno - 1] if 0 < (frame.lineno or 0) <= len(CELL_MAPS[filename]) else ("?", frame.lineno)
        text.append(f'  File "{Path(frame.filename).name}", cell {cell}, line {line}, in {frame.name}\n')
        if frame.line:
            text.append(f"    {frame.line.strip()}\n")
    return "".join(text)


def take_snapshot(path: Path) -> Snapshot:
    """Read the learner's file once; later changes to it do not affect the grading."""
    return Snapshot(path, path.read_bytes())


def load(snapshot: Snapshot, module_name: str) -> types.ModuleType:
    """Execute the snapshot as a module named ``module_name`` and return it.

    The module is registered in ``sys.modules`` so that pickling its classes
    (``torch.save`` of a whole model, say) works as it would for a real import.
    """
    # utf-8-sig: a file saved with a byte-order mark (some Windows editors) is still plain Python.
    text = snapshot.source.decode("utf-8-sig", errors="replace")
    # Tracebacks read source lines through linecache: serve them from the snapshot.
    lines = text.splitlines(keepends=True)
    linecache.cache[snapshot.filename] = (len(text), None, lines, snapshot.filename)
    module = types.ModuleType(module_name)
    module.__file__ = snapshot.filename
    sys.modules[module_name] = module
    code = compile(text, snapshot.filename, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def remote(exc: BaseException):
    """What the learner process said about ``exc`` when it was raised there (``boundary.values.Raised``), or None."""
    return getattr(exc, "kit_remote", None)


def learner_frames(exc: BaseException, filename: str) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that belong to the learner's file, outermost first."""
    if remote(exc) is not None:
        return [traceback.FrameSummary(filename, int(line), str(name), line=str(text))
                for line, name, text in remote(exc).frames]
    frames = traceback.extract_tb(exc.__traceback__)
    return [frame for frame in frames if frame.filename == filename]


def raised_in_learner_code(exc: BaseException, filename: str) -> bool:
    """Whether the innermost frame of ``exc`` is in the learner's file."""
    if remote(exc) is not None:
        return remote(exc).innermost is True
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename == filename


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` squeezed onto one line of at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_exception(exc: BaseException) -> str:
    """``RuntimeError: the message``, on one line."""
    text = exc.msg if isinstance(exc, SyntaxError) else str(exc)  # a SyntaxError's str repeats file and line
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def format_learner_traceback(exc: BaseException, filename: str) -> str:
    """The learner's own frames of the traceback, without the grader's, as text."""
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        if filename in CELL_MAPS:
            return f'  File "{place(filename, exc.lineno)}"\n{describe_exception(exc)}'
        return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    frames = learner_frames(exc, filename)
    if not frames:
        return ""
    if len(frames) > TRACEBACK_FRAMES:
        # Deep recursion: the first frames say where it began, the last where it ended.
        head, tail = frames[: TRACEBACK_FRAMES // 2], frames[-TRACEBACK_FRAMES // 2:]
        skipped = f"  [… {len(frames) - len(head) - len(tail)} more frames not shown]\n"
        return (format_frames(head, filename) + skipped + format_frames(tail, filename)
                + describe_exception(exc)).rstrip()
    return (format_frames(frames, filename) + describe_exception(exc)).rstrip()


def where(exc: BaseException, filename: str) -> str:
    """``exercise_03_training.py, line 17, in train_step``: the innermost learner frame."""
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return place(filename, exc.lineno)
    frames = learner_frames(exc, filename)
    if not frames:
        return ""
    frame = frames[-1]
    if frame.name == "<module>":
        return place(filename, frame.lineno)
    return f"{place(filename, frame.lineno)}, in {frame.name}"


def explain_import_failure(exc: BaseException, filename: str) -> str:
    """One line that says why the learner's file could not be imported."""
    name = Path(filename).name
    location = where(exc, filename) or name
    if isinstance(exc, SystemExit):
        return wording.import_exited(name, location)
    if isinstance(exc, KeyboardInterrupt):
        return wording.import_interrupted(name, location)
    return wording.import_raised(name, location, describe_exception(exc))


def explain(exc: BaseException, filename: str) -> tuple[Status, str]:
    """The status and the one-line message for an exception raised during a check.

    ``filename`` is the learner's file: frames from it are the learner's code,
    every other frame is the grader's, the suite's or a library's.
    """
    if isinstance(exc, LearnerFileMissing):
        return Status.NOT_STARTED, one_line(str(exc))
    if isinstance(exc, (LearnerImportFailed, LearnerEscaped)):
        return Status.ERROR, one_line(str(exc))
    if isinstance(exc, LearnerHung):
        return Status.TIMEOUT, one_line(str(exc))
    if isinstance(exc, NotImplementedError) and raised_in_learner_code(exc, filename):
        return Status.NOT_STARTED, not_started_message(exc, filename)
    if isinstance(exc, AssertionError) and not learner_frames(exc, filename):
        # The suite's own verdict: its message is written for the learner.
        return Status.FAILED, one_line(str(exc) or wording.CHECK_FAILED)
    location = where(exc, filename)
    if location:
        return Status.ERROR, one_line(f"{location}: {describe_exception(exc)}")
    if isinstance(exc, AttributeError) and remote(exc) is not None and remote(exc).missing_name:
        return Status.ERROR, one_line(wording.missing_name(Path(filename).name, remote(exc).missing_name))
    # Raised outside the learner's frames: usually calling their function with
    # the exercise's arguments failed (wrong signature), or what it returned
    # could not be used.
    return Status.ERROR, one_line(wording.while_checking(describe_exception(exc)))


def learner_function_names(exc: BaseException, filename: str) -> list[str]:
    """The learner's functions on ``exc``'s traceback, outermost first, qualified where Python can
    (``LinearRegressionModel.__init__``, not just ``__init__``)."""
    if remote(exc) is not None:
        return [str(name) for name in remote(exc).names]
    names = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == filename and code.co_name != "<module>":
            names.append(getattr(code, "co_qualname", code.co_name))  # co_qualname: Python 3.11+
        tb = tb.tb_next
    return names


def not_started_message(exc: BaseException, filename: str) -> str:
    """Name the stub that still raises, and the function that led to it."""
    names = learner_function_names(exc, filename)
    stub = names[-1] if names else "a function"
    caller = names[0] if names else stub
    return wording.not_written(stub) if caller == stub else wording.calls_not_written(caller, stub)
