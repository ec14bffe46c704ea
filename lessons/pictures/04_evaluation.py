"""Make the pictures of lessons/04_evaluation.md.

Usage: python lessons/pictures/04_evaluation.py OUT_DIR

Writes:
  04_predictions.png     test data and the predictions of a model before and after training
  04_train_vs_eval.png   a model with dropout and batch norm, asked in training mode and in evaluation mode

The course's model, data, saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import LinearRegressionModel, line_splits, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from torch import nn


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.inference_mode():
        return model(X.to(next(model.parameters()).device)).cpu()


def predictions_picture(path: Path) -> None:
    X_train, y_train, X_test, y_test = line_splits()
    torch.manual_seed(42)
    model = LinearRegressionModel()
    before = predict(model, X_test)
    loss_fn, optimizer = nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(200):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = predict(model, X_test)

    figure, axes = plt.subplots(figsize=(8, 5))
    axes.scatter(X_train, y_train, s=12, c="tab:blue", label="Training data")
    axes.scatter(X_test, y_test, s=12, c="tab:green", label="Testing data")
    axes.scatter(X_test, before, s=18, c="tab:gray", marker="x", label="Predictions before training")
    axes.scatter(X_test, after, s=18, c="tab:red", label="Predictions after 200 epochs")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.set_title("Predictions on the test data (y = 0.7x + 0.3)")
    axes.legend()
    save(figure, path, dpi=100)


def train_vs_eval_picture(path: Path) -> None:
    torch.manual_seed(0)
    X = torch.rand(200, 1)
    y = 0.7 * X + 0.3 + 0.02 * torch.randn(200, 1)
    model = nn.Sequential(nn.Linear(1, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(300):
        model.train()
        loss = nn.functional.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    grid = torch.linspace(0, 1, 50).unsqueeze(1)
    figure, axes = plt.subplots(figsize=(8, 5))
    axes.scatter(X, y, s=6, c="lightgray", label="Training data")
    model.train()
    with torch.no_grad():
        for i in range(5):
            axes.plot(grid, model(grid), c="tab:orange", alpha=0.6, lw=1,
                      label="model.train(): five calls, five answers" if i == 0 else None)
    axes.plot(grid, predict(model, grid), c="tab:blue", lw=2.5, label="model.eval(): one answer")
    axes.set_xlabel("x")
    axes.set_ylabel("prediction")
    axes.set_title("The same model and inputs, in training mode and in evaluation mode")
    axes.legend()
    save(figure, path, dpi=100)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {
        "04_predictions.png": predictions_picture,
        "04_train_vs_eval.png": train_vs_eval_picture,
    }))
