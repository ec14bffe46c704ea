"""Exercise 07's suite (classification with DataLoaders): its data and loaders, its classifier, its epochs replayed."""

from __future__ import annotations

import copy
import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.checking.classifiers import Probe, StateProbe
from grader.checking.models import linear_calls
from grader.checking.probes import STATES
from grader.checking.text import fmt, fmt_list, kind_of
from grader.checking.training import largest_difference, matching_outcome, parameters_of
from grader.checking.values import apart, expect_close, expect_float, expect_tensor


# -- make_blobs, BlobDataset and make_loader: the suite's own data ---------------------------------


def blobs(generator: torch.Generator, n_per_class: int, n_classes: int, spacing: float = 6.0, spread: float = 0.7):
    """The suite's own well-separated 2-D blobs: centres evenly round a circle, ``spacing`` apart."""
    radius = spacing / (2 * math.sin(math.pi / n_classes))
    angles = torch.rand(1, generator=generator) * 2 * math.pi + torch.arange(n_classes) * 2 * math.pi / n_classes
    centres = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    X = centres[y] + spread * torch.randn(len(y), 2, generator=generator)
    order = torch.randperm(len(y), generator=generator)
    return X[order], y[order]


def some_data(seed: int, n_features: int = 3):
    generator = torch.Generator().manual_seed(seed)
    n = int(torch.randint(20, 40, (1,), generator=generator))
    X = torch.randn(n, n_features, generator=generator)
    y = torch.randint(0, 4, (n,), generator=generator)
    return X, y


def expect_pair(item, index: int, X, y) -> None:
    described = f"dataset[{index}]"
    assert isinstance(item, (tuple, list)) and len(item) == 2, (
        f"{described} returned {kind_of(item)}; return the pair (x, y)")
    x, label = item
    assert not (type(x) is torch.Tensor and x.dim() == 0 and type(label) is torch.Tensor and label.dim() == 1), (
        f"{described} returned (label, features); the features come first: (x, y)")
    expect_tensor(x, f"the x of {described}", shape=tuple(X[index].shape))
    assert torch.equal(x, X[index]), f"the x of {described} is not row {index} of X"
    if type(label) is torch.Tensor:
        assert label.dim() == 0, f"the y of {described} has shape {list(label.shape)}; it should be one label, y[{index}]"
        label = label.item()
    elif not isinstance(label, numbers.Integral) or isinstance(label, bool):
        raise AssertionError(f"the y of {described} is {kind_of(label)}, not a label y[{index}]")
    assert int(label) == y[index].item(), f"the y of {described} was {label}, expected y[{index}] = {y[index].item()}"


def numbered_dataset(seed: int):
    """A dataset whose features say which sample each row is: x = [i, -i], y = i % 3."""
    generator = torch.Generator().manual_seed(seed)
    n = int(torch.randint(30, 50, (1,), generator=generator))
    batch_size = int(torch.randint(6, 12, (1,), generator=generator))
    if n % batch_size == 0:
        n += 1 + int(torch.randint(0, batch_size - 1, (1,), generator=generator))
    index = torch.arange(n, dtype=torch.float32)
    return TensorDataset(torch.stack([index, -index], dim=1), torch.arange(n) % 3), n, batch_size


