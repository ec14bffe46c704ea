"""Checks whose verdict or message could depend on the seed draw their data so that they do not.

The golden tests grade with one seed; ``python -m grader.dev check`` takes a fresh one each run, and found these:

- the metrics checks of exercises 07 and 09 name a mistake by the value it gives, so different mistakes must
  give different values, and none the right one. With seed 8 a macro-averaged precision equalled the recall and
  was told as the recall; exercise 07's problem gave averaging over the targets' classes and over the predicted
  ones the same value for every seed, so both were told as the first.
- exercise 03's ``fit_converges``: training whose gradients are never zeroed swings round the line, and for about
  one draw in 16 ended near it, so the mistake passed with seed 610.
"""

from __future__ import annotations

import torch
from torch import nn

from grader.checking.binary_metrics import metrics_problem, positive_class_mistakes
from grader.checking.classification_metrics import classes_problem
from grader.checking.fitting import Probe, converging_problem, piled_up_end, reference_fit


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
    for seed in range(100):
        _, _, expected, mistaken = classes_problem(seed)
        for key in ("precision", "recall"):
            other = "recall" if key == "precision" else "precision"
            expect_apart({**mistaken[key], "right": expected[key], f"the {other}, swapped": expected[other]},
                         f"exercise 07, seed {seed}, {key}")


def test_fit_converges_draws_a_line_that_piled_up_gradients_miss_and_right_training_reaches():
    for seed in (0, 10):  # seeds whose first line the piled-up training ended within 0.01 of
        torch.manual_seed(seed)
        model = Probe()
        start = (model.linear.weight.item(), model.linear.bias.item())
        weight, bias, X, y = converging_problem(seed, start, 0.1, 300)
        train, test = (X[:48], y[:48]), (X[48:], y[48:])
        _, piled_up = reference_fit(model, train, test, nn.MSELoss(), 0.1, 300, zero_grad=False)
        assert [round(p.item(), 4) for p in piled_up] == [round(v, 4) for v in piled_up_end(start, *train, 0.1, 300)]
        assert max(abs(piled_up[0].item() - weight), abs(piled_up[1].item() - bias)) > 0.05
        _, right = reference_fit(model, train, test, nn.MSELoss(), 0.1, 300)
        assert max(abs(right[0].item() - weight), abs(right[1].item() - bias)) < 0.01
