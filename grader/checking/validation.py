"""Exercise 08's fit_with_validation: a probe that records each forward pass, and what its records must show."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.checking.optimizers import any_differs, differs
from grader.checking.text import fmt, fmt_list, kind_of
from grader.checking.training import count_steps
from grader.checking.values import expect_float


# -- probes and problems ---------------------------------------------------------------------------


class Probe(nn.Module):
    """A small regression network that remembers each forward pass.

    The learner's code runs in its own process, so the probe does its remembering
    there and keeps it as plain data, which comes back with the model after the call:
    ``records`` holds one tuple per forward pass (the fields are ``FIELDS``: the mode,
    whether gradients were tracked, the input and the output, the parameters, and
    how many optimizer and scheduler steps had run), ``steps`` one (lr, scheduler
    steps) per optimizer step. ``watch`` gives it the optimizer and scheduler to count;
    they travel with the call's other arguments, so they are the very objects the
    learner's code steps, and at its first forward pass the probe hooks them there.
    """

    FIELDS = ("training", "grad", "x", "output", "params", "optimizer_steps", "scheduler_steps")

    def __init__(self, hidden: int = 8):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.records: list[tuple] = []
        self.steps: list[tuple[float, int]] = []
        self.scheduler_start = 0  # the scheduler's count (last_epoch) before training
        self.scheduler_steps = 0  # its steps since then, as last seen
        self._watched = (None, None)  # (optimizer, scheduler)
        self._hooked = False

    def watch(self, optimizer, scheduler=None) -> None:
        self._watched = (optimizer, scheduler)
        self.scheduler_start = scheduler.last_epoch if scheduler is not None else 0

    def forward(self, x):
        if not self._hooked:
            self.hook()
        output = self.layers(x)
        params = [p.detach().cpu().clone() for p in self.layers.parameters()]
        self.records.append((self.training, torch.is_grad_enabled(), x.detach().cpu().clone(),
                             output.detach().cpu().clone(), params, len(self.steps), self.count_scheduler_steps()))
        return output

    # What follows runs in the learner's process, where hooks on the learner's optimizer see its steps.

    def hook(self) -> None:
        optimizer, scheduler = self._watched
        if optimizer is not None:
            optimizer.register_step_pre_hook(self.before_step)
        if scheduler is not None:  # its last step comes after the last forward pass: count it as it happens
            scheduler.step = self.scheduler_step
        self._hooked = True

    def before_step(self, optimizer, args, kwargs) -> None:
        self.steps.append((float(optimizer.param_groups[0]["lr"]), self.count_scheduler_steps()))

    def scheduler_step(self, *args, **kwargs):
        _, scheduler = self._watched
        with warnings.catch_warnings():
            # Pickling left out the wrapper the scheduler had put on optimizer.step (an attribute of the optimizer
            # object), so PyTorch would blame the learner's code for replacing optimizer.step: it did not.
            warnings.filterwarnings("ignore", message="Seems like `optimizer.step\\(\\)` has been overridden")
            result = type(scheduler).step(scheduler, *args, **kwargs)
        self.count_scheduler_steps()
        return result

    def count_scheduler_steps(self) -> int:
        _, scheduler = self._watched
        if scheduler is not None:
            self.scheduler_steps = scheduler.last_epoch - self.scheduler_start
        return self.scheduler_steps

    @property
    def calls(self) -> list[dict]:
        """The records, each as a dict of ``FIELDS``."""
        return [dict(zip(self.FIELDS, record)) for record in self.records
                if type(record) is tuple and len(record) == len(self.FIELDS)]


def regression_problem(seed: int):
    """Unshuffled loaders whose smaller last batches have a much larger loss, and a probe model.

    19 training rows in batches of 8 (8, 8, 3) and 9 validation rows in batches of 4
    (4, 4, 1); the rows of each last batch are moved far off the line, so means of the
    batch means and means per sample differ clearly.
    """
    generator = torch.Generator().manual_seed(seed)

    def rows(n: int, hard: int):
        X = torch.rand(n, 1, generator=generator) * 2 - 1
        y = 2 * X + 0.1 * torch.randn(n, 1, generator=generator)
        y[n - hard:] += 3.0
        return X, y

    train = DataLoader(TensorDataset(*rows(19, 3)), batch_size=8, shuffle=False)
    val = DataLoader(TensorDataset(*rows(9, 1)), batch_size=4, shuffle=False)
    torch.manual_seed(seed)
    return Probe(), train, val


def watch_steps(optimizer, model: Probe, scheduler=None) -> list[int]:
    """Have the probe record the optimizer's steps (and the scheduler's) where the learner's code takes them.

    Returns the judge's own count of the optimizer's steps (``count_steps``), to check the probe's against.
    """
    model.watch(optimizer, scheduler)
    return count_steps(optimizer)


def learner_history(learner, model, train, val, loss_fn, optimizer, epochs, **options) -> dict:
    """Run ``fit_with_validation`` and check the shape of what it returns: the contract's four lists."""
    history = learner.fit_with_validation(model, train, val, loss_fn, optimizer, epochs, **options)
    assert isinstance(history, dict), f"fit_with_validation returned {kind_of(history)}, not a dict of lists"
    keys = ("epoch", "train_loss", "val_loss", "lr")
    missing = [key for key in keys if key not in history]
    assert not missing, f"the history has no key {', '.join(map(repr, missing))} (keys found: {sorted(map(str, history))})"
    for key in keys:
        assert isinstance(history[key], list), f"history[{key!r}] is {kind_of(history[key])}, not a list"
    lengths = {key: len(history[key]) for key in keys}
    assert len(set(lengths.values())) == 1, f"the history's lists have different lengths: {lengths}"
    return history


