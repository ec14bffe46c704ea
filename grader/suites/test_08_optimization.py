"""Hidden suite for exercise 08 (optimizers, schedules, validation and early stopping).

Every check observes behaviour, never spelling:

- ``sgd_momentum_step`` is compared with ``torch.optim.SGD`` stepping twin tensors
  on the same gradients, and the tensors themselves are inspected (same objects,
  leaves, no autograd history).
- ``decay_parameter_groups`` is given a model whose modules are registered in an
  order drawn from the seed; the groups are compared by identity with its
  parameters, and AdamW is run on them.
- ``fit_with_validation`` trains probe models that record, in every forward pass,
  the mode, gradient tracking, the input, the output, the parameters and how many
  optimizer and scheduler steps had run. A one-weight "scripted" model makes the
  validation losses follow a plan drawn from the seed, so the epoch that stopping
  and the best weights depend on is known in advance.

The learner's code runs in a process of its own. What a check hands it is sent
there as a copy, and what the call changed comes back: tensors, a model's mode
and plain attributes (a probe's records), an optimizer's state and its steps.
What must be seen while the learner's code runs (the steps already taken at each
forward pass, the lists ``sgd_momentum_step`` leaves) is seen there, by the
suite's own code. Learner code could rewrite such a report, so none decides a
verdict on its own word: each is checked against what the judge sees itself.
"""

import copy
import math
import numbers
import warnings
from typing import NamedTuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.checking import (call_text, count_steps, expect_equal_tensors, expect_float, fmt, fmt_list,
                             in_learner_process, kind_of)

# Every tensor here is tiny, so extra threads only cost time on a busy machine.
torch.set_num_threads(1)

# -- sgd_momentum_step -------------------------------------------------------------

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


@pytest.mark.check(
    id="momentum_matches_sgd",
    name="sgd_momentum_step moves parameters and velocities as torch.optim.SGD does",
    points=2,
    hint=["Three lines per parameter: the gradient plus weight decay, the new velocity, the move.",
          "g = p.grad + weight_decay * p; v = momentum * v + g (no (1 - momentum) factor); p = p - lr * v, "
          "using the velocity just updated."],
)
def test_momentum_matches_sgd(learner, seed):
    for weight_decay in (False, True):
        start, gradients, lr, momentum, decay = momentum_settings(seed + int(weight_decay), weight_decay)
        if weight_decay:
            params, velocities, _, _ = learner_sgd(learner, start, gradients, lr, momentum, decay)
            described = f"lr={fmt(lr)}, momentum={fmt(momentum)}, weight_decay={fmt(decay)}"
        else:
            momentum = 0.9
            params, velocities, _, _ = learner_sgd(learner, start, gradients, lr)
            described = f"lr={fmt(lr)} and the default momentum (0.9) and weight_decay (0.0)"
        for value in params:
            assert type(value) is nn.Parameter, (
                f"params holds {kind_of(value)} after the step: change each parameter in place "
                "(p.sub_(...) inside torch.no_grad()) rather than putting a new tensor in the list")
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
                    f"after 4 steps with {described}, the parameters moved {meaning}")
            worst = max(range(len(params)), key=lambda i: (params[i].detach() - expected[i]).abs().max().item())
            expect_equal_tensors(params[worst].detach(), expected[worst],
                                 f"after 4 steps with {described}, parameter {worst} (shape {list(SHAPES[worst])}) "
                                 "compared with torch.optim.SGD's", tolerance=1e-5)
        for index, (velocity, buffer) in enumerate(zip(velocities, buffers)):
            assert type(velocity) is torch.Tensor, (
                f"velocities[{index}] is {kind_of(velocity)} after the steps, not a tensor")
            if differs(velocity, buffer):
                assert differs(velocity, lr * buffer), (
                    "the parameters are right but each velocity holds lr * v: keep "
                    "v = momentum * v + g in the velocity and multiply by lr only when moving p")
                expect_equal_tensors(velocity, buffer, f"after 4 steps with {described}, velocities[{index}] "
                                     "compared with torch.optim.SGD's momentum buffer", tolerance=1e-5)


