"""Hidden suite for exercise 09 (binary classification).

Every check observes behaviour, never spelling: the points ``make_circles``
returns (radii, angles, the size of the noise, what the seed does), which layers
a forward pass runs through (seen with forward hooks, so ``nn.Sequential`` and a
hand-written ``forward``, ``nn.ReLU`` and ``F.relu`` all pass), what
``binary_train_step`` does to a model and returns, what ``predict_proba`` gives
and how it runs the model, and the numbers the metrics give.

The checks of one function never depend on another learner function. The models
the suite hands to the learner's functions are its own and, like the contract's
``BinaryClassifier``, return logits of shape ``[N]``: a correct function takes them
as they are, with no reshaping. Data comes from each check's ``seed``.

The learner's code runs in a process of its own: a probe's record of its forward
passes (``seen``) comes back from there, and learner code could rewrite it. So a
record only names mistakes; the checks of mode and gradient tracking use
``StateProbe``, whose output differs in each state, so that the outcome (the loss
returned, the head a step trained, the order of the probabilities) shows the state.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checking import (STATES, call_text, count_steps, expect_close, expect_float, expect_no_gradients,
                             expect_off, expect_tensor, expect_training_mode, fmt, forward_records, kind_of,
                             largest_difference, linear_calls, parameters_of, states_of_loss, touched, trained)

# Every tensor here is tiny, so extra threads only cost (as in the suite of exercise 07).
torch.set_num_threads(1)


# -- make_circles ------------------------------------------------------------------


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


@pytest.mark.check(
    id="circles_shapes",
    name="make_circles returns X float32 [n_samples, 2] and y float32 [n_samples]",
    points=1,
    hint=["One row of two coordinates per point, and one label per point.",
          "X is float32 of shape [n_samples, 2]; the labels are float32 too (BCEWithLogitsLoss compares them with "
          "float logits), one per row, so y has shape [n_samples], not [n_samples, 1]."],
)
def test_circles_shapes(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = 2 * int(torch.randint(10, 30, (1,), generator=generator)) + 1
    circles(learner, n_samples, dtypes=True, seed=seed)
    circles(learner, n_samples + 1, dtypes=True, noise=0.1, factor=0.5, seed=seed)


@pytest.mark.check(
    id="circles_labels",
    name="make_circles labels n_samples // 2 points 0.0 and the rest 1.0",
    points=1,
    hint=["The labels are the numbers 0.0 and 1.0 only: the outer circle is class 0, the inner one class 1.",
          "With an odd n_samples the outer circle gets n_samples // 2 points and the inner one the rest (one more)."],
)
def test_circles_labels(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = 2 * int(torch.randint(10, 40, (1,), generator=generator)) + 1
    _, y, call = circles(learner, n_samples, seed=seed)
    values = sorted(set(y.tolist()))
    assert set(values) <= {0.0, 1.0}, f"the labels from {call} include {values[:6]}; only 0.0 and 1.0 are allowed"
    zeros, ones = int((y == 0).sum()), int((y == 1).sum())
    assert (zeros, ones) == (n_samples // 2, n_samples - n_samples // 2), (
        f"{call} gave {zeros} points label 0.0 and {ones} label 1.0; expected {n_samples // 2} (n_samples // 2, "
        f"the outer circle) and {n_samples - n_samples // 2} (the rest, the inner circle)")


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


@pytest.mark.check(
    id="circles_geometry",
    name="without noise, make_circles puts its points evenly round radius 1 (label 0) and radius factor (label 1)",
    points=2,
    hint=["With noise=0 every point of label 0 lies on the circle of radius 1 and every point of label 1 on the "
          "circle of radius factor (0.8 by default), both centred on (0, 0).",
          "A circle of m points has them at the angles 2πk/m for k = 0 … m−1: "
          "`torch.arange(m) * 2 * math.pi / m`, then (radius·cos, radius·sin). "
          "`torch.linspace(0, 2 * math.pi, m)` puts a point at both 0 and 2π, the same place."],
)
def test_circles_geometry(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = int(torch.randint(12, 40, (1,), generator=generator))
    factor = round(0.2 + 0.6 * float(torch.rand(1, generator=generator)), 2)
    for arguments, inner in (({"noise": 0.0, "factor": factor}, factor), ({"noise": 0.0}, 0.8)):
        X, y, call = circles(learner, n_samples, seed=seed, **arguments)
        outer_points, inner_points = X[y == 0], X[y == 1]
        assert len(outer_points) != 0 and len(inner_points) != 0, (
            f"{call} gave only one label; the outer circle is label 0.0, the inner one 1.0")
        default = "" if "factor" in arguments else ", the default"
        outer_radius = float(outer_points.double().norm(dim=1).mean())
        assert not (abs(outer_radius - inner) < 1e-4 and inner != 1), (
            f"in {call} the points of label 0 lie at radius {fmt(inner)}: label 0 is the outer "
            "circle, of radius 1, and label 1 the inner one, of radius factor")
        expect_on_circle(outer_points, 1.0, f"of label 0 from {call}")
        expect_on_circle(inner_points, inner, f"of label 1 from {call} (factor={inner}{default})")


@pytest.mark.check(
    id="circles_noise",
    name="make_circles adds Gaussian noise of standard deviation noise to every coordinate",
    points=1,
    hint=["`noise` is a standard deviation: with noise=0.1 the points lie typically about 0.1 from their circle.",
          "Add `noise * torch.randn(n_samples, 2, generator=...)` to the points: randn is Gaussian with standard "
          "deviation 1 (rand is uniform), and both coordinates get noise."],
)
def test_circles_noise(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    noise = round(0.03 + 0.06 * float(torch.rand(1, generator=generator)), 3)
    X, _, call = circles(learner, 2000, noise=noise, factor=0.4, seed=seed)
    # Each point is measured from the circle it lies nearer to, whatever its label (labels have checks of their
    # own). The circles are 0.6 apart, at least 3.3 standard deviations of noise from their midway point.
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


@pytest.mark.check(
    id="circles_seeded",
    name="make_circles gives the same data for the same seed, other data for another, and leaves torch's "
         "global generator alone",
    points=1,
    hint=["The data must depend on `seed` alone, whatever else used torch's random numbers, and calling "
          "make_circles must not change the random numbers the rest of a program gets.",
          "Make a `torch.Generator().manual_seed(seed)` and pass `generator=` to every random call "
          "(`torch.randn`, `torch.randperm`, ...); `torch.manual_seed` would reset the global generator instead."],
)
def test_circles_seeded(learner, seed):
    first = circles(learner, 40, noise=0.1, seed=seed)
    torch.rand(100)  # other code uses the global generator in between
    again = circles(learner, 40, noise=0.1, seed=seed)
    for part, a, b in (("X", first[0], again[0]), ("y", first[1], again[1])):
        assert torch.equal(a, b), \
            f"two calls with seed={seed} gave different {part}: the same seed must give the same data"
    torch.rand(7)  # so that the global state is not the one a torch.manual_seed(seed) inside would leave behind
    state = torch.get_rng_state()
    circles(learner, 40, noise=0.1, seed=seed)
    assert torch.equal(state, torch.get_rng_state()), (
        "make_circles changed torch's global random generator (torch.manual_seed, or a random call without "
        "generator=): leave it to the rest of the program and use a torch.Generator of your own")
    default = circles(learner, 40, noise=0.1), circles(learner, 40, noise=0.1)
    assert torch.equal(default[0][0], default[1][0]), "two calls without a seed (seed defaults to 0) gave different X"
    other = circles(learner, 40, noise=0.1, seed=seed + 1)[0]
    assert not torch.equal(first[0], other), \
        f"seed={seed} and seed={seed + 1} gave exactly the same X: the seed must choose the noise"


@pytest.mark.check(
    id="circles_rejects",
    name="make_circles raises ValueError for n_samples < 2, noise < 0 or factor outside (0, 1)",
    points=1,
    hint=["Check the arguments first, and raise ValueError with a message that says what is allowed.",
          "Two circles need at least one point each (n_samples >= 2); a standard deviation cannot be negative; "
          "the inner circle must be strictly inside the outer one and not a point (0 < factor < 1)."],
)
def test_circles_rejects(learner, seed):
    bad = [{"n_samples": 1}, {"n_samples": 0}, {"n_samples": 20, "noise": -0.1},
           {"n_samples": 20, "factor": 1.0}, {"n_samples": 20, "factor": 1.5}, {"n_samples": 20, "factor": 0.0},
           {"n_samples": 20, "factor": -0.5}]
    for arguments in bad:
        shown = call_text("make_circles", show=str, **arguments)
        try:
            learner.make_circles(**arguments)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001  (any other exception is the wrong answer, explained)
            raise AssertionError(f"{shown} raised {type(exc).__name__}; expected ValueError") from None
        raise AssertionError(f"{shown} returned without raising ValueError")
    for arguments in ({"n_samples": 2}, {"n_samples": 20, "noise": 0.0, "factor": 0.99}):
        circles(learner, **arguments)  # the smallest allowed values work


# -- BinaryClassifier ----------------------------------------------------------------


def classifier_sizes(seed: int) -> tuple[int, int]:
    """An in_features and a hidden size, distinct from each other, from 1 and from the defaults."""
    generator = torch.Generator().manual_seed(seed)
    return int(torch.randint(3, 7, (1,), generator=generator)), int(torch.randint(9, 15, (1,), generator=generator))


def make_classifier(learner, seed: int, *arguments, **keywords) -> nn.Module:
    torch.manual_seed(seed)
    model = learner.BinaryClassifier(*arguments, **keywords)
    assert isinstance(model, nn.Module), f"BinaryClassifier(...) made {kind_of(model)}, not an nn.Module"
    return model


@pytest.mark.check(
    id="classifier_output_shape",
    name="BinaryClassifier returns one logit per row: shape [N], also for a batch of one",
    points=1,
    hint=["The last Linear layer gives shape [N, 1]; the targets have shape [N], so remove that last dimension.",
          "`.squeeze(-1)` (or `.view(-1)`) removes only the last dimension; a bare `.squeeze()` also removes the "
          "batch dimension when N is 1, giving shape []."],
)
def test_classifier_output_shape(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    generator = torch.Generator().manual_seed(seed)
    for model, features, described in (
            (make_classifier(learner, seed, in_features, hidden), in_features,
             f"BinaryClassifier({in_features}, {hidden})"),
            (make_classifier(learner, seed), 2, "BinaryClassifier()")):
        for n in (7, 1):
            output = model(torch.randn(n, features, generator=generator))
            what = f"the output of {described} for {n} row{'s' if n > 1 else ''}"
            expect_tensor(output, what)
            assert not (n == 1 and output.dim() == 0), (
                f"{what} has shape []: a bare squeeze() removed the batch dimension too; "
                "use squeeze(-1) so one row gives shape [1]")
            assert tuple(output.shape) != (n, 1), (
                f"{what} has shape [{n}, 1]; return shape [{n}], one logit per row "
                "(squeeze(-1) removes the last dimension)")
            expect_tensor(output, what, shape=(n,), dtype=torch.float32)


@pytest.mark.check(
    id="classifier_layers",
    name="BinaryClassifier registers and runs three nn.Linear layers: in -> hidden -> hidden -> 1",
    points=2,
    hint=["Two hidden layers means three nn.Linear layers: in_features to hidden, hidden to hidden, hidden to 1.",
          "Build them in `__init__` in that order (`nn.Linear(in_features, hidden)`, `nn.Linear(hidden, hidden)`, "
          "`nn.Linear(hidden, 1)`) and call each once, in the same order, in the forward pass; the defaults are "
          "in_features=2 and hidden=16."],
)
def test_classifier_layers(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    for arguments, (features, size) in (((in_features, hidden), (in_features, hidden)), ((), (2, 16))):
        model = make_classifier(learner, seed, *arguments)
        described = f"BinaryClassifier({', '.join(map(str, arguments))})"
        expected = [(features, size), (size, size), (size, 1)]
        chain = " -> ".join(str(n) for n in (features, size, size, 1))
        linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
        registered = ", ".join(f"{m.in_features} -> {m.out_features}" for m in linears) or "none"
        assert [(m.in_features, m.out_features) for m in linears] == expected, (
            f"{described} registers the Linear layers {registered}; expected {chain}, in that order")
        x = torch.randn(5, features, generator=torch.Generator().manual_seed(seed))
        _, calls = linear_calls(model, x)
        used = ", ".join(f"{module.in_features} -> {module.out_features}" for module, _, _ in calls) or "none"
        assert [module for module, _, _ in calls] == linears, (
            f"the forward pass of {described} ran the Linear layers {used}; expected {chain}, each once, in order")


@pytest.mark.check(
    id="classifier_relu",
    name="BinaryClassifier applies a ReLU after each hidden layer",
    points=1,
    hint=["Linear layers with nothing in between are one linear layer: the model could only draw a straight "
          "boundary, and two circles cannot be split by a straight line.",
          "Put `nn.ReLU()` (or `torch.relu` / `F.relu` in `forward`) after the first and after the second "
          "Linear layer, and nothing after the last one."],
)
def test_classifier_relu(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    model = make_classifier(learner, seed, in_features, hidden)
    x = 3 * torch.randn(64, in_features, generator=torch.Generator().manual_seed(seed))
    _, calls = linear_calls(model, x)
    assert len(calls) == 3, f"the forward pass ran {len(calls)} nn.Linear layers; expected three"
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


@pytest.mark.check(
    id="classifier_returns_logits",
    name="BinaryClassifier returns raw logits, not probabilities squashed into (0, 1)",
    points=1,
    hint=["nn.BCEWithLogitsLoss applies the sigmoid itself, so the model must return the raw scores.",
          "Return the last Linear layer's output as it is (only its last dimension removed): no sigmoid at the end."],
)
def test_classifier_returns_logits(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    model = make_classifier(learner, seed, in_features, hidden)
    with torch.no_grad():  # large weights in the last layer: logits well outside (0, 1)
        for module in [m for m in model.modules() if isinstance(m, nn.Linear)][-1:]:
            module.weight.mul_(20)
    x = 3 * torch.randn(32, in_features, generator=torch.Generator().manual_seed(seed))
    output, calls = linear_calls(model, x)
    expect_tensor(output, "the model's output")
    assert calls, "the forward pass ran no nn.Linear layer"
    last = calls[-1][2].reshape(-1)
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


# -- the suite's own model, for binary_train_step and predict_proba -------------------------


class Probe(nn.Module):
    """The contract's classifier (logits of shape [N]) remembering each forward pass: mode, grad tracking, logits.

    The record is written in the learner's process: it only ever names a mistake (the checks of modes use
    ``StateProbe``, whose outcome shows its state).
    """

    def __init__(self, in_features: int, hidden: int = 8):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                    nn.Linear(hidden, 1))
        self.seen: list[tuple[bool, bool, torch.Tensor]] = []

    def forward(self, x):
        logits = self.layers(x).squeeze(-1)
        self.seen.append((self.training, torch.is_grad_enabled(), logits.detach().clone()))
        return logits


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


# -- the suite's model that shows how it ran: for the checks of mode and gradient tracking -----------------
# Learner code runs in a process of its own, so a probe's record of its forward passes (``seen``) is a report
# that code can rewrite: it only names the mistake. Each verdict about a mode needs the outcome too: the loss
# returned, which head the step trained, or the order of the probabilities returned.

class StateProbe(nn.Module):
    """A binary classifier (logits of shape [N]) whose output tells the state of its forward pass.

    In training mode the logits come from ``train_head``, in evaluation mode from ``eval_head``, which gives the
    same numbers with the opposite sign; with gradient tracking on, ``grad_head``'s output is added. So the four
    states put the rows in four different orders and give four different losses (``state_problem`` makes
    sure): the loss a learner's function returns, which head its step trained, and the order of the
    probabilities it returns each tell the state its forward pass ran in. It also remembers each forward pass's
    state (``seen``), to name a mistake.
    """

    def __init__(self, in_features: int, hidden: int = 8):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.train_head = nn.Linear(hidden, 1)
        self.eval_head = nn.Linear(hidden, 1)
        self.grad_head = nn.Linear(hidden, 1)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return output_in(self, x, self.training, torch.is_grad_enabled())


def output_in(probe: StateProbe, x, training: bool, grad_enabled: bool):
    """What ``probe`` outputs for ``x`` in the state ``(training, grad_enabled)``."""
    hidden = probe.body(x)
    logits = (probe.train_head if training else probe.eval_head)(hidden)
    if grad_enabled:
        logits = logits + probe.grad_head(hidden)
    return logits.squeeze(-1)


def state_logits(model: StateProbe, X) -> dict[tuple[bool, bool], torch.Tensor]:
    """The probe's logits for X in each state, computed here on a copy."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        return {state: output_in(twin, X, *state) for state in STATES}


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
    loss = F.binary_cross_entropy_with_logits(output_in(twin, X, training, True), y)
    return [g.detach() for g in torch.autograd.grad(loss, list(head.parameters()))]


