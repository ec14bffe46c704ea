"""Which file of an exercise is graded when a learner has both ``exercise_03_training.py`` and ``.ipynb``.

The contract's rule: the one that differs from the kit's stub is graded; when
both differ, it is a usage error naming the two files (grading one silently
would hide the other's work). A notebook is compared by its code cells only,
so one that was merely opened, run and saved (outputs, execution counts and
metadata change) is still the stub.
"""

from __future__ import annotations

from pathlib import Path

from grader.course import Exercise
from grader.runner import UsageError, display_path


def learner_file(folder: Path, exercise: Exercise) -> Path:
    """The file of ``exercise`` in ``folder`` to grade: the ``.py`` unless the notebook is the one worked on."""
    script, notebook = folder / exercise.filename, folder / exercise.notebook
    if not notebook.is_file():
        return script
    if not script.is_file():
        return notebook
    from grader.reset import load_stubs

    stubs = load_stubs()
    script_changed = differs(script.read_bytes(), stubs.get(exercise.filename), code_only=False)
    notebook_changed = differs(notebook.read_bytes(), stubs.get(exercise.notebook), code_only=True)
    if script_changed and notebook_changed:
        raise UsageError(f"{display_path(script)} and {display_path(notebook)} both differ from the kit's stub, so "
                         "which one to grade is unclear: keep your work in one of them and move the other out of "
                         "the folder")
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
