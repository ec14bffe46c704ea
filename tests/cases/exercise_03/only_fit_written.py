"""The stubs, except that fit is written: its checks must name train_step, the stub it calls."""

import torch


def train_step(model, X, y, loss_fn, optimizer):
    # TODO: the five steps
    raise NotImplementedError


def test_step(model, X, y, loss_fn):
    # TODO: evaluation
    raise NotImplementedError


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    if epochs < 1 or eval_every < 1:
        raise ValueError("epochs and eval_every must be at least 1")
    history = {"epoch": [], "train_loss": [], "test_loss": []}
    for epoch in range(1, epochs + 1):
        train_loss = train_step(model, *train, loss_fn, optimizer)
        if epoch % eval_every == 0:
            history["epoch"].append(epoch)
            history["train_loss"].append(train_loss)
            history["test_loss"].append(test_step(model, *test, loss_fn))
    return history


def plot_loss_curves(history):
    # TODO: the plot
    raise NotImplementedError
