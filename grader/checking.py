"""Helpers shared by suites: exact type checks, numbers a learner can read, and what training did to a model.

Suites import these at collection time, before the learner's file is imported,
so the functions they use are bound before learner code could replace anything.
A helper that checks (``expect_*``, ``forward_records``, ``figure_from``) raises
``AssertionError`` with a message written for the learner; the grader reports
that message as the check's "what was observed". The others compute and fail nothing.
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


def call_text(name: str, *args, show=repr, **kwargs) -> str:
    """A call as a learner would write it: ``call_text("fit", "model", epochs=3)`` is ``fit(model, epochs=3)``.

    Positional arguments are shown as they are given (text); keyword values through ``show``
    (``repr`` by default, so that the learner can repeat the call exactly).
    """
    shown = [str(arg) for arg in args] + [f"{key}={show(value)}" for key, value in kwargs.items()]
    return f"{name}({', '.join(shown)})"


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


# -- training: what learner code did to a model's parameters ----------------------
# Shared by the suites that grade training loops (03's train_step and fit, 07's train_epoch, 09's binary_train_step).


def parameters_of(model) -> list:
    """Copies of ``model``'s parameters, to compare before and after learner code runs."""
    return [parameter.detach().clone() for parameter in model.parameters()]


def largest_difference(a: list, b: list) -> float:
    """The largest absolute difference between two lists of tensors of the same shapes (0 for empty lists)."""
    return max(((x - y).abs().max().item() for x, y in zip(a, b)), default=0.0)


def count_steps(optimizer) -> list[int]:
    """Count the optimizer's steps through its public hook, however the learner calls ``step``.

    Returns a one-element list that the hook keeps up to date: ``steps[0]``.
    """
    steps = [0]
    optimizer.register_step_post_hook(lambda *args: steps.__setitem__(0, steps[0] + 1))
    return steps


def matching_outcome(observed: list, candidates: dict, tolerance: float = 1e-5) -> str | None:
    """The description of the first candidate whose parameters ``observed`` matches, or None.

    A check computes what the usual mistakes would have left in the parameters
    (gradients carried over, a step before ``backward()``, gradients doubled), so
    that its message can name the mistake instead of only a difference.
    ``candidates`` maps a description to a list of tensors shaped like ``observed``.
    """
    for description, parameters in candidates.items():
        if len(parameters) == len(observed) and largest_difference(observed, parameters) < tolerance:
            return description
    return None


def steps_note(steps: int, expected: int, what: str) -> str:
    """``"; the optimizer took 99 steps in fit(epochs=100), expected 100"`` when the counts differ, else ``""``."""
    if steps == expected:
        return ""
    return f"; the optimizer took {steps} step{'' if steps == 1 else 's'} in {what}, expected {expected}"


def expect_no_gradients(model, function: str) -> None:
    """Fail if any of ``model``'s parameters has a ``.grad`` after ``function``: evaluating must not backpropagate."""
    with_grad = [name for name, parameter in model.named_parameters() if parameter.grad is not None]
    assert not with_grad, f"after {function} these parameters have a .grad: {', '.join(with_grad)}"


def along(change: list, direction: list) -> bool:
    """Whether ``change`` is a positive multiple of ``direction`` (as steps, or backward passes, leave it)."""
    import torch

    if any(t is None for t in change):
        return False
    a = torch.cat([t.detach().cpu().double().flatten() for t in change])
    b = torch.cat([t.detach().cpu().double().flatten() for t in direction])
    if a.shape != b.shape or a.norm() == 0 or b.norm() == 0:
        return False
    scale = (a @ b) / (b @ b)
    return bool(scale > 0) and bool((a - scale * b).norm() <= 1e-3 * a.norm())


def trained(layer, start: list, gradient: list) -> bool:
    """Whether a step backpropagated through ``layer``: it moved down ``gradient``, or its .grad holds it."""
    moved = [before - parameter.detach() for before, parameter in zip(start, layer.parameters())]
    return along(moved, gradient) or along([parameter.grad for parameter in layer.parameters()], gradient)


def touched(layer, start: list) -> bool:
    """Whether anything reached ``layer``: it moved from ``start``, or a gradient other than zero lies in its .grad."""
    return largest_difference(start, parameters_of(layer)) > 0 or any(
        parameter.grad is not None and bool(parameter.grad.ne(0).any()) for parameter in layer.parameters())


