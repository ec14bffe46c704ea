"""Exercise 08's early stopping: a model whose validation losses follow a plan, the stopping rules, the best epoch."""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.checking.text import fmt, fmt_list, kind_of
from grader.checking.training import count_steps
from grader.checking.validation import learner_history, same_numbers


# -- the scripted model: validation losses that follow a plan --------------------------------------


TRAIN_STEPS_PER_EPOCH = 2  # three training rows in batches of two


class Scripted(nn.Module):
    """A one-weight model whose validation loss in epoch k is ``plan[k - 1]``.

    Training rows are 1s with targets of 1000: with ``nn.L1Loss`` every training
    step's gradient is exactly -1, so ``SGD(lr=1)`` raises the weight by exactly 1 a
    step, and the weights after epoch k are ``w = 2k``. Validation rows are -1s with
    targets 0: for them the model answers the planned loss of the epoch trained so far
    (counted from its training passes), so the validation loss is known in advance.
    With ``train_plan``, every training row of epoch k has the loss ``train_plan[k - 1]``
    (the same gradient, -1 a step): the training loss is known in advance too, however
    the learner's code averages it; without it, training losses are 1000 - w.
    ``load_state_dict`` remembers the weight ``w`` of each state dict it was given.
    """

    def __init__(self, plan: list[float], train_plan: list[float] | None = None):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.plan = list(plan)
        self.train_plan = list(train_plan or [])
        self.training_calls = 0
        self.validation_calls: list[int] = []  # the epoch of each validation forward pass
        self.loaded: list = []  # plain data (a tensor, or None), so that it comes back from the learner's process

    def forward(self, x):
        if bool((x > 0).all()):
            epoch = self.training_calls // TRAIN_STEPS_PER_EPOCH + 1
            self.training_calls += 1
            output = self.w * x
            if epoch <= len(self.train_plan):  # the planned loss as its value, w * x's gradient
                output = output - output.detach() + (1000.0 - self.train_plan[epoch - 1])
            return output
        epoch = self.training_calls // TRAIN_STEPS_PER_EPOCH
        self.validation_calls.append(epoch)
        planned = self.plan[epoch - 1] if 1 <= epoch <= len(self.plan) else 1000.0
        return torch.full_like(x, planned) + 0 * self.w

    def load_state_dict(self, state_dict, *args, **kwargs):
        weight = state_dict.get("w") if hasattr(state_dict, "get") else None
        self.loaded.append(weight.detach().clone() if isinstance(weight, torch.Tensor) else None)
        return super().load_state_dict(state_dict, *args, **kwargs)


def scripted_loaders():
    train = DataLoader(TensorDataset(torch.ones(3, 1), torch.full((3, 1), 1000.0)), batch_size=2)
    val = DataLoader(TensorDataset(-torch.ones(3, 1), torch.zeros(3, 1)), batch_size=2)
    return train, val


class ScriptedRun(NamedTuple):
    """What ``run_scripted`` gives back."""

    model: Scripted
    history: dict
    optimizer: torch.optim.Optimizer  # as the learner's code left it: its state and learning rate come back
    steps: int  # the optimizer's steps, counted by the judge


def run_scripted(learner, plan, epochs, lr_scheduler=None, train_plan=None, **options) -> ScriptedRun:
    """Fit a scripted model (``Scripted(plan, train_plan)``) with SGD(lr=1) and nn.L1Loss."""
    model = Scripted(plan, train_plan)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    if lr_scheduler is not None:
        options["scheduler"] = lr_scheduler(optimizer)
    steps = count_steps(optimizer)
    train, val = scripted_loaders()
    history = learner_history(learner, model, train, val, nn.L1Loss(), optimizer, epochs, **options)
    return ScriptedRun(model, history, optimizer, steps[0])


def epoch_of_weights(model: Scripted) -> float:
    return model.w.item() / TRAIN_STEPS_PER_EPOCH


# -- early stopping, correct and as commonly mistaken: each rule gives the epoch training stops after 