# -- the probe's records, checked against what the judge sees --------------------------------------


# The records are written in the learner's process, where the learner's code could rewrite them.
# So each record must agree with the probe's own layers, and every verdict that rests on them also
# checks them against what the judge sees itself: the optimizer's steps, and the model's weights.
RECORDS_CHANGED = "the probe model's records do not match {}: leave the model's attributes alone"


def confirmed(model: Probe, call: dict) -> bool:
    """Whether the probe's layers, with the recorded parameters, turn the recorded input into the recorded output."""
    names = [name for name, _ in model.layers.named_parameters()]
    params, x, output = call["params"], call["x"], call["output"]
    if not (isinstance(params, list) and len(params) == len(names)
            and all(type(value) is torch.Tensor for value in [*params, x, output])):
        return False
    try:
        with torch.no_grad():
            again = torch.func.functional_call(model.layers, dict(zip(names, params)), (x,))
    except (RuntimeError, TypeError, ValueError):
        return False
    return not differs(output, again, tolerance=1e-4)


def sort_calls(model: Probe, train_loader, val_loader):
    """Split the recorded forward passes into epochs of training calls and validation passes.

    Only the records the probe's layers confirm count. Each call is matched by its input to a
    batch of one of the loaders; a call with the first batch of a loader starts a new pass over
    it. A validation pass may also be one call over all of the loader's batches at once
    (``torch.cat`` of them, or the dataset's tensors): its mean per sample is the same. Training
    takes a step per batch, so its calls are batches. Returns (training passes, validation
    passes), each a list of lists of (call, targets).
    """
    kinds = (("train", list(train_loader)), ("val", list(val_loader)))
    val_batches = kinds[1][1]
    whole_val = (torch.cat([X for X, _ in val_batches]), torch.cat([y for _, y in val_batches]))
    passes: dict[str, list] = {"train": [], "val": []}
    for call in model.calls:
        if not confirmed(model, call):
            continue
        for kind, batches in kinds:
            index = next((i for i, (X, _) in enumerate(batches) if same_input(X, call)), None)
            if index is not None:
                if index == 0 or not passes[kind]:
                    passes[kind].append([])
                passes[kind][-1].append((call, batches[index][1]))
                break
        else:
            if same_input(whole_val[0], call):
                passes["val"].append([(call, whole_val[1])])
    return passes["train"], passes["val"]


def same_input(X: torch.Tensor, call: dict) -> bool:
    return X.shape == call["x"].shape and torch.equal(X, call["x"])


def expect_steps_recorded(model: Probe, taken: list[int]) -> list[dict]:
    """The probe's records of the optimizer's steps, once they agree with the judge's count of those steps."""
    steps = [{"lr": lr, "scheduler_steps": count} for lr, count in model.steps]
    assert len(steps) == taken[0], RECORDS_CHANGED.format(f"the optimizer's {taken[0]} steps ({len(steps)} recorded)")
    return steps


def expect_weights_validated(model: Probe, validation: list) -> None:
    """The model ends training with the weights of one of its recorded validation passes.

    Whatever else the code does, nothing trains after validation: the weights it returns with are those of the
    best epoch (or of the last) as they were validated. This ties the records to the model the judge holds.
    """
    final = [parameter.detach().cpu() for parameter in model.layers.parameters()]
    assert any(not any_differs(final, one_pass[0][0]["params"]) for one_pass in validation), (
        "the model ended with weights that none of its recorded validation passes had: return with the weights "
        "of an epoch as they were validated (and leave the model's attributes alone)")


