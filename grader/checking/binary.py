"""Exercise 09's suite (binary classification): circles, its own classifiers and problems, what steps must give."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from grader.checking import classifiers
from grader.checking.models import linear_calls
from grader.checking.probes import STATES, forward_records
from grader.checking.text import fmt, kind_of
from grader.checking.training import largest_difference
from grader.checking.values import expect_close, expect_tensor, matching_value


# -- make_circles ----------------------------------------------------------------------------------


def circles(learner, n_samples: int, dtypes: bool = False, **arguments):
    """Call ``make_circles``; check it returns a pair ``(X, y)`` of plain tensors of the contract's shapes.

    Their dtypes are checked only when ``dtypes`` is set (by the check about them): float64 points still
    show whether the circles are right.
    """
    shown = ", ".join([str(n_samples)] + [f"{key}={value}" for key, value in arguments.items()])
    call = f"make_circles({shown})"
    result = learner.make_circles(n_samples, **arguments)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{call} returned {kind_of(result)}; expected a pair (X, y)")
    X, y = result
    expect_tensor(X, f"X from {call}", shape=(n_samples, 2), dtype=torch.float32 if dtypes else None)
    expect_tensor(y, f"y from {call}", shape=(n_samples,), dtype=torch.float32 if dtypes else None)
    return X, y, call


def expect_on_circle(points: torch.Tensor, radius: float, what: str) -> None:
    """Fail unless ``points`` lie exactly on the circle of ``radius``, at the angles 2πk/m for k = 0 … m−1."""
    points = points.double()
    m = len(points)
    radii = points.norm(dim=1)
    assert torch.allclose(radii, torch.full_like(radii, radius), atol=1e-5), (
        f"with noise=0 {what} lie at distances {fmt(radii.min())} to {fmt(radii.max())} "
        f"from the centre (0, 0); expected all at radius {fmt(radius)}")
    angles = torch.atan2(points[:, 1], points[:, 0])
    k = torch.round(angles * m / (2 * math.pi)).long() % m  # the nearest of the m expected angles
    expected = radius * torch.stack([torch.cos(2 * math.pi * k / m), torch.sin(2 * math.pi * k / m)], dim=1)
    if (points - expected).abs().max() < 1e-4 and sorted(k.tolist()) == list(range(m)):
        return
    gaps = torch.cdist(points, points) + 10 * torch.eye(m, dtype=torch.float64)
    repeated = (" (two of them are the same point: an angle of 2π is the angle 0 again, which "
                "torch.linspace(0, 2π, m) includes)") if bool((gaps < 1e-5).any()) else ""
    raise AssertionError(f"with noise=0 the {m} points {what} are not at the angles 2πk/{m} for k = 0 … {m - 1}, "
                         f"evenly spaced round the circle{repeated}")


def expect_two_circles(X: torch.Tensor, y: torch.Tensor, call: str, inner: float, default: str) -> None:
    """Fail unless the points of label 0 lie evenly round radius 1, and those of label 1 round radius ``inner``.

    ``default`` says, for the message, where ``inner`` came from (", the default" when no factor was given).
    """
    outer_points, inner_points = X[y == 0], X[y == 1]
    assert len(outer_points) != 0 and len(inner_points) != 0, (
        f"{call} gave only one label; the outer circle is label 0.0, the inner one 1.0")
    outer_radius = float(outer_points.double().norm(dim=1).mean())
    assert not (abs(outer_radius - inner) < 1e-4 and inner != 1), (
        f"in {call} the points of label 0 lie at radius {fmt(inner)}: label 0 is the outer "
        "circle, of radius 1, and label 1 the inner one, of radius factor")
    expect_on_circle(outer_points, 1.0, f"of label 0 from {call}")
    expect_on_circle(inner_points, inner, f"of label 1 from {call} (factor={inner}{default})")


def expect_noise(X: torch.Tensor, noise: float, call: str) -> None:
    """Fail unless the points ``X`` lie a typical ``noise`` off the circles of radius 1 and 0.4 they come from,
    moved along the circles too.

    Each point is measured from the circle it lies nearer to, whatever its label (labels have checks of their
    own). The circles are 0.6 apart, at least 3.3 standard deviations of noise from their midway point.
    """
    radii = X.double().norm(dim=1)
    nearer = torch.where((radii - 1.0).abs() < (radii - 0.4).abs(), 1.0, 0.4)
    for radius in (1.0, 0.4):
        off = (radii - nearer)[nearer == radius]  # for small noise, the noise along the radius: std `noise`
        assert len(off) >= 100, (
            f"only {len(off)} of the points from {call} lie nearer the circle of radius {radius} "
            "than the other; expected about 1000")
        spread = off.std().item()
        assert 0.85 * noise <= spread <= 1.15 * noise, (
            f"with noise={noise} the points near the circle of radius {radius} lie a typical (standard deviation) "
            f"{fmt(spread)} off it; Gaussian noise of standard deviation {noise} on each coordinate gives about "
            f"{noise}")
        # Noise along the radius alone leaves every point at its angle 2πk/m, equally spaced round the circle.
        # Noise on each coordinate moves points along the circle as much as across it: the gaps between their
        # angles then vary about as much as they measure (about 1 against about 0, measured).
        angles = torch.atan2(X[:, 1].double(), X[:, 0].double())[nearer == radius].sort().values
        gaps = angles.diff()
        assert gaps.std() > 0.5 * gaps.mean(), (
            f"with noise={noise} the points near the circle of radius {radius} still lie at equally spaced angles: "
            "the noise moved them only along the radius; add it to each coordinate, x and y, which moves them "
            "along the circle too")


# -- BinaryClassifier ------------------------------------------------------------------------------


def classifier_sizes(seed: int) -> tuple[int, int]:
    """An in_features and a hidden size, distinct from each other, from 1 and from the defaults."""
    generator = torch.Generator().manual_seed(seed)
    return int(torch.randint(3, 7, (1,), generator=generator)), int(torch.randint(9, 15, (1,), generator=generator))


def expect_logit_per_row(output, what: str, n: int) -> None:
    """Fail unless ``output`` is a float32 tensor of shape ``[n]``; name a squeeze too many or one too few."""
    expect_tensor(output, what)
    assert not (n == 1 and output.dim() == 0), (
        f"{what} has shape []: a bare squeeze() removed the batch dimension too; "
        "use squeeze(-1) so one row gives shape [1]")
    assert tuple(output.shape) != (n, 1), (
        f"{what} has shape [{n}, 1]; return shape [{n}], one logit per row "
        "(squeeze(-1) removes the last dimension)")
    expect_tensor(output, what, shape=(n,), dtype=torch.float32)


def expect_linear_chain(model: nn.Module, x: torch.Tensor, described: str, sizes: tuple) -> None:
    """Fail unless ``model`` registers, and its forward pass on ``x`` runs, one Linear layer for each step of
    ``sizes`` (``(2, 16, 16, 1)``: 2 -> 16, 16 -> 16, 16 -> 1), each once and in that order."""
    expected = list(zip(sizes, sizes[1:]))
    chain = " -> ".join(str(n) for n in sizes)
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    registered = ", ".join(f"{m.in_features} -> {m.out_features}" for m in linears) or "none"
    assert [(m.in_features, m.out_features) for m in linears] == expected, (
        f"{described} registers the Linear layers {registered}; expected {chain}, in that order")
    _, calls = linear_calls(model, x)
    used = ", ".join(f"{module.in_features} -> {module.out_features}" for module, _, _ in calls) or "none"
    assert [module for module, _, _ in calls] == linears, (
        f"the forward pass of {described} ran the Linear layers {used}; expected {chain}, each once, in order")


def expect_relus_between(calls: list) -> None:
    """Fail unless what goes into each Linear layer after the first is the ReLU of what the one before gave."""
    for place, (_, _, output), (_, following, _) in zip(("first", "second"), calls, calls[1:]):
        assert following.shape == output.shape, (
            f"the {place} hidden layer's output has shape {list(output.shape)} but the next "
            f"Linear layer got {list(following.shape)}")
        assert not torch.allclose(following, output, atol=1e-6), (
            f"the output of the {place} hidden Linear layer goes into the next Linear layer "
            "unchanged: put a ReLU after it")
        assert torch.allclose(following, output.clamp(min=0), atol=1e-6), (
            f"after the {place} hidden Linear layer comes something other than a ReLU: the "
            "next layer gets values that are not max(0, x)")


def expect_logits(output: torch.Tensor, last: torch.Tensor) -> None:
    """Fail unless the model's ``output`` is ``last``, its last Linear layer's output (reshaped); name a sigmoid."""
    last = last.reshape(-1)
    output = output.reshape(-1)
    if output.shape == last.shape and torch.allclose(output, last, atol=1e-5):
        return
    assert not (output.shape == last.shape and torch.allclose(output, torch.sigmoid(last), atol=1e-6)), (
        "the output is the sigmoid of the last Linear layer's output, every value between 0 "
        "and 1: return the logits; BCEWithLogitsLoss applies the sigmoid itself")
    assert not bool(((output >= 0) & (output <= 1)).all()), (
        "every output lies between 0 and 1: is there a sigmoid at the end? Return the last "
        "Linear layer's output, the logits")
    raise AssertionError("the model's output is not the output of its last nn.Linear layer: return the logits "
                         "as they are")


# -- the suite's own classifier, for binary_train_step and predict_proba ---------------------------


class Probe(classifiers.Probe):
    """The contract's classifier (logits of shape [N]) remembering each forward pass: mode, grad tracking, logits.

    The record is written in the learner's process: it only ever names a mistake (the checks of modes use
    ``StateProbe``, whose outcome shows its state).
    """

    def __init__(self, in_features: int, hidden: int = 8):
        super().__init__(in_features, 1, hidden)

    def logits(self, x):
        return self.layers(x).squeeze(-1)


def problem(seed: int, n: int = 24, confident: bool = False):
    """A probe model, inputs and float targets of shape [N].

    With ``confident`` the last layer is shifted and scaled so that the logits have both signs, the largest
    is 60 and most lie far from 0. Logits between 17 and 90 get the label 0: confident mistakes. There
    float32 rounds sigmoid to exactly 1.0, so sigmoid followed by BCELoss pays a clamped 100 for each
    instead of the logit; only BCEWithLogitsLoss prices them right. Every other row far from 0 is labelled
    correctly (both losses agree on those), so the difference cannot cancel out; rows near 0 keep random
    labels.
    """
    generator = torch.Generator().manual_seed(seed)
    in_features = int(torch.randint(2, 5, (1,), generator=generator))
    torch.manual_seed(seed)
    model = Probe(in_features)
    X = torch.randn(n, in_features, generator=generator)
    y = (torch.rand(n, generator=generator) < 0.5).float()
    if confident:
        last = model.layers[-1]
        with torch.no_grad():
            logits = model.layers(X).squeeze(-1)
            middle = logits.median()
            scale = 60 / (logits - middle).max().clamp(min=1e-4)  # the largest logit becomes 60: a mistake
            last.bias.sub_(middle)
            last.weight.mul_(scale)
            last.bias.mul_(scale)
            logits = model.layers(X).squeeze(-1)
        mistake = (logits > 17) & (logits < 90)
        y = torch.where(logits.abs() <= 8, y, ((logits > 8) & ~mistake).float())
    model.seen.clear()
    return model, X, y


def bce_loss(logits: torch.Tensor, y: torch.Tensor) -> float:
    return F.binary_cross_entropy_with_logits(logits, y).item()


def loss_after(model: Probe, X, y) -> float:
    with torch.no_grad():
        return bce_loss(model.layers(X).squeeze(-1), y)


def fresh_gradients(model: Probe, X, y) -> list[torch.Tensor]:
    """d(BCEWithLogitsLoss)/d(parameters) at the model's current parameters, without touching ``.grad``."""
    twin = copy.deepcopy(model)
    loss = F.binary_cross_entropy_with_logits(twin.layers(X).squeeze(-1), y)
    return [g.detach() for g in torch.autograd.grad(loss, list(twin.parameters()))]