def stopping_epoch(plan: list[float], patience: int, rule: str = "correct") -> int:
    """The epoch training stops after, under the contract's rule or one of ``MISTAKES`` or ``NAN_MISTAKES``.

    The contract: epoch 1 is the first best whatever its loss (NaN too); after it an epoch improves only when its
    loss is strictly lower than the best so far, which a NaN never is, nor any loss once the best is NaN.
    """
    best, previous, waited = math.inf, math.inf, 0
    for epoch, loss in enumerate(plan, start=1):
        if rule == "ties improve":
            improved = loss <= best
        elif rule == "against previous":
            improved = loss < previous
        elif rule == "nan improves":  # `not val_loss >= best_loss`, true for NaN
            improved = epoch == 1 or not loss >= best
        elif rule == "no first best":  # best_loss = inf and `val_loss < best_loss` alone: a NaN epoch 1 is no best
            improved = loss < best
        else:
            improved = epoch == 1 or loss < best
        if improved:
            best = min(best, loss) if rule == "against previous" else loss
            if rule != "never reset":
                waited = 0
        else:
            waited += 1
        previous = loss
        if rule == "one late" and waited > patience:
            return epoch
        if rule == "one early" and waited >= patience - 1 and epoch > 1:
            return epoch
        if rule not in ("one late", "one early") and waited >= patience:
            return epoch
    return len(plan)


MISTAKES = {
    "ties improve": "an epoch whose validation loss only equals the best counted as an improvement: use <, not <=",
    "never reset": "the count of epochs without improvement was not reset to 0 when the loss improved",
    "against previous": "each epoch was compared with the epoch before it, not with the best loss so far",
    "one late": "it waited one epoch too many: stop as soon as the count of epochs without improvement reaches patience",
    "one early": "it stopped one epoch too early: count only the epochs after the best one",
}


def best_epoch(plan: list[float]) -> int:
    """The earliest epoch with the lowest loss (1-based)."""
    return min(range(len(plan)), key=lambda i: (plan[i], i)) + 1


def early_stopping_plan(seed: int) -> tuple[list[float], int]:
    """A plan of validation losses in which the correct rule and every mistaken one stop at different epochs.

    Losses are multiples of 0.25 (exact in float32 and float64, so ties really are ties), and
    the best epoch is never the last one run.
    """
    generator = torch.Generator().manual_seed(seed)
    for _ in range(2000):
        patience = int(torch.randint(2, 4, (1,), generator=generator))
        steps = torch.randint(-3, 3, (12,), generator=generator).tolist()
        plan, value = [], 6.0
        for step in steps:
            value = min(max(value + 0.25 * step, 0.5), 8.0)
            plan.append(value)
        stops = {rule: stopping_epoch(plan, patience, rule) for rule in ["correct", *MISTAKES]}
        if len(set(stops.values())) == len(stops) and stops["correct"] < len(plan):
            return plan, patience
    return [6.0, 5.0, 5.5, 4.0, 4.5, 4.0, 3.75, 4.25, 4.0, 5.0, 4.5, 5.0], 2  # a plan that separates them all


# -- schedulers that halve the rate ----------------------------------------------------------------


def halving(optimizer):
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)


def halvings(optimizer) -> int | None:
    """How many times ``halving`` halved the optimizer's rate of 1 (None: its rate is no power of 1/2)."""
    lr = optimizer.param_groups[0]["lr"]
    if not isinstance(lr, float) or not 0 < lr <= 1:
        return None
    count = round(-math.log2(lr))
    return count if lr == 0.5 ** count else None


def plateau(optimizer):
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)


def plateau_plan(seed: int) -> tuple[list[float], list[float]]:
    """Eight epochs' validation and training losses, steps drawn from ``seed``; ``plateau`` gives each its own rates.

    Validation losses fall for three epochs, stay flat for four (the rate is halved once), then fall again.
    Training losses stay flat while the validation losses fall (the rate is halved at once) and fall from then on.
    So the rates stepped with the validation loss, with the training loss, read after each step, or never
    stepped at all (1 throughout) differ, whatever the draw (``plateau_mistakes``).
    """
    generator = torch.Generator().manual_seed(seed)
    drops = (0.25 * (1 + torch.randint(0, 4, (4,), generator=generator))).tolist()
    plan = [6.0, 6.0 - drops[0], 6.0 - drops[0] - drops[1]]
    plan = plan + [plan[-1]] * 3 + [plan[-1] - drops[2], plan[-1] - drops[2] - drops[3]]
    training = [5.0] * 3
    for drop in (0.25 * (1 + torch.randint(0, 3, (5,), generator=generator))).tolist():
        training.append(training[-1] - drop)
    return plan, training


