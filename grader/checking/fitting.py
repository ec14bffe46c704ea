"""Exercise 03's suite (train_step, test_step, fit): its probe models, and the training it replays here."""

from __future__ import annotations

import copy

import torch
from torch import nn

from grader.checking.probes import STATES
from grader.checking.training import largest_difference, parameters_of, steps_note
from grader.checking.text import fmt, kind_of


class Probe(nn.Module):
    """A linear model: the model every check of the update and of ``fit`` trains."""

    def __init__(self, in_features: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x)


# The mode checks' probe shows the state of its forward pass in its output. Learner code runs in its own
# process, so the probe's record of its forward passes (``seen``) is a report that code can rewrite: it only
# names the mistake. Each verdict needs the outcome too: the loss returned, and which layer the step trained.
GRAD_SHIFT = 10.0  # added to the output when gradients are tracked
EVAL_OFFSET = -30.0  # the evaluation-mode layer's bias, against the training-mode layer's


class ModeProbe(nn.Module):
    """A linear model whose output tells the mode and the gradient tracking of its forward pass.

    In training mode it uses ``train_linear``, in evaluation mode ``eval_linear`` (the same weight, a bias
    30 lower); with gradient tracking on, 10 is added. With the data of ``random_problem`` every residual is
    under 4.3 in size, so the loss of each of the four states lies in a range of its own: the loss a learner's
    function returns tells the state its forward pass ran in, and in ``train_step`` only the layer of the mode
    used gets gradients and moves. It also remembers each forward pass's state (``seen``), to name a mistake.
    """

    def __init__(self, in_features: int = 1):
        super().__init__()
        self.train_linear = nn.Linear(in_features, 1)
        self.eval_linear = nn.Linear(in_features, 1)
        with torch.no_grad():
            self.eval_linear.weight.copy_(self.train_linear.weight)
            self.eval_linear.bias.copy_(self.train_linear.bias + EVAL_OFFSET)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return output_in(self, x, self.training, torch.is_grad_enabled())


def output_in(probe: ModeProbe, x, training: bool, grad_enabled: bool):
    """What ``probe`` outputs for ``x`` in the state ``(training, grad_enabled)``.

    The other mode's layer joins with a weight of 0, so that every parameter is in the graph, as in any model of
    the course: ``torch.autograd.grad(loss, list(model.parameters()))`` (lesson 00's way) raised on a parameter
    the forward pass did not use. That layer's gradient is 0, so a step does not move it.
    """
    used, other = (probe.train_linear, probe.eval_linear) if training else (probe.eval_linear, probe.train_linear)
    output = used(x) + 0 * other(x)
    return output + GRAD_SHIFT if grad_enabled else output


class LinearRegressionModel(nn.Module):
    """The contract's model from exercise 02, for the reference figures."""

    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x):
        return self.weights * x + self.bias


FAR_FROM_THE_LINE = 0.1  # the least mean squared gap between the model's start and the line: 40 times the noise's


def random_problem(seed: int, n: int = 40, probe: type[nn.Module] = Probe):
    """A probe model with seeded weights and a noisy linear batch it can learn, from a start far from the line.

    The line is drawn again until the model's start is ``FAR_FROM_THE_LINE`` from it: a model that starts near
    it (about one draw in 12) barely moves its loss in a step, and then a loss recorded after the update, or a
    test loss from before the epoch, came within a check's tolerance of the right one (seeds 302 and 1164 of
    ``fit_losses``).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = probe()
    start = next(module for module in model.modules() if isinstance(module, nn.Linear))  # the training layer
    X = torch.rand(n, 1, generator=generator) * 2 - 1
    while True:
        weight, bias = torch.rand(2, generator=generator) * 2 - 1
        with torch.no_grad():
            gap = ((start(X) - (weight * X + bias)) ** 2).mean().item()
        if gap >= FAR_FROM_THE_LINE:
            break
    y = weight * X + bias + 0.05 * torch.randn(n, 1, generator=generator)
    return model, X, y


def gradients(model: nn.Module, X, y, loss_fn) -> tuple[float, list[torch.Tensor]]:
    """The loss and d(loss)/d(parameters) at the model's current parameters, without touching ``.grad``."""
    twin = copy.deepcopy(model)
    loss = loss_fn(twin.linear(X), y)
    return loss.item(), [g.detach() for g in torch.autograd.grad(loss, list(twin.parameters()))]


# MSE and L1 are symmetric, so a loss computed as loss_fn(y, predictions) passes every check that uses them. The
# Poisson loss, exp(prediction) - y * prediction, is not: with targets 2 above the predictions, loss_fn(y, predictions)
# exceeds loss_fn(predictions, y) by the mean of (e^2 - 1) * exp(prediction), at least 0.8 on random_problem's data.
SWAP_LOSS = "PoissonNLLLoss"