def one_epoch(loader, what: str = "the loader") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The batches of one pass over ``loader``, checked to be (X, y) pairs of tensors."""
    try:
        iterator = iter(loader)
    except TypeError:
        raise AssertionError(f"{what} is {kind_of(loader)}, which cannot be iterated over") from None
    batches = []
    for batch in iterator:
        assert isinstance(batch, (tuple, list)) and len(batch) == 2, (
            f"{what} yielded {kind_of(batch)}; each batch should be a pair (X_batch, y_batch)")
        expect_tensor(batch[0], f"an X_batch from {what}")
        batches.append((batch[0], batch[1]))
    return batches


def sample_order(batches) -> list[int]:
    return [int(value) for X_batch, _ in batches for value in X_batch[:, 0].tolist()]


def two_epoch_orders(learner, dataset, batch_size: int, loader_seed: int) -> list[list[int]]:
    """The order of the samples in two epochs of a loader ``make_loader`` makes with shuffling and ``loader_seed``."""
    # Iterate each loader fully before making the next: a loader seeded through the global
    # generator draws from it when iterated, not when made.
    loader = learner.make_loader(dataset, batch_size, True, seed=loader_seed)
    return [sample_order(one_epoch(loader)) for _ in range(2)]


# -- MultiClassClassifier --------------------------------------------------------------------------


def classifier_sizes(seed: int) -> tuple[int, int, int]:
    """Distinct in_features, n_classes and hidden sizes, so that every layer's shape tells which layer it is."""
    generator = torch.Generator().manual_seed(seed)
    in_features = int(torch.randint(2, 6, (1,), generator=generator))
    n_classes = int(torch.randint(6, 10, (1,), generator=generator))
    hidden = int(torch.randint(11, 24, (1,), generator=generator))
    return in_features, n_classes, hidden


