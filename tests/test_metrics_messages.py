"""The metrics checks of exercises 07 and 09 name a mistake by the value it gives: different mistakes must give
different values, and none the right one.

``python -m grader.dev check --seed 8`` found a macro-averaged precision told "which is the recall": with that
seed's problem the two were the same number. Exercise 07's problem gave averaging over the targets' classes and
over the predicted ones the same value for every seed, so both were told the first. The golden tests grade with
one seed, so this looks at many.
"""

from __future__ import annotations

from grader.checking.binary_metrics import metrics_problem, positive_class_mistakes
from grader.checking.classification_metrics import classes_problem


def expect_apart(told: dict[str, float], where: str) -> None:
    values = sorted(told.values())
    closest = min(b - a for a, b in zip(values, values[1:]))
    assert closest > 0.01, f"{where}: two of these are {closest:.4f} apart: {told}"


def test_every_binary_mistake_gives_its_own_value_whatever_the_seed():
    for seed in range(300):
        _, _, expected, negative = metrics_problem(seed)
        for key in ("precision", "recall"):
            expect_apart({**positive_class_mistakes(key, expected, negative), "right": expected[key]},
                         f"exercise 09, seed {seed}, {key}")


def test_every_set_of_classes_averaged_over_gives_its_own_value_whatever_the_seed():
    for seed in range(300):
        _, _, expected, mistaken = classes_problem(seed)
        for key in ("precision", "recall"):
            other = "recall" if key == "precision" else "precision"
            expect_apart({**mistaken[key], "right": expected[key], f"the {other}, swapped": expected[other]},
                         f"exercise 07, seed {seed}, {key}")