# -- probes: models whose forward pass shows the state it ran in --------------------
# A probe's record (``seen``) is written in the learner's process, so it only names a mistake;
# a verdict rests on the outcome (the loss returned, the layer trained), which ``states_of_loss`` reads.

STATES = ((True, True), (True, False), (False, True), (False, False))  # (training, gradients tracked)


def as_number(value) -> float | None:
    """A returned loss as a float (a Python number or a one-element tensor); None for anything else."""
    import torch

    if type(value) in (float, int):
        number = float(value)
    elif type(value) is torch.Tensor and value.numel() == 1:
        number = value.detach().double().item()
    else:
        return None
    return number if math.isfinite(number) else None


def states_of_loss(value, losses: dict) -> list:
    """The states whose loss ``value`` is (none when it is no number, or another number).

    ``losses`` maps each state to its loss, or to a list of candidate losses.
    """
    number = as_number(value)
    if number is None:
        return []
    return [state for state, candidates in losses.items()
            if any(abs(number - loss) <= 1e-4 * max(1.0, abs(loss))
                   for loss in (candidates if isinstance(candidates, list) else [candidates]))]


def forward_records(model, function: str, model_name: str = "the probe model") -> list:
    """A probe's record of its forward passes (``model.seen``, pairs of flags) as it came back; fails if none."""
    seen = getattr(model, "seen", None)
    assert type(seen) is list and all(type(entry) is tuple and len(entry) == 2
                                      and all(type(flag) is bool for flag in entry) for entry in seen), (
        f"{function} replaced {model_name}'s record of its forward passes (model.seen) "
        "with something else: leave the model's attributes alone")
    assert seen, f"{function} never called the model (no forward pass)"
    return seen


def expect_training_mode(model, function: str, in_training: bool, in_eval: bool, returned: list,
                         record_changed: str, *, eval_mode: str, no_grad: str, nothing: str,
                         first_only: bool = False) -> None:
    """Fail unless a training step ran its forward passes in training mode with gradients tracked.

    Evidence first: ``in_training`` and ``in_eval`` say whether the step trained the probe's layer of each mode
    (``trained`` or ``touched``), ``returned`` lists the states whose loss it returned (``states_of_loss``). The
    messages are ``eval_mode``, ``no_grad`` and ``nothing`` (no outcome shows either), each followed by
    ``record_changed`` when the probe's own record claims training mode. Once the outcome shows training mode,
    the record (its first forward pass only, with ``first_only``) names what else happened.
    """
    seen = getattr(model, "seen", None)
    claimed = type(seen) is list and bool(seen) and all(
        entry == (True, True) for entry in (seen[:1] if first_only else seen))
    note = record_changed if claimed else ""
    assert not (in_eval or (not in_training and any(not training for training, _ in returned))), eval_mode + note
    if not in_training and returned != [(True, True)]:
        assert returned != [(True, False)], no_grad + note
        forward_records(model, function)
        raise AssertionError(nothing + note)
    seen = forward_records(model, function)[:1 if first_only else None]
    assert all(training for training, _ in seen), eval_mode
    assert all(grad_enabled for _, grad_enabled in seen), no_grad


def expect_off(flag: str, shown: list, seen: list, wrong: str, unknown: str, record_changed: str) -> None:
    """Fail unless an evaluation's outcome shows a forward pass with ``flag`` ("training" or "grad") off.

    ``shown`` lists the states the outcome can come from (``states_of_loss``); ``seen`` is the probe's record
    (``forward_records``), which only adds ``record_changed`` to ``wrong`` when it claims the flag was off.
    ``unknown`` is the message when the outcome shows no state at all.
    """
    index = ("training", "grad").index(flag)
    claimed = not any(entry[index] for entry in seen)
    assert claimed and not any(state[index] for state in shown), wrong + (record_changed if claimed else "")
    assert shown, unknown


# -- matplotlib: what learners labelled ----------------------------------------------


def is_unlabelled(label) -> bool:
    """Whether matplotlib named this artist itself because no ``label=`` was given.

    Such names start with an underscore: ``_child0``, ``_child1``, ``_line0``, ``_nolegend_``.
    They are matplotlib's internals, never shown to a learner as if they were labels.
    """
    return str(label).startswith("_")