@pytest.mark.check(
    id="momentum_in_place",
    name="sgd_momentum_step updates each velocity in place: the same tensor object",
    points=1,
    hint=["The caller keeps the list of velocities from one step to the next, so each tensor in it must "
          "change, not be replaced.",
          "`v = momentum * v + g` only rebinds the name v; write into the tensor instead: "
          "`v.mul_(momentum).add_(g)` or `v.copy_(momentum * v + g)`."],
)
def test_momentum_in_place(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    params, velocities, originals, _ = learner_sgd(learner, start, gradients[:1], lr, momentum, decay)
    assert type(velocities) is list and len(velocities) == len(originals), \
        f"the list of velocities now holds {len(velocities)} items; leave the list as it is and change its tensors"
    for index, (velocity, original) in enumerate(zip(velocities, originals)):
        assert velocity is original, (
            f"velocities[{index}] was replaced by a new tensor; update the tensor that is "
            "there in place (v.mul_(momentum).add_(g), or v.copy_(...))")
        # How it changes is momentum_matches_sgd's business; here only that the tensor itself changed.
        assert bool(original.any()), (
            f"after one step velocities[{index}] still holds zeros: assigning to the loop "
            "variable (v = momentum * v + g) makes a new tensor and leaves the list unchanged; update v in place")


@pytest.mark.check(
    id="momentum_skips_missing_grad",
    name="sgd_momentum_step leaves a parameter whose .grad is None, and its velocity, alone",
    points=1,
    hint=["A parameter that took no part in the last backward pass has `.grad` None; torch's SGD skips it.",
          "At the top of the loop body: `if p.grad is None: continue`, before touching the velocity."],
)
def test_momentum_skips_missing_grad(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    gradients[0][1] = None              # parameter 1 has no gradient in the first step
    for step in gradients[2:]:          # parameter 2 has one in the first two steps only
        step[2] = None
    snapshots: list = []
    learner_sgd(learner, start, gradients, lr, momentum, decay, snapshots=snapshots)
    # Judged against the learner's own earlier values, so that only skipping counts here.
    (first_params, first_velocities), (second_params, second_velocities) = snapshots[0], snapshots[1]
    assert not differs(first_params[1], start[1]), (
        "parameter 1 moved in a step where its gradient was None; torch's SGD leaves such a parameter exactly as it is")
    assert not bool(first_velocities[1].any()), (
        "the velocity of parameter 1 changed in a step where its gradient was None; leave it alone")
    for params, velocities in snapshots[2:]:
        assert not differs(params[2], second_params[2]), (
            "parameter 2 kept moving after its gradient became None: torch's SGD leaves such a "
            "parameter (and its velocity) exactly as it is; do not treat a missing gradient as zero")
        assert not differs(velocities[2], second_velocities[2]), (
            "the velocity of parameter 2 changed in steps where its gradient was None; leave it alone")


@pytest.mark.check(
    id="momentum_no_graph",
    name="sgd_momentum_step builds no graph: parameters stay leaves, velocities hold no history",
    points=1,
    hint=["The update is bookkeeping that autograd must not record.",
          "Do the whole update, the weight-decay term included, inside `with torch.no_grad():`."],
)
def test_momentum_no_graph(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    params, velocities, _, histories = learner_sgd(learner, start, gradients[:2], lr, momentum, decay)
    # Judged on the tensors as they came back; the learner's process only names the history (grad_fn) for the message.
    params_history, velocities_history = histories[:len(params)], histories[len(params):]
    for index, parameter in enumerate(params):
        assert parameter.is_leaf and parameter.grad_fn is None, (
            f"params[{index}] has autograd history ({params_history[index]}) after the step: do the "
            "update inside torch.no_grad()")
        assert parameter.requires_grad, f"params[{index}] no longer requires grad after the step; leave that flag alone"
    for index, velocity in enumerate(velocities):
        assert velocity.grad_fn is None and not velocity.requires_grad, (
            f"velocities[{index}] holds autograd history ({velocities_history[index]}): the gradient plus "
            "weight_decay * p was computed with gradient tracking on; compute it inside torch.no_grad() too")


# -- decay_parameter_groups --------------------------------------------------------


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


@pytest.mark.check(
    id="groups_by_dimension",
    name="decay_parameter_groups decays every trainable parameter with 2+ dimensions, and no other",
    points=2,
    hint=["Tell weights from the rest by their number of dimensions, not by their names: a batch-norm or "
          "layer-norm weight is called \"weight\" but is a vector.",
          "`p.ndim >= 2` goes in the first group, every other trainable parameter in the second; each one "
          "exactly once, and the model's own Parameter objects, not copies."],
)
def test_groups_by_dimension(learner, seed):
    model = mixed_model(seed)
    groups = learner_groups(learner, model, 0.1)
    names = names_by_id(model)
    where: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        for parameter in group["params"]:
            assert id(parameter) in names, (
                f"group {index} holds {kind_of(parameter)} that is not one of the model's "
                "parameters (a copy such as p.data or p.detach()?): put the parameters themselves")
            where.setdefault(id(parameter), []).append(index)
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        found = where.get(id(parameter), [])
        assert found, f"{describe(name, parameter)} is in neither group; every trainable parameter belongs in one"
        assert len(found) == 1, f"{describe(name, parameter)} appears {len(found)} times in the groups; once only"
        assert parameter.ndim < 2 or found[0] == 0, (
            f"{describe(name, parameter)} has {parameter.ndim} dimensions but is in the group "
            "without decay; weights with 2 or more dimensions are the ones to decay")
        if parameter.ndim < 2 and found[0] != 1:
            kind = "a bias" if name.endswith("bias") else "a vector such as a norm layer's weight"
            raise AssertionError(f"{describe(name, parameter)}, {kind}, is in the decayed group; only parameters "
                                 "with 2 or more dimensions are decayed (biases and norm weights are not)")


@pytest.mark.check(
    id="groups_skip_frozen",
    name="decay_parameter_groups leaves frozen parameters (requires_grad=False) out",
    points=1,
    hint=["A frozen layer is not meant to be trained, so it belongs in no optimizer group.",
          "Skip every parameter whose `requires_grad` is False."],
)
def test_groups_skip_frozen(learner, seed):
    model = mixed_model(seed)
    groups = learner_groups(learner, model, 0.1)
    names = names_by_id(model)
    for index, group in enumerate(groups):
        for parameter in group["params"]:
            assert id(parameter) not in names or parameter.requires_grad, (
                f"{describe(names[id(parameter)], parameter)} is frozen (requires_grad=False) "
                f"but is in group {index}; leave frozen parameters out of both groups")


@pytest.mark.check(
    id="groups_keep_order",
    name="decay_parameter_groups keeps the order of model.parameters() in each group",
    points=1,
    hint=["Go through the parameters once, in the order `model.parameters()` gives them, adding each to its group.",
          "Do not sort by name or collect by kind of layer: the model's own order is what checkpoints and other "
          "tools expect."],
)
def test_groups_keep_order(learner, seed):
    model = mixed_model(seed)
    groups = learner_groups(learner, model, 0.1)
    names = names_by_id(model)
    position = {id(parameter): index for index, parameter in enumerate(model.parameters())}
    for index, group in enumerate(groups):
        members = [parameter for parameter in group["params"] if id(parameter) in position and parameter.requires_grad]
        for before, after in zip(members, members[1:]):
            if position[id(before)] > position[id(after)]:
                order = ", ".join(names[id(parameter)] for parameter in members)
                raise AssertionError(f"group {index} lists {names[id(before)]} before {names[id(after)]}, but "
                                     f"model.parameters() gives them the other way round (group order: {order})")


@pytest.mark.check(
    id="groups_work_with_adamw",
    name="with decay_parameter_groups, AdamW decays the weights by lr * weight_decay and leaves the rest",
    points=1,
    hint=["Each group is a dict with \"params\" and \"weight_decay\"; AdamW uses its own default (0.01) for "
          "a group that gives none.",
          "Return `[{\"params\": decayed, \"weight_decay\": weight_decay}, {\"params\": others, "
          "\"weight_decay\": 0.0}]`."],
)
def test_groups_work_with_adamw(learner, seed):
    model = mixed_model(seed)
    weight_decay = 0.1 + 0.4 * torch.rand(1, generator=torch.Generator().manual_seed(seed)).item()
    lr = 0.1
    groups = learner_groups(learner, model, weight_decay)
    try:
        optimizer = torch.optim.AdamW(groups, lr=lr)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"torch.optim.AdamW refused the groups: {error}") from None
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
    # Judged against the learner's own grouping: which parameter goes where is groups_by_dimension's business.
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


# -- fit_with_validation: probes and problems ---------------------------------------


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
    it. Returns (training passes, validation passes), each a list of lists of (call, targets).
    """
    kinds = (("train", list(train_loader)), ("val", list(val_loader)))
    passes: dict[str, list] = {"train": [], "val": []}
    for call in model.calls:
        if not confirmed(model, call):
            continue
        for kind, batches in kinds:
            index = next((i for i, (X, _) in enumerate(batches) if X.shape == call["x"].shape
                          and torch.equal(X, call["x"])), None)
            if index is not None:
                if index == 0 or not passes[kind]:
                    passes[kind].append([])
                passes[kind][-1].append((call, batches[index][1]))
                break
    return passes["train"], passes["val"]


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


# The scripted model: validation losses that follow a plan.

TRAIN_STEPS_PER_EPOCH = 2  # three training rows in batches of two


class Scripted(nn.Module):
    """A one-weight model whose validation loss in epoch k is ``plan[k - 1]``.

    Training rows are 1s with targets of 1000: with ``nn.L1Loss`` every training
    step's gradient is exactly -1, so ``SGD(lr=1)`` raises the weight by exactly 1 a
    step, and the weights after epoch k are ``w = 2k``. Validation rows are -1s with
    targets 0: for them the model answers the planned loss of the epoch trained so far
    (counted from its training passes), so the validation loss is known in advance.
    ``load_state_dict`` remembers the weight ``w`` of each state dict it was given.
    """

    def __init__(self, plan: list[float]):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.plan = list(plan)
        self.training_calls = 0
        self.validation_calls: list[int] = []  # the epoch of each validation forward pass
        self.loaded: list = []  # plain data (a tensor, or None), so that it comes back from the learner's process

    def forward(self, x):
        if bool((x > 0).all()):
            self.training_calls += 1
            return self.w * x
        epoch = self.training_calls // TRAIN_STEPS_PER_EPOCH
        self.validation_calls.append(epoch)
        planned = self.plan[epoch - 1] if 1 <= epoch <= len(self.plan) else 1000.0
        return torch.full_like(x, planned) + 0 * self.w

    def load_state_dict(self, state_dict, *args, **kwargs):
        weight = state_dict.get("w") if hasattr(state_dict, "get") else None
        self.loaded.append(weight.detach().clone() if isinstance(weight, torch.Tensor) else None)
        return super().load_state_dict(state_dict, *args, **kwargs)


def scripted_loaders():
    train = DataLoader(TensorDataset(torch.ones(3, 1), torch.full((3, 1), 1000.0)), batch_size=2)
    val = DataLoader(TensorDataset(-torch.ones(3, 1), torch.zeros(3, 1)), batch_size=2)
    return train, val


class ScriptedRun(NamedTuple):
    """What ``run_scripted`` gives back."""

    model: Scripted
    history: dict
    optimizer: torch.optim.Optimizer  # as the learner's code left it: its state and learning rate come back
    steps: int  # the optimizer's steps, counted by the judge


def run_scripted(learner, plan, epochs, lr_scheduler=None, **options) -> ScriptedRun:
    """Fit a scripted model with SGD(lr=1) and nn.L1Loss."""
    model = Scripted(plan)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    if lr_scheduler is not None:
        options["scheduler"] = lr_scheduler(optimizer)
    steps = count_steps(optimizer)
    train, val = scripted_loaders()
    history = learner_history(learner, model, train, val, nn.L1Loss(), optimizer, epochs, **options)
    return ScriptedRun(model, history, optimizer, steps[0])


def epoch_of_weights(model: Scripted) -> float:
    return model.w.item() / TRAIN_STEPS_PER_EPOCH


# Early stopping, correct and as commonly mistaken: each rule gives the epoch training stops after.

def stopping_epoch(plan: list[float], patience: int, rule: str = "correct") -> int:
    best, previous, waited, since_best = math.inf, math.inf, 0, 0
    for epoch, loss in enumerate(plan, start=1):
        if rule == "ties improve":
            improved = loss <= best
        elif rule == "against previous":
            improved = loss < previous
        else:
            improved = epoch == 1 or loss < best
        if improved:
            best = min(best, loss)
            if rule != "never reset":
                waited = 0
        else:
            waited += 1
        previous = loss
        if rule == "one late" and waited > patience:
            return epoch
        if rule == "one early" and waited >= patience - 1 and epoch > 1:
            return epoch
        if rule not in ("one late", "one early") and waited >= patience:
            return epoch
    return len(plan)


MISTAKES = {
    "ties improve": "an epoch whose validation loss only equals the best counted as an improvement: use <, not <=",
    "never reset": "the count of epochs without improvement was not reset to 0 when the loss improved",
    "against previous": "each epoch was compared with the epoch before it, not with the best loss so far",
    "one late": "it waited one epoch too many: stop as soon as the count of epochs without improvement reaches patience",
    "one early": "it stopped one epoch too early: count only the epochs after the best one",
}


def best_epoch(plan: list[float]) -> int:
    """The earliest epoch with the lowest loss (1-based)."""
    return min(range(len(plan)), key=lambda i: (plan[i], i)) + 1


def early_stopping_plan(seed: int) -> tuple[list[float], int]:
    """A plan of validation losses in which the correct rule and every mistaken one stop at different epochs.

    Losses are multiples of 0.25 (exact in float32 and float64, so ties really are ties), and
    the best epoch is never the last one run.
    """
    generator = torch.Generator().manual_seed(seed)
    for _ in range(2000):
        patience = int(torch.randint(2, 4, (1,), generator=generator))
        steps = torch.randint(-3, 3, (12,), generator=generator).tolist()
        plan, value = [], 6.0
        for step in steps:
            value = min(max(value + 0.25 * step, 0.5), 8.0)
            plan.append(value)
        stops = {rule: stopping_epoch(plan, patience, rule) for rule in ["correct", *MISTAKES]}
        if len(set(stops.values())) == len(stops) and stops["correct"] < len(plan):
            return plan, patience
    return [6.0, 5.0, 5.5, 4.0, 4.5, 4.0, 3.75, 4.25, 4.0, 5.0, 4.5, 5.0], 2  # a plan that separates them all


# -- fit_with_validation: the checks ------------------------------------------------


@pytest.mark.check(
    id="fit_history",
    name="fit_with_validation returns one entry per epoch: epoch numbers from 1, losses and lr as Python numbers",
    points=1,
    hint=["Append to each of the four lists once per epoch, after that epoch's validation.",
          "Epochs count from 1; losses are Python floats (`loss.item()`), and the learning rate is "
          "`float(optimizer.param_groups[0][\"lr\"])`."],
)
def test_fit_history(learner, seed):
    model, train, val = regression_problem(seed)
    epochs = 3
    history = learner_history(learner, model, train, val, nn.MSELoss(),
                              torch.optim.SGD(model.parameters(), lr=0.05), epochs)
    assert len(history["epoch"]) == epochs, (
        f"the history holds {len(history['epoch'])} epochs after fit_with_validation(..., epochs={epochs}) without "
        f"patience; expected {epochs}")
    assert history["epoch"] == list(range(1, epochs + 1)) and all(type(e) is int for e in history["epoch"]), (
        f"history[\"epoch\"] is {history['epoch']!r}; expected the ints {list(range(1, epochs + 1))} "
        "(epochs are counted from 1)")
    for key in ("train_loss", "val_loss", "lr"):
        for index, value in enumerate(history[key]):
            expect_float(value, f"history[{key!r}][{index}]")
    _, passes = sort_calls(model, train, val)
    assert len(passes) == epochs, f"the validation set was run through {len(passes)} times in {epochs} epochs; once an epoch"


@pytest.mark.check(
    id="fit_loss_means",
    name="fit_with_validation records training and validation losses as means per sample",
    points=2,
    hint=["loss_fn gives each batch's mean; a last batch of 1 sample must count for 1 sample, not as much as a "
          "full batch.",
          "For both losses add up `loss.item() * len(y_batch)` over the batches and divide by the number of "
          "samples; the training loss comes from the losses of the training steps themselves."],
)
def test_fit_loss_means(learner, seed, device):
    model, train, val = regression_problem(seed)
    model.to(device)
    history = learner_history(learner, model, train, val, nn.MSELoss(),
                              torch.optim.SGD(model.parameters(), lr=0.05), 2)
    training, validation = sort_calls(model, train, val)
    assert len(training) >= 2 and len(validation) >= 2, (
        f"in 2 epochs the model saw {len(training)} passes over the training batches and {len(validation)} over the "
        "validation batches; expected 2 of each")
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
    expect_weights_validated(model, validation)


@pytest.mark.check(
    id="fit_validation_mode",
    name="fit_with_validation trains in training mode and validates in evaluation mode, without gradients or updates",
    points=2,
    hint=["Validation only measures: evaluation mode, no gradient tracking, no optimizer step. Training needs "
          "training mode back every epoch.",
          "`model.train()` before each epoch's training batches; `model.eval()` and `with torch.no_grad():` (or "
          "`torch.inference_mode()`) around the validation loop, which computes losses and nothing else."],
)
def test_fit_validation_mode(learner, seed):
    model, train, val = regression_problem(seed)
    model.eval()  # as a model often is, after being looked at
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    taken = watch_steps(optimizer, model)
    learner_history(learner, model, train, val, nn.MSELoss(), optimizer, 3)
    training, validation = sort_calls(model, train, val)
    assert training and validation, "fit_with_validation never ran the model on the training or validation batches"
    for epoch, one_pass in enumerate(training, start=1):
        for call, _ in one_pass:
            assert call["training"], (f"the model was in evaluation mode while it trained in epoch {epoch}: call "
                                      "model.train() at the start of every epoch's training (validation switched it off)")
            assert call["grad"], f"gradient tracking was off while the model trained in epoch {epoch}"
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
    # The optimizer steps and weights the records show, against those the judge sees.
    expect_steps_recorded(model, taken)
    expect_weights_validated(model, validation)


@pytest.mark.check(
    id="fit_steps",
    name="fit_with_validation takes one optimizer step per training batch, with that batch's gradients",
    points=1,
    hint=["Each epoch's training is exercise 07's `train_epoch`: the five steps for every batch.",
          "Inside the loop over train_loader: forward, loss, `optimizer.zero_grad()`, `loss.backward()`, "
          "`optimizer.step()`; validation takes no step."],
)
def test_fit_steps(learner, seed):
    model, train, val = regression_problem(seed)
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    taken = watch_steps(optimizer, model)
    epochs, n_batches = 2, len(train)
    learner_history(learner, model, train, val, nn.MSELoss(), optimizer, epochs)
    assert taken[0] == epochs * n_batches, (
        f"optimizer.step() ran {taken[0]} times in {epochs} epochs of {n_batches} training batches; take one step "
        "per training batch")
    # The parameters each validation saw, against the same training done right on a twin.
    _, validation = sort_calls(model, train, val)
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
    # What the records show, against what the judge sees: the steps, the momentum the optimizer ended with
    # (which every step of the training shaped) and the weights the model ended with (an epoch's).
    expect_steps_recorded(model, taken)
    velocities = [optimizer.state[p].get("momentum_buffer") for p in model.layers.parameters()]
    expected = [twin_optimizer.state[p]["momentum_buffer"] for p in twin.layers.parameters()]
    assert all(type(v) is torch.Tensor for v in velocities) and not any_differs(velocities, expected), \
        RECORDS_CHANGED.format("the momentum the optimizer ended with")
    final = [p.detach().cpu() for p in model.layers.parameters()]
    assert any(not any_differs(final, weights) for weights in twin_weights), \
        RECORDS_CHANGED.format("the weights the model ended with")


def same_numbers(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(a, b))


def step_lr(optimizer):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)


def halving(optimizer):
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)


def halvings(optimizer) -> int | None:
    """How many times ``halving`` halved the optimizer's rate of 1 (None: its rate is no power of 1/2)."""
    lr = optimizer.param_groups[0]["lr"]
    if not isinstance(lr, float) or not 0 < lr <= 1:
        return None
    count = round(-math.log2(lr))
    return count if lr == 0.5 ** count else None


@pytest.mark.check(
    id="fit_scheduler",
    name="fit_with_validation steps the scheduler once per epoch, after its optimizer steps, and records the lr used",
    points=2,
    hint=["A schedule such as StepLR counts epochs, so it is stepped once per epoch: after the loop over the "
          "training batches, never inside it or before it, and also in the epoch after which training stops early.",
          "Read `optimizer.param_groups[0][\"lr\"]` for the history at the start of the epoch, before its "
          "training; call `scheduler.step()` after the epoch's validation, before checking whether to stop."],
)
def test_fit_scheduler(learner, seed):
    model, train, val = regression_problem(seed)
    lr, epochs, n_batches = 0.05 + 0.05 * (seed % 3), 5, len(train)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = step_lr(optimizer)
    taken = watch_steps(optimizer, model, scheduler)
    history = learner_history(learner, model, train, val, nn.MSELoss(), optimizer, epochs, scheduler=scheduler)
    expected = [lr * 0.5 ** (epoch // 2) for epoch in range(epochs)]  # StepLR(step_size=2, gamma=0.5)
    # The scheduler's steps as the probe counted them, in the learner's process; the rate the optimizer ended
    # with, which the judge sees, must be what that many steps give.
    scheduler_steps, ended_with = model.scheduler_steps, optimizer.param_groups[0]["lr"]
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
    recorded = [float(value) for value in history["lr"]]
    if not same_numbers(recorded, expected):
        assert not same_numbers(recorded[:-1], expected[1:]), (
            f"history[\"lr\"] is {fmt_list(recorded)}, each read after the scheduler's step; "
            f"record the rate the epoch trained with, read before its training: {fmt_list(expected)}")
        raise AssertionError(f"history[\"lr\"] is {fmt_list(recorded)}; the epochs trained with {fmt_list(expected)}")
    # The epoch after which training stops early gets its scheduler step too. Each step of ExponentialLR(gamma=0.5)
    # halves the rate, so the rate the optimizer ends with tells the judge how many steps there were.
    plan, patience = early_stopping_plan(seed)
    stop = stopping_epoch(plan, patience)
    run = run_scripted(learner, plan, len(plan), patience=patience, lr_scheduler=halving)
    ran, stepped = len(run.history["epoch"]), halvings(run.optimizer)
    assert stepped is not None, (f"the learning rate ended at {fmt(run.optimizer.param_groups[0]['lr'])}, which "
                                 "ExponentialLR(gamma=0.5) from 1 cannot give: leave the rate to the scheduler")
    assert not (ran == stop and stepped == stop - 1), (
        f"training stopped early after epoch {stop} but the scheduler was stepped only "
        f"{stop - 1} times: step it in every epoch that ran, the last one too, before stopping")
    assert stepped == ran, f"the scheduler was stepped {stepped} times in {ran} epochs; once per epoch"


@pytest.mark.check(
    id="fit_plateau",
    name="fit_with_validation steps ReduceLROnPlateau with the epoch's validation loss",
    points=1,
    hint=["ReduceLROnPlateau decides from a number you give it, so its step takes an argument; other schedulers "
          "take none.",
          "`if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau): scheduler.step(val_loss)`, "
          "else `scheduler.step()`."],
)
def test_fit_plateau(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    drops = (0.25 * (1 + torch.randint(0, 4, (4,), generator=generator))).tolist()
    # Falling, then flat for four epochs (ReduceLROnPlateau(patience=1) halves the rate once), then falling again.
    plan = [6.0, 6.0 - drops[0], 6.0 - drops[0] - drops[1]]
    plan += [plan[-1]] * 3 + [plan[-1] - drops[2], plan[-1] - drops[2] - drops[3]]

    def plateau(optimizer):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)

    history = run_scripted(learner, plan, len(plan), lr_scheduler=plateau).history
    # What the rates should be: the same scheduler on a spare optimizer, given the planned losses.
    spare = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    reference = plateau(spare)
    expected = []
    for loss in plan:
        expected.append(spare.param_groups[0]["lr"])
        reference.step(loss)
    recorded = [float(value) for value in history["lr"]]
    if same_numbers(recorded, expected):
        return
    train_losses = [float(value) for value in history["train_loss"]]
    spare = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    reference, from_training = plateau(spare), []
    for loss in train_losses:
        from_training.append(spare.param_groups[0]["lr"])
        reference.step(loss)
    assert not same_numbers(recorded, from_training), (
        "the learning rates followed the training loss: ReduceLROnPlateau must be given the "
        "validation loss, scheduler.step(val_loss)")
    raise AssertionError(f"with validation losses {fmt_list(plan, 8)} and ReduceLROnPlateau(factor=0.5, patience=1) the "
                         f"epochs should train with lr {fmt_list(expected, 8)}; history[\"lr\"] was "
                         f"{fmt_list(recorded, 8)}")


@pytest.mark.check(
    id="fit_early_stopping",
    name="fit_with_validation stops after exactly `patience` epochs without a strictly lower validation loss",
    points=2,
    hint=["Keep the best validation loss so far and a count of epochs since it last improved; an equal loss is "
          "not an improvement.",
          "After each validation: if `val_loss < best_loss`, remember it and set the count to 0, else add 1; stop "
          "when the count reaches patience. Without patience, run every epoch."],
)
def test_fit_early_stopping(learner, seed):
    plan, patience = early_stopping_plan(seed)
    stop = stopping_epoch(plan, patience)
    history = run_scripted(learner, plan, len(plan), patience=patience).history
    ran = len(history["epoch"])
    if ran != stop:
        told = f"with patience={patience} and validation losses {fmt_list(plan[:stop + patience], 12)}"
        for rule, meaning in MISTAKES.items():
            assert ran != stopping_epoch(plan, patience, rule), (
                f"training ran {ran} epochs {told}: {meaning}; it should stop after epoch {stop}")
        raise AssertionError(f"training ran {ran} epochs {told}; it should stop after epoch {stop} "
                             f"(best epoch {best_epoch(plan[:stop])}, then {patience} without a strictly lower loss)")
    observed = [float(value) for value in history["val_loss"]]
    assert not any(abs(a - b) > 1e-6 for a, b in zip(observed, plan)), (
        f"history[\"val_loss\"] is {fmt_list(observed, 12)}; the validation losses were {fmt_list(plan[:stop], 12)}")
    # Without patience nothing stops early, however long the loss has not improved.
    history = run_scripted(learner, plan, len(plan)).history
    assert len(history["epoch"]) == len(plan), (
        f"without patience training stopped after {len(history['epoch'])} of {len(plan)} epochs; with patience=None "
        "run every epoch")


@pytest.mark.check(
    id="fit_best_weights",
    name="fit_with_validation ends with the best epoch's weights (the earliest on a tie), stopped early or not",
    points=2,
    hint=["The weights at the end of training are not the best ones: keep a copy of the best epoch's and load it "
          "back before returning.",
          "`model.state_dict()` holds the live tensors, which the next step changes: keep "
          "`copy.deepcopy(model.state_dict())` at each new best, and `model.load_state_dict(...)` it at the end."],
)
def test_fit_best_weights(learner, seed):
    plan, patience = early_stopping_plan(seed)
    stop = stopping_epoch(plan, patience)
    generator = torch.Generator().manual_seed(seed + 1)
    best = int(torch.randint(2, 4, (1,), generator=generator))
    full = [5.0 + 0.25 * int(step) for step in torch.randint(1, 8, (6,), generator=generator)]
    full[best - 1] = 4.0
    full[int(torch.randint(best + 1, 6, (1,), generator=generator)) - 1] = 4.0  # a tie, later: not a new best
    for label, run_plan, options in (("stopped early", plan, {"patience": patience}), ("ran every epoch", full, {})):
        run = run_scripted(learner, run_plan, len(run_plan), **options)
        model = run.model
        # Judged on the epochs that really ran (two optimizer steps each), so a stopping mistake
        # (fit_early_stopping's) does not count here.
        last = run.steps // TRAIN_STEPS_PER_EPOCH
        best_expected = best_epoch(run_plan[:last])
        held = epoch_of_weights(model)
        if held == best_expected:
            continue
        losses = fmt_list(run_plan[:last], 12)
        assert not (held == last and model.loaded and model.loaded[-1] is not None and model.loaded[-1].item() == model.w.item()), (
            f"when training {label} (validation losses {losses}), the weights loaded back at "
            f"the end were those of the last epoch, {last}: the saved best state changed along "
            "with the model, because model.state_dict() holds the live tensors; keep a copy "
            "(copy.deepcopy or .clone())")
        assert held != last, (
            f"when training {label} (validation losses {losses}), the model ended with the "
            f"weights of the last epoch, {last}, not of the best one, {best_expected}: load the "
            "best weights back before returning")
        assert not (held in range(1, last + 1) and run_plan[int(held) - 1] == run_plan[best_expected - 1]), (
            f"when training {label} (validation losses {losses}), the model ended with the "
            f"weights of epoch {int(held)}, which only tied the best; keep the earliest, epoch "
            f"{best_expected} (a new best must be strictly lower)")
        raise AssertionError(f"when training {label} (validation losses {losses}), the model ended with the weights "
                             f"of epoch {fmt(held)}; the best epoch was {best_expected}")


@pytest.mark.check(
    id="fit_checkpoint",
    name="fit_with_validation keeps the best epoch in the checkpoint file, creating its folders, and writes nothing without one",
    points=2,
    hint=["Save right after a validation that is a new best, so the file always holds the best epoch.",
          "`Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)`, then `torch.save({\"epoch\": epoch, "
          "\"model_state_dict\": model.state_dict(), \"optimizer_state_dict\": optimizer.state_dict(), "
          "\"val_loss\": val_loss}, checkpoint_path)`."],
)
def test_fit_checkpoint(learner, seed, tmp_path, monkeypatch):
    generator = torch.Generator().manual_seed(seed)
    best = int(torch.randint(2, 4, (1,), generator=generator))
    plan = [5.0 + 0.25 * int(step) for step in torch.randint(1, 8, (6,), generator=generator)]
    plan[best - 1] = 4.0
    plan[int(torch.randint(best + 1, 6, (1,), generator=generator)) - 1] = 4.0  # a later tie is no new best
    path = tmp_path / "runs" / f"run{seed % 100}" / "best.pt"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    optimizer = run_scripted(learner, plan, len(plan), checkpoint_path=str(path)).optimizer
    assert path.is_file(), "no checkpoint file was written at checkpoint_path (its folders did not exist yet)"
    try:
        checkpoint = torch.load(path, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to load is the learner's to fix
        raise AssertionError(f"the checkpoint could not be loaded with torch.load(..., weights_only=True): "
                             f"{type(error).__name__}; save a dict of state dicts and plain numbers") from None
    assert isinstance(checkpoint, dict), f"the checkpoint holds {kind_of(checkpoint)}, not a dict"
    keys = ("epoch", "model_state_dict", "optimizer_state_dict", "val_loss")
    missing = [key for key in keys if key not in checkpoint]
    assert not missing, f"the checkpoint has no key {', '.join(map(repr, missing))} (keys: {sorted(map(str, checkpoint))})"
    epoch = checkpoint["epoch"]
    assert type(epoch) is int, f"checkpoint[\"epoch\"] is {kind_of(epoch)}; save the epoch number as an int"
    losses = fmt_list(plan, 8)
    if epoch != best:
        meaning = ("the last epoch: save only when the validation loss is a new best" if epoch == len(plan) else
                   "an epoch that only tied the best: a new best must be strictly lower"
                   if 1 <= epoch <= len(plan) and plan[epoch - 1] == 4.0 else "not the best one")
        raise AssertionError(f"with validation losses {losses} the checkpoint holds epoch {epoch}, {meaning}; "
                             f"expected epoch {best}")
    val_loss = checkpoint["val_loss"]
    assert isinstance(val_loss, numbers.Real) and not isinstance(val_loss, bool), (
        f"checkpoint[\"val_loss\"] is {kind_of(val_loss)}; save it as a Python float")
    assert abs(float(val_loss) - 4.0) < 1e-6, f"checkpoint[\"val_loss\"] is {fmt(val_loss)}; epoch {best}'s was 4"
    state = checkpoint["model_state_dict"]
    assert isinstance(state, dict) and "w" in state, (
        f"checkpoint[\"model_state_dict\"] is {kind_of(state)} without the model's weight \"w\"; "
        "save model.state_dict()")
    held = state["w"].item() / TRAIN_STEPS_PER_EPOCH
    assert held == best, f"the checkpoint's model_state_dict holds the weights of epoch {fmt(held)}, not of epoch {best}"
    saved = checkpoint["optimizer_state_dict"]
    assert isinstance(saved, dict) and set(saved) == set(optimizer.state_dict()), (
        f"checkpoint[\"optimizer_state_dict\"] is not the optimizer's state dict (keys "
        f"{sorted(map(str, saved)) if isinstance(saved, dict) else kind_of(saved)}); save optimizer.state_dict()")
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert not written, f"files appeared in the working folder: {written}; write only to checkpoint_path"
    # Without a checkpoint_path, no file at all.
    run_scripted(learner, plan, len(plan))
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert not written, f"without checkpoint_path, fit_with_validation wrote {written}; write no file then"


@pytest.mark.check(
    id="fit_bad_arguments",
    name="fit_with_validation raises ValueError for epochs < 1 or a patience below 1",
    points=1,
    hint=["Check the arguments before training: zero epochs or a patience of 0 make no sense.",
          "`if epochs < 1: raise ValueError(...)`, and the same for `patience` when it is not None."],
)
def test_fit_bad_arguments(learner, seed):
    for epochs, options in ((0, {}), (-2, {}), (3, {"patience": 0}), (3, {"patience": -1})):
        model = Scripted([5.0, 4.0, 3.0])
        train, val = scripted_loaders()
        shown = call_text("fit_with_validation", "...", show=str, epochs=epochs, **options)
        try:
            learner.fit_with_validation(model, train, val, nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=1.0),
                                        epochs, **options)
        except ValueError:
            continue
        raise AssertionError(f"{shown} raised no ValueError")
