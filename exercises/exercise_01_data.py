"""Exercise 01: data preparation. Step 1 of the workflow: make the data, split it, look at it.

Lesson: lessons/01_data.md. Grade it with: python -m grader exercise_01

You write the three things every project needs before there is any model:

    make_linear_data       inputs X and targets y = weight * X + bias, as [N, 1] columns
    train_val_test_split   three disjoint parts: train on one, tune on one, test on one
    plot_predictions       a picture of the data (and, later, of a model's predictions)

The file imports only torch and matplotlib, so it can be graded on its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor


def make_linear_data(weight: float = 0.7, bias: float = 0.3, start: float = 0.0,
                     end: float = 1.0, step: float = 0.02) -> tuple[Tensor, Tensor]:
    """Make points on the line ``y = weight * x + bias``; return ``(X, y)``.

    ``X`` holds ``start, start + step, ...`` up to but not including ``end``
    (exactly what ``torch.arange(start, end, step)`` gives), as a column: shape
    ``[N, 1]``, one row per sample, one column per feature. ``y`` is
    ``weight * X + bias``, the same shape. Both are ``float32``.
    """
    # TODO: make X with torch.arange(start, end, step) as float32, then turn it from
    #       shape [N] into a column of shape [N, 1] (one method call does that).
    # TODO: compute y from X, weight and bias, and return (X, y).
    raise NotImplementedError("make_linear_data")


def train_val_test_split(X: Tensor, y: Tensor, train_frac: float = 0.7, val_frac: float = 0.15,
                         shuffle: bool = False, seed: int | None = None
                         ) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Split ``(X, y)`` into training, validation and test parts.

    ``n_train = int(train_frac * N)`` rows go to training, ``n_val = int(val_frac * N)``
    to validation and the rest to testing. Without ``shuffle`` the split is
    sequential: the first rows train, the next validate, the last test. With
    ``shuffle=True`` the rows are first put in a random order drawn from a
    ``torch.Generator`` seeded with ``seed`` (the same seed gives the same split;
    ``seed=None`` gives a fresh random order). A row of ``X`` always stays with
    its row of ``y``; the three parts are disjoint and together hold every row.

    Raise ``ValueError`` when ``train_frac`` or ``val_frac`` is not strictly
    between 0 and 1, when they add up to 1 or more (nothing would be left to
    test on), or when ``X`` and ``y`` have different numbers of rows.

    Return ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``.
    """
    # TODO: raise ValueError for a fraction outside (0, 1), for fractions that add up
    #       to 1 or more, and for X and y of different lengths.
    # TODO: compute n_train and n_val with int(fraction * N); the rest is for testing.
    # TODO: if shuffle: draw ONE random order of the row numbers from a torch.Generator
    #       seeded with seed, and reorder X and y with it (so pairs stay together).
    # TODO: slice the rows into train, validation and test, and return
    #       ((X_train, y_train), (X_val, y_val), (X_test, y_test)).
    raise NotImplementedError("train_val_test_split")


def plot_predictions(train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
                     predictions: Tensor | None = None) -> Figure:
    """Draw the training data, the test data and (when given) predictions; return the Figure.

    One Axes: the training points as a scatter labelled ``"Training data"``, the
    test points as a scatter labelled ``"Testing data"``, and, when
    ``predictions`` is given, the predictions at the test inputs as a scatter
    labelled ``"Predictions"``; a legend. The tensors may live on any device and
    may carry autograd history. Do not call ``plt.show()``: the caller decides.
    """
    # TODO: turn each tensor into something matplotlib can draw: drop its autograd
    #       history and bring it to the CPU first.
    # TODO: make a Figure with one Axes; scatter the training data and the test data
    #       with the labels above; when predictions is not None, scatter them at the
    #       test inputs, labelled "Predictions".
    # TODO: add a legend and return the Figure (do not show it).
    raise NotImplementedError("plot_predictions")


if __name__ == "__main__":
    # Once your functions work, run this file to see the lesson's data, split 70/15/15.
    X, y = make_linear_data()
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = train_val_test_split(X, y)
    print(f"X: shape {list(X.shape)}, {X.dtype}, first rows {X[:3].flatten()}")
    print(f"in order: train {len(X_train)}, validation {len(X_val)}, test {len(X_test)} rows")
    (X_train_shuffled, _), _, _ = train_val_test_split(X, y, shuffle=True, seed=42)
    print(f"shuffled with seed 42, the first training inputs are {X_train_shuffled[:4].flatten()}")
    plot_predictions((X_train, y_train), (X_test, y_test))
    plt.show()
