"""Hidden suite for exercise 00 (tensors and autograd).

Every check looks at what the learner's functions return and what that does
under autograd, never at how they are written: ``torch.tensor(..., dtype=...)``
and ``torch.as_tensor(...).float().requires_grad_()``, ``backward()`` with
``.grad`` and ``torch.autograd.grad``, ``.item()`` and ``float(...)`` all pass.
Numbers, points and data come from each check's ``seed``, so answers written
for the lesson's examples do not pass.

A wrong type costs only the check about types: the checks about values read
the number out of a one-element tensor or a NumPy scalar too, so that one slip
is reported once, where it belongs.
"""

import math
import warnings

import pytest
import torch
from torch import nn

from grader.checking import call_text, expect_close, expect_equal_tensors, expect_float, fmt, fmt_list, kind_of

TOLERANCE = 1e-4  # relative (absolute below 1): float32 autograd is far closer than this


def number_of(value, what: str) -> float:
    """The number in ``value`` when its type is exactly one that holds a number; otherwise fail.

    Exact types only (no subclasses), so nothing the learner returns can answer
    a comparison its own way.
    """
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind.__module__ == "numpy" and kind.__name__ in ("float16", "float32", "float64"):
        return float(value)
    if kind is torch.Tensor and value.numel() == 1 and value.dtype.is_floating_point:
        return value.detach().cpu().item()
    raise AssertionError(f"{what} returned {kind_of(value)}, not a number")


def expect_plain_tensor(value, what: str) -> torch.Tensor:
    """``value`` if it is exactly a ``torch.Tensor`` (or exactly an ``nn.Parameter``, also a fine answer)."""
    assert type(value) is torch.Tensor or type(value) is nn.Parameter, (
        f"{what} returned {kind_of(value)}, not a torch.Tensor")
    return value


def random_floats(generator: torch.Generator, n: int, low: float, high: float) -> list[float]:
    """``n`` floats in ``[low, high)``, each exactly representable in float32 (so rounding cannot blur a check)."""
    return (torch.rand(n, generator=generator) * (high - low) + low).tolist()


def expect_near(observed: float, expected: float, what: str, estimates=lambda: []) -> None:
    """Like ``expect_close`` with ``TOLERANCE``, but a near miss is shown with enough digits to see it.

    ``estimates()``: what a slope estimated from a small step gives (``step_estimates``), asked only on a miss.
    """
    if abs(observed - expected) <= TOLERANCE * max(1.0, abs(expected)):
        return
    for decimals in range(1, 4):  # a learner who rounds the answer has not used a step h: say what they did
        rounded = round(expected, decimals)
        assert not (rounded != 0 and abs(observed - rounded) <= 1e-9 * max(1.0, abs(rounded))), (
            f"{what} was {observed!r}, expected {expected:.7g}: that is the derivative rounded to {decimals} "
            f"decimal place{'s' if decimals > 1 else ''}; return the number autograd gives as it is "
            "(round only when you print it)")
    assert not (abs(observed - expected) < 1e-2 * max(1.0, abs(expected))), (
        f"{what} was {observed:.7g}, expected {expected:.7g}: close, but autograd gives the "
        "derivative to float32 precision and this is further off than that (an estimate from "
        "a small step h is not exact enough)")
    assert not any(abs(observed - estimate) <= 1e-6 * max(1.0, abs(estimate)) for estimate in estimates()), (
        f"{what} was {fmt(observed)}, expected {fmt(expected)}: that is what an estimate from a small step h "
        "gives, and in float32 it can be far off; backward() gives the derivative itself")
    expect_close(observed, expected, what, tolerance=TOLERANCE)


def step_estimates(function, x: float) -> list[float]:
    """What estimating the slope at ``x`` from a small step h gives in float32, centred and one-sided,
    for h from 0.1 to 1e-6: the answers of a ``gradient`` that does not use autograd."""
    def at(point: float) -> torch.Tensor:
        return function(torch.tensor(point))

    estimates = []
    for h in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        estimates += [((at(x + h) - at(x - h)) / (2 * h)).item(), ((at(x + h) - at(x)) / h).item()]
    return estimates