def expect_linear_chain(model: nn.Module, x: torch.Tensor, sizes: tuple, which: str) -> None:
    """Fail unless ``model`` has three Linear layers and its forward pass on ``x`` runs them in the order ``sizes``
    gives (``(2, 16, 16, 4)``: 2 -> 16, 16 -> 16, 16 -> 4), each once; ``which`` names the hidden size used."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    assert len(linears) == 3, (
        f"the model has {len(linears)} nn.Linear layer{'s' if len(linears) != 1 else ''}; two hidden layers "
        "need three (in -> hidden, hidden -> hidden, hidden -> n_classes)")
    _, calls = linear_calls(model, x)
    used = [(module.in_features, module.out_features) for module, _, _ in calls]
    expected = list(zip(sizes, sizes[1:]))
    chain = " -> ".join(str(n) for n in sizes)
    seen = ", ".join(f"{a} -> {b}" for a, b in used) or "none"
    assert used == expected, (
        f"with in_features={sizes[0]}, n_classes={sizes[-1]}, {which} the forward pass ran the "
        f"Linear layers {seen}; expected {chain}, each once")


def expect_logits(output: torch.Tensor, last: torch.Tensor) -> None:
    """Fail unless the model's ``output`` is ``last``, its last Linear layer's output; name what it is instead."""
    if last.shape == output.shape and torch.allclose(output, last, atol=1e-6):
        return
    output = output.double()
    ones = torch.ones(len(output), dtype=torch.float64)
    rows_sum_to_one = torch.allclose(output.sum(dim=1), ones, atol=1e-4)
    assert not (rows_sum_to_one and bool((output >= 0).all())), (
        "each row of the output is positive and sums to 1: the model returns softmax "
        "probabilities; return the logits, CrossEntropyLoss applies softmax itself")
    assert not torch.allclose(output.exp().sum(dim=1), ones, atol=1e-4), (
        "the output is log_softmax of the logits; return the logits themselves "
        "(CrossEntropyLoss applies log_softmax itself)")
    assert not bool(((output > 0) & (output < 1)).all()), (
        "every output lies between 0 and 1: is there a sigmoid at the end? Return the "
        "last Linear layer's output, the logits")
    raise AssertionError("the model's output is not the output of its last nn.Linear layer: return the logits as they are")


# -- train_epoch: problems, and epochs replayed here -----------------------------------------------


# The learning rate of the epochs whose mean loss train_epoch_mean_loss checks (besides one with lr=0).
EPOCH_LR = 0.1
# How far apart, relative to the largest, the mean loss and what each usual mistake returns must be: ten times
# the tolerance of mean_loss_mistake.
MEAN_LOSS_GAP = 1e-3


def epoch_problem(seed: int, n: int = 50, batch_size: int = 16):
    """A probe model and an unshuffled loader whose smaller last batch has a much larger loss than the others
    (``hard_last_batch``); also the rows and labels in the loader's order.

    Drawn again, data and model, until the mean loss per sample and what each usual mistake returns
    (``mean_loss_values``) are apart for the logits the batches meet in an SGD epoch with lr=``EPOCH_LR``
    and in one with lr=0: the loss of softmax probabilities came within 1e-4 of the right mean for one
    seed in 4000. About one seed in 300 takes a second draw.
    """
    generator = torch.Generator().manual_seed(seed)
    model_seed = seed
    for _ in range(100):
        model, X, labels = hard_last_batch(generator, model_seed, n, batch_size)
        # The loader's batches, without iterating a loader (which draws from torch's global generator).
        if mean_losses_apart(model, list(zip(X.split(batch_size), labels.split(batch_size)))):
            return model, DataLoader(TensorDataset(X, labels), batch_size=batch_size, shuffle=False), X, labels
        model_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    raise RuntimeError("could not make an epoch problem")  # never happens for any seed tried


def hard_last_batch(generator: torch.Generator, model_seed: int, n: int, batch_size: int):
    """A probe model made after ``torch.manual_seed(model_seed)``, and ``n`` rows of blobs with their labels.

    The model is trained a little first, so that it is fairly confident; the rows it would get
    most wrong under a wrong label then go last, with that wrong label, as many as make the last batch
    of ``batch_size`` smaller. Weighting that batch by its size or not gives clearly different means.
    """
    X, y = blobs(generator, n_per_class=n // 3 + 1, n_classes=3)
    X, y = X[:n], y[:n]
    torch.manual_seed(model_seed)
    model = Probe(2, 3)
    optimizer = torch.optim.Adam(model.layers.parameters(), lr=0.03)
    for _ in range(10):
        loss = F.cross_entropy(model.layers(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.zero_grad(set_to_none=True)
    wrong = (y + 1) % 3
    with torch.no_grad():
        hardest = F.cross_entropy(model.layers(X), wrong, reduction="none").argsort()
    tail = hardest[len(hardest) - n % batch_size:]
    order = torch.cat([hardest[:len(hardest) - len(tail)], tail])
    labels = y.clone()
    labels[tail] = wrong[tail]
    return model, X[order], labels[order]


def mean_losses_apart(model: Probe, batches: list) -> bool:
    """Whether ``mean_loss_values`` are apart (by ``MEAN_LOSS_GAP``) for the logits ``batches`` meet in an SGD
    epoch on a copy of ``model`` with lr=``EPOCH_LR``, and in one with lr=0 (``model`` as it is)."""
    with torch.no_grad():
        still = [model.layers(X_batch) for X_batch, _ in batches]
    _, trained = replay_epoch(model, batches, EPOCH_LR)
    for outputs in (trained, still):
        # Relative to the larger, as mean_loss_mistake's tolerance is (the sum of the losses is large).
        if not apart(list(mean_loss_values(outputs, batches).values()), MEAN_LOSS_GAP, relative=True):
            return False
    return True


def replay_epoch(model: nn.Module, loader, lr: float, zeroing: str = "before backward"):
    """One SGD epoch on a copy of ``model``, zeroing the gradients as ``zeroing`` says.

    ``"before backward"`` is the correct loop; ``"after step"`` and ``"never"`` are the usual mistakes.
    Returns the parameters after the epoch and the logits of each batch's forward pass (before its update).
    """
    twin = copy.deepcopy(model)
    for copied, parameter in zip(twin.parameters(), model.parameters()):  # deepcopy leaves .grad behind
        copied.grad = None if parameter.grad is None else parameter.grad.clone()
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr)
    outputs = []
    for X_batch, y_batch in loader:
        logits = twin.layers(X_batch)
        outputs.append(logits.detach().clone())
        loss = F.cross_entropy(logits, y_batch)
        if zeroing == "before backward":
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if zeroing == "after step":
            optimizer.zero_grad()
    return parameters_of(twin), outputs


def reference_epoch(model: nn.Module, loader, lr: float, zeroing: str = "before backward") -> list[torch.Tensor]:
    """The parameters after one SGD epoch on a copy of ``model``, zeroing the gradients as ``zeroing`` says."""
    return replay_epoch(model, loader, lr, zeroing)[0]


def replayed_epochs(model: Probe, loader, lr: float) -> list[tuple[list[torch.Tensor], list[torch.Tensor]]]:
    """Each way of running an epoch that the check can replay: (the parameters after it, each batch's logits).

    One step per batch, with the gradients zeroed before each backward(), never, or after each step; or no
    update inside the loop at all (no step, gradients zeroed before the step, or one step after the loop, with
    the last batch's gradients or all of them), where every batch meets the parameters the epoch started with.
    """
    replays = [replay_epoch(model, loader, lr, zeroing) for zeroing in ("before backward", "never", "after step")]
    start = parameters_of(model)
    twin = copy.deepcopy(model)
    outputs, gradients = [], []
    for X_batch, y_batch in loader:
        logits = twin.layers(X_batch)
        outputs.append(logits.detach().clone())
        gradients.append(torch.autograd.grad(F.cross_entropy(logits, y_batch), list(twin.parameters())))
    old = [torch.zeros_like(p) if p.grad is None else p.grad for p in model.parameters()]
    total = [sum(step[i] for step in gradients) + old[i] for i in range(len(start))]
    for update in ([torch.zeros_like(p) for p in start], gradients[-1], total):
        replays.append(([p - lr * g for p, g in zip(start, update)], outputs))
    return replays


def recorded_logits(model: Probe) -> list[torch.Tensor]:
    """The logits of each forward pass as the probe's record brings them back (only to count and name mistakes)."""
    seen = getattr(model, "seen", None)
    assert (type(seen) is list and all(type(entry) is tuple and len(entry) == 3 and type(entry[2]) is torch.Tensor
                                         for entry in seen)), (
        "train_epoch replaced the probe model's record of its forward passes (model.seen) with "
        "something else: leave the model's attributes alone")
    return [logits for _, _, logits in seen]


def mean_loss_values(outputs: list[torch.Tensor], batches) -> dict[str, float]:
    """The mean loss per sample of batches whose logits were ``outputs`` (under ``"right"``), then what each usual
    mistake returns instead, under its description."""
    losses = [F.cross_entropy(logits, y_batch).item() for logits, (_, y_batch) in zip(outputs, batches)]
    sizes = [len(y_batch) for _, y_batch in batches]
    return {
        "right": sum(loss * size for loss, size in zip(losses, sizes)) / sum(sizes),
        "the mean of the batch means, which counts the last batch of "
        f"{sizes[-1]} as much as a full one of {sizes[0]}": sum(losses) / len(losses),
        "the sum of the batch losses, not their mean": sum(losses),
        "the last batch's loss only: add up the whole epoch": losses[-1],
        "a loss of softmax probabilities: CrossEntropyLoss takes the logits as they are": sum(
            F.cross_entropy(logits.softmax(dim=1), y_batch).item() * len(y_batch)
            for logits, (_, y_batch) in zip(outputs, batches)) / sum(sizes),
    }


def mean_loss_mistake(value: float, outputs: list[torch.Tensor], batches) -> str | None:
    """What is wrong with ``value`` as the mean loss per sample of batches whose logits were ``outputs`` (None: right)."""
    wrong = mean_loss_values(outputs, batches)
    expected = wrong.pop("right")
    if abs(value - expected) <= 1e-4 * max(1.0, abs(expected)):
        return None
    sizes = [len(y_batch) for _, y_batch in batches]
    for meaning, wrong_value in wrong.items():
        if abs(value - wrong_value) <= 1e-4 * max(1.0, abs(wrong_value)):
            return f"train_epoch returned {fmt(value)}, {meaning}; expected the mean per sample, {fmt(expected)}"
    try:
        expect_close(value, expected, "the returned mean loss", tolerance=1e-4,
                     advice=f"weight each batch's loss by its size (batches of {fmt_list(sizes)})")
    except AssertionError as exc:
        return str(exc)
    return None


def expect_mean_loss_with_lr_zero(learner, seed: int, batches) -> None:
    """Fail unless ``train_epoch`` returns the mean loss per sample of an epoch with lr=0 on ``epoch_problem(seed)``.

    With lr=0 no update can change the logits the batches meet: they are worked out here, before the epoch.
    ``batches`` are the loader's, read before (reading a loader draws from torch's global generator).
    """
    model, loader, _, _ = epoch_problem(seed)
    start = parameters_of(model)
    with torch.no_grad():
        outputs = [model.layers(X_batch) for X_batch, _ in batches]
    result = learner.train_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0))
    value = expect_float(result, "train_epoch")
    assert not (largest_difference(start, parameters_of(model)) > 0), (
        "with lr=0 train_epoch still changed the parameters, so the logits each batch met cannot "
        "be worked out and the loss returned cannot be checked: update the model only through optimizer.step()")
    mistake = mean_loss_mistake(value, outputs, batches)
    assert not mistake, f"{mistake} (in an epoch with lr=0)"