RECORD_CHANGED = ("; the probe model's own record of its forward passes says otherwise, so something changed that "
                  "record: leave the model's attributes alone")


# -- binary_train_step -------------------------------------------------------------------


@pytest.mark.check(
    id="train_step_returns_loss",
    name="binary_train_step returns this batch's loss, from before the update, as a float",
    points=1,
    hint=["Compute the loss from the forward pass and return it at the end of the function.",
          "`loss.item()` turns the one-element loss tensor into a Python float; return the loss you computed "
          "before `optimizer.step()`, not a new one computed after it."],
)
def test_train_step_returns_loss(learner, seed):
    model, X, y = problem(seed)
    before = loss_after(model, X, y)
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.5))
    value = expect_float(result, "binary_train_step")
    after = loss_after(model, X, y)
    assert not (abs(value - after) < 1e-6 < abs(before - after)), (
        f"binary_train_step returned {fmt(value)}, the loss after the update; return the loss "
        f"of the forward pass before optimizer.step() ({fmt(before)})")
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


@pytest.mark.check(
    id="train_step_logits",
    name="binary_train_step uses BCEWithLogitsLoss on the raw logits, also for very confident ones",
    points=2,
    hint=["The model returns logits; the loss must take them as they are. Look for a sigmoid before the loss, or "
          "nn.BCELoss.",
          "Use `nn.BCEWithLogitsLoss()(logits, y)`. sigmoid followed by `nn.BCELoss` rounds a logit of 40 to a "
          "probability of exactly 1.0, and then a confident mistake costs a clamped 100 instead of 40."],
)
def test_train_step_logits(learner, seed):
    model, X, y = problem(seed, confident=True)
    with torch.no_grad():  # the logits of this batch, worked out here (the probe has no dropout: any mode)
        logits = model.layers(X).squeeze(-1)
    # lr=0: the loss is the same before and after the step, so this check is about the loss alone.
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.0))
    if type(result) is torch.Tensor and result.numel() == 1:
        result = result.item()  # returning a tensor is train_step_returns_loss's business, not this check's
    value = expect_float(result, "binary_train_step")
    assert model.seen, "binary_train_step never called the model (no forward pass)"
    expected = bce_loss(logits, y)
    if abs(value - expected) <= 1e-4 * max(1.0, abs(expected)):
        return
    shown = f"for logits of size up to {fmt(logits.abs().max())}"
    mistakes = {
        "sigmoid followed by BCELoss: sigmoid rounds such logits to exactly 0 or 1, and BCELoss then clamps log(0) "
        "to -100": F.binary_cross_entropy(torch.sigmoid(logits), y).item(),
        "the loss of sigmoid(logits) given to BCEWithLogitsLoss, a sigmoid applied twice":
            bce_loss(torch.sigmoid(logits), y),
        "the sum over the batch, not the mean (BCEWithLogitsLoss averages by default)":
            F.binary_cross_entropy_with_logits(logits, y, reduction="sum").item(),
    }
    for meaning, wrong in mistakes.items():
        assert not (abs(value - wrong) <= 1e-4 * max(1.0, abs(wrong))), (
            f"binary_train_step returned {fmt(value)} {shown}, {meaning}; "
            f"BCEWithLogitsLoss on the logits gives {fmt(expected)}")
    raise AssertionError(f"binary_train_step returned {fmt(value)} {shown}; BCEWithLogitsLoss on the raw logits "
                         f"gives {fmt(expected)}")