def per_sample_mean(one_pass) -> float:
    return sum(F.mse_loss(call["output"], y).item() * len(y) for call, y in one_pass) / sum(len(y) for _, y in one_pass)


def mean_of_batch_means(one_pass) -> float:
    return sum(F.mse_loss(call["output"], y).item() for call, y in one_pass) / len(one_pass)


def expect_per_sample_means(history: dict, training: list, validation: list) -> None:
    """Fail unless the history's losses of epochs 1 and 2 are the means per sample of those epochs' recorded
    training and validation passes (``sort_calls``); name the mean of the batch means."""
    sizes = {"train_loss": [len(y) for _, y in training[0]], "val_loss": [len(y) for _, y in validation[0]]}
    for key, passes in (("train_loss", training), ("val_loss", validation)):
        which = "training" if key == "train_loss" else "validation"
        for epoch in (1, 2):
            value = expect_float(history[key][epoch - 1], f"history[{key!r}][{epoch - 1}]")
            expected = per_sample_mean(passes[epoch - 1])
            if abs(value - expected) <= 1e-4 * max(1.0, abs(expected)):
                continue
            batch_means = mean_of_batch_means(passes[epoch - 1])
            assert not (abs(value - batch_means) <= 1e-4 * max(1.0, abs(batch_means))), (
                f"the {which} loss of epoch {epoch} was {fmt(value)}, the mean of the batch means, which counts "
                f"the last batch of {sizes[key][-1]} as much as a full one of {sizes[key][0]}; expected the mean "
                f"per sample, {fmt(expected)}")
            raise AssertionError(f"the {which} loss of epoch {epoch} was {fmt(value)}; the mean per sample of the "
                                 f"losses of that epoch's {which} batches (sizes {sizes[key]}) is {fmt(expected)}")


def expect_trained_in_training_mode(training: list) -> None:
    """Fail unless every recorded training pass (``sort_calls``) ran in training mode with gradients tracked."""
    for epoch, one_pass in enumerate(training, start=1):
        for call, _ in one_pass:
            assert call["training"], (f"the model was in evaluation mode while it trained in epoch {epoch}: call "
                                      "model.train() at the start of every epoch's training (validation switched it off)")
            assert call["grad"], f"gradient tracking was off while the model trained in epoch {epoch}"


def expect_validated_in_eval_mode(validation: list, training: list) -> None:
    """Fail unless every recorded validation pass ran in evaluation mode without gradients, and nothing moved the
    parameters during it or between it and the next epoch's first training batch."""
    for epoch, one_pass in enumerate(validation, start=1):
        for call, _ in one_pass:
            assert not call["training"], (f"the model was in training mode during validation in epoch {epoch}: call "
                                          "model.eval() before the validation loop (dropout and batch norm behave "
                                          "differently in training mode)")
            assert not call["grad"], (f"gradients were tracked during validation in epoch {epoch}: wrap the "
                                      "validation loop in torch.no_grad() or torch.inference_mode()")
        first = one_pass[0][0]
        later = [call for call, _ in one_pass[1:]]
        following = next((calls[0][0] for calls in training[epoch:epoch + 1]), None)
        for call in later + ([following] if following is not None else []):
            assert call["optimizer_steps"] == first["optimizer_steps"] and not any_differs(call["params"], first["params"]), (
                f"the parameters changed during or right after validation in epoch {epoch}: "
                "validation must only measure (no backward, no optimizer step)")


def expect_validated_as_twin(twin: Probe, train, validation: list, epochs: int):
    """Train ``twin`` as the check's run should train (SGD, lr=0.05, momentum=0.5, one step per batch of ``train``),
    and fail unless each epoch's recorded validation came after its steps, with the twin's weights then.

    Returns the twin's optimizer and its weights after each epoch.
    """
    n_batches = len(train)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.5)
    twin_weights = []  # after each epoch
    for epoch in range(1, epochs + 1):
        twin.train()
        for X, y in train:
            loss = F.mse_loss(twin.layers(X), y)
            twin_optimizer.zero_grad()
            loss.backward()
            twin_optimizer.step()
        assert len(validation) >= epoch, f"there was no validation pass after epoch {epoch}"
        seen = validation[epoch - 1][0][0]
        assert seen["optimizer_steps"] == epoch * n_batches, (
            f"validation in epoch {epoch} came after {seen['optimizer_steps']} optimizer steps; "
            f"expected {epoch * n_batches}: train on every batch first, then validate")
        expected = [p.detach().clone() for p in twin.layers.parameters()]
        twin_weights.append(expected)
        assert not any_differs(seen["params"], expected), (
            f"after epoch {epoch} the parameters differ from one SGD step per batch with that "
            "batch's gradients (were the gradients zeroed before each backward()?)")
    return twin_optimizer, twin_weights


