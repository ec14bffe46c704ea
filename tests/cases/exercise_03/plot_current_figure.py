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
    # Training mode: layers such as dropout and batch norm behave as in training.
    model.train()
    # 1. Forward pass.
    predictions = model(X)
    # 2. The loss of this batch, before any update.
    loss = loss_fn(predictions, y)
    # 3. Gradients add up in .grad: clear what an earlier step (or anything else) left there.
    optimizer.zero_grad()
    # 4. Backpropagation fills .grad with d(loss)/d(parameter).
    loss.backward()
    # 5. One step of gradient descent.
    optimizer.step()
    # .item() turns the one-element tensor into a Python float (and drops its graph).
    return loss.item()


def test_step(model: nn.Module, X: Tensor, y: Tensor, loss_fn) -> float:
    """Evaluate the model on ``(X, y)`` and return the loss as a Python ``float``.

    Use evaluation mode and no gradient tracking; change no parameter and
    create no ``.grad``.
    """
    # Evaluation mode: dropout off, batch norm uses its running statistics.
    model.eval()
    # No graph is built in inference mode: faster, and nothing can leak into .grad.
    with torch.inference_mode():
        predictions = model(X)
        loss = loss_fn(predictions, y)
    return loss.item()


def fit(model: nn.Module, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
        loss_fn, optimizer, epochs: int, eval_every: int = 1) -> dict[str, list]:
    """Train for ``epochs`` full-batch steps and return the history.

    After every ``eval_every``-th epoch (epochs counted from 1) record the epoch
    number, that epoch's training loss and the test loss. Return
    ``{"epoch": [...], "train_loss": [...], "test_loss": [...]}``.
    Raise ``ValueError`` when ``epochs < 1`` or ``eval_every < 1``.
    """
    # Refuse nonsense early, with a message that says what was wrong.
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if eval_every < 1:
        raise ValueError(f"eval_every must be at least 1, got {eval_every}")
    X_train, y_train = train
    X_test, y_test = test
    history: dict[str, list] = {"epoch": [], "train_loss": [], "test_loss": []}
    # Epochs are counted from 1, so epoch 10 is the tenth step.
    for epoch in range(1, epochs + 1):
        train_loss = train_step(model, X_train, y_train, loss_fn, optimizer)
        # Evaluate (and record) only every eval_every-th epoch: testing costs time too.
        if epoch % eval_every == 0:
            history["epoch"].append(epoch)
            history["train_loss"].append(train_loss)
            history["test_loss"].append(test_step(model, X_test, y_test, loss_fn))
    return history


def plot_loss_curves(history: dict[str, list]) -> Figure:
    """Plot the training and test loss against the epoch; return the Figure.

    One Axes, two lines labelled ``"Train loss"`` and ``"Test loss"``, axis
    labels and a legend. Do not call ``plt.show()``: the caller decides.
    """
    plt.plot(history["epoch"], history["train_loss"], label="Train loss")
    plt.plot(history["epoch"], history["test_loss"], label="Test loss")
    plt.xlabel("Epoch")
    plt.ylabel("Loss")
    plt.legend()
    return plt.gcf()


if __name__ == "__main__":
    # A demonstration: learn y = 0.7x + 0.3 and show the loss curves.
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
