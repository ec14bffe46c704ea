"""Make the pictures of lesson 02 (building models): python lessons/pictures/02_models.py OUT_DIR

Writes two PNGs into OUT_DIR:

- 02_predictions_before_training.png  the data and the seeded model's predictions at the test inputs
- 02_untrained_models.png             three untrained models (seed 42): two straight lines and a bent MLP

It defines the small models it needs (the course's LinearRegressionModel and
data come from common.py, shared by all the picture scripts) instead of
importing an exercise or a solution, so it draws the same picture whatever
state a learner's files are in.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import LinearRegressionModel, line_splits, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from torch import nn


class LinearRegressionModelV2(nn.Module):
    """The same line from one nn.Linear(1, 1)."""

    def __init__(self):
        super().__init__()
        self.linear_layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


def predictions_before_training(path: Path) -> None:
    """Training and test data, and what the seeded, untrained model predicts at the test inputs."""
    X_train, y_train, X_test, y_test = line_splits()
    torch.manual_seed(42)
    model = LinearRegressionModel()
    with torch.inference_mode():
        predictions = model(X_test)
    weight, bias = model.weights.item(), model.bias.item()

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X_train.squeeze(1), y_train.squeeze(1), s=12, color="tab:blue", label="Training data")
    axes.scatter(X_test.squeeze(1), y_test.squeeze(1), s=12, color="tab:green", label="Testing data")
    axes.scatter(X_test.squeeze(1), predictions.squeeze(1), s=12, color="tab:red", label="Predictions")
    x = torch.tensor([0.0, 1.0])
    axes.plot(x, weight * x + bias, color="tab:red", linewidth=1, linestyle=":",
              label=f"Model's line: {weight:.4f}x + {bias:.4f}")
    # One arrow from a prediction up to its target shows the size of the error.
    i = len(X_test) // 2
    axes.annotate("", xy=(X_test[i, 0].item(), y_test[i, 0].item()), xytext=(X_test[i, 0].item(), predictions[i, 0].item()),
                  arrowprops={"arrowstyle": "<->", "color": "grey"})
    gap = y_test[i, 0].item() - predictions[i, 0].item()
    axes.text(X_test[i, 0].item() - 0.015, (y_test[i, 0].item() + predictions[i, 0].item()) / 2, f"off by {gap:.2f}",
              ha="right", va="center", fontsize=8, color="grey")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.set_title("Before training: seed 42 gives y = 0.3367x + 0.1288, the data is y = 0.7x + 0.3")
    axes.title.set_fontsize(10)
    axes.legend(fontsize=8, loc="upper left")
    save(figure, path)


def untrained_models(path: Path) -> None:
    """Three models, each made right after torch.manual_seed(42), drawn over a wider range of x."""
    X_train, y_train, X_test, y_test = line_splits()
    x = torch.linspace(-2, 2, 401).unsqueeze(1)
    torch.manual_seed(42)
    v1 = LinearRegressionModel()
    torch.manual_seed(42)
    v2 = LinearRegressionModelV2()
    torch.manual_seed(42)
    mlp = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(torch.cat([X_train, X_test]).squeeze(1), torch.cat([y_train, y_test]).squeeze(1), s=8,
                 color="tab:blue", label="Data: y = 0.7x + 0.3")
    with torch.inference_mode():
        for model, color, name in ((v1, "tab:red", "LinearRegressionModel (2 parameters)"),
                                   (v2, "tab:orange", "LinearRegressionModelV2 (2 parameters)"),
                                   (mlp, "tab:purple", "build_mlp(1, 8, 1) (25 parameters)")):
            axes.plot(x.squeeze(1), model(x).squeeze(1), color=color, linewidth=1.8, label=name)
    axes.axvspan(0, 1, color="grey", alpha=0.08)
    axes.set_xlabel("x")
    axes.set_ylabel("prediction")
    axes.set_title("Three untrained models, each made after torch.manual_seed(42)")
    axes.title.set_fontsize(10)
    axes.legend(fontsize=8, loc="upper left")
    save(figure, path)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {
        "02_predictions_before_training.png": predictions_before_training,
        "02_untrained_models.png": untrained_models,
    }))
