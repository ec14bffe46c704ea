"""Exercise 09's metrics checks name a mistake by the value it gives: the values of different mistakes must differ.

``python -m grader.dev check --seed 8`` found a macro-averaged precision told "which is the recall": with that
seed's problem the two were the same number. The golden tests grade with one seed, so this looks at many.
"""

from __future__ import annotations

from grader.checking.binary_metrics import metrics_problem, positive_class_mistakes


def test_every_mistake_gives_its_own_value_whatever_the_seed():
    for seed in range(300):
        _, _, expected, negative = metrics_problem(seed)
        for key in ("precision", "recall"):
            told = {**positive_class_mistakes(key, expected, negative), "right": expected[key]}
            values = sorted(told.values())
            closest = min(b - a for a, b in zip(values, values[1:]))
            assert closest > 0.02, f"seed {seed}, {key}: two of these are {closest:.4f} apart: {told}"