def swap_problem(model: nn.Module, X) -> tuple[nn.Module, torch.Tensor, float]:
    """``(loss_fn, targets, swapped)``: the Poisson loss, targets 2 above the probe's predictions on ``X``, and
    ``loss_fn(targets, predictions)``, the loss with its arguments swapped, at the model's current parameters."""
    loss_fn = nn.PoissonNLLLoss()
    with torch.no_grad():
        predictions = copy.deepcopy(model).linear(X)
        targets = predictions + 2.0
        return loss_fn, targets, loss_fn(targets, predictions).item()


def one_step(start: list[torch.Tensor], lr: float, *gradients: list[torch.Tensor]) -> list[torch.Tensor]:
    """The parameters after one SGD step from ``start`` with the sum of ``gradients``."""
    return [p - lr * sum(g) for p, *g in zip(start, *gradients)]


def why_nothing_moved(model: nn.Module, this_batch: list[torch.Tensor]) -> str:
    """Why one optimizer step left every parameter where it was, told from what ``.grad`` holds afterwards."""
    left = [parameter.grad for parameter in model.parameters()]
    if all(grad is not None for grad in left) and largest_difference(left, this_batch) < 1e-5:
        return ("optimizer.step() ran but no parameter moved, and afterwards .grad holds this batch's gradients: "
                "step() ran before backward(), when there was nothing to step with; call backward() first")
    return ("optimizer.step() ran but no parameter moved: the gradients were empty or zero when it ran "
            "(were they zeroed between backward() and step(), or was backward() never called?)")


def state_losses(model: ModeProbe, X, y, loss_fn) -> dict[tuple[bool, bool], float]:
    """The loss of the probe's forward pass on (X, y) in each state, computed here on a copy."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        return {state: loss_fn(output_in(twin, X, *state), y).item() for state in STATES}


def layer_gradient(model: ModeProbe, X, y, loss_fn, training: bool) -> list[torch.Tensor]:
    """d(loss)/d(the layer of that mode's parameters), for a forward pass in that mode with gradients tracked."""
    twin = copy.deepcopy(model)
    layer = twin.train_linear if training else twin.eval_linear
    loss = loss_fn(output_in(twin, X, training, True), y)
    return [g.detach() for g in torch.autograd.grad(loss, list(layer.parameters()))]


def fit_problem(seed: int):
    model, X, y = random_problem(seed, n=50)
    return model, (X[:40], y[:40]), (X[40:], y[40:])


def reference_fit(model, train, test, loss_fn, lr, epochs, eval_every=1, zero_grad=True):
    """What ``fit`` must return, and the parameters it must leave, computed here on a copy of the model.

    With ``zero_grad=False``: what a train_step that never zeroes the gradients gives instead.
    """
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr)
    history = {"epoch": [], "train_loss": [], "test_loss": []}
    for epoch in range(1, epochs + 1):
        twin.train()
        loss = loss_fn(twin(train[0]), train[1])
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % eval_every == 0:
            twin.eval()
            with torch.no_grad():
                history["epoch"].append(epoch)
                history["train_loss"].append(loss.item())
                history["test_loss"].append(loss_fn(twin(test[0]), test[1]).item())
    return history, parameters_of(twin)


def piled_up_after(model, train, test, loss_fn, lr, epochs):
    """Where ``fit`` would leave ``model``'s parameters if ``train_step`` never zeroed the gradients: a function,
    called only by a check that has already failed (it trains a copy of the model, which takes a while)."""
    untrained = copy.deepcopy(model)
    return lambda: reference_fit(untrained, train, test, loss_fn, lr, epochs, zero_grad=False)[1]


def converging_problem(seed: int, start: tuple[float, float], lr: float, epochs: int):
    """``(weight, bias, X, y)``: a line and 60 points on it drawn from ``seed``, the first 48 for training, such that
    training ``w * x + b`` from ``start`` whose gradients are never zeroed does not end within 0.05 of the line.

    Piled-up gradients make the parameters swing round the line without settling; for about one draw in 16 the
    swing happened to end near it, and a file that never zeroes them passed the check of learning the line.
    """
    generator = torch.Generator().manual_seed(seed)
    for _ in range(100):
        weight, bias = (torch.rand(2, generator=generator) * torch.tensor([3.0, 2.0])
                        - torch.tensor([1.5, 1.0])).tolist()
        X = torch.rand(60, 1, generator=generator) * 2 - 1
        y = weight * X + bias
        w, b = piled_up_end(start, X[:48], y[:48], lr, epochs)
        if max(abs(w - weight), abs(b - bias)) > 0.05:
            return weight, bias, X, y
    raise RuntimeError("could not make a line to learn")  # never happens for any seed tried


