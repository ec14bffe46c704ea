"""Make the pictures of lesson 07 (classification): python lessons/pictures/07_classification.py OUT_DIR

Writes two PNGs into OUT_DIR:

- 07_blobs.png             the three blobs, one colour per class, training and test points marked apart
- 07_decision_regions.png  the class the model predicts everywhere in the plane, before training and
                           after ten epochs, with the points on top

It makes the lesson's data, model and loop itself instead of importing an
exercise or a solution, so it draws the same pictures whatever state a
learner's files are in. Saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

COLOURS = ["tab:blue", "tab:orange", "tab:green"]


def lesson_data():
    """The lesson's three blobs and its shuffled 80/20 split, made exactly as the lesson makes them."""
    generator = torch.Generator().manual_seed(7)
    centres = torch.tensor([[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]])
    y = torch.arange(3).repeat_interleave(100)
    X = centres[y] + 1.2 * torch.randn(len(y), 2, generator=generator)
    order = torch.randperm(len(X), generator=generator)
    n_train = int(0.8 * len(X))
    train = X[order[:n_train]], y[order[:n_train]]
    test = X[order[n_train:]], y[order[n_train:]]
    return centres, train, test


def lesson_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def train(model: nn.Module, train_data, epochs: int = 10) -> None:
    """The lesson's loop: Adam, lr=0.01, batches of 32 shuffled with a generator seeded 0."""
    loader = DataLoader(TensorDataset(*train_data), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        model.train()
        for X_batch, y_batch in loader:
            loss = loss_fn(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def scatter(axes, train_data, test_data) -> None:
    """Training points as filled dots, test points as crosses, one colour per class."""
    for label, colour in enumerate(COLOURS):
        X_train, y_train = train_data
        X_test, y_test = test_data
        axes.scatter(*X_train[y_train == label].T, s=14, color=colour, edgecolor="white", linewidth=0.4,
                     label=f"class {label} (train)")
        axes.scatter(*X_test[y_test == label].T, s=30, color=colour, marker="x", linewidth=1.3,
                     label=f"class {label} (test)")


def blobs_picture(centres, train_data, test_data, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    scatter(axes, train_data, test_data)
    axes.scatter(*centres.T, s=120, color="black", marker="*", label="class centres")
    axes.set_xlabel("feature 0")
    axes.set_ylabel("feature 1")
    axes.set_title("Three blobs: 240 training points, 60 test points")
    axes.set_aspect("equal")
    axes.legend(fontsize=8, loc="upper right", ncol=2)
    save(figure, path)


def regions(axes, model: nn.Module, train_data, test_data, title: str) -> None:
    """Colour every point of a grid by the class the model predicts there, then draw the data on top."""
    X_all = torch.cat([train_data[0], test_data[0]])
    low, high = X_all.min(dim=0).values - 1, X_all.max(dim=0).values + 1
    xs = torch.linspace(float(low[0]), float(high[0]), 300)
    ys = torch.linspace(float(low[1]), float(high[1]), 300)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
    model.eval()
    with torch.inference_mode():
        predicted = model(torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)).argmax(dim=1)
        test_predictions = model(test_data[0]).argmax(dim=1)
    axes.contourf(grid_x, grid_y, predicted.reshape(grid_x.shape), levels=[-0.5, 0.5, 1.5, 2.5],
                  cmap=ListedColormap(COLOURS), alpha=0.25)
    scatter(axes, train_data, test_data)
    accuracy = (test_predictions == test_data[1]).float().mean().item()
    axes.set_title(f"{title}: test accuracy {accuracy:.2f}")
    axes.set_xlabel("feature 0")
    axes.set_ylabel("feature 1")
    axes.set_aspect("equal")


def decision_regions_picture(train_data, test_data, path: Path) -> None:
    figure, (before, after) = plt.subplots(1, 2, figsize=(11, 5.2))
    model = lesson_model()
    regions(before, model, train_data, test_data, "Before training")
    train(model, train_data)
    regions(after, model, train_data, test_data, "After 10 epochs")
    after.legend(fontsize=7, loc="upper right", ncol=2)
    figure.suptitle("The class the model predicts at every point of the plane")
    save(figure, path)


if __name__ == "__main__":
    centres, train_data, test_data = lesson_data()  # both pictures show the same points
    sys.exit(run(sys.argv, {
        "07_blobs.png": lambda path: blobs_picture(centres, train_data, test_data, path),
        "07_decision_regions.png": lambda path: decision_regions_picture(train_data, test_data, path),
    }))
