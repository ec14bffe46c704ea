"""Which file of an exercise is graded when a learner has both ``exercise_03_training.py`` and ``.ipynb``.

The contract's rule: the one that differs from the kit's stub is graded; when
both differ, it is a usage error naming the two files (grading one silently
would hide the other's work). A notebook is compared by its code cells only,
so one that was merely opened, run and saved (outputs, execution counts and
metadata change) is still the stub. The command line (``learner_file``) and the
course platforms (``grader.platforms.finder``: the gradebook, Gradescope, Classroom) all
choose with ``choose``.
"""

from __future__ import annotations

from pathlib import Path

from grader import wording
from grader.course import Exercise
from grader.commands import UsageError
from grader.files import display_path


class BothChanged(UsageError):
    """Both files differ from the kit's stub; ``script`` and ``notebook`` are the two, for a platform's own words."""

    def __init__(self, script: Path, notebook: Path):
        self.script, self.notebook = script, notebook
        super().__init__(wording.both_changed(display_path(script), display_path(notebook), wording.UNCLEAR_WHICH))


def learner_file(folder: Path, exercise: Exercise) -> Path:
    """The file of ``exercise`` in ``folder`` to grade: the ``.py`` unless the notebook is the one worked on."""
    script, notebook = folder / exercise.filename, folder / exercise.notebook
    return choose(exercise, script if script.is_file() else None, notebook if notebook.is_file() else None) or script


def choose(exercise: Exercise, script: Path | None, notebook: Path | None) -> Path | None:
    """Of an exercise's ``.py`` and notebook (None: not there), the one to grade; BothChanged when both differ."""
    if notebook is None or script is None:
        return notebook or script
    from grader.reset import load_stubs

    stubs = load_stubs()
    script_changed = differs(script.read_bytes(), stubs.get(exercise.filename), code_only=False)
    notebook_changed = differs(notebook.read_bytes(), stubs.get(exercise.notebook), code_only=True)
    if script_changed and notebook_changed:
        raise BothChanged(script, notebook)
    return notebook if notebook_changed else script


def differs(data: bytes, stub: str | None, code_only: bool) -> bool:
    """Whether a learner file differs from the kit's stub (for a notebook: in its code cells)."""
    if stub is None:
        return True
    if data == stub.encode("utf-8"):
        return False
    if not code_only:
        return True
    from grader import notebook

    try:
        mine = [source for _, source in notebook.code_cells(notebook.read(data, "notebook"))]
        kit = [source for _, source in notebook.code_cells(notebook.read(stub.encode("utf-8"), "stub"))]
    except notebook.NotebookUnreadable:
        return True  # graded, so the learner hears why it cannot be read
    return mine != kit
