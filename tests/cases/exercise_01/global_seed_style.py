"""A correct exercise 01 in yet another style: the global seed, index lists, joined markers."""

import matplotlib.pyplot as plt
import torch


def make_linear_data(weight: float = 0.7, bias: float = 0.3, start: float = 0.0,
                     end: float = 1.0, step: float = 0.02):
    X = torch.arange(start, end, step, dtype=torch.float64)[:, None].float()
    y = (weight * X.double() + bias).to(torch.float32)
    return (X, y)


def train_val_test_split(X, y, train_frac=0.7, val_frac=0.15, shuffle=False, seed=None):
    if train_frac <= 0 or val_frac <= 0:
        raise ValueError("fractions must be positive")
    if train_frac >= 1 or val_frac >= 1 or 1 - train_frac - val_frac <= 0:
        raise ValueError("fractions must leave something for the test set")
    if X.shape[0] != y.shape[0]:
        raise ValueError("X and y must have the same number of rows")
    n = len(y)
    rows = list(range(n))
    if shuffle:
        if seed is not None:
            torch.manual_seed(seed)
        rows = torch.randperm(n).tolist()
    n_train = int(train_frac * n)
    n_val = int(val_frac * n)
    train_rows, val_rows, test_rows = rows[:n_train], rows[n_train:n_train + n_val], rows[n_train + n_val:]
    return [[X[train_rows], y[train_rows]], [X[val_rows], y[val_rows]], [X[test_rows], y[test_rows]]]


def plot_predictions(train, test, predictions=None):
    figure, axes = plt.subplots()
    X_train, y_train = (t.detach().cpu() for t in train)
    X_test, y_test = (t.detach().cpu() for t in test)
    axes.plot(X_train, y_train, "o-", markersize=3, label="Training data")
    axes.scatter(X_test, y_test, label="Testing data")
    if predictions is not None:
        axes.scatter(X_test, predictions.detach().cpu(), label="Predictions")
    axes.legend(loc="upper left")
    return figure
