"""Make the pictures of lesson 03 (training): python lessons/pictures/03_training.py OUT_DIR

Writes two PNGs into OUT_DIR:

- 03_loss_curves.png      train and test loss against the epoch (200 epochs, recorded every 10th)
- 03_fit_before_after.png the data, the true line and the model's line at epochs 0, 100 and 200

It runs the lesson's training loop itself instead of importing an exercise or
a solution, so it draws the same picture whatever state a learner's files are
in. The course's model, data, saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import LinearRegressionModel, line_splits, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from torch import nn


def train_and_record(epochs: int = 200, eval_every: int = 10, snapshots: tuple[int, ...] = (0, 100, 200)):
    """Run the lesson's loop; return the data, the history and the parameters at the snapshot epochs."""
    X_train, y_train, X_test, y_test = line_splits()

    torch.manual_seed(42)
    model = LinearRegressionModel()
    loss_fn = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    history = {"epoch": [], "train_loss": [], "test_loss": []}
    params = {}
    if 0 in snapshots:
        params[0] = (model.weights.item(), model.bias.item())
    for epoch in range(1, epochs + 1):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % eval_every == 0:
            model.eval()
            with torch.inference_mode():
                test_loss = loss_fn(model(X_test), y_test)
            history["epoch"].append(epoch)
            history["train_loss"].append(loss.item())
            history["test_loss"].append(test_loss.item())
        if epoch in snapshots:
            params[epoch] = (model.weights.item(), model.bias.item())
    data = (X_train, y_train, X_test, y_test)
    return data, history, params


def loss_curves(history: dict, params: dict, path: Path) -> None:
    """Train and test loss against the epoch, with the two reference epochs marked."""
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(history["epoch"], history["train_loss"], marker="o", markersize=3, label="Train loss")
    axes.plot(history["epoch"], history["test_loss"], marker="o", markersize=3, label="Test loss")
    for epoch in (100, 200):
        weight, bias = params[epoch]
        index = history["epoch"].index(epoch)
        top = max(history["train_loss"][index], history["test_loss"][index])
        axes.axvline(epoch, color="grey", linewidth=0.8, linestyle=":")
        axes.annotate(f"epoch {epoch}\nweights={weight:.4f}\nbias={bias:.4f}", xy=(epoch, top),
                      xytext=(epoch - 8, top + 0.09), ha="right" if epoch == 200 else "center", fontsize=8,
                      arrowprops={"arrowstyle": "->", "color": "grey"})
    axes.set_xlabel("Epoch")
    axes.set_ylabel("L1 loss (mean absolute error)")
    axes.set_title("Learning y = 0.7x + 0.3: SGD, lr=0.01, seed 42")
    axes.set_ylim(bottom=0)
    axes.legend()
    save(figure, path)


def fit_before_after(data: tuple, params: dict, path: Path) -> None:
    """The data, the true line and the model's line before training, after 100 and after 200 epochs."""
    X_train, y_train, X_test, y_test = data
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X_train.squeeze(1), y_train.squeeze(1), s=12, color="tab:blue", label="Training data")
    axes.scatter(X_test.squeeze(1), y_test.squeeze(1), s=12, color="tab:green", label="Testing data")
    x = torch.tensor([0.0, 1.0])
    axes.plot(x, 0.7 * x + 0.3, color="black", linewidth=1, linestyle="--", label="True line: 0.7x + 0.3")
    styles = {0: "tab:red", 100: "tab:orange", 200: "tab:purple"}
    for epoch, color in styles.items():
        weight, bias = params[epoch]
        name = "before training" if epoch == 0 else f"after {epoch} epochs"
        axes.plot(x, weight * x + bias, color=color, linewidth=1.8,
                  label=f"Model {name}: {weight:.4f}x + {bias:.4f}")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.set_title("The model's line moves onto the data")
    axes.legend(fontsize=8, loc="upper left")
    save(figure, path)


if __name__ == "__main__":
    data, history, params = train_and_record()  # one training run feeds both pictures
    sys.exit(run(sys.argv, {
        "03_loss_curves.png": lambda path: loss_curves(history, params, path),
        "03_fit_before_after.png": lambda path: fit_before_after(data, params, path),
    }))