@pytest.mark.check(
    id="train_step_updates",
    name="binary_train_step takes exactly one optimizer step, with this batch's gradients only",
    points=2,
    hint=["The order is: forward pass, loss, zero the gradients, backward(), step(). Gradients add up in `.grad` "
          "until something clears them.",
          "Call `optimizer.zero_grad()` before `loss.backward()` (not after `step()`, not between `backward()` "
          "and `step()`), and `optimizer.step()` once."],
)
def test_train_step_updates(learner, seed):
    model, X, y = problem(seed)
    lr = 0.5
    generator = torch.Generator().manual_seed(seed + 1)
    stale = [torch.randn(p.shape, generator=generator) for p in model.parameters()]
    for parameter, old in zip(model.parameters(), stale):  # gradients left over from an earlier computation
        parameter.grad = old.clone()
    start = parameters_of(model)
    grads = fresh_gradients(model, X, y)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    learner.binary_train_step(model, X, y, optimizer)
    assert steps[0] == 1, f"optimizer.step() ran {steps[0]} times in one call of binary_train_step; it must run once"
    end = parameters_of(model)
    assert largest_difference(start, end) != 0, (
        "optimizer.step() ran but no parameter moved: the gradients were empty or zero "
        "when it ran (were they zeroed between backward() and step()?)")
    expected = [p - lr * g for p, g in zip(start, grads)]
    if largest_difference(end, expected) < 1e-5:
        return
    leaked = [p - lr * (g + old) for p, g, old in zip(start, grads, stale)]
    assert not (largest_difference(end, leaked) < 1e-5), (
        "gradients already in .grad before binary_train_step was called were added to this "
        "batch's: zero the gradients before backward()")
    raise AssertionError(f"after one SGD step the parameters differ by up to {fmt(largest_difference(end, expected))} "
                         "from one step with this batch's gradients of BCEWithLogitsLoss(logits, y)")


