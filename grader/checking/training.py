"""What learner code did to a model's parameters: steps counted, outcomes named, the way parameters moved."""

# Shared by the suites that grade training loops (03's train_step and fit, 07's train_epoch, 09's binary_train_step).

from __future__ import annotations


def parameters_of(model) -> list:
    """Copies of ``model``'s parameters, to compare before and after learner code runs."""
    return [parameter.detach().clone() for parameter in model.parameters()]


def largest_difference(a: list, b: list) -> float:
    """The largest absolute difference between two lists of tensors of the same shapes (0 for empty lists)."""
    return max(((x - y).abs().max().item() for x, y in zip(a, b)), default=0.0)


def leave_stale_gradients(model, seed: int, scale: float = 1.0) -> list:
    """Fill ``model``'s ``.grad`` with gradients "left over from an earlier computation", drawn from ``seed``.

    A correct training step zeroes them before ``backward()``; one that does not adds them to the update,
    which then shows it. Returns copies of what was put there.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():
        parameter.grad = scale * torch.randn(parameter.shape, generator=generator)
    return [parameter.grad.clone() for parameter in model.parameters()]


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