def expect_step_per_batch(end: list, expected: list, leaked: list, late: list) -> None:
    """Fail unless the parameters ``end`` are where one SGD step per batch leads (``expected``).

    ``leaked`` and ``late`` are where the usual mistakes lead (the gradients zeroed never, or only after each
    step), from the gradients left in ``.grad`` before the epoch: the message names them.
    """
    difference = largest_difference(end, expected)
    if difference < 1e-5:
        return
    cause = matching_outcome(end, {
        "the gradients were not zeroed before each backward(): they piled up from batch to batch (and old ones "
        "already in .grad leaked into the first step)": leaked,
        "gradients already in .grad before train_epoch was called leaked into the first step: zero the gradients "
        "before each backward(), not only after each step": late,
    })
    assert not cause, cause
    raise AssertionError(
        f"after the epoch the parameters differ by up to {fmt(difference)} from one SGD step per batch with "
        "that batch's gradients of CrossEntropyLoss(logits, labels)")


def epoch_loss_candidates(outputs: list[torch.Tensor], batches) -> list[float]:
    """The mean loss per sample of an epoch whose batches gave ``outputs``, and what the usual mistakes return."""
    sizes = [len(y_batch) for _, y_batch in batches]
    candidates = []
    for softmax in (False, True):
        losses = [F.cross_entropy(logits.softmax(dim=1) if softmax else logits, y_batch).item()
                  for logits, (_, y_batch) in zip(outputs, batches)]
        candidates += [sum(loss * size for loss, size in zip(losses, sizes)) / sum(sizes), sum(losses) / len(losses),
                       sum(losses), losses[0], losses[-1]]
    return candidates


