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
    # torch.arange stops *before* end: arange(0, 1, 0.02) is 0.00, 0.02, ..., 0.98 (50 values).
    # dtype=float32 keeps the data float32 even if someone passes whole numbers (arange(0, 10, 1) is int64).
    X = torch.arange(start, end, step, dtype=torch.float32)
    # unsqueeze(1) turns the 50 numbers of shape [50] into a column of shape [50, 1]:
    # 50 samples with 1 feature each, which is what nn.Linear(1, 1) expects.
    X = X.unsqueeze(1)
    # The "true" relationship the model will have to discover. A Python float times a
    # float32 tensor stays float32, and y gets X's shape.
    y = weight * X + bias
    return X, y


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
    # Refuse nonsense first, with a message that says what was wrong.
    # `not 0 < f < 1` (rather than `f <= 0 or f >= 1`) also refuses NaN.
    for name, fraction in (("train_frac", train_frac), ("val_frac", val_frac)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {fraction}")
    if train_frac + val_frac >= 1:
        raise ValueError(f"train_frac + val_frac must be below 1 to leave rows for testing, "
                         f"got {train_frac} + {val_frac}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}: every input needs its target")

    n = len(X)
    # int() rounds down: with 50 rows, 0.7 * 50 = 35 train and 0.15 * 50 = 7.5 -> 7 validation rows.
    n_train = int(train_frac * n)
    n_val = int(val_frac * n)

    if shuffle:
        # A private generator: seeding it does not disturb torch's global random state,
        # and the same seed always gives the same order.
        generator = torch.Generator()
        if seed is None:
            generator.seed()  # a fresh, unpredictable seed
        else:
            generator.manual_seed(seed)
        # One permutation of the row numbers, used for X *and* y, so pairs stay together.
        order = torch.randperm(n, generator=generator).to(X.device)
        X, y = X[order], y[order.to(y.device)]

    # Consecutive slices of the (maybe shuffled) rows: disjoint, and together every row.
    train = (X[:n_train], y[:n_train])
    val = (X[n_train:n_train + n_val], y[n_train:n_train + n_val])
    test = (X[n_train + n_val:], y[n_train + n_val:])
    return train, val, test


def plot_predictions(train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
                     predictions: Tensor | None = None) -> Figure:
    """Draw the training data, the test data and (when given) predictions; return the Figure.

    One Axes: the training points as a scatter labelled ``"Training data"``, the
    test points as a scatter labelled ``"Testing data"``, and, when
    ``predictions`` is given, the predictions at the test inputs as a scatter
    labelled ``"Predictions"``; a legend. The tensors may live on any device and
    may carry autograd history. Do not call ``plt.show()``: the caller decides.
    """

    def to_numpy(tensor: Tensor):
        # matplotlib needs plain numbers on the CPU: detach() drops the autograd
        # history (predictions straight from a model have one), cpu() fetches
        # tensors from a GPU.
        return tensor.detach().cpu().numpy()

    X_train, y_train = map(to_numpy, train)
    X_test, y_test = map(to_numpy, test)

    # plt.subplots gives the Figure and its one Axes together.
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X_train, y_train, s=14, c="tab:blue", label="Training data")
    axes.scatter(X_test, y_test, s=14, c="tab:green", label="Testing data")
    # `if predictions:` would ask a tensor of many values for one truth value (an error):
    # compare with None instead.
    if predictions is not None:
        # Predictions belong to the test inputs: draw them at X_test.
        axes.scatter(X_test, to_numpy(predictions), s=14, c="tab:red", label="Predictions")
    axes.set_xlabel("X")
    axes.set_ylabel("y")
    axes.legend()
    return figure


if __name__ == "__main__":
    # A demonstration: make the lesson's data, split it 70/15/15 and draw it.
    X, y = make_linear_data()
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = train_val_test_split(X, y)
    print(f"X: shape {list(X.shape)}, {X.dtype}, first rows {X[:3].flatten()}")
    print(f"in order: train {len(X_train)}, validation {len(X_val)}, test {len(X_test)} rows")
    (X_train_shuffled, _), _, _ = train_val_test_split(X, y, shuffle=True, seed=42)
    print(f"shuffled with seed 42, the first training inputs are {X_train_shuffled[:4].flatten()}")
    plot_predictions((X_train, y_train), (X_test, y_test))
    plt.show()