def expect_ended_as_twin(model: Probe, optimizer, twin: Probe, twin_optimizer, twin_weights: list) -> None:
    """Fail unless the momentum ``optimizer`` ended with is the twin's, and ``model`` ended with an epoch's weights."""
    velocities = [optimizer.state[p].get("momentum_buffer") for p in model.layers.parameters()]
    expected = [twin_optimizer.state[p]["momentum_buffer"] for p in twin.layers.parameters()]
    assert all(type(v) is torch.Tensor for v in velocities) and not any_differs(velocities, expected), \
        RECORDS_CHANGED.format("the momentum the optimizer ended with")
    final = [p.detach().cpu() for p in model.layers.parameters()]
    assert any(not any_differs(final, weights) for weights in twin_weights), \
        RECORDS_CHANGED.format("the weights the model ended with")


# -- schedulers ------------------------------------------------------------------------------------


def same_numbers(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(a, b))


def step_lr(optimizer):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)


def expect_scheduler_after_steps(model: Probe, optimizer, scheduler, taken: list[int], lr: float, epochs: int,
                                 n_batches: int, expected: list[float]) -> None:
    """Fail unless ``scheduler`` (``step_lr``) stepped once per epoch, after that epoch's optimizer steps, each of
    which trained with the rate in ``expected``; its count is checked against the rate the optimizer ended with."""
    # The scheduler's steps in all, from the scheduler the judge lent (the probe's own count is as of the last
    # forward pass, and a step after it goes uncounted there when the learner's code took scheduler.step before
    # the probe could watch it); the rate the optimizer ended with must be what that many steps give.
    scheduler_steps, ended_with = scheduler.last_epoch - model.scheduler_start, optimizer.param_groups[0]["lr"]
    assert type(scheduler_steps) is int and abs(ended_with - lr * 0.5 ** (scheduler_steps // 2)) <= 1e-12, \
        RECORDS_CHANGED.format(f"the learning rate the optimizer ended with, {fmt(ended_with)}")
    assert scheduler_steps != epochs * n_batches, (
        f"scheduler.step() ran {scheduler_steps} times in {epochs} epochs of {n_batches} "
        "batches, once per batch; step it once per epoch, after the loop over the batches")
    assert scheduler_steps == epochs, f"scheduler.step() ran {scheduler_steps} times in {epochs} epochs; once per epoch"
    steps = expect_steps_recorded(model, taken)
    assert len(steps) == epochs * n_batches, f"optimizer.step() ran {len(steps)} times; expected {epochs * n_batches}"
    for epoch in range(1, epochs + 1):
        during = steps[(epoch - 1) * n_batches:epoch * n_batches]
        assert not any(step["scheduler_steps"] != epoch - 1 for step in during), (
            f"in epoch {epoch} the optimizer stepped after {during[0]['scheduler_steps']} "
            f"scheduler steps, not {epoch - 1}: scheduler.step() ran before that epoch's optimizer "
            "steps (PyTorch warns about this order); call it after them, at the end of the epoch")
        used = during[0]["lr"]
        assert not (abs(used - expected[epoch - 1]) > 1e-9), (
            f"epoch {epoch} trained with lr {fmt(used)}; StepLR(step_size=2, gamma=0.5) from "
            f"{fmt(lr)} gives {fmt_list(expected)}")


def expect_lr_recorded(history: dict, expected: list[float]) -> None:
    """Fail unless ``history["lr"]`` holds the rates the epochs trained with; name the rates read a step late."""
    recorded = [float(value) for value in history["lr"]]
    if not same_numbers(recorded, expected):
        assert not same_numbers(recorded[:-1], expected[1:]), (
            f"history[\"lr\"] is {fmt_list(recorded)}, each read after the scheduler's step; "
            f"record the rate the epoch trained with, read before its training: {fmt_list(expected)}")
        raise AssertionError(f"history[\"lr\"] is {fmt_list(recorded)}; the epochs trained with {fmt_list(expected)}")
