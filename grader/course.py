"""The course table: the one place that lists the exercises.

Everything that needs the list of exercises (the command line, the progress
overview, the kit's own tests) reads it from here; nothing else hard-codes it.
Points are not kept here: they belong to the checks in each suite, so that an
instructor's own suite (``--suites DIR``) can weigh its checks differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a sandbox may import before it grades, beyond torch and pytest (see grader.sandbox.zygote.WARM_UPS):
# matplotlib (0.3 s); what autograd imports the first time it is handed output gradients, as the judge's backward
# pass through a learner's model does (0.2 s); and what building the first optimizer imports (torch._dynamo,
# 0.7 s, which holds the gradients' share too).
WARM_UPS = frozenset({"plotting", "gradients", "training"})


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course, the same number everywhere."""

    number: int
    """Its number: 3 for ``exercise_03_training.py``, ``lessons/03_training.md`` and ``test_03_training.py``."""
    slug: str
    """The topic word used in every file name of the exercise, such as ``training``."""
    title: str
    """The heading shown to learners."""
    step: str
    """Which step of the workflow it teaches, in a few words."""
    warm_up: frozenset[str] = WARM_UPS
    """What the sandbox imports before grading it with the built-in suite. Only speed depends on it: what a
    grading needs and was not imported ahead is imported by the grading itself, in every learner process
    again. Each entry is what grading the reference solution was seen to import (the judge's and the learner
    process's modules, listed after each check): an exercise that neither plots nor trains leaves both out, so
    grading it alone starts a second sooner."""

    @property
    def name(self) -> str:
        """The name used on the command line and in reports: ``exercise_03``."""
        return f"exercise_{self.number:02d}"

    @property
    def filename(self) -> str:
        """The learner's file: ``exercise_03_training.py``."""
        return f"{self.name}_{self.slug}.py"

    @property
    def notebook(self) -> str:
        """The same exercise written as a notebook: ``exercise_03_training.ipynb`` (see ``grader.pick``)."""
        return f"{self.name}_{self.slug}.ipynb"

    @property
    def lesson(self) -> str:
        """The lesson, relative to the kit: ``lessons/03_training.md``."""
        return f"lessons/{self.number:02d}_{self.slug}.md"

    @property
    def suite_filename(self) -> str:
        """The hidden suite's file name: ``test_03_training.py``."""
        return f"test_{self.number:02d}_{self.slug}.py"


EXERCISES: tuple[Exercise, ...] = (
    Exercise(0, "tensors", "Tensors and autograd", "warm-up: tensors, gradients and autograd", frozenset()),
    Exercise(1, "data", "Data preparation", "step 1: make and split the data", frozenset({"plotting"})),
    Exercise(2, "models", "Building models", "step 2: build a model", frozenset({"gradients"})),
    Exercise(3, "training", "Training", "step 3: the training loop", frozenset({"plotting", "training"})),
    Exercise(4, "evaluation", "Evaluation and inference", "step 4: evaluate and predict", frozenset()),
    Exercise(5, "persistence", "Saving and loading", "steps 5 and 6: save, load, resume",
             frozenset({"training"})),
    Exercise(6, "workflow", "The whole workflow", "all six steps, on any device", frozenset({"training"})),
    Exercise(7, "classification", "Classification with DataLoaders", "beyond regression: batches and classes",
             frozenset({"training"})),
    Exercise(8, "optimization", "Training well", "optimizers, schedules, validation and early stopping",
             frozenset({"training"})),
    Exercise(9, "binary", "Binary classification", "two classes: one logit, a threshold, precision and recall",
             frozenset({"training"})),
    Exercise(10, "inspection", "Looking inside a model", "beyond: image inputs, skip connections, hooks and summaries",
             frozenset({"training"})),
)


def find_exercise(text: str) -> Exercise | None:
    """The exercise meant by ``exercise_03``, ``exercise_03_training(.py|.ipynb)``, ``03`` or ``3``; None if none."""
    match = re.fullmatch(r"(?:exercise_)?0*(\d+)(?:_[a-z0-9_]+)?(?:\.py|\.ipynb)?", text.strip().lower())
    if match is None:
        return None
    number = int(match.group(1))
    return next((exercise for exercise in EXERCISES if exercise.number == number), None)
