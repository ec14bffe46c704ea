"""Exercise 08's sgd_momentum_step and decay_parameter_groups: torch's own SGD as the reference, a mixed model."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from grader.checking.learner_process import in_learner_process
from grader.checking.text import fmt, kind_of
from grader.checking.values import expect_equal_tensors


# -- sgd_momentum_step ---------------------------------------------------------------------------

SHAPES = [(3, 4), (5,), (1,)]


def momentum_settings(seed: int, weight_decay: bool):
    """Starting parameters, four steps of gradients and random settings, all from the seed."""
    generator = torch.Generator().manual_seed(seed)
    start = [torch.randn(shape, generator=generator) for shape in SHAPES]
    gradients = [[torch.randn(shape, generator=generator) for shape in SHAPES] for _ in range(4)]
    lr = 0.05 + 0.1 * torch.rand(1, generator=generator).item()
    momentum = 0.5 + 0.4 * torch.rand(1, generator=generator).item()
    decay = 0.05 + 0.2 * torch.rand(1, generator=generator).item() if weight_decay else 0.0
    return start, gradients, lr, momentum, decay


def reference_sgd(start, gradients, lr, **settings):
    """``torch.optim.SGD`` on copies of ``start``: the parameters and momentum buffers after every step."""
    params = [nn.Parameter(value.clone()) for value in start]
    optimizer = torch.optim.SGD(params, lr=lr, **settings)
    for step in gradients:
        for parameter, gradient in zip(params, step):
            parameter.grad = None if gradient is None else gradient.clone()
        optimizer.step()
    buffers = [optimizer.state[parameter].get("momentum_buffer") if parameter in optimizer.state else None
               for parameter in params]
    buffers = [torch.zeros_like(value) if buffer is None else buffer for buffer, value in zip(buffers, start)]
    return [parameter.detach().clone() for parameter in params], [buffer.clone() for buffer in buffers]


def call_sgd_step(learner, params, velocities, lr, settings):
    """One call of the learner's ``sgd_momentum_step``; what it returned, and the two lists as it left them.

    This runs in the learner's process (``learner_sgd`` sends it there), beside the learner's code, because
    the lists are the caller's: a velocity put in place of another must stay in the list for the next step,
    as it would for any caller. Tensors the step changed in place come back as the judge's own tensors, new
    ones as copies. The names of the autograd history each tensor holds there are only for messages.
    """
    result = learner.sgd_momentum_step(params, velocities, lr, **settings)
    histories = [type(t.grad_fn).__name__ if isinstance(t, torch.Tensor) and t.grad_fn is not None else None
                 for t in [*params, *velocities]]
    return result, params, velocities, histories


def without_history(tensor):
    """``tensor`` as the next step should get it: a velocity that took autograd history in the learner's process
    comes back as a leaf that requires grad, and in-place updates of such a leaf would fail. The values are the
    same either way; ``momentum_no_graph`` judges what the last step left."""
    if not isinstance(tensor, torch.Tensor):
        return tensor
    return tensor.detach() if tensor.grad_fn is not None else tensor.requires_grad_(False)


class Stepped(NamedTuple):
    """What ``learner_sgd`` gives back: the two lists as the learner's code left them after the last step."""

    params: list
    velocities: list
    originals: list  # the velocity tensors the caller made, before any step
    histories: list  # the autograd history (grad_fn's name or None) of each parameter, then of each velocity


def learner_sgd(learner, start, gradients, lr, momentum=None, weight_decay=None, snapshots=None) -> Stepped:
    """Run the learner's step on fresh parameters, one call per step of gradients, and keep its lists between steps.

    With a list as ``snapshots``, each step appends copies of the parameters and velocities after it.
    What comes back from the learner's process is only what any step function could leave in the lists; the
    checks judge those tensors here, against torch's own SGD.
    """
    params = [nn.Parameter(value.clone()) for value in start]
    velocities = [torch.zeros_like(value) for value in start]
    originals = list(velocities)
    # momentum=None: the contract's defaults, momentum=0.9 and weight_decay=0.0, by leaving them out.
    settings = {} if momentum is None else {"momentum": momentum, "weight_decay": weight_decay}
    histories: list = []
    for step in gradients:
        for parameter, gradient in zip(params, step):
            parameter.grad = None if gradient is None else gradient.clone()
        velocities = [without_history(velocity) for velocity in velocities]
        result, params, velocities, histories = in_learner_process(learner, call_sgd_step, learner, params,
                                                                   velocities, lr, settings)
        assert result is None, f"sgd_momentum_step returned {kind_of(result)}; it changes the tensors in place and returns None"
        if snapshots is not None:
            snapshots.append(([p.detach().clone() for p in params], [v.detach().clone() for v in velocities]))
    return Stepped(params, velocities, originals, histories)