def plateau_rates(losses: list[float]) -> list[float]:
    """The learning rate of each epoch that ``plateau`` gives from 1, stepped with ``losses``, on a spare optimizer."""
    spare = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    reference, rates = plateau(spare), []
    for loss in losses:
        rates.append(spare.param_groups[0]["lr"])
        reference.step(loss)
    return rates


def plateau_mistakes(plan: list[float], training: list[float]) -> dict[str, tuple[list[float], float]]:
    """What each usual mistake gives with these validation and training losses: the rates ``history["lr"]``
    records, and the rate the optimizer ends with."""
    n = len(plan)
    by_training, by_validation = plateau_rates(training + [0.0]), plateau_rates(plan + [0.0])  # and after the last
    return {
        "the rate never changed, so the scheduler was never stepped: call scheduler.step(val_loss) once per "
        "epoch for ReduceLROnPlateau too": ([1.0] * n, 1.0),
        "the learning rates followed the training loss: ReduceLROnPlateau must be given the validation loss, "
        "scheduler.step(val_loss)": (by_training[:n], by_training[n]),
        "each rate was read after the scheduler's step (the next epoch's rate): record the rate an epoch trains "
        "with, before its training": (by_validation[1:], by_validation[n]),
    }


def expect_plateau_rates(recorded: list[float], ended, plan: list[float], training: list[float]) -> None:
    """Fail unless ``recorded`` (history["lr"]) holds the rates ``plateau`` gives stepped with the validation losses
    ``plan``; name the mistake that gives both those rates and ``ended``, the rate the optimizer ended with
    (``training``: the epochs' training losses)."""
    expected = plateau_rates(plan)
    if same_numbers(recorded, expected):
        return
    told = (f"with validation losses {fmt_list(plan, 8)} and ReduceLROnPlateau(factor=0.5, patience=1) the epochs "
            f"should train with lr {fmt_list(expected, 8)}; history[\"lr\"] was {fmt_list(recorded, 8)}")
    for meaning, (rates, last) in plateau_mistakes(plan, training).items():
        assert not (same_numbers(recorded, rates) and type(ended) is float and ended == last), f"{told}: {meaning}"
    raise AssertionError(told)


# -- the best epoch's weights and checkpoint -------------------------------------------------------


def tied_plan(seed: int) -> tuple[list[float], int]:
    """Six validation losses whose lowest, 4, comes at epoch 2 or 3 and again later (a tie is no new best).

    Returns the plan and its best epoch.
    """
    generator = torch.Generator().manual_seed(seed)
    best = int(torch.randint(2, 4, (1,), generator=generator))
    plan = [5.0 + 0.25 * int(step) for step in torch.randint(1, 8, (6,), generator=generator)]
    plan[best - 1] = 4.0
    plan[int(torch.randint(best + 1, 6, (1,), generator=generator)) - 1] = 4.0  # a tie, later: not a new best
    return plan, best