# -- the suite's classifier that shows how it ran: for the checks of mode and gradient tracking ----


class StateProbe(classifiers.StateProbe):
    """A binary classifier (logits of shape [N]) whose output tells the state of its forward pass.

    ``classifiers.StateProbe`` with one logit a row. The four states put the rows in four different orders and
    give four different losses (``state_problem`` makes sure): the loss a learner's function returns, which head
    its step trained, and the order of the probabilities it returns each tell the state its forward pass ran in.
    """

    def __init__(self, in_features: int, hidden: int = 8):
        super().__init__(in_features, 1, hidden)

    def output_in(self, x, training: bool, grad_enabled: bool):
        return super().output_in(x, training, grad_enabled).squeeze(-1)


def state_logits(model: StateProbe, X) -> dict[tuple[bool, bool], torch.Tensor]:
    """The probe's logits for X in each state, computed here on a copy."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        return {state: twin.output_in(X, *state) for state in STATES}


def loss_candidates(logits: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The loss binary_train_step should return for these logits, and what the usual mistakes return."""
    return [bce_loss(logits, y), F.binary_cross_entropy_with_logits(logits, y, reduction="sum").item(),
            bce_loss(torch.sigmoid(logits), y), F.binary_cross_entropy(torch.sigmoid(logits), y).item()]