def differs(a, b, tolerance: float = 1e-5) -> bool:
    """True unless the tensors agree within ``torch.testing.assert_close``'s float32 tolerances."""
    a, b = a.detach().float(), b.detach().float()
    return a.shape != b.shape or not bool(((a - b).abs() <= tolerance + 1.3e-6 * b.abs()).all())


def any_differs(observed, expected) -> bool:
    return any(differs(a, b) for a, b in zip(observed, expected))


def expect_like_torch_sgd(params, velocities, start, gradients, lr: float, momentum: float, decay: float,
                          after: str) -> None:
    """Fail unless ``params`` and ``velocities`` are what ``torch.optim.SGD`` leaves after the same ``gradients``.

    Where they are not, the usual mistakes are replayed with torch's SGD (no weight decay, no momentum, a
    dampening factor, Nesterov), so that the message names the one that explains the parameters; ``after``
    ("after 4 steps with lr=...") begins each message.
    """
    expected, buffers = reference_sgd(start, gradients, lr, momentum=momentum, weight_decay=decay)
    if any_differs(params, expected):
        mistakes = {
            "without the weight decay: add weight_decay * p to the gradient": dict(momentum=momentum),
            "as plain SGD without momentum: the velocities did not carry over from one step to the next "
            "(was each velocity updated in place?)": dict(weight_decay=decay),
            "with a (1 - momentum) factor on the gradient: torch's SGD adds the whole gradient, "
            "v = momentum * v + g": dict(momentum=momentum, dampening=momentum, weight_decay=decay),
            "as Nesterov momentum: move by the velocity itself, p = p - lr * v":
                dict(momentum=momentum, nesterov=True, weight_decay=decay),
        }
        for meaning, settings in mistakes.items():
            assert any_differs(params, reference_sgd(start, gradients, lr, **settings)[0]), (
                f"{after}, the parameters moved {meaning}")
        worst = max(range(len(params)), key=lambda i: (params[i].detach() - expected[i]).abs().max().item())
        expect_equal_tensors(params[worst].detach(), expected[worst],
                             f"{after}, parameter {worst} (shape {list(SHAPES[worst])}) "
                             "compared with torch.optim.SGD's", tolerance=1e-5)
    for index, (velocity, buffer) in enumerate(zip(velocities, buffers)):
        assert type(velocity) is torch.Tensor, (
            f"velocities[{index}] is {kind_of(velocity)} after the steps, not a tensor")
        if differs(velocity, buffer):
            assert differs(velocity, lr * buffer), (
                "the parameters are right but each velocity holds lr * v: keep "
                "v = momentum * v + g in the velocity and multiply by lr only when moving p")
            expect_equal_tensors(velocity, buffer, f"{after}, velocities[{index}] "
                                 "compared with torch.optim.SGD's momentum buffer", tolerance=1e-5)


# -- decay_parameter_groups ----------------------------------------------------------------------


def mixed_model(seed: int) -> nn.Module:
    """Biases, batch norm, layer norm, an embedding, a convolution, a bare vector and frozen parts, in a seeded order.

    The submodules are named block0, block1, ... in that order, so no name says "norm" or "bn":
    only the number of dimensions tells a weight from the rest.
    """
    torch.manual_seed(seed)
    frozen = nn.Linear(6, 6)
    frozen.requires_grad_(False)
    norm = nn.LayerNorm(6)
    norm.bias.requires_grad_(False)  # a frozen vector too
    parts = [norm, nn.Embedding(10, 6), nn.BatchNorm1d(6), nn.Linear(6, 6), nn.Conv1d(2, 3, 3), frozen,
             nn.Linear(6, 2), nn.Linear(2, 1, bias=False)]
    order = torch.randperm(len(parts), generator=torch.Generator().manual_seed(seed)).tolist()
    model = nn.Module()
    model.register_parameter("scale", nn.Parameter(torch.ones(6)))
    for position, index in enumerate(order):
        model.add_module(f"block{position}", parts[index])
    return model