# -- make_tensor -------------------------------------------------------------------


@pytest.mark.check(
    id="make_tensor_float32",
    name="make_tensor gives a 1-D float32 tensor, from floats and from ints",
    points=1,
    hint=["A list of ints makes an integer tensor unless you ask for another dtype.",
          "`torch.tensor(values, dtype=torch.float32)` (or `.float()` on the tensor) gives float32 "
          "whatever the list holds; do not wrap the list in another list."],
)
def test_make_tensor_float32(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    floats = random_floats(generator, 7, -10, 10)
    ints = torch.randint(-50, 50, (6,), generator=generator).tolist()
    mixed = [ints[0], floats[0], ints[1], floats[1]]
    calls = [(values, {}) for values in (floats, ints, mixed, [floats[2]])]
    calls.append((floats[3:], {"requires_grad": True}))  # the dtype does not depend on requires_grad
    for values, options in calls:
        what = call_text("make_tensor", fmt_list(values, limit=4), show=str, **options)
        tensor = expect_plain_tensor(learner.make_tensor(list(values), **options), what)
        advice = " (a list of ints makes an integer tensor unless you ask for float32)" \
            if all(type(v) is int for v in values) else ""
        assert tensor.dtype == torch.float32, f"{what} has dtype {tensor.dtype}, expected torch.float32{advice}"
        assert list(tensor.shape) == [len(values)], (
            f"{what} has shape {list(tensor.shape)}, expected [{len(values)}]: one dimension, one entry per number")
        expect_equal_tensors(tensor, torch.tensor(values, dtype=torch.float64), what, tolerance=1e-6)


@pytest.mark.check(
    id="make_tensor_requires_grad",
    name="make_tensor tracks gradients when asked, and backward() fills its .grad",
    points=1,
    hint=["`requires_grad` is False unless the caller asks for True: pass the argument on.",
          "Only a floating-point tensor can require gradients, and only the tensor created with "
          "`requires_grad=True` (a leaf) gets a `.grad`: convert to float32 first, then ask for gradients "
          "(in the same `torch.tensor(...)` call, or with `.requires_grad_()` last)."],
)
def test_make_tensor_requires_grad(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    floats = random_floats(generator, 5, -10, 10)
    ints = torch.randint(-50, 50, (4,), generator=generator).tolist()
    for call, tensor in ((call_text("make_tensor", fmt_list(floats, limit=4)), learner.make_tensor(list(floats))),
                         (call_text("make_tensor", fmt_list(floats, limit=4), requires_grad=False),
                          learner.make_tensor(list(floats), requires_grad=False))):
        tensor = expect_plain_tensor(tensor, call)
        assert not tensor.requires_grad, (
            f"{call} gave a tensor with requires_grad=True; expected False "
            "(tracking gradients is only for tensors that ask for it)")
    for values in (floats, ints):
        call = call_text("make_tensor", fmt_list(values, limit=4), requires_grad=True)
        tensor = expect_plain_tensor(learner.make_tensor(list(values), requires_grad=True), call)
        assert tensor.requires_grad, f"{call} gave a tensor with requires_grad=False; expected True"
        # Behaviour, not spelling: gradients of a loss must arrive in this very tensor's .grad.
        weights = torch.rand(len(values), generator=generator) + 0.5
        (tensor * weights).sum().backward()
        with warnings.catch_warnings():  # reading .grad of a non-leaf warns; the message below says more
            warnings.simplefilter("ignore")
            grad = tensor.grad
        assert grad is not None, (
            f"after backward() the tensor from {call} still had no .grad: it is not a leaf "
            "of the graph (it was made from another tensor that tracks gradients)")
        expect_equal_tensors(grad, weights, f"the .grad of the tensor from {call}", tolerance=1e-6)


# -- gradient ------------------------------------------------------------------------


class Cubic:
    """f(x) = a x³ + b x² + c x + d with a large constant d, so that a finite-difference estimate in float32 is off."""

    def __init__(self, generator: torch.Generator):
        a, b, c = ((torch.randint(1, 13, (3,), generator=generator) * (torch.randint(0, 2, (3,), generator=generator) * 2 - 1))
                   / 4).tolist()
        self.coefficients = (a, b, c, float(torch.randint(1000, 10000, (1,), generator=generator).item()))

    def __call__(self, t):
        a, b, c, d = self.coefficients
        return a * t**3 + b * t**2 + c * t + d

    def derivative(self, x: float) -> float:
        a, b, c, _ = self.coefficients
        return 3 * a * x**2 + 2 * b * x + c

    def __str__(self) -> str:
        a, b, c, d = self.coefficients
        text = f"{fmt(a)}x³ {'-' if b < 0 else '+'} {fmt(abs(b))}x² {'-' if c < 0 else '+'} {fmt(abs(c))}x + {fmt(d)}"
        return f"f(x) = {text}"


class StraightThrough:
    """f(x) = x² in value, but with the derivative autograd gives set to ``slope`` (as a straight-through estimator
    sets it): only autograd answers ``slope``; steps of h measure the values, whose slope is 2x."""

    def __init__(self, slope: float):
        self.slope = slope

    def __call__(self, t):
        return t.detach() ** 2 + self.slope * (t - t.detach())

    def __str__(self) -> str:
        return f"f(x) = x² whose autograd derivative is set to {fmt(self.slope)}"


def x_times_sin(t):
    return t * torch.sin(t)


FUNCTIONS = (  # (function, how a learner reads it, its true derivative)
    (torch.sin, "torch.sin", math.cos),
    (torch.exp, "torch.exp", math.exp),
    (x_times_sin, "f(x) = x·sin(x)", lambda x: math.sin(x) + x * math.cos(x)),
)


@pytest.mark.check(
    id="gradient_returns_float",
    name="gradient returns a Python float",
    points=1,
    hint=["The gradient autograd leaves in `.grad` is a tensor; the exercise asks for a plain number.",
          "`.item()` (or `float(...)`) turns a one-element tensor into a Python float."],
)
def test_gradient_returns_float(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    x = random_floats(generator, 1, -2, 2)[0]
    expect_float(learner.gradient(Cubic(generator), x), "gradient")
    expect_float(learner.gradient(torch.sin, x), "gradient")


@pytest.mark.check(
    id="gradient_matches_derivative",
    name="gradient gives autograd's derivative: of a polynomial, sin and exp, and of a function that sets its own",
    points=2,
    hint=["Make a tensor holding x that tracks gradients, call f on it, then `backward()` on the result.",
          "The answer is the `.grad` of the tensor you made (or what `torch.autograd.grad` gives for it), "
          "not f's value; compute it with autograd, not with a small step h.",
          "Create the tensor with `requires_grad=True`, pass that tensor (not the float x) to f, and after "
          "`backward()` read the gradient from that same tensor."],
)
def test_gradient_matches_derivative(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    cubic = Cubic(generator)
    cases = [(cubic, str(cubic), cubic.derivative, x) for x in random_floats(generator, 4, -2, 2)]
    for function, name, derivative in FUNCTIONS:
        cases += [(function, name, derivative, x) for x in random_floats(generator, 2, -2, 2)]
    for function, name, derivative, x in cases:
        what = f"gradient({name}, {fmt(x)})"
        value = number_of(learner.gradient(function, x), what)
        expect_near(value, derivative(x), what, lambda: step_estimates(function, x))  # noqa: B023 - called at once
    # Autograd's answer, not the slope of f's values: a gradient worked out from steps of h, even in float64 where
    # it is exact enough for the functions above, measures 2x here.
    x = random_floats(generator, 1, -2, 2)[0]
    function = StraightThrough(2 * x + (3.0 if x < 0 else -3.0))
    what = f"gradient({function}, {fmt(x)})"
    value = number_of(learner.gradient(function, x), what)
    assert not abs(value - 2 * x) <= 1e-3 * max(1.0, abs(2 * x)), (
        f"{what} was {fmt(value)}, the slope of f's values (2x), not the derivative autograd gives ({fmt(function.slope)}): "
        "compute it with autograd (backward() on f of a tensor that tracks gradients), not from steps of h")
    expect_near(value, function.slope, what)


@pytest.mark.check(
    id="gradient_repeatable",
    name="gradient gives the same answer when asked the same question again",
    points=1,
    hint=["Gradients add up in `.grad`; a tensor kept from an earlier call still holds that call's gradient.",
          "Make a new tensor for x inside `gradient` on every call (or clear its `.grad` before `backward()`)."],
)
def test_gradient_repeatable(learner, seed):
    # Only the learner's own answers are compared here: whether they are right is the previous check's job.
    generator = torch.Generator().manual_seed(seed)
    cubic = Cubic(generator)
    x, other = random_floats(generator, 2, -2, 2)
    questions = {f"gradient({cubic}, {fmt(x)})": (cubic, x), f"gradient(torch.sin, {fmt(other)})": (torch.sin, other)}
    asked = [*questions][1:] + [*questions][:1] * 3 + [*questions][1:]  # sin, the cubic three times, sin again
    answers: dict[str, list[float]] = {question: [] for question in questions}
    for question in asked:
        answers[question].append(number_of(learner.gradient(*questions[question]), question))
    for question, given in answers.items():
        assert not (max(given) - min(given) > TOLERANCE * max(1.0, abs(given[0]))), (
            f"asked {question} {len(given)} times, gradient returned {fmt_list(given)}; the same "
            "question must get the same answer: gradients from earlier calls were added to the new one")


# -- manual_linear_gradients -----------------------------------------------------------


def linear_problem(generator: torch.Generator, n: int, flat: bool = False):
    """Random ``w``, ``b`` (Python floats) and noisy data ``x``, ``y`` around some other line."""
    shape = (n,) if flat else (n, 1)
    x = torch.rand(shape, generator=generator) * 4 - 2
    true_w, true_b = (torch.rand(2, generator=generator) * 2 - 1).tolist()
    y = true_w * x + true_b + 0.1 * torch.randn(shape, generator=generator)
    w, b = (torch.rand(2, dtype=torch.float64, generator=generator) * 4 - 2).tolist()
    return w, b, x, y


def true_gradients(w: float, b: float, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """dL/dw and dL/db of mean((w x + b - y)²), by the formula, in float64."""
    x, y = x.double(), y.double()
    residual = w * x + b - y
    return (2 * residual * x).mean().item(), (2 * residual).mean().item()


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def expect_data_left_alone(call: str, before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> None:
    """Fail unless each tensor in ``after`` is as its copy in ``before``: values, shape, dtype, no gradients."""
    for name, original in before.items():
        tensor = after[name]
        assert not tensor.requires_grad, (
            f"after {call} the {name} passed in requires gradients: leave x and y as they were; only w and b "
            "need gradients, so call requires_grad_() on neither x nor y (make new tensors for w and b instead)")
        with warnings.catch_warnings():  # reading .grad of a non-leaf warns; it is None either way
            warnings.simplefilter("ignore")
            grad = tensor.grad
        assert grad is None, (
            f"after {call} the {name} passed in has a .grad: leave x and y as they were; only w and b "
            "need gradients")
        assert tensor.shape == original.shape, (
            f"{call} changed the shape of the {name} passed in from {list(original.shape)} to {list(tensor.shape)}: "
            "leave x and y as they were (an in-place method such as `unsqueeze_` changes the caller's tensor; "
            "`unsqueeze`, without the underscore, makes a new one)")
        assert tensor.dtype == original.dtype, (
            f"{call} changed the dtype of the {name} passed in from {original.dtype} to {tensor.dtype}: leave x and y "
            "as they were (`.double()` or `.to(...)` without an in-place change makes a new tensor)")
        assert torch.equal(tensor.detach(), original), (
            f"{call} changed the values of the {name} passed in: leave x and y as they were, and compute with new "
            "tensors instead of changing these in place (methods ending in `_`, `+=`, assigning to a slice)")


@pytest.mark.check(
    id="linear_gradients_types",
    name="manual_linear_gradients returns a tuple of two Python floats",
    points=1,
    hint=["Return both gradients together: `return dw, db` makes a tuple.",
          "Each `.grad` is a tensor: `.item()` (or `float(...)`) turns it into a Python float."],
)
def test_linear_gradients_types(learner, seed):
    w, b, x, y = linear_problem(torch.Generator().manual_seed(seed), 20)
    result = learner.manual_linear_gradients(w, b, x, y)
    assert isinstance(result, tuple), (
        f"manual_linear_gradients returned {kind_of(result)}, expected a tuple (dL/dw, dL/db)")
    assert len(result) == 2, (
        f"manual_linear_gradients returned a tuple of {len(result)} values, expected 2: (dL/dw, dL/db)")
    expect_float(result[0], "manual_linear_gradients (its first value, dL/dw)")
    expect_float(result[1], "manual_linear_gradients (its second value, dL/db)")


@pytest.mark.check(
    id="linear_gradients_values",
    name="manual_linear_gradients gives dL/dw and dL/db of the mean squared error, and leaves x and y as they were",
    points=2,
    hint=["Make w and b tensors that track gradients; the loss is the *mean* of (w*x + b - y)², over every element.",
          "Call `backward()` once on that loss and read the `.grad` of w and of b, in that order.",
          "New tensors for w and b on every call, so that no earlier gradient is added in; x and y need no "
          "gradients and no in-place changes (no `requires_grad_()`, no `unsqueeze_()`)."],
)
def test_linear_gradients_values(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n = int(torch.randint(20, 60, (1,), generator=generator))
    first = linear_problem(generator, n)
    # The same question twice in a row (the answer must not change), then data of another shape.
    problems = [first, first, linear_problem(generator, n + 7, flat=True)]
    answers = []
    for w, b, x, y in problems:
        expected = true_gradients(w, b, x, y)  # before the call, in case the data is changed in place
        before = {"x": x.clone(), "y": y.clone()}
        result = learner.manual_linear_gradients(w, b, x, y)
        expect_data_left_alone(f"manual_linear_gradients(w={fmt(w)}, b={fmt(b)}, x, y) with x and y of shape "
                               f"{list(before['x'].shape)}", before, {"x": x, "y": y})
        assert isinstance(result, (tuple, list)) and len(result) == 2, (
            f"manual_linear_gradients returned {kind_of(result)}, expected two values (dL/dw, dL/db)")
        answers.append((number_of(result[0], "manual_linear_gradients (its first value)"),
                        number_of(result[1], "manual_linear_gradients (its second value)"), expected))
    (dw_1, db_1, _), (dw_2, db_2, (want_dw, want_db)) = answers[:2]
    assert close(dw_1, dw_2) and close(db_1, db_2), (
        f"asked the same question twice in a row, manual_linear_gradients returned "
        f"({fmt(dw_1)}, {fmt(db_1)}) and then ({fmt(dw_2)}, {fmt(db_2)}), expected "
        f"({fmt(want_dw)}, {fmt(want_db)}) both times: gradients of earlier calls were added in")
    for (w, b, x, _), (dw, db, (want_dw, want_db)) in zip(problems, answers):
        where = f"with w={fmt(w)}, b={fmt(b)} and x, y of shape {list(x.shape)}"
        assert not (not close(dw, want_dw) and close(dw, want_db) and close(db, want_dw)), (
            f"{where} the two gradients came back swapped: got ({fmt(dw)}, {fmt(db)}), "
            f"expected (dL/dw, dL/db) = ({fmt(want_dw)}, {fmt(want_db)})")
        elements = x.numel()
        assert not (not close(dw, want_dw) and close(dw, elements * want_dw) and close(db, elements * want_db)), (
            f"{where} the gradients were {elements} times too large, one time per data point: "
            "the loss must be the mean of the squared errors, not their sum")
        assert not (not close(dw, want_dw) and close(2 * dw, want_dw) and close(2 * db, want_db)), (
            f"{where} the gradients were ({fmt(dw)}, {fmt(db)}), half of (dL/dw, dL/db) = ({fmt(want_dw)}, "
            f"{fmt(want_db)}): the loss is the mean of the squared errors itself, with no factor 1/2 in front")
        expect_close(dw, want_dw, f"{where}, dL/dw", tolerance=TOLERANCE)
        expect_close(db, want_db, f"{where}, dL/db", tolerance=TOLERANCE)
