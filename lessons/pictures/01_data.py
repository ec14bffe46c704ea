"""Make the pictures of lessons/01_data.md.

Usage: python lessons/pictures/01_data.py OUT_DIR

Writes 01_data.png, 01_splits.png, 01_shuffled.png and 01_predictions.png into
OUT_DIR, from the same numbers the lesson uses: y = 0.7x + 0.3 on
torch.arange(0, 1, 0.02), split 70/15/15, shuffled with seed 42. The data,
saving and the command line come from common.py, shared by all the picture
scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import line_data, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch

COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green", "predictions": "tab:red"}
NAMES = {"train": "Training", "val": "Validation", "test": "Testing"}


def part_of_each_row(n: int, train_frac: float, val_frac: float, order: torch.Tensor) -> list[str]:
    """Which part each original row lands in, when the rows are taken in ``order`` and sliced."""
    n_train, n_val = int(train_frac * n), int(val_frac * n)
    parts = [""] * n
    for position, row in enumerate(order.tolist()):
        parts[row] = "train" if position < n_train else "val" if position < n_train + n_val else "test"
    return parts


def shuffled_order(n: int, seed: int = 42) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def picture_data(path: Path) -> None:
    """The data as plot_predictions draws it: training and test points of the sequential 70/15/15 split."""
    X, y = line_data()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X[:35], y[:35], s=14, c=COLOURS["train"], label="Training data")
    axes.scatter(X[42:], y[42:], s=14, c=COLOURS["test"], label="Testing data")
    axes.set_xlabel("X")
    axes.set_ylabel("y")
    axes.set_title("y = 0.7x + 0.3: 35 training points, 8 test points")
    axes.legend()
    save(figure, path, crop=True)


def picture_splits(path: Path) -> None:
    """Fifty rows as fifty cells, coloured by the part each lands in, for three ways of splitting."""
    n = 50
    rows = [
        ("70/15/15, in order", part_of_each_row(n, 0.7, 0.15, torch.arange(n))),
        ("70/15/15, shuffled (seed 42)", part_of_each_row(n, 0.7, 0.15, shuffled_order(n))),
        ("80/20, in order", part_of_each_row(n, 0.8, 0.0, torch.arange(n))),  # no validation part
    ]
    figure, axes = plt.subplots(figsize=(9, 2.6))
    for level, (title, parts) in enumerate(rows):
        top = len(rows) - 1 - level
        for index, part in enumerate(parts):
            axes.add_patch(plt.Rectangle((index, top + 0.15), 0.9, 0.7, color=COLOURS[part]))
        counts = {part: parts.count(part) for part in ("train", "val", "test") if part in parts}
        text = ", ".join(f"{count} {NAMES[part].lower()}" for part, count in counts.items())
        axes.text(-1, top + 0.5, title, ha="right", va="center", fontsize=9)
        axes.text(n + 1, top + 0.5, text, ha="left", va="center", fontsize=9)
    axes.set_xlim(-1, n)
    axes.set_ylim(0, len(rows))
    axes.axis("off")
    axes.set_title("Row 0 (x = 0.00) on the left, row 49 (x = 0.98) on the right", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[part]) for part in ("train", "val", "test")]
    figure.legend(handles, [NAMES[part] for part in ("train", "val", "test")], loc="lower center", ncol=3,
                  bbox_to_anchor=(0.5, -0.08), frameon=False)
    # Cropped to what is drawn, not fitted with tight_layout: the legend sits below the plot, and
    # tight_layout would leave it outside the image. The other pictures of this lesson are saved the same way.
    save(figure, path, crop=True)


def picture_shuffled(path: Path) -> None:
    """The data on its line, coloured by part: a sequential split next to a shuffled one."""
    X, y = line_data()
    n = len(X)
    figure, all_axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axes, (title, order) in zip(all_axes, (("In order", torch.arange(n)), ("Shuffled, seed 42", shuffled_order(n)))):
        parts = part_of_each_row(n, 0.7, 0.15, order)
        for part in ("train", "val", "test"):
            rows = [index for index, which in enumerate(parts) if which == part]
            axes.scatter(X[rows], y[rows], s=16, c=COLOURS[part], label=f"{NAMES[part]} ({len(rows)})")
        axes.set_title(title)
        axes.set_xlabel("X")
        axes.legend(loc="upper left")
    all_axes[0].set_ylabel("y")
    save(figure, path, crop=True)


def picture_predictions(path: Path) -> None:
    """What an untrained model predicts for the test inputs (the seeded model of exercise 02)."""
    X, y = line_data()
    weights, bias = 0.3367, 0.1288
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X[:35], y[:35], s=14, c=COLOURS["train"], label="Training data")
    axes.scatter(X[42:], y[42:], s=14, c=COLOURS["test"], label="Testing data")
    axes.scatter(X[42:], weights * X[42:] + bias, s=14, c=COLOURS["predictions"], label="Predictions")
    axes.set_xlabel("X")
    axes.set_ylabel("y")
    axes.set_title("An untrained model: y = 0.3367x + 0.1288")
    axes.legend()
    save(figure, path, crop=True)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {
        "01_data.png": picture_data,
        "01_splits.png": picture_splits,
        "01_shuffled.png": picture_shuffled,
        "01_predictions.png": picture_predictions,
    }))
