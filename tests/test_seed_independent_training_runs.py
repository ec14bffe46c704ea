"""Exercise 08's fit_plateau and exercise 06's workflow_test_loss: verdicts that no longer depend on the seed.

- fit_plateau: the scripted training losses always improved, so ReduceLROnPlateau stepped with them never moved
  the rate, just as a scheduler never stepped: a file that never stepped it was told, for every seed, that it
  followed the training loss.
- workflow_test_loss: from a start within a step of the line, L1 training can swing back to exactly where it
  began (run seed 3822); a file that reported the test loss before training then passed.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from grader.checking.stopping import (Scripted, expect_plateau_rates, plateau, plateau_mistakes, plateau_plan,
                                      plateau_rates, scripted_loaders)
from grader.checking.values import apart
from grader.checking.workflow_replay import held_out_losses, reference_training, some_line, telling_seed
from grader.plugin import check_seed

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def plateau_history_lr(plan: list[float], training: list[float], mistake: str | None) -> tuple[list[float], float]:
    """history["lr"] of fit_with_validation, done right (None) or with ``mistake``, on the check's scripted model, and
    the rate its optimizer ends with."""
    model = Scripted(plan, training)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler, (train, val), loss_fn, rates = plateau(optimizer), scripted_loaders(), nn.L1Loss(), []
    for _ in plan:
        if mistake != "read after the step":
            rates.append(optimizer.param_groups[0]["lr"])
        train_loss = 0.0
        for X, y in train:
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_loss += loss.item() * len(y) / 3
        with torch.no_grad():
            val_loss = sum(loss_fn(model(X), y).item() * len(y) for X, y in val) / 3
        if mistake != "never stepped":
            scheduler.step(train_loss if mistake == "training loss" else val_loss)
        if mistake == "read after the step":
            rates.append(optimizer.param_groups[0]["lr"])
    return rates, optimizer.param_groups[0]["lr"]


def test_fit_plateau_names_each_scheduler_mistake_whatever_the_seed():
    told = {None: None, "never stepped": "never stepped", "training loss": "followed the training loss",
            "read after the step": "read after the scheduler's step"}
    for run_seed in range(6):
        plan, training = plateau_plan(check_seed(run_seed, "fit_plateau"))
        for mistake, words in told.items():
            try:
                expect_plateau_rates(*plateau_history_lr(plan, training, mistake), plan, training)
                message = None
            except AssertionError as error:
                message = str(error)
            assert (message is None) if words is None else (message is not None and words in message), (
                f"run seed {run_seed}, {mistake or 'done right'}: {message}")


def test_fit_plateau_gives_every_mistake_rates_of_its_own_whatever_the_seed():
    for run_seed in range(300):
        plan, training = plateau_plan(check_seed(run_seed, "fit_plateau"))
        rates = [plateau_rates(plan), *(recorded for recorded, _ in plateau_mistakes(plan, training).values())]
        assert len({tuple(value) for value in rates}) == len(rates), f"run seed {run_seed}: {rates}"


def contract_run(run_seed: int, weight: float, bias: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Where run_workflow(seed=run_seed, epochs=40, lr=0.05) starts and ends: LinearRegressionModel after
    torch.manual_seed draws its weight, then its bias."""
    with torch.random.fork_rng():
        torch.manual_seed(run_seed)
        start = [torch.randn(1), torch.randn(1)]
    return start, [torch.tensor([value]) for value in reference_training(start, weight, bias, 40, 0.05)]


def test_workflow_test_loss_tells_the_loss_before_training_from_the_loss_after():
    for run_seed in (3822, 4960, 5860, 6596, 14475, 14847, 16729, *range(20)):  # the first seven swung back
        seed = check_seed(run_seed, "workflow_test_loss")
        weight, bias = some_line(torch.Generator().manual_seed(seed))
        start, end = contract_run(telling_seed(seed % 10_000, weight, bias, 40, 0.05), weight, bias)
        right, mistaken = held_out_losses(start, end, weight, bias)
        assert abs(right - mistaken["the L1 loss of the model before training"]) > 1e-3, f"run seed {run_seed}"
        assert apart([right, *mistaken.values()], 1e-3), f"run seed {run_seed}: {right}, {mistaken}"
    # Run seed 3822 as the check ran it before: training ended exactly where it started.
    seed = check_seed(3822, "workflow_test_loss")
    start, end = contract_run(seed % 10_000, *some_line(torch.Generator().manual_seed(seed)))
    assert [p.item() for p in start] == [p.item() for p in end]
