"""Checks whose verdict or message could depend on the seed draw their data so that they do not.

The golden tests grade with one seed; ``python -m grader.dev check`` takes a fresh one each run, and found these:

- the metrics checks of exercises 07 and 09 name a mistake by the value it gives, so different mistakes must
  give different values, and none the right one. With seed 8 a macro-averaged precision equalled the recall and
  was told as the recall; exercise 07's problem gave averaging over the targets' classes and over the predicted
  ones the same value for every seed, so both were told as the first.
- exercise 03's ``fit_converges``: training whose gradients are never zeroed swings round the line, and for about
  one draw in 16 ended near it, so the mistake passed with seed 610.
- exercise 03's ``fit_losses`` named piled-up gradients when one recorded loss came within the check's tolerance
  of theirs: with seed 514229 recording the loss after the update did.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from grader.checking.binary_metrics import metrics_problem, positive_class_mistakes
from grader.checking.classification_metrics import classes_problem
from grader.checking.fitting import Probe, converging_problem, fit_problem, piled_up_end, reference_fit, same_run
from grader.plugin import check_seed


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


def test_fit_losses_names_piled_up_gradients_only_for_their_whole_run():
    model, train, test = fit_problem(check_seed(514229, "fit_losses"))  # the check's own seed in that run
    loss_fn = nn.MSELoss()
    right, _ = reference_fit(model, train, test, loss_fn, 0.05, epochs=9, eval_every=3)
    piled_up, _ = reference_fit(model, train, test, loss_fn, 0.05, epochs=9, eval_every=3, zero_grad=False)
    twin = copy.deepcopy(model)  # the loss recorded after each update instead
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.05)
    after_update = []
    for epoch in range(1, 10):
        optimizer.zero_grad()
        loss_fn(twin(train[0]), train[1]).backward()
        optimizer.step()
        if epoch % 3 == 0:
            after_update.append(loss_fn(twin(train[0]), train[1]).item())
    near = [abs(a - p) <= 1e-4 * max(1.0, abs(p)) for a, p in zip(after_update, piled_up["train_loss"])]
    assert any(near), "this seed no longer shows the hazard: one value within the check's tolerance"
    assert not same_run(after_update, piled_up["train_loss"])
    assert same_run(piled_up["train_loss"], piled_up["train_loss"]) and not same_run(right["train_loss"], piled_up["train_loss"])