def state_epoch_problem(seed: int, n: int = 50, batch_size: int = 16):
    """A StateProbe and an unshuffled loader of blobs whose smaller last batch has its own size.

    Returns the probe, the loader, and for each state the losses an epoch in it could return. A draw is kept
    only when the losses of different states lie apart.
    """
    generator = torch.Generator().manual_seed(seed)
    X, y = blobs(generator, n_per_class=n // 3 + 1, n_classes=3)
    X, y = X[:n], y[:n]
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)
    batches = list(loader)
    torch.manual_seed(seed)
    for _ in range(100):
        model = StateProbe(2, 3)
        with torch.no_grad():
            model.grad_head.weight.mul_(3)
            model.grad_head.bias.mul_(3)
            model.eval_head.weight.copy_(-model.train_head.weight)
            model.eval_head.bias.copy_(-model.train_head.bias)
            losses = {state: epoch_loss_candidates([model.output_in(X_batch, *state) for X_batch, _ in batches],
                                                   batches) for state in STATES}
        if all(abs(p - q) > 1e-3 * max(1.0, abs(p)) for a in STATES for b in STATES if a != b
               for p in losses[a] for q in losses[b]):
            model.seen.clear()
            return model, loader, losses
    raise RuntimeError("could not make a problem whose states differ")  # never happens for any seed tried


