"""Exercise 04's suite (RegularizedNet, predict, evaluate): finding the net's layers, and the suite's own models."""

from __future__ import annotations

import copy
import math
import random

import torch
import torch.nn.functional as F
from torch import nn

from grader.checking.values import apart, expect_tensor


# -- RegularizedNet: finding its layers, and what they must compute ------------------------


def net_sizes(seed: int, out_equals_hidden: bool = False) -> tuple[int, int, int]:
    """``(in_features, hidden_features, out_features)``, all different unless asked, so each layer is recognisable."""
    rng = random.Random(seed)
    in_features, hidden = rng.randint(2, 5), rng.randint(6, 12)
    return in_features, hidden, hidden if out_equals_hidden else rng.randint(1, 4)


def layers_of(net: nn.Module, sizes: tuple[int, int, int]) -> tuple[nn.Linear, nn.BatchNorm1d, nn.Linear]:
    """The first Linear, the BatchNorm1d and the last Linear, recognised by type and size (never by name)."""
    in_features, hidden, out = sizes
    linears = [module for module in net.modules() if isinstance(module, nn.Linear)]
    norms = [module for module in net.modules() if isinstance(module, nn.BatchNorm1d)]
    first = next((m for m in linears if (m.in_features, m.out_features) == (in_features, hidden)), None)
    last = next((m for m in linears if (m.in_features, m.out_features) == (hidden, out) and m is not first), None)
    expected = f"Linear({in_features}, {hidden}), BatchNorm1d({hidden}) and Linear({hidden}, {out})"
    if len(linears) != 2 or len(norms) != 1 or first is None or last is None or norms[0].num_features != hidden:
        found = [f"Linear({m.in_features}, {m.out_features})" for m in linears]
        found += [f"BatchNorm1d({m.num_features})" for m in norms]
        raise AssertionError(f"RegularizedNet({in_features}, {hidden}, {out}) holds "
                             f"{', '.join(found) or 'no nn.Linear or nn.BatchNorm1d layer'}; expected {expected}")
    norm = norms[0]
    assert norm.affine and norm.track_running_stats, (
        f"RegularizedNet's BatchNorm1d({hidden}) was made with affine=False or "
        "track_running_stats=False; use the defaults (a weight, a bias and running statistics)")
    return first, norm, last


def randomise_norm(norm: nn.BatchNorm1d, generator: torch.Generator) -> None:
    """Give batch norm running statistics, a weight and a bias that no fresh layer has."""
    size = norm.num_features
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(size, generator=generator))
        norm.running_var.copy_(torch.rand(size, generator=generator) * 2 + 0.5)
        norm.weight.copy_(torch.rand(size, generator=generator) * 1.5 + 0.5)
        norm.bias.copy_(torch.randn(size, generator=generator) * 0.5)


def eval_forward(first, norm, last, x, *, relu_first=False, use_relu=True, use_norm=True, batch_stats=False):
    """What the layers compute in evaluation mode; the keyword arguments describe common mistakes."""
    h = first(x)
    if relu_first:
        h = F.relu(h)
    if use_norm:
        if batch_stats:
            h = F.batch_norm(h, None, None, norm.weight, norm.bias, training=True, eps=norm.eps)
        else:
            h = F.batch_norm(h, norm.running_mean, norm.running_var, norm.weight, norm.bias, training=False, eps=norm.eps)
    if use_relu and not relu_first:
        h = F.relu(h)
    return last(h)


EVAL_MISTAKES = (
    ({"relu_first": True}, "the ReLU came before batch norm; the order is Linear, BatchNorm1d, ReLU, Dropout, Linear"),
    ({"use_relu": False}, "there is no ReLU between batch norm and the last Linear"),
    ({"use_norm": False}, "batch norm was not applied between the first Linear and the ReLU"),
    ({"batch_stats": True}, "in evaluation mode batch norm used the batch's statistics instead of its running "
                            "statistics: use the nn.BatchNorm1d module, which follows model.eval()"),
)


