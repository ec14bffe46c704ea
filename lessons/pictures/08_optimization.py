"""Make the pictures of lesson 08 (optimization): python lessons/pictures/08_optimization.py OUT_DIR

Writes three PNGs into OUT_DIR:

- 08_optimizer_paths.png  thirty steps of plain SGD, SGD with momentum and Adam on the lesson's valley
- 08_schedules.png        the learning rate per epoch under StepLR, CosineAnnealingLR and ReduceLROnPlateau
- 08_curves.png           training and validation loss of the lesson's 150-epoch run, the best epoch
                          and the epoch early stopping (patience 10) stops after

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
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

START = (-4.0, 1.0)
PATIENCE = 10


def valley(w):
    """The lesson's loss surface: gentle along w[0], twenty times steeper across w[1]."""
    return 0.5 * (w[0] ** 2 + 20 * w[1] ** 2)


def path(make_optimizer, steps: int = 30) -> torch.Tensor:
    """The points an optimizer visits on the valley, the start included: shape [steps + 1, 2]."""
    w = torch.tensor(START, requires_grad=True)
    optimizer = make_optimizer([w])
    points = [w.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        valley(w).backward()
        optimizer.step()
        points.append(w.detach().clone())
    return torch.stack(points)


def optimizer_paths_picture(file: Path) -> None:
    runs = {
        "plain SGD (lr=0.09)": (lambda params: torch.optim.SGD(params, lr=0.09), "tab:red"),
        "SGD with momentum (lr=0.08, momentum=0.6)": (
            lambda params: torch.optim.SGD(params, lr=0.08, momentum=0.6), "tab:blue"),
        "Adam (lr=0.3)": (lambda params: torch.optim.Adam(params, lr=0.3), "tab:green"),
    }
    figure, axes = plt.subplots(figsize=(9, 4.8))
    xs, ys = torch.linspace(-4.6, 1.6, 300), torch.linspace(-1.4, 1.4, 200)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
    axes.contour(grid_x, grid_y, valley((grid_x, grid_y)), levels=[0.05, 0.3, 1, 2, 4, 8, 14, 20],
                 colors="grey", linewidths=0.6)
    for label, (make_optimizer, colour) in runs.items():
        points = path(make_optimizer)
        axes.plot(points[:, 0], points[:, 1], "o-", color=colour, markersize=3, linewidth=1.2, label=label)
    axes.plot(*START, "ks", label="start")
    axes.plot(0, 0, "k*", markersize=12, label="lowest point")
    axes.set_xlabel("w[0]  (gentle direction)")
    axes.set_ylabel("w[1]  (steep direction)")
    axes.set_title("Thirty steps from the same start on loss = 0.5 (w[0]² + 20 w[1]²)")
    axes.legend(fontsize=8, loc="lower right")
    save(figure, file)


def lesson_data():
    """The lesson's 80 rows of 8 features, y = sin(3 x0) + noise, split 70/15/15 after shuffling."""
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(80, 8, generator=generator) * 2 - 1
    y = torch.sin(3 * X[:, :1]) + 0.3 * torch.randn(80, 1, generator=generator)
    order = torch.randperm(len(X), generator=generator)
    n_train, n_val = int(0.7 * len(X)), int(0.15 * len(X))
    train_rows, val_rows = order[:n_train], order[n_train:n_train + n_val]
    train_loader = DataLoader(TensorDataset(X[train_rows], y[train_rows]), batch_size=16, shuffle=True,
                              generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(TensorDataset(X[val_rows], y[val_rows]), batch_size=16)
    return train_loader, val_loader


def mean_loss(model: nn.Module, loader, optimizer=None) -> float:
    """The mean MSE per sample over the loader; trains (one step per batch) when given an optimizer."""
    model.train(optimizer is not None)
    total, count = 0.0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for X_batch, y_batch in loader:
            loss = nn.functional.mse_loss(model(X_batch), y_batch)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item() * len(y_batch)
            count += len(y_batch)
    return total / count


def lesson_run(epochs: int = 150) -> tuple[list[float], list[float]]:
    """The lesson's 150-epoch run with Adam (lr=0.001): training and validation loss per epoch."""
    train_loader, val_loader = lesson_data()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    train_losses, val_losses = [], []
    for _ in range(epochs):
        train_losses.append(mean_loss(model, train_loader, optimizer))
        val_losses.append(mean_loss(model, val_loader))
    return train_losses, val_losses


def early_stop(val_losses: list[float], patience: int) -> tuple[int, int]:
    """(best epoch, the epoch training stops after), epochs counted from 1."""
    best_loss, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
        if waited >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def curves_picture(train_losses, val_losses, file: Path) -> None:
    epochs = range(1, len(train_losses) + 1)
    best, stop = early_stop(val_losses, PATIENCE)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.plot(epochs, train_losses, label="training loss")
    axes.plot(epochs, val_losses, label="validation loss")
    axes.axvspan(best, stop, color="tab:orange", alpha=0.12, label=f"patience: {PATIENCE} epochs without a new best")
    axes.plot(best, val_losses[best - 1], "k*", markersize=12, label=f"best epoch ({best}): the weights to keep")
    axes.axvline(stop, color="grey", linestyle="--", linewidth=1, label=f"early stopping stops after epoch {stop}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean squared error per sample")
    axes.set_title("Over-fitting: the training loss keeps falling, the validation loss turns")
    axes.legend(fontsize=8)
    save(figure, file)


def schedules_picture(val_losses, file: Path, epochs: int = 60) -> None:
    def rates(make_scheduler, metric: bool = False) -> list[float]:
        weight = nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([weight], lr=0.001)
        scheduler = make_scheduler(optimizer)
        seen = []
        for epoch in range(epochs):
            seen.append(optimizer.param_groups[0]["lr"])
            weight.grad = torch.zeros(1)
            optimizer.step()
            scheduler.step(val_losses[epoch]) if metric else scheduler.step()
        return seen

    lr = torch.optim.lr_scheduler
    figure, axes = plt.subplots(figsize=(8, 4.2))
    x = range(1, epochs + 1)
    axes.plot(x, rates(lambda opt: lr.StepLR(opt, step_size=15, gamma=0.5)), drawstyle="steps-post",
              label="StepLR(step_size=15, gamma=0.5)")
    axes.plot(x, rates(lambda opt: lr.CosineAnnealingLR(opt, T_max=epochs, eta_min=1e-5)),
              label=f"CosineAnnealingLR(T_max={epochs}, eta_min=1e-5)")
    axes.plot(x, rates(lambda opt: lr.ReduceLROnPlateau(opt, factor=0.5, patience=5), metric=True),
              drawstyle="steps-post", label="ReduceLROnPlateau(factor=0.5, patience=5),\ngiven the validation loss above")
    axes.set_xlabel("epoch")
    axes.set_ylabel("learning rate during the epoch")
    axes.set_title("Three schedules, each stepped once per epoch, starting from lr = 0.001")
    axes.legend(fontsize=8)
    save(figure, file)


if __name__ == "__main__":
    train_losses, val_losses = lesson_run()  # two pictures use the same run
    sys.exit(run(sys.argv, {
        "08_optimizer_paths.png": optimizer_paths_picture,
        "08_curves.png": lambda file: curves_picture(train_losses, val_losses, file),
        "08_schedules.png": lambda file: schedules_picture(val_losses, file),
    }))