def train_head_gradients(model: StateProbe, loader) -> list[list[torch.Tensor]]:
    """What ``.grad`` of ``train_head`` may hold after an epoch of training-mode passes that changed nothing (lr=0).

    Each batch's gradient (zeroed before each backward()), and their running sums (never zeroed).
    """
    twin = copy.deepcopy(model)
    each = []
    for X_batch, y_batch in loader:
        loss = F.cross_entropy(twin.output_in(X_batch, True, True), y_batch)
        each.append([g.detach() for g in torch.autograd.grad(loss, list(twin.train_head.parameters()))])
    sums = [[sum(step[i] for step in each[:k + 1]) for i in range(len(each[0]))] for k in range(len(each))]
    return each + sums


def learning_problem(seed: int, n_classes: int, device):
    """A fresh probe model on ``device``, a shuffled loader of 20 blobs a class, and 20 new points a class."""
    generator = torch.Generator().manual_seed(seed)
    X, y = blobs(generator, n_per_class=40, n_classes=n_classes)
    n_train = 20 * n_classes
    torch.manual_seed(seed)
    model = Probe(2, n_classes, hidden=16).to(device)
    loader = DataLoader(TensorDataset(X[:n_train], y[:n_train]), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    return model, loader, X[n_train:], y[n_train:]


def accuracy_of(model: Probe, X, y) -> float:
    """The fraction of the rows of ``X`` the probe model classifies as ``y``, in evaluation mode."""
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        predictions = model.layers(X.to(device)).argmax(dim=1).cpu()
    return (predictions == y).double().mean().item()


def expect_class_counts(y, n_classes, n_per_class):
    """make_blobs's labels: every class 0 to n_classes - 1, with n_per_class rows each."""
    labels = sorted(set(y.tolist()))
    assert labels == list(range(n_classes)), (
        f"with n_classes={n_classes} the labels in y were {fmt_list(labels, limit=10)}, "
        f"expected every one of 0 to {n_classes - 1}")
    counts = torch.bincount(y.long(), minlength=n_classes).tolist()
    wrong = [(label, count) for label, count in enumerate(counts) if count != n_per_class]
    assert not wrong, (
        f"class {wrong[0][0]} has {wrong[0][1]} rows, expected n_per_class={n_per_class} "
        f"(rows per class: {fmt_list(counts, limit=10)})")


def expect_separated(X, y, n_classes, n_features, seed):
    """At least 95 % of the points lie closer to their own class's mean than to any other's."""
    y = y.long()
    assert sorted(set(y.tolist())) == list(range(n_classes)), (
        f"the labels are not 0 to {n_classes - 1}, so the classes cannot be told apart")
    means = torch.stack([X[y == label].double().mean(dim=0) for label in range(n_classes)])
    nearest = torch.cdist(X.double(), means).argmin(dim=1)
    share = (nearest == y).double().mean().item()
    assert share >= 0.95, (
        f"with {n_classes} classes and {n_features} features only {fmt(100 * share)} % of the points lie "
        f"closer to their own class's mean than to another class's (seed={seed}); "
        "well-separated classes need at least 95 %")


def expect_dataset_order(order, n, described):
    """An unshuffled loader's samples: each of the n once, in the dataset's order."""
    assert sorted(order) == list(range(n)), \
        f"{described} gave {len(order)} samples of {n}, expected each sample once"
    first_wrong = next(position for position, (got, want) in enumerate(zip(order, range(n))) if got != want) \
        if order != list(range(n)) else None
    assert first_wrong is None, (
        f"{described} gave the samples in the order {fmt_list(order)}, expected the dataset's order "
        f"{fmt_list(range(n))} (sample {first_wrong} came at position {order.index(first_wrong)})")


def expect_nonlinear_hidden(calls):
    """Three Linear layers ran, and neither hidden layer's output went into the next one unchanged."""
    assert len(calls) >= 3, f"the forward pass ran {len(calls)} nn.Linear layers; expected three"
    for number, ((_, _, output), (_, following_input, _)) in enumerate(zip(calls, calls[1:3]), start=1):
        place = "first" if number == 1 else "second"
        assert not (output.shape == following_input.shape and torch.allclose(output, following_input, atol=1e-6)), (
            f"the output of the {place} hidden Linear layer goes into the next Linear layer unchanged: "
            "put a non-linearity such as ReLU after it")