DROPOUT_SAMPLES = 4000  # rows; times at least 6 hidden features, so at least 24,000 coin flips
DROPOUT_TOLERANCE = 0.03
# A correct dropout drops each of n >= 24,000 activations independently with probability p.
# By Hoeffding's inequality the dropped fraction strays from p by more than 0.03 with probability
# at most 2 * exp(-2 * n * 0.03**2) = 2 * exp(-43.2) < 2e-18, for any p: a correct file never
# fails by bad luck. A wrong p (0.5 where p < 0.36, or 1 - p) is at least 0.14 away.


def dropout_outputs(net, sizes, generator):
    """Outputs in training mode, rigged so that each is ``bias`` (dropped) or ``bias + 1/(1-p)`` (kept).

    Batch norm's weight is set to 0 and its bias to 1, so every hidden activation
    is exactly 1 after the ReLU; the last Linear becomes the identity plus a
    bias between 0.5 and 1.5. Each output then shows directly whether dropout
    kept its hidden activation, and by how much it scaled it.
    """
    first, norm, last = layers_of(net, sizes)
    hidden = sizes[1]
    bias = torch.rand(hidden, generator=generator) + 0.5
    with torch.no_grad():
        norm.weight.fill_(0.0)
        norm.bias.fill_(1.0)
        last.weight.copy_(torch.eye(hidden))
        last.bias.copy_(bias)
    X = torch.randn(DROPOUT_SAMPLES, sizes[0], generator=generator)
    net.train()
    with torch.no_grad():
        output = net(X)
    output = expect_tensor(output, "RegularizedNet's output in training mode", shape=(DROPOUT_SAMPLES, hidden))
    return output, bias


def two_values(values: torch.Tensor, low) -> tuple[torch.Tensor, float] | None:
    """``(is_low, high)`` when every value is ``low`` or one common value ``high`` (within 1e-4); else None."""
    is_low = (values - low).abs() <= 1e-4
    rest = (values - low)[~is_low]
    if rest.numel() == 0:
        return is_low, float("nan")
    high = rest.median().item()
    if not bool(((rest - high).abs() <= 1e-4 * (1 + abs(high))).all()):
        return None
    return is_low, high


# -- predict and evaluate: the suite's own models -------------------------------------------


class Net(nn.Module):
    """The contract's RegularizedNet, written here, that remembers each forward pass's mode and gradient tracking."""

    def __init__(self, in_features: int, hidden: int, out: int, p: float = 0.5):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                    nn.Dropout(p), nn.Linear(hidden, out))
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.layers(x)


GRAD_SHIFT = 10.0  # what the models of the gradient-tracking checks add to their output while tracking gradients


class GradShowingNet(Net):
    """``Net``, with ``GRAD_SHIFT`` added to the output of a forward pass that tracks gradients.

    The numbers computed from its output then tell whether the forward pass that made them tracked
    gradients, whatever the record says.
    """

    def forward(self, x):
        output = super().forward(x)
        return output + GRAD_SHIFT if torch.is_grad_enabled() else output


