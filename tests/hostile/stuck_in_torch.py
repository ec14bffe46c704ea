"""Stuck inside long torch operations, where a signal is only seen between them."""
import torch


def train_step(model, X, y, loss_fn, optimizer):
    a = torch.randn(2500, 2500)
    while True:
        a = torch.linalg.matrix_exp(a / a.norm())


def test_step(model, X, y, loss_fn):
    return train_step(model, X, y, loss_fn, None)


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    return train_step(model, *train, loss_fn, optimizer)


def plot_loss_curves(history):
    return train_step(None, None, None, None, None)