@pytest.mark.check(
    id="train_step_train_mode",
    name="binary_train_step runs the forward pass in training mode, with gradients",
    points=1,
    hint=["A model may arrive in evaluation mode (after predict_proba, say): switch it back first.",
          "Call `model.train()` at the start of `binary_train_step`, before the forward pass."],
)
def test_train_step_train_mode(learner, seed):
    model, X, y = state_problem(seed)
    model.eval()
    logits = state_logits(model, X)
    losses = {state: loss_candidates(value, y) for state, value in logits.items()}
    gradient = head_gradient(model, X, y, training=True)
    start = {training: parameters_of(head) for training, head in ((True, model.train_head), (False, model.eval_head))}
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.1))
    # The outcome: which mode's head the step trained, and which state's loss it returned.
    in_training = trained(model.train_head, start[True], gradient)
    in_eval = touched(model.eval_head, start[False])
    returned = states_of_loss(result, losses)
    # Evidence first: the head the step trained, else (when .grad was cleared and nothing moved) the loss returned.
    expect_training_mode(
        model, "binary_train_step", in_training, in_eval, returned, RECORD_CHANGED,
        eval_mode="the model was in evaluation mode during binary_train_step's forward pass (it arrived in "
                  "evaluation mode)",
        no_grad="gradient tracking was off during binary_train_step's forward pass, so nothing can be learned",
        nothing="nothing binary_train_step left shows a forward pass in training mode: neither the loss it returned "
                "nor the parameters (or their .grad) afterwards come from this batch's forward pass with gradient "
                "tracking on")


