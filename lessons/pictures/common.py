"""What every picture script in this folder shares: the plumbing, not the pictures.

Each ``NN_<topic>.py`` script draws one lesson's pictures and imports from here
the parts that are the same everywhere: the matplotlib set-up, the course's
straight-line model and data, saving a figure, and the command line.

Import it before ``matplotlib.pyplot``: importing it picks the backend.
Scripts are run by path (``python lessons/pictures/NN_<topic>.py OUT_DIR``), so
Python puts this folder on ``sys.path`` and ``from common import ...`` finds
this file.

Like the scripts, it imports no exercise or solution, so the pictures come out
the same whatever state a learner's files are in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

# No window: the pictures only go to files. This must run before pyplot is
# imported, which is why the scripts import this module first.
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import torch  # noqa: E402
from torch import nn  # noqa: E402

# The line the course's data is drawn from: y = WEIGHT * x + BIAS.
WEIGHT, BIAS = 0.7, 0.3


class LinearRegressionModel(nn.Module):
    """The course's model from exercise 02: y = weights * x + bias, with two nn.Parameter objects."""

    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights * x + self.bias


def line_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The course's 50 points: X = 0, 0.02, ..., 0.98 as a column of shape [50, 1], and y = 0.7x + 0.3."""
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    return X, WEIGHT * X + BIAS


def line_splits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The course's data split 80/20 in order: X_train, y_train (40 points), X_test, y_test (10 points)."""
    X, y = line_data()
    n_train = int(0.8 * len(X))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def save(figure, path: Path, *, dpi: int = 110, crop: bool = False) -> None:
    """Write the figure to path as a PNG, then close it.

    By default the plots are first fitted snugly into the figure (tight_layout).
    With crop=True the saved image is instead cropped to what was drawn, which
    keeps anything placed outside the plots, such as a legend below them.
    """
    if crop:
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
    else:
        figure.tight_layout()
        figure.savefig(path, dpi=dpi)
    # pyplot keeps every figure in memory until it is closed, and a script makes several.
    plt.close(figure)


def run(argv: list[str], pictures: dict[str, Callable[[Path], None]]) -> int:
    """The scripts' command line: ``python SCRIPT OUT_DIR``; make OUT_DIR, draw each picture into it.

    ``pictures`` maps a file name (such as "00_graph.png") to the function that
    draws that picture, given the path to write. Returns the exit status.
    """
    if len(argv) != 2:
        print(f"usage: python {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in pictures.items():
        draw(out_dir / name)
    return 0
