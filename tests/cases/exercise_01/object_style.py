"""A correct exercise 01 written with a splitter object and other tensor idioms."""

import math

import matplotlib.pyplot as plt
import torch


def make_linear_data(weight=0.7, bias=0.3, start=0.0, end=1.0, step=0.02):
    n = math.ceil((end - start) / step)  # how many values torch.arange would make
    X = (start + step * torch.arange(n, dtype=torch.float32)).view(-1, 1)
    return X, weight * X + bias


class Splitter:
    """Remembers the fractions; splits any data set with them."""

    def __init__(self, train_frac, val_frac):
        for fraction in (train_frac, val_frac):
            if fraction <= 0 or fraction >= 1:
                raise ValueError(f"fraction {fraction} is not between 0 and 1")
        if train_frac + val_frac >= 1:
            raise ValueError("nothing left for the test set")
        self.train_frac, self.val_frac = train_frac, val_frac

    def order(self, n, shuffle, seed):
        if not shuffle:
            return torch.arange(n)
        if seed is None:
            return torch.randperm(n)
        generator = torch.Generator()
        generator.manual_seed(seed)
        return torch.rand(n, generator=generator).argsort()

    def __call__(self, X, y, shuffle=False, seed=None):
        n = len(X)
        if len(y) != n:
            raise ValueError(f"X has {n} rows, y has {len(y)}")
        index = self.order(n, shuffle, seed)
        bounds = [int(self.train_frac * n), int(self.train_frac * n) + int(self.val_frac * n)]
        return tuple(zip(torch.tensor_split(X[index], bounds), torch.tensor_split(y[index], bounds)))


def train_val_test_split(X, y, train_frac=0.7, val_frac=0.15, shuffle=False, seed=None):
    return Splitter(train_frac, val_frac)(X, y, shuffle=shuffle, seed=seed)


def plot_predictions(train, test, predictions=None):
    def plain(tensor):
        return tensor.detach().to("cpu").flatten().tolist()

    figure = plt.figure()
    axes = figure.add_subplot(1, 1, 1)
    axes.scatter(plain(train[0]), plain(train[1]), label="Training data")
    axes.plot(plain(test[0]), plain(test[1]), linestyle="none", marker="o", label="Testing data")
    if predictions is not None:
        axes.scatter(plain(test[0]), plain(predictions), marker="x", label="Predictions")
    figure.legend()
    return figure
