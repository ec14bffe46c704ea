"""Make the picture of lesson 05 (saving and loading): python lessons/pictures/05_persistence.py OUT_DIR

Writes one PNG into OUT_DIR:

- 05_resume.png  the training loss per epoch of three Adam runs on y = 0.7x + 0.3:
                 200 epochs in one go, 100 + 100 resumed from a full checkpoint, and
                 100 + 100 resumed with the model's state only (the optimizer's lost)

It runs the lesson's experiment itself instead of importing an exercise or a
solution, so it draws the same picture whatever state a learner's files are
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


def three_runs(epochs: int = 200, stop: int = 100) -> dict[str, list[float]]:
    """The lesson's experiment: each run's training loss per epoch (the resumed runs from epoch ``stop + 1``)."""
    X_train, y_train, _, _ = line_splits()  # the loss here is the training loss only
    loss_fn = nn.L1Loss()

    def train(model, optimizer, count):
        losses = []
        for _ in range(count):
            model.train()
            loss = loss_fn(model(X_train), y_train)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    torch.manual_seed(42)
    straight = LinearRegressionModel()
    straight_losses = train(straight, torch.optim.Adam(straight.parameters(), lr=0.01), epochs)

    torch.manual_seed(42)
    first = LinearRegressionModel()
    first_optimizer = torch.optim.Adam(first.parameters(), lr=0.01)
    train(first, first_optimizer, stop)
    model_state, optimizer_state = first.state_dict(), first_optimizer.state_dict()

    resumed = LinearRegressionModel()
    resumed_optimizer = torch.optim.Adam(resumed.parameters(), lr=0.01)
    resumed.load_state_dict(model_state)
    resumed_optimizer.load_state_dict(optimizer_state)

    forgetful = LinearRegressionModel()
    forgetful.load_state_dict(model_state)
    return {
        "straight": straight_losses,
        "resumed": train(resumed, resumed_optimizer, epochs - stop),
        "forgetful": train(forgetful, torch.optim.Adam(forgetful.parameters(), lr=0.01), epochs - stop),
    }


def resume_picture(runs: dict[str, list[float]], path: Path, stop: int = 100) -> None:
    """Loss per epoch on a log scale, with the checkpoint marked."""
    figure, axes = plt.subplots(figsize=(7, 4))
    epochs = range(1, len(runs["straight"]) + 1)
    later = range(stop + 1, len(runs["straight"]) + 1)
    axes.plot(epochs, runs["straight"], color="tab:blue", linewidth=2.5, label="200 epochs in one go")
    axes.plot(later, runs["resumed"], color="white", linewidth=1, linestyle="--",
              label="Resumed from the checkpoint (model + optimizer): the same line")
    axes.plot(later, runs["forgetful"], color="tab:red", linewidth=1.2,
              label="Resumed with the model only (optimizer state lost)")
    axes.axvline(stop, color="grey", linewidth=0.8, linestyle=":")
    axes.annotate("checkpoint\nat epoch 100", xy=(stop, 0.2), xytext=(stop - 6, 0.2), ha="right", fontsize=8,
                  color="grey")
    axes.set_yscale("log")
    axes.set_ylim(2e-5, 0.6)  # room for the legend below the curves
    axes.set_xlabel("Epoch")
    axes.set_ylabel("Training loss (L1, log scale)")
    axes.set_title("Resuming y = 0.7x + 0.3 training with Adam (lr=0.01, seed 42)")
    legend = axes.legend(fontsize=8, loc="lower left")
    legend.get_lines()[1].set_color("black")  # the dashed line is white on the plot; show it dark in the legend
    save(figure, path)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {
        "05_resume.png": lambda path: resume_picture(three_runs(), path),
    }))
