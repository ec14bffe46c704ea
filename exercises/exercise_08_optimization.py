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

import copy  # noqa: F401  (for keeping the best weights)
import os
from pathlib import Path  # noqa: F401  (for the checkpoint's folder)

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
    # TODO: switch autograd off for the whole update (with torch.no_grad(): ...), so that no
    #       graph is built and the parameters can be changed in place.
    # TODO: for each parameter and its velocity: skip it when its .grad is None; otherwise
    #       g = its gradient + weight_decay * the parameter.
    # TODO: update the velocity IN PLACE to momentum * v + g (for example v.mul_(...).add_(...)):
    #       `v = momentum * v + g` would only rebind the name v to a new tensor.
    # TODO: move the parameter in place by -lr * v.
    raise NotImplementedError("sgd_momentum_step")


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
    # TODO: go through model.parameters() once, in order, skipping frozen ones (requires_grad False).
    # TODO: put each parameter with two or more dimensions (p.ndim >= 2) in one list, the others
    #       (biases, norm weights) in another.
    # TODO: return the two groups as a list of two dicts, each with "params" and "weight_decay"
    #       (weight_decay for the first, 0.0 for the second).
    raise NotImplementedError("decay_parameter_groups")


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
    # TODO: raise ValueError for epochs < 1, or for a patience that is given and below 1.
    # TODO: for each epoch from 1: note the learning rate (optimizer.param_groups[0]["lr"]), then
    #       train on every batch of train_loader (model.train(), batches moved to the model's device,
    #       the five steps of exercise 03), adding up loss.item() * batch size.
    # TODO: then the validation loss over val_loader: model.eval(), inside torch.no_grad() (or
    #       torch.inference_mode()), summed the same way; divide each sum by its number of samples.
    # TODO: record epoch, train_loss, val_loss and lr in the history.
    # TODO: epoch 1, or a validation loss strictly lower than the best so far, is a new best: keep a
    #       COPY of model.state_dict() (copy.deepcopy), reset the count of epochs without
    #       improvement, and, with a checkpoint_path, save the checkpoint dict there (parent folders
    #       created). Otherwise count one more epoch without improvement.
    # TODO: step the scheduler, if any, once per epoch: scheduler.step(val_loss) for
    #       ReduceLROnPlateau, scheduler.step() for the others.
    # TODO: with patience given, stop once that many epochs in a row brought no improvement.
    # TODO: load the best weights back into the model, and return the history.
    raise NotImplementedError("fit_with_validation")


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
