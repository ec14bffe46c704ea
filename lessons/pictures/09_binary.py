"""Make the pictures of lesson 09 (binary classification): python lessons/pictures/09_binary.py OUT_DIR

Writes three PNGs into OUT_DIR:

- 09_circles.png             the two noisy rings, class 0 outside and class 1 inside, training and test points
- 09_decision_boundaries.png the class each model predicts everywhere in the plane: a linear model next to
                             the model with two hidden layers, both trained as the lesson trains them
- 09_threshold.png           precision, recall and F1 of the trained model on the test set against the threshold

It makes the lesson's data, models and training itself instead of importing an
exercise or a solution, so it draws the same pictures whatever state a
learner's files are in. Saving and the command line come from common.py,
shared by all the picture scripts.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from common import run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from torch import nn

COLOURS = ["tab:blue", "tab:orange"]  # class 0, class 1


def lesson_data():
    """The lesson's 1000 points on two rings and its shuffled 800/200 split, made exactly as the lesson makes them."""
    generator = torch.Generator().manual_seed(0)
    n_samples, noise, factor = 1000, 0.07, 0.8

    def circle(m, radius):
        angles = torch.arange(m) * (2 * math.pi / m)
        return radius * torch.stack([angles.cos(), angles.sin()], dim=1)

    n_outer = n_samples // 2
    X = torch.cat([circle(n_outer, 1.0), circle(n_samples - n_outer, factor)])
    y = torch.cat([torch.zeros(n_outer), torch.ones(n_samples - n_outer)])
    X = X + noise * torch.randn(X.shape, generator=generator)
    order = torch.randperm(n_samples, generator=generator)
    return (X[order[:800]], y[order[:800]]), (X[order[800:]], y[order[800:]])


def lesson_models() -> dict[str, nn.Module]:
    """The lesson's two models, each made right after torch.manual_seed(0) as in the lesson."""
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    torch.manual_seed(0)
    deeper = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
    return {"A linear model": linear, "Two hidden layers with ReLU": deeper}


def train(model: nn.Module, train_data, steps: int = 300, lr: float = 0.03) -> None:
    """The lesson's loop: full batch, BCEWithLogitsLoss, Adam."""
    X_train, y_train = train_data
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def scatter(axes, train_data, test_data) -> None:
    """Training points as small dots, test points as crosses, one colour per class."""
    for label, colour in enumerate(COLOURS):
        for (X, y), kind, style in ((train_data, "train", {"s": 8, "alpha": 0.6}),
                                    (test_data, "test", {"s": 26, "marker": "x", "linewidth": 1.2})):
            axes.scatter(*X[y == label].T, color=colour, label=f"class {label} ({kind})", **style)


def tidy(axes) -> None:
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    axes.set_aspect("equal")


def circles_picture(train_data, test_data, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6, 5.6))
    scatter(axes, train_data, test_data)
    axes.set_title("Two circles: 800 training points, 200 test points")
    tidy(axes)
    axes.legend(fontsize=8, loc="upper right")
    save(figure, path)


def boundary(axes, model: nn.Module, train_data, test_data, title: str) -> None:
    """Colour every point of a grid by the class the model predicts there (logit >= 0), then draw the data on top."""
    xs = torch.linspace(-1.5, 1.5, 300)
    grid_x, grid_y = torch.meshgrid(xs, xs, indexing="xy")
    model.eval()
    with torch.inference_mode():
        predicted = model(torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)) >= 0
        right = ((model(test_data[0]) >= 0).float() == test_data[1]).float().mean().item()
    axes.contourf(grid_x, grid_y, predicted.reshape(grid_x.shape).float(), levels=[-0.5, 0.5, 1.5],
                  cmap=ListedColormap(COLOURS), alpha=0.25)
    scatter(axes, train_data, test_data)
    axes.set_title(f"{title}: test accuracy {right:.3f}")
    tidy(axes)


def boundaries_picture(train_data, test_data, models: dict[str, nn.Module], path: Path) -> None:
    figure, panels = plt.subplots(1, 2, figsize=(11, 5.4))
    for axes, (title, model) in zip(panels, models.items()):
        boundary(axes, model, train_data, test_data, title)
    panels[1].legend(fontsize=7, loc="upper right")
    figure.suptitle("The class each model predicts at every point of the plane, after 300 steps")
    save(figure, path)


def threshold_picture(test_data, model: nn.Module, path: Path) -> None:
    """Precision, recall and F1 of class 1 on the test set, for thresholds from 0.01 to 0.99."""
    X_test, y_test = test_data
    model.eval()
    with torch.inference_mode():
        probabilities = torch.sigmoid(model(X_test))
    actual = y_test == 1
    thresholds = torch.linspace(0.01, 0.99, 99)
    scores = {"precision": [], "recall": [], "F1": []}
    for threshold in thresholds:
        predicted = probabilities >= threshold
        found = (predicted & actual).sum().item()
        precision = found / predicted.sum().item() if predicted.sum() > 0 else 0.0
        recall = found / actual.sum().item()
        scores["precision"].append(precision)
        scores["recall"].append(recall)
        scores["F1"].append(2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0)
    figure, axes = plt.subplots(figsize=(7, 4.6))
    for name, style in (("precision", "-"), ("recall", "-"), ("F1", "--")):
        axes.plot(thresholds, scores[name], style, label=name, linewidth=2)
    axes.axvline(0.5, color="grey", linewidth=1, linestyle=":", label="the usual threshold, 0.5")
    axes.set_xlabel("threshold: predict class 1 when the probability is at least this")
    axes.set_ylabel("score on the test set")
    axes.set_ylim(0.5, 1.02)
    axes.set_title("Moving the threshold trades recall for precision")
    axes.legend(loc="lower center")
    save(figure, path)


if __name__ == "__main__":
    train_data, test_data = lesson_data()  # every picture shows the same points
    models = lesson_models()
    for model in models.values():
        train(model, train_data)
    deeper = models["Two hidden layers with ReLU"]
    sys.exit(run(sys.argv, {
        "09_circles.png": lambda path: circles_picture(train_data, test_data, path),
        "09_decision_boundaries.png": lambda path: boundaries_picture(train_data, test_data, models, path),
        "09_threshold.png": lambda path: threshold_picture(test_data, deeper, path),
    }))
