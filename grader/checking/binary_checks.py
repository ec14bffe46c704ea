"""Helpers of exercise 09's suite (binary classification) that name one mistake each, beside ``binary``."""

from __future__ import annotations

import torch
from torch import nn

from grader.checking.binary import circles, head_gradient, loss_candidates, state_logits
from grader.checking.calls import exception_from
from grader.checking.text import call_text, fmt
from grader.checking.training import largest_difference, parameters_of

# Arguments make_circles must reject with a ValueError.
REJECTED_CIRCLES = [{"n_samples": 1}, {"n_samples": 0}, {"n_samples": 20, "noise": -0.1},
                    {"n_samples": 20, "factor": 1.0}, {"n_samples": 20, "factor": 1.5},
                    {"n_samples": 20, "factor": 0.0}, {"n_samples": 20, "factor": -0.5}]


def expect_circle_labels(y, call, n_samples):
    """Labels 0.0 and 1.0 only: n_samples // 2 of the outer circle (0.0), the rest of the inner one."""
    values = sorted(set(y.tolist()))
    assert set(values) <= {0.0, 1.0}, f"the labels from {call} include {values[:6]}; only 0.0 and 1.0 are allowed"
    zeros, ones = int((y == 0).sum()), int((y == 1).sum())
    assert (zeros, ones) == (n_samples // 2, n_samples - n_samples // 2), (
        f"{call} gave {zeros} points label 0.0 and {ones} label 1.0; expected {n_samples // 2} (n_samples // 2, "
        f"the outer circle) and {n_samples - n_samples // 2} (the rest, the inner circle)")


def expect_same_data(first, again, seed):
    """Two calls of make_circles with the same seed gave the same X and y."""
    for part, a, b in (("X", first[0], again[0]), ("y", first[1], again[1])):
        assert torch.equal(a, b), \
            f"two calls with seed={seed} gave different {part}: the same seed must give the same data"


def expect_default_seed(learner):
    """Two calls of make_circles without a seed give the same X."""
    default = circles(learner, 40, noise=0.1), circles(learner, 40, noise=0.1)
    assert torch.equal(default[0][0], default[1][0]), "two calls without a seed (seed defaults to 0) gave different X"


def expect_global_generator_untouched(learner, seed):
    """make_circles leaves torch's global random generator as it found it."""
    torch.rand(7)  # so that the global state is not the one a torch.manual_seed(seed) inside would leave behind
    state = torch.get_rng_state()
    circles(learner, 40, noise=0.1, seed=seed)
    assert torch.equal(state, torch.get_rng_state()), (
        "make_circles changed torch's global random generator (torch.manual_seed, or a random call without "
        "generator=): leave it to the rest of the program and use a torch.Generator of your own")


def expect_value_error(learner, arguments):
    """make_circles(**arguments) raises a ValueError."""
    shown = call_text("make_circles", show=str, **arguments)
    raised = exception_from(learner.make_circles, **arguments)
    assert raised is not None, f"{shown} returned without raising ValueError"
    assert isinstance(raised, ValueError), f"{shown} raised {type(raised).__name__}; expected ValueError"


def enlarge_last_layer(model):
    """Multiply the weights of the model's last nn.Linear by 20."""
    with torch.no_grad():
        for module in [m for m in model.modules() if isinstance(m, nn.Linear)][-1:]:
            module.weight.mul_(20)


def expect_not_loss_after(value, before, after):
    """binary_train_step returned the loss before the update, not after it."""
    assert not (abs(value - after) < 1e-6 < abs(before - after)), (
        f"binary_train_step returned {fmt(value)}, the loss after the update; return the loss "
        f"of the forward pass before optimizer.step() ({fmt(before)})")


def one_row_step(learner, model, X, y, optimizer):
    """``binary_train_step`` on a batch of one row; a shape error fails the check, said in the learner's terms."""
    try:
        return learner.binary_train_step(model, X, y, optimizer)
    except NotImplementedError:
        raise  # a stub: "not started"
    except (ValueError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AssertionError(
            f"binary_train_step raised {type(exc).__name__} for a batch of one row ({first_line}): the logits must "
            "keep shape [1], like y; a bare squeeze() also removes the batch dimension when N is 1, so use "
            "squeeze(-1) or view(-1)") from None


def expect_one_step_taken(steps, start, end):
    """optimizer.step() ran once, and moved a parameter."""
    assert steps == 1, f"optimizer.step() ran {steps} times in one call of binary_train_step; it must run once"
    assert largest_difference(start, end) != 0, (
        "optimizer.step() ran but no parameter moved: the gradients were empty or zero "
        "when it ran (were they zeroed between backward() and step()?)")


def expect_no_history(result):
    """predict_proba's result, when a tensor, carries no autograd history."""
    if type(result) is torch.Tensor:  # what else it may be is predict_proba_values' business
        assert not result.requires_grad and result.grad_fn is None, \
            ("predict_proba's result carries autograd history (requires_grad=True): compute it with gradient "
             "tracking off")


def probe_logits(model, X):
    """The logits of the probe for X, worked out without gradients."""
    with torch.no_grad():
        return model.layers(X).squeeze(-1)


def as_item(result):
    """A one-element tensor as its number; anything else as it is."""
    if type(result) is torch.Tensor and result.numel() == 1:
        return result.item()
    return result


def state_step_expectations(model, X, y):
    """The losses of each state, the training head's gradient, and each head's parameters before a step."""
    losses = {state: loss_candidates(value, y) for state, value in state_logits(model, X).items()}
    gradient = head_gradient(model, X, y, training=True)
    start = {training: parameters_of(head) for training, head in ((True, model.train_head), (False, model.eval_head))}
    return losses, gradient, start