def piled_up_end(start: tuple[float, float], X, y, lr: float, epochs: int) -> tuple[float, float]:
    """Where full-batch SGD on the mean squared error of ``w * x + b`` leads from ``start`` when the gradients are
    never zeroed, in plain floats (within 1e-6 of torch, and a thousand times sooner than ``reference_fit``)."""
    xs, ys = X.reshape(-1).tolist(), y.reshape(-1).tolist()
    n = len(xs)
    mean_xx, mean_x = sum(x * x for x in xs) / n, sum(xs) / n
    mean_xy, mean_y = sum(x * t for x, t in zip(xs, ys)) / n, sum(ys) / n
    (w, b), (grad_w, grad_b) = start, (0.0, 0.0)
    for _ in range(epochs):
        grad_w += 2 * (w * mean_xx + b * mean_x - mean_xy)  # added to what .grad already held
        grad_b += 2 * (w * mean_x + b - mean_y)
        w, b = w - lr * grad_w, b - lr * grad_b
    return w, b


PILED_UP = ("that is what training gives when the gradients are never zeroed, so they pile up from epoch to epoch: "
            "train_step must zero them before backward()")


def same_run(values: list[float], run: list[float]) -> bool:
    """Whether ``values`` are ``run``'s, every one, to float rounding: what naming a mistake by the losses it gives
    takes. One value within a check's tolerance is not enough: the loss another mistake records can come that close
    (recording the loss after the update came within 1e-4 of the piled-up gradients' loss with seed 514229)."""
    return len(values) == len(run) and all(abs(value - other) <= 1e-6 * abs(other) for value, other in zip(values, run))


def why_training_differs(steps: int, epochs: int, start: list[torch.Tensor], end: list[torch.Tensor],
                         piled_up) -> str:
    """``"; ..."``: the cause of parameters that differ after ``fit(epochs=...)``, when a check can tell it; else ``""``.

    The usual causes: the wrong number of optimizer steps, steps that never moved
    anything, or gradients that were never zeroed (``piled_up()``: where those lead,
    computed only here, when the check has already failed).
    """
    note = steps_note(steps, epochs, f"fit(epochs={epochs})")
    if note:
        return f"{note}, one per epoch"
    if largest_difference(start, end) == 0:
        return (f"; the optimizer took {steps} steps but no parameter ever moved: the gradients were empty or "
                "zero whenever it stepped (see the checks of train_step)")
    if largest_difference(end, piled_up()) < 1e-5:
        return f"; {PILED_UP}"
    return ""


def expect_history(history) -> None:
    """Fail unless ``history`` has the contract's keys, with lists of equal length."""
    assert isinstance(history, dict), f"fit returned {kind_of(history)}, not a dict"
    missing = [key for key in ("epoch", "train_loss", "test_loss") if key not in history]
    assert not missing, f"the history has no key {', '.join(map(repr, missing))}"
    lengths = {key: len(history[key]) for key in ("epoch", "train_loss", "test_loss")}
    assert len(set(lengths.values())) == 1, f"the history's lists have different lengths: {lengths}"


def some_history(seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    epochs = list(range(10, 110, 10))
    train = sorted((torch.rand(10, generator=generator) + 0.1).tolist(), reverse=True)
    test = sorted((torch.rand(10, generator=generator) + 0.2).tolist(), reverse=True)
    return {"epoch": epochs, "train_loss": train, "test_loss": test}


# -- fit's modes: the mode probe trained by fit ------------------------------------------------------------------


MODE_FIT_LR, MODE_FIT_EPOCHS = 0.01, 3


def mode_fit_problem(seed: int):
    """A mode probe (``ModeProbe``) in evaluation mode, as a model often is after being looked at, and its data."""
    model, X, y = random_problem(seed, n=50, probe=ModeProbe)
    model.eval()
    return model, (X[:40], y[:40]), (X[40:], y[40:])


def mode_fit_test_losses(model: ModeProbe, train, test, loss_fn) -> dict[tuple[bool, bool], list[float]]:
    """The test loss of each state (training mode, gradients tracked), at the start and after each epoch of ``fit``
    done right (each epoch's step in training mode, with gradients tracked), computed here on a copy.

    Done right, the evaluation-mode layer never moves, so the test losses of evaluation mode stay as they start.
    """
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(twin.parameters(), lr=MODE_FIT_LR)
    losses = {state: [loss] for state, loss in state_losses(twin, *test, loss_fn).items()}
    for _ in range(MODE_FIT_EPOCHS):
        loss = loss_fn(output_in(twin, train[0], True, True), train[1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for state, value in state_losses(twin, *test, loss_fn).items():
            losses[state].append(value)
    return losses
