"""Learners' files in a folder tree: one finder for the gradebook and the Gradescope runner, their rules as parameters.

Both walk a learner's folder (or upload) without following links, skip the
folders their platform ignores (``skip_folder``), and for each exercise take,
of the copies of ``exercise_03_training.py`` and of ``exercise_03_training.ipynb``,
the first in their platform's order (``order``: the shallowest first, then
their own tie-breaks). Between that ``.py`` file and that notebook,
``grader.pick.choose`` decides as ``python -m grader`` does: the one that
differs from the kit's stub, and when both differ, neither (``Found.both_changed``),
for the platform to say so in its own words.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import Exercise
from grader.pick import BothChanged, choose
from grader.results import ExerciseResult, Status


def walk(root: Path, skip_folder: Callable[[str], bool]) -> Iterator[Path]:
    """Every file name under ``root`` (links included, never followed into), in sorted order, folder by folder."""
    for folder, subfolders, names in os.walk(root):  # os.walk does not descend into linked folders
        subfolders[:] = sorted(name for name in subfolders if not skip_folder(name))
        for name in sorted(names):
            yield Path(folder, name)


@dataclass
class Found:
    """What was found for one exercise."""

    file: Path | None = None
    """The file to grade; None when there is none, or when both kinds were changed."""
    left_out: list[Path] = field(default_factory=list)
    """Copies not graded: deeper copies of the graded kind, and the other kind when it is still the kit's stub."""
    both_changed: tuple[Path, Path] | None = None
    """The ``.py`` file and the notebook, when both differ from the stub (the contract's usage error)."""


def choose_file(exercise: Exercise, found: dict[str, list[Path]], order: Callable[[Path], tuple]) -> Found:
    """The file to grade for ``exercise`` among ``found`` (file name -> paths), each kind's copies sorted by ``order``."""
    scripts = sorted(found.get(exercise.filename, []), key=order)
    notebooks = sorted(found.get(exercise.notebook, []), key=order)
    script, notebook = scripts[0] if scripts else None, notebooks[0] if notebooks else None
    try:
        chosen = choose(exercise, script, notebook)
    except BothChanged as both:
        return Found(None, [], (both.script, both.notebook))
    if chosen is None:
        return Found()
    same_kind = scripts if chosen == script else notebooks
    other = notebook if chosen == script else script
    return Found(chosen, same_kind[1:] + ([other] if other is not None else []))


def neither_graded(result: ExerciseResult, why: str) -> ExerciseResult:
    """``result`` (of an absent file: every check not started) as an exercise that was not graded, saying why.

    For ``Found.both_changed``: each check is an error worth 0, not "not
    started", since the learner did work on it.
    """
    checks = [check if check.status is Status.SKIPPED else
              dataclasses.replace(check, status=Status.ERROR, message=why, hints=[]) for check in result.checks]
    return dataclasses.replace(result, checks=checks, problem=why, missing=False)