def expect_best_weights(run: ScriptedRun, ran: list[float], label: str) -> None:
    """Fail unless the scripted model ended with the weights of the best of the epochs that ran (``ran``: their
    planned validation losses), the earliest on a tie; name weights that changed after they were kept."""
    model, last = run.model, len(ran)
    best_expected = best_epoch(ran)
    held = epoch_of_weights(model)
    if held == best_expected:
        return
    losses = fmt_list(ran, 12)
    tied = held in range(1, last + 1) and ran[int(held) - 1] == ran[best_expected - 1]
    live = held == last and model.loaded and model.loaded[-1] is not None and model.loaded[-1].item() == model.w.item()
    # Weights of a last epoch that tied the best, loaded back: a copy kept at a tie, or live tensors kept at the best.
    assert not (tied and live), (
        f"when training {label} (validation losses {losses}), the model ended with the weights of the last "
        f"epoch, {last}, which only tied the best: keep the earliest, epoch {best_expected} (a new best must be "
        "strictly lower); if your code does, the state it kept changed along with the model, because "
        "model.state_dict() holds the live tensors: keep a copy (copy.deepcopy or .clone())")
    assert not live, (
        f"when training {label} (validation losses {losses}), the weights loaded back at "
        f"the end were those of the last epoch, {last}: the saved best state changed along "
        "with the model, because model.state_dict() holds the live tensors; keep a copy "
        "(copy.deepcopy or .clone())")
    assert held != last, (
        f"when training {label} (validation losses {losses}), the model ended with the "
        f"weights of the last epoch, {last}, not of the best one, {best_expected}: load the "
        "best weights back before returning")
    assert not tied, (
        f"when training {label} (validation losses {losses}), the model ended with the "
        f"weights of epoch {int(held)}, which only tied the best; keep the earliest, epoch "
        f"{best_expected} (a new best must be strictly lower)")
    raise AssertionError(f"when training {label} (validation losses {losses}), the model ended with the weights "
                         f"of epoch {fmt(held)}; the best epoch was {best_expected}")


