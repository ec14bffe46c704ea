"""Small helpers for writing checks: exact type checks and numbers a learner can read.

Suites import these at collection time, before the learner's file is imported,
so the functions they use are bound before learner code could replace anything.
Each helper raises ``AssertionError`` with a message written for the learner;
the grader reports that message as the check's "what was observed".
"""

from __future__ import annotations

import math


def fmt(value) -> str:
    """A number rounded sensibly for a message: four significant digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return repr(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    return f"{number:.4g}"


def fmt_list(values, limit: int = 6) -> str:
    """``[1, 2, 3, …]`` with at most ``limit`` items, each rounded by ``fmt``."""
    values = list(values)
    shown = ", ".join(fmt(value) if not isinstance(value, int) else str(value) for value in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"


def kind_of(value) -> str:
    """A learner-friendly name for a value's type."""
    kind = type(value)
    if kind.__module__ == "torch" and kind.__name__ == "Tensor":
        return f"a torch.Tensor of shape {list(value.shape)}"
    if kind.__module__ in ("builtins",):
        return f"a {kind.__name__}" if kind is not type(None) else "None"
    return f"a {kind.__module__}.{kind.__name__}"


def expect_float(value, what: str) -> float:
    """``value`` if it is exactly a Python float; otherwise fail saying what it was.

    Exactly ``float``: a tensor, a NumPy scalar or a float subclass (which could
    lie in comparisons) is refused. NaN and infinity are refused too.
    """
    if type(value) is not float:
        advice = " (for a one-element tensor, `.item()` gives the float)" if "Tensor" in kind_of(value) else ""
        raise AssertionError(f"{what} returned {kind_of(value)}, not a Python float{advice}")
    if math.isnan(value) or math.isinf(value):
        raise AssertionError(f"{what} returned {value}: the computation went wrong somewhere")
    return value


def expect_close(observed: float, expected: float, what: str, tolerance: float = 1e-5, advice: str = "") -> None:
    """Fail unless ``observed`` is within ``tolerance`` (absolute, and relative to ``expected``)."""
    if not abs(observed - expected) <= tolerance * max(1.0, abs(expected)):
        shown, wanted = fmt(observed), fmt(expected)
        if shown == wanted:  # a near miss: show enough digits to see the difference
            shown, wanted = f"{float(observed):.7g}", f"{float(expected):.7g}"
        message = f"{what} was {shown}, expected {wanted}"
        raise AssertionError(f"{message}: {advice}" if advice else message)


def expect_tensor(value, what: str, shape: tuple | list | None = None, dtype=None):
    """``value`` if it is exactly a ``torch.Tensor`` (of ``shape`` and ``dtype`` when given); otherwise fail.

    A tensor subclass is refused: it could override ``__torch_function__`` and
    answer every comparison with "equal".
    """
    import torch

    if type(value) is not torch.Tensor:
        raise AssertionError(f"{what} is {kind_of(value)}, not a torch.Tensor")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise AssertionError(f"{what} has shape {list(value.shape)}, expected {list(shape)}")
    if dtype is not None and value.dtype != dtype:
        raise AssertionError(f"{what} has dtype {value.dtype}, expected {dtype}")
    return value


def expect_equal_tensors(observed, expected, what: str, tolerance: float = 1e-5) -> None:
    """Fail unless two tensors of the same shape agree within ``tolerance`` (absolute and relative), on the CPU."""
    observed = observed.detach().cpu().float()
    expected = expected.detach().cpu().float()
    if observed.shape != expected.shape:
        raise AssertionError(f"{what} has shape {list(observed.shape)}, expected {list(expected.shape)}")
    if observed.numel() == 0:
        return
    gap = (observed - expected).abs() - tolerance * expected.abs()
    worst = int(gap.argmax())
    if bool(gap.isnan().any()) or gap.view(-1)[worst] > tolerance:
        flat_observed, flat_expected = observed.reshape(-1), expected.reshape(-1)
        raise AssertionError(f"{what} differs: at position {worst} it is {fmt(flat_observed[worst])}, "
                             f"expected {fmt(flat_expected[worst])}")


# -- helpers for checks that train or look inside a model -------------------------


def parameters_of(model) -> list:
    """Detached copies of the model's parameters, in ``model.parameters()`` order."""
    return [parameter.detach().clone() for parameter in model.parameters()]


def largest_difference(a: list, b: list) -> float:
    """The largest absolute difference between two lists of tensors of matching shapes."""
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def count_steps(optimizer) -> list[int]:
    """Count the optimizer's steps through its public hook, however the learner calls ``step``.

    Returns a one-item list that the hook updates: ``steps[0]`` is the count so far.
    """
    steps = [0]
    optimizer.register_step_post_hook(lambda *args: steps.__setitem__(0, steps[0] + 1))
    return steps


def linear_calls(model, x):
    """Run ``model(x)`` in evaluation mode; return its output and, in call order, each nn.Linear's input and output.

    Forward hooks see every ``nn.Linear`` however the model is written (``nn.Sequential``
    or a hand-written ``forward``); they are removed again before this returns.
    """
    import torch
    from torch import nn

    calls = []

    def record(module, inputs, output):
        # Clones: an in-place ReLU after a layer would otherwise change what was recorded.
        calls.append((module, inputs[0].detach().clone(), output.detach().clone()))

    handles = [module.register_forward_hook(record) for module in model.modules() if isinstance(module, nn.Linear)]
    try:
        model.eval()
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return output, calls
