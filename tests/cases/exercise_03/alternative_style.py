"""A correct exercise 03 written in other valid styles than the reference solution."""

import matplotlib.pyplot as plt
import torch


def train_step(model, X, y, loss_fn, optimizer):
    model.zero_grad()  # zero first, through the model instead of the optimizer
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return float(loss)


def test_step(model, X, y, loss_fn):
    model.train(False)
    with torch.set_grad_enabled(False):
        return float(loss_fn(model(X), y))


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    if epochs < 1 or eval_every < 1:
        raise ValueError("epochs and eval_every must be positive")
    history = {"epoch": [], "train_loss": [], "test_loss": []}
    epoch = 0
    while epoch < epochs:
        epoch += 1
        loss = train_step(model, *train, loss_fn, optimizer)
        if epoch % eval_every:
            continue
        history["epoch"].append(epoch)
        history["train_loss"].append(loss)
        history["test_loss"].append(test_step(model, *test, loss_fn))
    return history


def plot_loss_curves(history):
    figure = plt.figure()
    plt.plot(history["epoch"], history["train_loss"], "o-", label="Train loss")
    plt.plot(history["epoch"], torch.tensor(history["test_loss"]), label="Test loss")
    plt.xlabel("epoch")
    plt.ylabel("L1 loss")
    plt.legend()
    return figure