def describe_labels(labels, kinds: tuple[str, str] = ("artist", "artists")) -> str:
    """What the learner labelled, for a message: ``labels found: 'Train loss'; 1 line has no label=``.

    ``labels`` are the labels of the drawn artists (or the texts of a legend's
    entries); ``kinds`` names one of them and several, as ``("line", "lines")``.
    """
    one, several = kinds
    labels = [str(label) for label in labels]
    given = sorted({label for label in labels if not is_unlabelled(label)})
    unlabelled = sum(is_unlabelled(label) for label in labels)
    if not labels:
        return f"no {one} at all"
    if not given:
        return f"the one {one} has no label=" if unlabelled == 1 else f"none of the {unlabelled} {several} has a label="
    found = f"labels found: {', '.join(map(repr, given))}"
    if unlabelled:
        found += f"; 1 {one} has no label=" if unlabelled == 1 else f"; {unlabelled} {several} have no label="
    return found


def figure_from(learner, function: str, *args, monkeypatch):
    """Call the learner's plotting ``function``; fail unless it returns a matplotlib Figure without showing it."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    shown = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: shown.append(True))
    monkeypatch.setattr(Figure, "show", lambda *args, **kwargs: shown.append(True))
    figure = getattr(learner, function)(*args)
    assert not shown, f"{function} called show(): return the Figure and let the caller decide"
    assert isinstance(figure, Figure), f"{function} returned {kind_of(figure)}, not a matplotlib Figure"
    return figure


# -- models: which layers a forward pass ran through ---------------------------------


def linear_calls(model, *inputs):
    """Run ``model(*inputs)`` in evaluation mode without gradients; return its output and every ``nn.Linear`` call.

    The calls come in the order they ran, each as ``(layer, input, output)``, the tensors
    detached copies. Forward hooks see the layers a model really runs, however its
    ``forward`` is written (``nn.Sequential`` or a hand-written one, ``F.relu`` or ``nn.ReLU``).

    A learner's model runs in the learner process, so the hooks are set there; each call they
    report is kept only if the layer's own weights, here, turn its input into its output.
    """
    from torch import nn
    from torch.nn import functional

    if not is_learner_model(model):
        output, calls = record_linear_calls(model, *inputs)
        layers = dict(model.named_modules())
        return output, [(layers[path], layer_input, layer_output) for path, layer_input, layer_output in calls]
    output, calls = in_learner_process(model, record_linear_calls, model, *inputs)
    checked = []
    for path, layer_input, layer_output in calls:
        try:
            layer = model.get_submodule(path)
            if isinstance(layer, nn.Linear) and close(functional.linear(layer_input, layer.weight, layer.bias),
                                                      layer_output):
                checked.append((layer, layer_input, layer_output))
        except (AttributeError, RuntimeError, TypeError):
            pass  # a call the learner process reported that did not happen that way: not counted
    return output, checked


def record_linear_calls(model, *inputs):
    """``linear_calls`` where the model lives: its output, and each ``nn.Linear`` call as (path, input, output)."""
    from torch import nn, no_grad

    calls = []
    paths = {id(module): path for path, module in model.named_modules()}

    def record(module, layer_inputs, output):
        # Copies: an in-place ReLU after a layer would otherwise change what was recorded.
        calls.append((paths.get(id(module), ""), layer_inputs[0].detach().clone(), output.detach().clone()))

    handles = [module.register_forward_hook(record) for module in model.modules() if isinstance(module, nn.Linear)]
    try:
        model.eval()
        with no_grad():
            output = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return output, calls


def close(a, b) -> bool:
    import torch

    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and bool(
        torch.allclose(a.detach().float(), b.detach().float(), rtol=1e-4, atol=1e-5))


# -- the learner process -----------------------------------------------------------


def is_learner_model(model) -> bool:
    """Whether ``model`` is the learner's own (made by their code), which lives in the learner process."""
    from grader.boundary.judge import Mirror

    return isinstance(model, Mirror)


def in_learner_process(anchor, function, *args, **kwargs):
    """Run ``function(*args, **kwargs)`` in the learner process, beside the learner's objects; return its result.

    ``anchor`` is the ``learner`` fixture or any object of the learner's; ``function`` must be defined at
    the top level of the suite or of ``grader.checking`` (it is sent by name). Learner code can tamper with
    what runs there: treat the result as the learner's own answer, and check what decides a verdict here.
    """
    from grader.boundary.judge import process_of

    return process_of(anchor).call(function, args, kwargs)