def expect_best_checkpoint(path, plan: list[float], best: int, optimizer) -> None:
    """Fail unless the file at ``path`` loads safely and holds the ``best`` epoch of ``plan`` (a scripted run with
    ``optimizer``): its number, its validation loss (4), the model's weights then and the optimizer's state."""
    try:
        checkpoint = torch.load(path, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to load is the learner's to fix
        raise AssertionError(f"the checkpoint could not be loaded with torch.load(..., weights_only=True): "
                             f"{type(error).__name__}; save a dict of state dicts and plain numbers") from None
    assert isinstance(checkpoint, dict), f"the checkpoint holds {kind_of(checkpoint)}, not a dict"
    keys = ("epoch", "model_state_dict", "optimizer_state_dict", "val_loss")
    missing = [key for key in keys if key not in checkpoint]
    assert not missing, f"the checkpoint has no key {', '.join(map(repr, missing))} (keys: {sorted(map(str, checkpoint))})"
    epoch = checkpoint["epoch"]
    assert type(epoch) is int, f"checkpoint[\"epoch\"] is {kind_of(epoch)}; save the epoch number as an int"
    losses = fmt_list(plan, 8)
    if epoch != best:
        meaning = ("the last epoch: save only when the validation loss is a new best" if epoch == len(plan) else
                   "an epoch that only tied the best: a new best must be strictly lower"
                   if 1 <= epoch <= len(plan) and plan[epoch - 1] == 4.0 else "not the best one")
        raise AssertionError(f"with validation losses {losses} the checkpoint holds epoch {epoch}, {meaning}; "
                             f"expected epoch {best}")
    val_loss = checkpoint["val_loss"]
    assert isinstance(val_loss, numbers.Real) and not isinstance(val_loss, bool), (
        f"checkpoint[\"val_loss\"] is {kind_of(val_loss)}; save it as a Python float")
    assert abs(float(val_loss) - 4.0) < 1e-6, f"checkpoint[\"val_loss\"] is {fmt(val_loss)}; epoch {best}'s was 4"
    state = checkpoint["model_state_dict"]
    assert isinstance(state, dict) and "w" in state, (
        f"checkpoint[\"model_state_dict\"] is {kind_of(state)} without the model's weight \"w\"; "
        "save model.state_dict()")
    held = state["w"].item() / TRAIN_STEPS_PER_EPOCH
    assert held == best, f"the checkpoint's model_state_dict holds the weights of epoch {fmt(held)}, not of epoch {best}"
    saved = checkpoint["optimizer_state_dict"]
    assert isinstance(saved, dict) and set(saved) == set(optimizer.state_dict()), (
        f"checkpoint[\"optimizer_state_dict\"] is not the optimizer's state dict (keys "
        f"{sorted(map(str, saved)) if isinstance(saved, dict) else kind_of(saved)}); save optimizer.state_dict()")


# -- NaN validation losses: a comparison with NaN is false -----------------------------------------


class NanPlan(NamedTuple):
    """A plan of validation losses with a NaN in it, what the contract makes of it, and the mistake it shows."""

    plan: list[float]
    patience: int
    mistake: str  # the rule of ``stopping_epoch`` that runs longer on it than the contract's


def nan_plans(seed: int) -> list[NanPlan]:
    """Two plans in multiples of 0.25, drawn from ``seed``, on which each NaN mistake runs every epoch.

    First a NaN after the best epoch (epoch 2 or 3), within ``patience`` epochs of it; every other later loss is
    higher than the best, so training stops ``patience`` epochs after the best, while a NaN counted as an
    improvement makes NaN the best, which nothing is lower than, so every later epoch improves too. Then a NaN in
    epoch 1 before losses that fall every epoch: epoch 1 stays the best (nothing is lower than NaN), so training
    stops after epoch ``1 + patience``, while a rule that does not make epoch 1 the best improves every epoch after it.
    """
    generator = torch.Generator().manual_seed(seed)

    def draw(low: int, high: int, size: int = 1) -> list[int]:
        return torch.randint(low, high, (size,), generator=generator).tolist()

    patience, best = draw(2, 4)[0], draw(2, 4)[0]
    plan = [6.0]
    for drop in draw(1, 5, best - 1):
        plan.append(plan[-1] - 0.25 * drop)
    plan += [plan[-1] + 0.25 * rise for rise in draw(1, 7, patience + 2)]
    plan[best + draw(1, patience + 1)[0] - 1] = math.nan
    falling = [6.0]
    for drop in draw(1, 4, patience + 1):
        falling.append(falling[-1] - 0.25 * drop)
    return [NanPlan(plan, patience, "nan improves"), NanPlan([math.nan] + falling, patience, "no first best")]


NAN_MISTAKES = {
    "nan improves": "the NaN loss of epoch {nan} counted as an improvement, but a comparison with NaN is false: an "
                    "epoch improves only when val_loss < best_loss (`not val_loss >= best_loss` is true for NaN)",
    "no first best": "epoch 1, with a NaN loss, was not made the first best: epoch 1 always is (`epoch == 1 or "
                     "val_loss < best_loss`, then `best_loss = val_loss`; min() skips a NaN), and no later loss is "
                     "strictly lower than NaN, since a comparison with NaN is false",
}


def expect_nan_stopping(learner, seed: int) -> None:
    """Fail unless early stopping treats NaN validation losses as the contract says (``nan_plans``)."""
    for plan, patience, mistake in nan_plans(seed):
        stop = stopping_epoch(plan, patience)
        ran = len(run_scripted(learner, plan, len(plan), patience=patience).history["epoch"])
        if ran == stop:
            continue
        told = f"training ran {ran} epochs with patience={patience} and validation losses {fmt_list(plan, 12)}"
        nan = next(epoch for epoch, loss in enumerate(plan, start=1) if math.isnan(loss))
        assert ran != stopping_epoch(plan, patience, mistake), (
            f"{told}: {NAN_MISTAKES[mistake].format(nan=nan)}; it should stop after epoch {stop}")
        raise AssertionError(
            f"{told}; it should stop after epoch {stop}: epoch 1 is always the first best, even with a NaN loss, and "
            "a later epoch improves only when its loss is strictly lower than the best so far, which a NaN never "
            "is, nor any loss when the best is NaN (a comparison with NaN is false)")


def expect_bare_checkpoint(learner, plan: list[float], name: str):
    """Fit a scripted model with ``checkpoint_path=name``, a file name without a folder; return its optimizer.

    Fail, saying why, when the learner's code raises an OSError for the empty folder name that
    ``os.path.dirname(name)`` gives (``os.makedirs("")`` raises FileNotFoundError).
    """
    try:
        return run_scripted(learner, plan, len(plan), checkpoint_path=name).optimizer
    except OSError as error:
        raise AssertionError(
            f"with checkpoint_path={name!r} (a file in the working folder) fit_with_validation raised "
            f"{type(error).__name__} ({error}): os.path.dirname gives '' for a bare file name, and os.makedirs('') "
            "raises; create folders only when the path has one, or use "
            "Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True), whose parent is then '.'") from None
