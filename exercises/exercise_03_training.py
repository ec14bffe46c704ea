"""Exercise 03: training. Step 3 of the workflow: the loop that makes a model learn.

Lesson: lessons/03_training.md. Grade it with: python -m grader exercise_03

You write the five steps that every PyTorch training loop repeats:

    1. forward pass      predictions = model(X)
    2. loss              loss = loss_fn(predictions, y)
    3. zero gradients    optimizer.zero_grad()
    4. backward pass     loss.backward()
    5. optimizer step    optimizer.step()

then the evaluation step, a ``fit`` loop that records a history, and a plot of
that history. The file imports only torch and matplotlib, so it can be graded on
its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn


def train_step(model: nn.Module, X: Tensor, y: Tensor, loss_fn, optimizer) -> float:
    """Take one optimisation step on the batch ``(X, y)`` and return its loss.

    Put the model in training mode, run the forward pass, compute the loss,
    zero the gradients, backpropagate and take exactly one optimizer step.
    The update must use this batch's gradients only. Return the loss of this
    batch, computed before the update, as a Python ``float``.
    """
    # TODO: put the model in training mode, then the five steps: forward pass,
    #       loss, zero the gradients, backward(), optimizer.step().
    # TODO: return the loss as a Python float (a tensor has a method for that).
    raise NotImplementedError("train_step")


def test_step(model: nn.Module, X: Tensor, y: Tensor, loss_fn) -> float:
    """Evaluate the model on ``(X, y)`` and return the loss as a Python ``float``.

    Use evaluation mode and no gradient tracking; change no parameter and
    create no ``.grad``.
    """
    # TODO: put the model in evaluation mode.
    # TODO: inside a block that turns gradient tracking off, run the forward
    #       pass and compute the loss; return it as a Python float.
    raise NotImplementedError("test_step")


def fit(model: nn.Module, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
        loss_fn, optimizer, epochs: int, eval_every: int = 1) -> dict[str, list]:
    """Train for ``epochs`` full-batch steps and return the history.

    After every ``eval_every``-th epoch (epochs counted from 1) record the epoch
    number, that epoch's training loss and the test loss. Return
    ``{"epoch": [...], "train_loss": [...], "test_loss": [...]}``.
    Raise ``ValueError`` when ``epochs < 1`` or ``eval_every < 1``.
    """
    # TODO: raise ValueError for epochs < 1 or eval_every < 1.
    # TODO: loop over the epochs, counting from 1: call train_step on the training
    #       data every epoch; every eval_every-th epoch, call test_step on the test
    #       data and append the epoch, the training loss and the test loss.
    raise NotImplementedError("fit")


def plot_loss_curves(history: dict[str, list]) -> Figure:
    """Plot the training and test loss against the epoch; return the Figure.

    One Axes, two lines labelled ``"Train loss"`` and ``"Test loss"``, axis
    labels and a legend. Do not call ``plt.show()``: the caller decides.
    """
    # TODO: make a Figure with one Axes, plot both losses against history["epoch"]
    #       with the labels above, label the axes, add a legend, return the Figure.
    raise NotImplementedError("plot_loss_curves")


if __name__ == "__main__":
    # Once your functions work, run this file to see your model learn y = 0.7x + 0.3.
    class LinearRegressionModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(1))
            self.bias = nn.Parameter(torch.randn(1))

        def forward(self, x: Tensor) -> Tensor:
            return self.weights * x + self.bias

    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    n_train = int(0.8 * len(X))
    torch.manual_seed(42)
    model = LinearRegressionModel()
    history = fit(model, (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:]),
                  nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01), epochs=200, eval_every=10)
    print(f"weights={model.weights.item():.4f} bias={model.bias.item():.4f}")
    plot_loss_curves(history)
    plt.show()