def follows(result, logits: torch.Tensor) -> bool:
    """Whether ``result`` holds one number per row that rises with ``logits`` (and is not one constant).

    Probabilities, the logits themselves, labels rounded at 0.5 and a softmax down the batch all do: any of
    them shows which state's logits it was made from.
    """
    if isinstance(result, torch.Tensor):
        result = result.detach().cpu()
    try:
        values = torch.as_tensor(result, dtype=torch.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        return False
    if values.numel() != logits.numel() or not bool(values.isfinite().all()):
        return False
    ordered = values[logits.double().reshape(-1).argsort()]
    return bool((ordered[1:] >= ordered[:-1] - 1e-6).all()) and ordered.max() - ordered.min() > 1e-6


def state_problem(seed: int, n: int = 24):
    """A StateProbe, inputs and float targets whose four states the outcome can always tell apart.

    Each head is shifted so that its logits have both signs (rounded at 0.5 they give both labels). A draw is
    kept only when no state's logits, nor their signs, rise with another state's, and when the losses of
    different states (and their usual mistakes) lie apart.
    """
    generator = torch.Generator().manual_seed(seed)
    in_features = int(torch.randint(2, 5, (1,), generator=generator))
    torch.manual_seed(seed)
    for _ in range(100):
        model = StateProbe(in_features)
        X = torch.randn(n, in_features, generator=generator)
        y = (torch.rand(n, generator=generator) < 0.5).float()
        with torch.no_grad():
            hidden = model.body(X)
            for head, spread in ((model.train_head, 2.0), (model.grad_head, 4.0)):
                output = head(hidden).squeeze(-1)
                middle = output.median()
                scale = spread / (output - middle).abs().max().clamp(min=1e-4)
                head.bias.sub_(middle)
                head.weight.mul_(scale)
                head.bias.mul_(scale)
            model.eval_head.weight.copy_(-model.train_head.weight)
            model.eval_head.bias.copy_(-model.train_head.bias)
        logits = state_logits(model, X)
        orders_differ = all(not follows(logits[a], logits[b]) and not follows((logits[a] >= 0).float(), logits[b])
                            for a in STATES for b in STATES if a != b)
        losses = {state: loss_candidates(value, y) for state, value in logits.items()}
        losses_differ = all(abs(p - q) > 1e-3 * max(1.0, abs(p)) for a in STATES for b in STATES if a != b
                            for p in losses[a] for q in losses[b])
        if orders_differ and losses_differ:
            model.seen.clear()
            return model, X, y
    raise RuntimeError("could not make a problem whose states differ")  # never happens for any seed tried


def head_gradient(model: StateProbe, X, y, training: bool) -> list[torch.Tensor]:
    """d(BCEWithLogitsLoss)/d(the parameters of that mode's head), for a forward pass in that mode with gradients."""
    twin = copy.deepcopy(model)
    head = twin.train_head if training else twin.eval_head
    loss = F.binary_cross_entropy_with_logits(twin.output_in(X, training, True), y)
    return [g.detach() for g in torch.autograd.grad(loss, list(head.parameters()))]


# -- binary_train_step: what its loss and its update must be ---------------------------------------


def expect_batch_loss(value: float, before: float, model: Probe, y) -> None:
    """Fail unless ``value`` is the batch's loss ``before`` the update; name a sigmoid applied twice or a sum.

    The logits of the step's forward pass come from the probe's record: they only name a mistake.
    """
    if abs(value - before) > 1e-5 * max(1.0, abs(before)) and model.seen:
        logits = model.seen[0][2]
        assert not (abs(value - bce_loss(torch.sigmoid(logits), y)) < 1e-5), (
            f"binary_train_step returned {fmt(value)}, the loss of sigmoid(logits) given to "
            f"BCEWithLogitsLoss, a sigmoid applied twice; expected {fmt(before)}")
        assert not (abs(value - len(y) * before) < 1e-4 * len(y) * before), (
            f"binary_train_step returned {fmt(value)}, the sum of the losses over the batch; "
            f"BCEWithLogitsLoss averages them by default: expected {fmt(before)}")
    expect_close(value, before, "the returned loss",
                 advice="return nn.BCEWithLogitsLoss() of this batch's logits and targets")


def expect_bce_of_logits(value: float, logits: torch.Tensor, y: torch.Tensor) -> None:
    """Fail unless ``value`` is BCEWithLogitsLoss of ``logits`` and ``y``; name the usual losses taken instead."""
    expected = bce_loss(logits, y)
    if abs(value - expected) <= 1e-4 * max(1.0, abs(expected)):
        return
    shown = f"for logits of size up to {fmt(logits.abs().max())}"
    mistake = matching_value(value, {
        "sigmoid followed by BCELoss: sigmoid rounds such logits to exactly 0 or 1, and BCELoss then clamps log(0) "
        "to -100": F.binary_cross_entropy(torch.sigmoid(logits), y).item(),
        "the loss of sigmoid(logits) given to BCEWithLogitsLoss, a sigmoid applied twice":
            bce_loss(torch.sigmoid(logits), y),
        "the sum over the batch, not the mean (BCEWithLogitsLoss averages by default)":
            F.binary_cross_entropy_with_logits(logits, y, reduction="sum").item(),
    }, tolerance=1e-4)
    assert not mistake, (f"binary_train_step returned {fmt(value)} {shown}, {mistake}; "
                         f"BCEWithLogitsLoss on the logits gives {fmt(expected)}")
    raise AssertionError(f"binary_train_step returned {fmt(value)} {shown}; BCEWithLogitsLoss on the raw logits "
                         f"gives {fmt(expected)}")


def expect_one_step(end: list, start: list, lr: float, grads: list, stale: list) -> None:
    """Fail unless the parameters ``end`` are one SGD step from ``start`` with this batch's gradients ``grads``.

    ``stale`` are the gradients left in ``.grad`` before the step: added to the update, they name the mistake.
    """
    expected = [p - lr * g for p, g in zip(start, grads)]
    if largest_difference(end, expected) < 1e-5:
        return
    leaked = [p - lr * (g + old) for p, g, old in zip(start, grads, stale)]
    assert not (largest_difference(end, leaked) < 1e-5), (
        "gradients already in .grad before binary_train_step was called were added to this "
        "batch's: zero the gradients before backward()")
    raise AssertionError(f"after one SGD step the parameters differ by up to {fmt(largest_difference(end, expected))} "
                         "from one step with this batch's gradients of BCEWithLogitsLoss(logits, y)")


# -- predict_proba ---------------------------------------------------------------------------------


def eval_probabilities(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """What ``predict_proba`` must return, computed on a CPU copy of the model."""
    twin = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        return torch.sigmoid(twin(X.cpu()))


def run_predict_proba(learner, model: StateProbe, X):
    """Call predict_proba on the state probe: what it returned, the states whose row order that follows, the record."""
    logits = state_logits(model, X)
    result = learner.predict_proba(model, X)
    shown = [state for state, value in logits.items() if follows(result, value)]
    return result, shown, forward_records(model, "predict_proba")


def expect_probabilities(result, expected: torch.Tensor, what: str) -> None:
    """Fail unless ``result`` is ``expected``, the sigmoid of the logits, float32 of shape [N]; name what it is."""
    n = len(expected)
    expect_tensor(result, what)
    assert not (n == 1 and result.dim() == 0), (
        f"{what} has shape []: the model already gives one logit per row, shape [1] here, "
        "and a squeeze removed the batch dimension; return the sigmoid of the logits without reshaping it")
    expect_tensor(result, what, shape=(n,), dtype=torch.float32)
    result = result.detach().cpu()
    if torch.allclose(result, expected, atol=1e-6):
        return
    logits = torch.logit(expected.double()).float()
    assert not torch.allclose(result, logits, atol=1e-4), (
        f"{what} holds the logits themselves; apply torch.sigmoid to them")
    assert not torch.equal(result, (expected >= 0.5).float()), (
        f"{what} holds labels 0 and 1; return the probabilities themselves (thresholding is binary_metrics' job)")
    assert not (n > 1 and abs(result.double().sum().item() - 1) < 1e-4), (
        f"{what} adds up to 1 over the batch: that is a softmax across the rows; with one "
        "logit per row the probability of class 1 is torch.sigmoid of that logit")
    expect_close(float((result - expected).abs().max()), 0.0,
                 f"the largest difference from sigmoid(logits) in {what}", tolerance=1e-6)


def predict_proba_explained(learner, model: nn.Module, inputs: torch.Tensor, what: str):
    """``predict_proba(model, inputs)``; a device mismatch inside it fails the check, said in the learner's terms."""
    try:
        return learner.predict_proba(model, inputs)
    except RuntimeError as exc:
        if "device" not in str(exc):
            raise
        raise AssertionError(f"{what} mixed devices in the forward pass: move the inputs to the model's device "
                             "first") from None


def expect_probabilities_on_cpu(result, expected: torch.Tensor, model: nn.Module, what: str) -> None:
    """Fail unless ``result`` holds the ``expected`` probabilities on the CPU, the model left on the GPU."""
    result = expect_tensor(result, f"the result of {what}", shape=(len(expected),))
    assert result.device.type == "cpu", \
        f"{what} returned a tensor on {result.device}; move the probabilities to the CPU with .cpu()"
    moved_to = next(model.parameters()).device
    assert moved_to.type == "cuda", f"{what} moved the model to {moved_to}: move the inputs to the model instead"
    expect_close(float((result - expected).abs().max()), 0.0,
                 f"the largest difference from sigmoid(logits) for {what}", tolerance=1e-5)