# -- predict_proba ------------------------------------------------------------------------


def eval_probabilities(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """What ``predict_proba`` must return, computed on a CPU copy of the model."""
    twin = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        return torch.sigmoid(twin(X.cpu()))


@pytest.mark.check(
    id="predict_proba_values",
    name="predict_proba returns the sigmoid of the logits: float32 [N], also for a batch of one",
    points=2,
    hint=["The model gives logits, any real numbers; a probability is the sigmoid of a logit.",
          "Return `torch.sigmoid(model(X))` as it is: shape [N] like the logits (do not squeeze it: one row must "
          "give shape [1]), and probabilities, not labels rounded to 0 or 1."],
)
def test_predict_proba_values(learner, seed):
    model, X, _ = problem(seed, n=13)
    for rows in (X, X[:1]):
        n = len(rows)
        expected = eval_probabilities(model, rows)
        result = learner.predict_proba(model, rows)
        what = f"predict_proba's result for {n} row{'s' if n > 1 else ''}"
        expect_tensor(result, what)
        assert not (n == 1 and result.dim() == 0), (
            f"{what} has shape []: the model already gives one logit per row, shape [1] here, "
            "and a squeeze removed the batch dimension; return the sigmoid of the logits without reshaping it")
        expect_tensor(result, what, shape=(n,), dtype=torch.float32)
        result = result.detach().cpu()
        if torch.allclose(result, expected, atol=1e-6):
            continue
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


def run_predict_proba(learner, model: StateProbe, X):
    """Call predict_proba on the state probe: what it returned, the states whose row order that follows, the record."""
    logits = state_logits(model, X)
    result = learner.predict_proba(model, X)
    shown = [state for state, value in logits.items() if follows(result, value)]
    return result, shown, forward_records(model, "predict_proba")


@pytest.mark.check(
    id="predict_proba_eval_mode",
    name="predict_proba runs the model in evaluation mode",
    points=1,
    hint=["The model may arrive in training mode, straight from training, where dropout drops at random.",
          "Call `model.eval()` before the forward pass in `predict_proba`."],
)
def test_predict_proba_eval_mode(learner, seed):
    model, X, _ = state_problem(seed)
    model.train()
    # The order of the rows in the result tells the state of the forward pass it came from; the record names it.
    _, shown, seen = run_predict_proba(learner, model, X)
    expect_off("training", shown, seen,
               "the model was in training mode during predict_proba's forward pass (where dropout drops at random): "
               "call model.eval() first",
               "predict_proba's result does not rise with the model's logits for X, so the mode of the forward pass "
               "it came from cannot be told from it: return torch.sigmoid(model(X)) computed in evaluation mode, one "
               "probability per row (see the check about predict_proba's values)", RECORD_CHANGED)


@pytest.mark.check(
    id="predict_proba_no_grad",
    name="predict_proba tracks no gradients: no autograd history, no .grad left behind",
    points=1,
    hint=["Predictions need no computation graph: turn gradient tracking off around the forward pass.",
          "Run the forward pass inside `with torch.inference_mode():` (or `torch.no_grad()`)."],
)
def test_predict_proba_no_grad(learner, seed):
    model, X, _ = state_problem(seed)
    # The order of the rows in the result tells the state of the forward pass it came from; the record names it.
    result, shown, seen = run_predict_proba(learner, model, X)
    expect_off("grad", shown, seen,
               "gradient tracking was on during predict_proba's forward pass: run it inside "
               "torch.inference_mode() or torch.no_grad()",
               "predict_proba's result does not rise with the model's logits for X, so whether the forward pass it "
               "came from tracked gradients cannot be told from it: return torch.sigmoid(model(X)) computed without "
               "gradient tracking, one probability per row (see the check about predict_proba's values)",
               RECORD_CHANGED)
    if type(result) is torch.Tensor:  # what else it may be is predict_proba_values' business
        assert not result.requires_grad and result.grad_fn is None, \
            ("predict_proba's result carries autograd history (requires_grad=True): compute it with gradient "
             "tracking off")
    expect_no_gradients(model, "predict_proba")


@pytest.mark.check(
    id="predict_proba_on_cpu",
    name="predict_proba runs a model on the GPU and returns the probabilities on the CPU",
    points=1,
    hint=["The inputs must go to the model's device, and the result comes back to the CPU.",
          "`next(model.parameters()).device` is where the model is: `X.to(that)` before the forward pass, "
          "`.cpu()` on the probabilities after it."],
)
def test_predict_proba_on_cpu(learner, seed, cuda):
    model, X, _ = problem(seed)
    expected = eval_probabilities(model, X)
    model.to(cuda)
    for inputs in (X, X.to(cuda)):  # new data usually arrives on the CPU; it may already be on the GPU
        what = f"predict_proba on a model on the GPU with inputs on {inputs.device.type}"
        try:
            result = learner.predict_proba(model, inputs)
        except RuntimeError as exc:
            if "device" not in str(exc):
                raise
            raise AssertionError(f"{what} mixed devices in the forward pass: move the inputs to the model's device "
                                 "first") from None
        result = expect_tensor(result, f"the result of {what}", shape=(len(X),))
        assert result.device.type == "cpu", \
            f"{what} returned a tensor on {result.device}; move the probabilities to the CPU with .cpu()"
        moved_to = next(model.parameters()).device
        assert moved_to.type == "cuda", f"{what} moved the model to {moved_to}: move the inputs to the model instead"
        expect_close(float((result - expected).abs().max()), 0.0,
                     f"the largest difference from sigmoid(logits) for {what}", tolerance=1e-5)


# -- binary_metrics -----------------------------------------------------------------------


KEYS = ("accuracy", "precision", "recall", "f1")


def learner_metrics(learner, probabilities, targets, *threshold) -> dict[str, float]:
    """Call ``binary_metrics`` and check it returns the contract's dict of four Python floats."""
    result = learner.binary_metrics(probabilities.clone(), targets.clone(), *threshold)
    assert isinstance(result, dict), f"binary_metrics returned {kind_of(result)}, not a dict"
    missing = [key for key in KEYS if key not in result]
    assert not missing, \
        f"the metrics have no key {', '.join(map(repr, missing))} (keys found: {sorted(map(str, result))})"
    for key in KEYS:
        value = result[key]
        assert not (type(value) is float and math.isnan(value)), (
            f"{key} was nan: a 0/0 (nothing predicted positive, or nothing truly positive) counts as 0")
        expect_float(value, f"binary_metrics[{key!r}]")
    return result


def counts(predicted: torch.Tensor, actual: torch.Tensor) -> dict[str, float]:
    """The four metrics worked out from bool predictions and bool targets, 0/0 counting as 0."""
    tp = int((predicted & actual).sum())
    n_predicted, n_actual = int(predicted.sum()), int(actual.sum())
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_actual if n_actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": int((predicted == actual).sum()) / len(actual), "precision": precision, "recall": recall,
            "f1": f1}


