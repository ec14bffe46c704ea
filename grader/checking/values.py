"""Exact types before values: a learner's float or tensor, refused unless it is exactly that, then compared."""

from __future__ import annotations

import math

from grader.checking.text import fmt, kind_of


def expect_float(value, what: str) -> float:
    """``value`` if it is exactly a Python float; otherwise fail saying what it was.

    Exactly ``float``: a tensor, a NumPy scalar or a float subclass (which could
    lie in comparisons) is refused. NaN and infinity are refused too.
    """
    if type(value) is not float:
        kind = kind_of(value)
        advice = (" (for a one-element tensor, `.item()` gives the float)" if "Tensor" in kind else
                  " (`float(...)` turns a NumPy number into a Python float)" if kind.startswith("a numpy.") else "")
        raise AssertionError(f"{what} returned {kind}, not a Python float{advice}")
    if math.isnan(value) or math.isinf(value):
        raise AssertionError(f"{what} returned {value}: the computation went wrong somewhere")
    return value


def expect_not_swapped(value: float, expected: float, swapped: float, said: str) -> None:
    """Fail when ``value`` is the loss with its arguments swapped, ``loss_fn(y, predictions)`` (and that differs from
    ``expected``: MSE and Huber give the same either way round). ``said``: "with PoissonNLLLoss, train_step returned"."""
    assert swapped == expected or not abs(value - swapped) <= 1e-5 * max(1.0, abs(swapped)), (
        f"{said} {fmt(value)}, which is loss_fn(y, predictions); a loss function takes the predictions first and the "
        f"targets second: loss_fn(predictions, y) is {fmt(expected)}")


def expect_close(observed: float, expected: float, what: str, tolerance: float = 1e-5, advice: str = "") -> None:
    """Fail unless ``observed`` is within ``tolerance`` (absolute, and relative to ``expected``)."""
    if not abs(observed - expected) <= tolerance * max(1.0, abs(expected)):
        shown, wanted = fmt(observed), fmt(expected)
        if shown == wanted:  # a near miss: show enough digits to see the difference
            shown, wanted = f"{float(observed):.7g}", f"{float(expected):.7g}"
        message = f"{what} was {shown}, expected {wanted}"
        raise AssertionError(f"{message}: {advice}" if advice else message)


def apart(values: list[float], gap: float, relative: bool = False) -> bool:
    """Whether every two of ``values`` differ by more than ``gap``: a problem whose mistakes each give a value of
    their own (see ``matching_value``). ``relative``: by more than ``gap`` times the larger of the two (and of 1),
    as ``expect_close``'s tolerance scales."""
    return all(abs(a - b) > gap * (max(1.0, abs(a), abs(b)) if relative else 1.0)
               for i, a in enumerate(values) for b in values[i + 1:])


def matching_value(value: float, candidates: dict, tolerance: float = 1e-5) -> str | None:
    """The description of the first candidate that ``value`` equals, or None: ``matching_outcome`` for a number.

    ``candidates`` maps a description (what the usual mistake is) to the number it gives; equal means
    within ``tolerance``, absolute and relative to the candidate, as in ``expect_close``.
    """
    for description, candidate in candidates.items():
        if abs(value - candidate) <= tolerance * max(1.0, abs(candidate)):
            return description
    return None


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


def expect_metrics_dict(result, function: str, keys, nan_advice: str) -> dict:
    """``result`` if it is a dict with a Python float at each of ``keys``; otherwise fail saying what it lacks.

    ``function`` names the learner's function (``binary_metrics``); a NaN is told apart, followed by
    ``nan_advice`` (where a metric comes out NaN, a 0/0 is usually to blame).
    """
    assert isinstance(result, dict), f"{function} returned {kind_of(result)}, not a dict"
    missing = [key for key in keys if key not in result]
    assert not missing, \
        f"the metrics have no key {', '.join(map(repr, missing))} (keys found: {sorted(map(str, result))})"
    for key in keys:
        value = result[key]
        assert not (type(value) is float and math.isnan(value)), f"{key} was nan: {nan_advice}"
        expect_float(value, f"{function}[{key!r}]")
    return result