def learner_groups(learner, model: nn.Module, weight_decay: float) -> list[dict]:
    """Call ``decay_parameter_groups`` and check that it returns the contract's two dicts of lists."""
    groups = learner.decay_parameter_groups(model, weight_decay)
    assert isinstance(groups, (list, tuple)), (
        f"decay_parameter_groups returned {kind_of(groups)}, not a list of two dicts")
    assert len(groups) == 2, f"decay_parameter_groups returned {len(groups)} groups; expected two (decayed, not decayed)"
    for index, group in enumerate(groups):
        assert isinstance(group, dict), (
            f"group {index} is {kind_of(group)}, not a dict with \"params\" and \"weight_decay\"")
        assert "params" in group, f"group {index} has no \"params\" key (keys: {sorted(map(str, group))})"
        assert isinstance(group["params"], (list, tuple)), (
            f"group {index}'s \"params\" is {kind_of(group['params'])}; make it a list "
            "(a generator would be used up after one pass)")
    return groups


def names_by_id(model: nn.Module) -> dict[int, str]:
    return {id(parameter): name for name, parameter in model.named_parameters()}


def describe(name: str, parameter) -> str:
    return f"{name} (shape {list(parameter.shape)})"


def groups_of(model: nn.Module, groups: list) -> dict[int, list[int]]:
    """Which groups each of ``model``'s parameters is in, by its id; fails for anything that is not one of them."""
    names = names_by_id(model)
    where: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        for parameter in group["params"]:
            assert id(parameter) in names, (
                f"group {index} holds {kind_of(parameter)} that is not one of the model's "
                "parameters (a copy such as p.data or p.detach()?): put the parameters themselves")
            where.setdefault(id(parameter), []).append(index)
    return where


def expect_in_its_group(name: str, parameter, found: list[int]) -> None:
    """Fail unless a trainable ``parameter`` is in exactly one group (``found``): the first if it has 2+ dimensions."""
    assert found, f"{describe(name, parameter)} is in neither group; every trainable parameter belongs in one"
    assert len(found) == 1, f"{describe(name, parameter)} appears {len(found)} times in the groups; once only"
    assert parameter.ndim < 2 or found[0] == 0, (
        f"{describe(name, parameter)} has {parameter.ndim} dimensions but is in the group "
        "without decay; weights with 2 or more dimensions are the ones to decay")
    if parameter.ndim < 2 and found[0] != 1:
        kind = "a bias" if name.endswith("bias") else "a vector such as a norm layer's weight"
        raise AssertionError(f"{describe(name, parameter)}, {kind}, is in the decayed group; only parameters "
                             "with 2 or more dimensions are decayed (biases and norm weights are not)")


def expect_adamw_decay(model: nn.Module, groups: list, optimizer, lr: float, weight_decay: float) -> None:
    """Fail unless one step of ``optimizer`` (AdamW on ``groups``) with zero gradients shrinks each parameter of
    the first group by 1 - lr * weight_decay and leaves the second group's as they are."""
    names = names_by_id(model)
    for index, group in enumerate(groups):
        assert not any(id(parameter) not in names for parameter in group["params"]), (
            f"group {index} holds tensors that are not the model's parameters (copies?): AdamW "
            "would change those, not the model")
    start = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.grad = torch.zeros_like(parameter)  # a zero gradient: only weight decay moves anything
    optimizer.step()
    for index, group in enumerate(groups):
        factor = 1 - lr * weight_decay if index == 0 else 1.0
        for parameter in group["params"]:
            name = names[id(parameter)]
            if not parameter.requires_grad or not differs(parameter, start[name] * factor):
                continue
            assert index != 0, (
                f"one AdamW step (lr={fmt(lr)}, zero gradients) should shrink "
                f"{describe(name, parameter)}, in the first group, by a factor 1 - lr * "
                f"weight_decay = {fmt(factor)}; that group's \"weight_decay\" should be the "
                f"weight_decay given ({fmt(weight_decay)})")
            raise AssertionError(f"one AdamW step with zero gradients changed {describe(name, parameter)}, in the "
                                 "second group: give that group \"weight_decay\": 0.0 (AdamW's default is 0.01)")