def metrics_problem(seed: int, n: int = 60):
    """Probabilities clear of 0.5 and imbalanced targets, whose precision and recall differ from each other and
    from those of class 0, so that a swap, the wrong class or an average over both classes shows."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(1000):
        actual = torch.rand(n, generator=generator) < 0.35
        # Right about 70 % of the time, with probabilities never within 0.01 of the threshold.
        right = torch.rand(n, generator=generator) < 0.7
        predicted = torch.where(right, actual, ~actual)
        margin = 0.01 + 0.48 * torch.rand(n, generator=generator)
        probabilities = torch.where(predicted, 0.5 + margin, 0.5 - margin)
        expected = counts(predicted, actual)
        negative = counts(~predicted, ~actual)
        values = [expected["precision"], expected["recall"], negative["precision"], negative["recall"]]
        if min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]) > 0.02:
            return probabilities, actual.float(), expected, negative
    raise RuntimeError("could not make a metrics problem")  # never happens for any seed tried


@pytest.mark.check(
    id="metrics_accuracy",
    name="binary_metrics gives the accuracy as a fraction",
    points=1,
    hint=["A row is predicted positive when its probability is at least the threshold; accuracy is the fraction "
          "of rows whose prediction equals the target, between 0 and 1.",
          "Compare `probabilities >= threshold` with the targets, count the matches and divide by the number of rows; "
          "return Python floats (`.item()`)."],
)
def test_metrics_accuracy(learner, seed):
    probabilities, targets, expected, _ = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    assert not (abs(result["accuracy"] - 100 * expected["accuracy"]) < 1e-3), (
        f"the accuracy was {fmt(result['accuracy'])}, a percentage; return a fraction between "
        f"0 and 1 ({fmt(expected['accuracy'])})")
    expect_close(result["accuracy"], expected["accuracy"], "the accuracy",
                 advice="the fraction of rows whose prediction (probability >= threshold) equals the target")


@pytest.mark.check(
    id="metrics_precision_recall",
    name="binary_metrics gives the precision and recall of the positive class",
    points=2,
    hint=["Precision: of the rows predicted positive, the fraction that truly are. Recall: of the rows truly "
          "positive, the fraction predicted positive. Both are about class 1.",
          "true positives = predicted positive and truly positive; precision = true positives / predicted "
          "positives; recall = true positives / actual positives."],
)
def test_metrics_precision_recall(learner, seed):
    probabilities, targets, expected, negative = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    for key, other in (("precision", "recall"), ("recall", "precision")):
        value, wanted = result[key], expected[key]
        if abs(value - wanted) <= 1e-6:
            continue
        assert not (abs(value - 100 * wanted) < 1e-3), (
            f"the {key} was {fmt(value)}, a percentage; return a fraction between 0 and 1 ({fmt(wanted)})")
        assert not (abs(value - expected[other]) <= 1e-6), (
            f"the {key} was {fmt(value)}, which is the {other}: precision divides the true "
            "positives by the rows predicted positive, recall by the rows truly positive")
        assert not (abs(value - negative[key]) <= 1e-6), (
            f"the {key} was {fmt(value)}, the {key} of class 0; give it for the positive class, label 1: {fmt(wanted)}")
        assert not (abs(value - (negative[key] + wanted) / 2) <= 1e-6), (
            f"the {key} was {fmt(value)}, the mean over both classes (a macro average); give "
            f"it for the positive class only: {fmt(wanted)}")
        expect_close(value, wanted, f"the {key}", advice="for the positive class, label 1")


@pytest.mark.check(
    id="metrics_f1",
    name="binary_metrics gives F1, the harmonic mean of precision and recall",
    points=1,
    hint=["F1 is the harmonic mean of precision and recall, not their plain average: it is low when either is low.",
          "f1 = 2 * precision * recall / (precision + recall)."],
)
def test_metrics_f1(learner, seed):
    probabilities, targets, expected, _ = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    value, wanted = result["f1"], expected["f1"]
    if abs(value - wanted) <= 1e-6:
        return
    arithmetic = (expected["precision"] + expected["recall"]) / 2
    assert not (abs(value - arithmetic) <= 1e-6), (
        f"f1 was {fmt(value)}, the plain average of precision and recall; F1 is their harmonic mean, {fmt(wanted)}")
    assert not (abs(value - 100 * wanted) < 1e-3), (
        f"f1 was {fmt(value)}, a percentage; return a fraction between 0 and 1 ({fmt(wanted)})")
    expect_close(value, wanted, "f1", advice="2 * precision * recall / (precision + recall)")


def as_decided(predicted: torch.Tensor) -> torch.Tensor:
    """Probabilities far from 0.5 that make exactly the rows of ``predicted`` positive at the default threshold."""
    return torch.where(predicted, torch.tensor(0.9), torch.tensor(0.1))


def same_metrics(a: dict, b: dict) -> bool:
    return all(abs(a[key] - b[key]) <= 1e-6 for key in KEYS)


@pytest.mark.check(
    id="metrics_threshold",
    name="binary_metrics predicts positive when the probability is >= threshold",
    points=1,
    hint=["Use the threshold you are given, and count a probability exactly at the threshold as positive.",
          "`predicted = probabilities >= threshold` (not `>`, and not a fixed 0.5)."],
)
def test_metrics_threshold(learner, seed):
    # Compared with the learner's own metrics of the same decisions made clear-cut (0.9 or 0.1), so that this
    # check is about the threshold alone, whatever the formulas of the metrics.
    generator = torch.Generator().manual_seed(seed)
    n = 40
    targets = (torch.rand(n, generator=generator) < 0.5).float()
    for threshold in (0.25, 0.75, 0.5):  # exact in binary, so float32 and Python floats agree on them
        probabilities = torch.rand(n, generator=generator)
        probabilities[torch.randperm(n, generator=generator)[:8]] = threshold  # some rows exactly at the threshold
        arguments = (threshold,) if threshold != 0.5 else ()
        called = f"threshold={threshold}" if arguments else "the default threshold (0.5)"
        result = learner_metrics(learner, probabilities, targets, *arguments)
        if same_metrics(result, learner_metrics(learner, as_decided(probabilities >= threshold), targets)):
            continue
        assert not same_metrics(result, learner_metrics(learner, as_decided(probabilities > threshold), targets)), (
            f"with {called} the rows whose probability is exactly {threshold} were counted "
            "negative: a probability at the threshold is predicted positive (>=, not >)")
        at_half = as_decided(probabilities >= 0.5)
        assert not (threshold != 0.5 and same_metrics(result, learner_metrics(learner, at_half, targets))), (
            f"with {called} the metrics are those of a threshold of 0.5: use the threshold argument")
        raise AssertionError(f"with {called} the metrics differ from those of the predictions "
                             f"probability >= {threshold}")


@pytest.mark.check(
    id="metrics_zero_division",
    name="binary_metrics counts a 0/0 as 0",
    points=1,
    hint=["When nothing is predicted positive, precision is 0/0; when nothing is truly positive, recall is 0/0; "
          "when both are 0, F1 is 0/0. Each counts as 0, never nan or an error.",
          "Divide only when the denominator is not zero, and give 0.0 otherwise."],
)
def test_metrics_zero_division(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n = 20
    some = torch.rand(n, generator=generator) < 0.5
    some[0], some[1] = True, False
    low, high = 0.4 * torch.rand(n, generator=generator), 0.6 + 0.4 * torch.rand(n, generator=generator)
    situations = [
        ("nothing is predicted positive", low, some),
        ("nothing is truly positive", torch.where(some, high, low), torch.zeros(n, dtype=torch.bool)),
        ("nothing is positive at all", low, torch.zeros(n, dtype=torch.bool)),
    ]
    for situation, probabilities, actual in situations:
        expected = counts(probabilities >= 0.5, actual)
        result = learner_metrics(learner, probabilities, actual.float())
        for key in ("precision", "recall", "f1"):  # the accuracy is no 0/0, and has a check of its own
            assert abs(result[key] - expected[key]) <= 1e-6, (
                f"when {situation}, {key} was {fmt(result[key])}; expected {fmt(expected[key])} (a 0/0 counts as 0)")


@pytest.mark.check(
    id="metrics_target_types",
    name="binary_metrics takes targets as float, integer or bool tensors",
    points=1,
    hint=["Targets may come as 0.0/1.0 floats, 0/1 integers or False/True: the metrics must be the same.",
          "Turn the targets into one form first, for example `targets == 1` (a bool tensor); `1 - targets` fails "
          "for bool tensors."],
)
def test_metrics_target_types(learner, seed):
    # Compared with the learner's own metrics for float targets: this check is about the types alone.
    probabilities, targets, _, _ = metrics_problem(seed)
    with_floats = learner_metrics(learner, probabilities, targets)
    for dtype in (torch.bool, torch.int64):
        result = learner_metrics(learner, probabilities, targets.to(dtype))
        differing = [key for key in KEYS if abs(result[key] - with_floats[key]) > 1e-6]
        assert not differing, (
            f"with {dtype} targets the {', '.join(differing)} differ from those with the same targets as floats "
            f"({differing[0]} was {fmt(result[differing[0]])} instead of {fmt(with_floats[differing[0]])})")
