"""Exercise 08: training well. Optimizers, learning-rate schedules, validation and early stopping.

Lesson: lessons/08_optimization.md. Grade it with: python -m grader exercise_08

Exercises 03 and 07 trained for a fixed number of epochs and kept whatever
weights came out at the end. Here training is done with care:

    sgd_momentum_step       one step of SGD with momentum, written by hand
    decay_parameter_groups  the two parameter groups AdamW is usually given:
                            weights decayed, biases and norm weights not
    fit_with_validation     train on batches, measure on the validation set
                            every epoch, step a schedule, stop early and keep
                            the best weights (and a checkpoint of them)

The file imports only torch and the standard library, so it can be graded on its own.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import torch
from torch import Tensor, nn


def sgd_momentum_step(params: list[Tensor], velocities: list[Tensor], lr: float,
                      momentum: float = 0.9, weight_decay: float = 0.0) -> None:
    """One step of SGD with momentum, in place, exactly as ``torch.optim.SGD`` takes it.

    For each parameter ``p`` whose ``.grad`` is not ``None``, with ``v`` its velocity::

        g = p.grad + weight_decay * p
        v = momentum * v + g
        p = p - lr * v

    ``velocities[i]`` starts as zeros shaped like ``params[i]`` and is updated in
    place: it stays the same tensor object. Parameters without a gradient, and
    their velocities, are left alone. Nothing here is recorded by autograd: the
    parameters stay leaf tensors and the velocities hold no history.
    """
    # The update is bookkeeping, not part of the model's computation: autograd must not record it
    # (and refuses in-place changes to a leaf that requires grad unless it is switched off).
    with torch.no_grad():
        for parameter, velocity in zip(params, velocities):
            if parameter.grad is None:  # not used in this backward pass: torch.optim.SGD skips it too
                continue
            gradient = parameter.grad + weight_decay * parameter  # L2 weight decay joins the gradient
            # In place, so the caller's list keeps holding this velocity for the next step.
            velocity.mul_(momentum).add_(gradient)
            parameter.sub_(lr * velocity)


def decay_parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split the model's trainable parameters into the two groups AdamW is usually given.

    Returns ``[{"params": [...], "weight_decay": weight_decay},
    {"params": [...], "weight_decay": 0.0}]``. The first group holds every
    trainable parameter with two or more dimensions (the weights of linear,
    convolution and embedding layers); the second every trainable parameter with
    fewer (biases, and the weights of batch norm and layer norm), which weight
    decay should not pull towards zero. Frozen parameters (``requires_grad=False``)
    are in neither group, and each group keeps the order of ``model.parameters()``.
    ``torch.optim.AdamW(decay_parameter_groups(model, 0.01), lr=1e-3)`` works.
    """
    decayed, not_decayed = [], []
    for parameter in model.parameters():  # one pass keeps model.parameters() order in both groups
        if not parameter.requires_grad:
            continue  # frozen: no optimizer should touch it
        # Matrices and kernels scale the inputs and can grow without limit; vectors (biases, norm
        # scales and shifts) only shift or rescale, and shrinking them towards 0 only hurts.
        (decayed if parameter.ndim >= 2 else not_decayed).append(parameter)
    return [{"params": decayed, "weight_decay": weight_decay},
            {"params": not_decayed, "weight_decay": 0.0}]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _train_one_epoch(model: nn.Module, loader, loss_fn, optimizer) -> float:
    """One optimizer step per batch; the mean loss per sample, each loss taken before its update."""
    device = _device_of(model)
    model.train()
    total, count = 0.0, 0
    for X_batch, y_batch in loader:
        X_batch, y_batch = X_batch.to(device), y_batch.to(device)
        loss = loss_fn(model(X_batch), y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # loss_fn averages over the batch: weigh it by the batch's size, so a small last batch counts less.
        total += loss.item() * len(y_batch)
        count += len(y_batch)
    return total / count


def _validation_loss(model: nn.Module, loader, loss_fn) -> float:
    """The mean loss per sample over ``loader``, in evaluation mode and without gradient tracking."""
    device = _device_of(model)
    model.eval()  # dropout off, batch norm uses its running statistics
    total, count = 0.0, 0
    with torch.inference_mode():  # measuring only: no graph, and no parameter can change
        for X_batch, y_batch in loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            total += loss_fn(model(X_batch), y_batch).item() * len(y_batch)
            count += len(y_batch)
    return total / count


def _save_best(path: str | os.PathLike, model: nn.Module, optimizer, epoch: int, val_loss: float) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "val_loss": val_loss}, path)


