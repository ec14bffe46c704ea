"""A correct exercise 01 written NumPy-first: NumPy makes the numbers, torch holds them."""

import matplotlib.pyplot as plt
import numpy as np
import torch


def make_linear_data(weight=0.7, bias=0.3, start=0.0, end=1.0, step=0.02):
    x = np.arange(start, end, step).reshape(-1, 1)  # float64, and maybe a last bit away from torch.arange
    X = torch.tensor(x, dtype=torch.float32)
    y = torch.from_numpy(weight * x + bias).float()  # computed in float64, then converted
    return X, y


def train_val_test_split(X, y, train_frac=0.7, val_frac=0.15, shuffle=False, seed=None):
    if not (0 < train_frac < 1 and 0 < val_frac < 1) or train_frac + val_frac >= 1:
        raise ValueError(f"bad fractions: {train_frac}, {val_frac}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"{n} inputs but {y.shape[0]} targets")
    n_train, n_val = int(n * train_frac), int(n * val_frac)
    if shuffle:
        index = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    else:
        index = torch.arange(n)
    parts = torch.split(index, [n_train, n_val, n - n_train - n_val])
    return tuple((X[part], y[part]) for part in parts)


def plot_predictions(train, test, predictions=None):
    figure = plt.figure(figsize=(6, 4))
    numbers = [tensor.detach().cpu().numpy() for tensor in (*train, *test)]
    plt.plot(numbers[0], numbers[1], "b.", label="Training data")
    plt.plot(numbers[2], numbers[3], "g.", label="Testing data")
    if predictions is not None:
        plt.plot(numbers[2], predictions.detach().cpu().numpy(), "r*", label="Predictions")
    plt.legend()
    return figure