class GradProbe(nn.Module):
    """A linear model (the same in both modes) that adds ``GRAD_SHIFT`` while tracking gradients, and remembers."""

    def __init__(self, in_features: int, hidden: int, out: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        output = self.linear(x)
        return output + GRAD_SHIFT if torch.is_grad_enabled() else output


def trained_model(seed: int, out: int = 1, n: int = 32, probe: type[nn.Module] = Net) -> tuple[Net, torch.Tensor, torch.Tensor]:
    """A model in training mode (as training leaves it) with batch norm statistics of its own, and fresh data."""
    rng = random.Random(seed)
    in_features, hidden = rng.randint(2, 5), rng.randint(6, 12)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = probe(in_features, hidden, out)
    if isinstance(model, Net):
        randomise_norm(model.layers[1], generator)
    model.seen.clear()
    model.train()
    X = torch.randn(n, in_features, generator=generator)
    y = torch.randn(n, out, generator=generator)
    return model, X, y


def eval_predictions(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """What ``predict`` must return, computed on a CPU copy of the model."""
    twin = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        return twin(X.cpu())


def buffers_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: buffer.detach().cpu().clone() for name, buffer in model.named_buffers()}


def changed_buffers(model: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    after = buffers_of(model)
    return [name.rsplit(".", 1)[-1] for name in before if not torch.equal(before[name], after[name])]


def in_training_mode(model: Net) -> bool:
    """What the model's record says (only to name a mistake: the verdicts rest on the values)."""
    seen = getattr(model, "seen", None)
    return type(seen) is list and any(type(entry) is tuple and len(entry) == 2 and entry[0] is True for entry in seen)


def same_values(result: torch.Tensor, expected: torch.Tensor) -> bool:
    """Whether ``result`` holds ``expected``'s values (in any shape of the same size)."""
    values = result.detach().cpu()
    return (values.numel() == expected.numel() and values.is_floating_point()
            and torch.allclose(values.reshape(-1).float(), expected.reshape(-1), rtol=1e-4, atol=1e-4))


def numbers_in(result) -> list[float]:
    """The finite numbers in what ``evaluate`` returned: a dict's values, a tuple's items, one-element tensors."""
    items = list(result.values()) if isinstance(result, dict) else list(result) if type(result) in (list, tuple) else [result]
    numbers = []
    for item in items:
        if type(item) in (float, int):
            numbers.append(float(item))
        elif type(item) is torch.Tensor and item.numel() == 1 and item.is_floating_point():
            numbers.append(item.detach().double().item())
    return [number for number in numbers if math.isfinite(number)]


def any_close(numbers: list[float], targets: list[float]) -> bool:
    return any(abs(number - target) <= 1e-5 * max(1.0, abs(target)) for number in numbers for target in targets)


def mae_errors(seed: int, shape) -> torch.Tensor:
    """Errors (prediction - y) of alternating signs on which the MAE, the MSE, the sum of the absolute errors and
    the mean error, of either sign, are all at least 0.02 apart: each mistake in ``mae_mistake`` gives its own value."""
    generator = torch.Generator().manual_seed(seed + 1)
    signs = torch.tensor([1.0, -1.0]).repeat(shape[0] // 2 + 1)[: shape[0]].unsqueeze(1)
    for _ in range(1000):
        errors = signs * (torch.rand(shape, generator=generator) + 0.1)
        mean_error = errors.mean().item()
        if apart([errors.abs().mean().item(), errors.pow(2).mean().item(), errors.abs().sum().item(),
                  mean_error, -mean_error], 0.02):
            return errors
    raise RuntimeError("could not draw errors for the MAE check")  # never happens for any seed tried


def mae_mistake(maes: list[float], errors: torch.Tensor, losses: list[float]) -> str | None:
    """The usual mistake that gives ``maes``, evaluate's MAE for ``errors`` and then for the same errors with their
    signs flipped (``losses``: the losses it returned with them), or None.

    Flipping the signs keeps the MAE, the loss and the sum of the absolute errors; the mean error changes sign and
    its absolute value does not. So the mean error (of prediction - y or of y - prediction) and its absolute value,
    equal on one of the two calls, differ on the other.
    """
    mean_error = errors.mean().item()
    mistakes = ((losses, "it equals the loss (here MSELoss)"),
                ([errors.abs().sum().item()] * 2, "it is the sum of the absolute errors, not their mean"),
                ([mean_error, -mean_error], "it is the mean error without absolute values"),
                ([-mean_error, mean_error], "it is the mean error without absolute values"),
                ([abs(mean_error)] * 2, "it is the absolute value of the mean error, not the mean of the absolute errors"))
    for wanted, message in mistakes:
        if all(any_close([mae], [value]) for mae, value in zip(maes, wanted)):
            return message
    return None


def calling(function, what: str, *args):
    """Call learner code; a device mismatch inside it is explained as a failure, not a crash."""
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except RuntimeError as exc:
        if "same device" not in str(exc) and "device type" not in str(exc):
            raise
        raise AssertionError(f"{what} mixed tensors on different devices (the model's parameters are on "
                             f"{next(args[0].parameters()).device}, the inputs on {args[1].device}): move the "
                             "inputs to the model's device before the forward pass") from None


TRAINING_MODE = ("the model was in training mode during the forward pass, so dropout dropped and batch norm used the "
                 "batch's statistics: call model.eval() first")