def fit_with_validation(model: nn.Module, train_loader, val_loader, loss_fn, optimizer,
                        epochs: int, *, scheduler=None, patience: int | None = None,
                        checkpoint_path: str | os.PathLike | None = None) -> dict[str, list]:
    """Train ``model`` for up to ``epochs`` epochs, choosing its weights with the validation set.

    Each epoch: read the learning rate, train on every batch of ``train_loader``
    (training mode, one optimizer step per batch), then measure the validation
    loss over ``val_loader`` (evaluation mode, no gradient tracking), then step
    the scheduler once, if there is one: ``scheduler.step(val_loss)`` for
    ``ReduceLROnPlateau``, ``scheduler.step()`` for any other. Batches are moved
    to the device of the model's parameters. Both losses are means per sample
    (``loss_fn`` averages over a batch, so each batch counts by its size).

    The first epoch is the first best; a later epoch is a new best only when its
    validation loss is strictly lower than the best so far. On each new best,
    with ``checkpoint_path`` given, the file there (parent folders created) gets
    ``{"epoch", "model_state_dict", "optimizer_state_dict", "val_loss"}``.
    With ``patience`` given, training stops after ``patience`` epochs in a row
    without a new best. When it returns, the model holds the best epoch's weights.

    Returns ``{"epoch": [1, 2, ...], "train_loss": [...], "val_loss": [...],
    "lr": [...]}``, one entry per epoch run, as Python numbers; ``lr`` is the
    learning rate of the optimizer's first group during that epoch.
    Raises ``ValueError`` when ``epochs < 1`` or ``patience`` is given and below 1.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be at least 1 (or None for no early stopping), got {patience}")
    history = {"epoch": [], "train_loss": [], "val_loss": [], "lr": []}
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0
    for epoch in range(1, epochs + 1):
        history["lr"].append(float(optimizer.param_groups[0]["lr"]))  # the rate this epoch trains with
        history["train_loss"].append(_train_one_epoch(model, train_loader, loss_fn, optimizer))
        val_loss = _validation_loss(model, val_loader, loss_fn)
        history["val_loss"].append(val_loss)
        history["epoch"].append(epoch)
        # Strictly lower: an equal loss is no progress, and on a tie the earlier, shorter-trained weights stay.
        if epoch == 1 or val_loss < best_loss:
            best_loss, epochs_without_improvement = val_loss, 0
            # state_dict() hands out the live tensors, which the next step changes: keep a copy.
            best_state = copy.deepcopy(model.state_dict())
            if checkpoint_path is not None:
                _save_best(checkpoint_path, model, optimizer, epoch, val_loss)
        else:
            epochs_without_improvement += 1
        if scheduler is not None:  # once per epoch, after this epoch's optimizer steps
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss)  # it decides from the metric it is given
            else:
                scheduler.step()
        if patience is not None and epochs_without_improvement >= patience:
            break
    model.load_state_dict(best_state)
    return history


if __name__ == "__main__":
    # Once your functions work, run this file: a wide network over-fits a few noisy points,
    # and early stopping keeps the weights from before it did.
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator().manual_seed(0)
    X = torch.rand(100, 1, generator=generator) * 2 - 1
    y = torch.sin(3 * X) + 0.3 * torch.randn(100, 1, generator=generator)
    train = DataLoader(TensorDataset(X[:70], y[:70]), batch_size=16, shuffle=True, generator=generator)
    val = DataLoader(TensorDataset(X[70:85], y[70:85]), batch_size=16)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
    optimizer = torch.optim.AdamW(decay_parameter_groups(model, 1e-4), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)
    history = fit_with_validation(model, train, val, nn.MSELoss(), optimizer, 300,
                                  scheduler=scheduler, patience=30, checkpoint_path="checkpoints/best.pt")
    best = min(range(len(history["epoch"])), key=lambda i: history["val_loss"][i])
    print(f"ran {len(history['epoch'])} epochs; best epoch {history['epoch'][best]} "
          f"with validation loss {history['val_loss'][best]:.4f}")
