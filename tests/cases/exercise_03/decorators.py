"""A correct exercise 03 using decorators and zeroing just before backward()."""

from matplotlib import pyplot
import torch


def train_step(model, X, y, loss_fn, optimizer):
    model.train()
    predictions = model(X)
    loss = loss_fn(predictions, y)
    for parameter in model.parameters():
        parameter.grad = None  # what zero_grad(set_to_none=True) does
    loss.backward()
    value = loss.item()
    optimizer.step()
    return value


@torch.no_grad()
def test_step(model, X, y, loss_fn):
    model.eval()
    return loss_fn(model(X), y).item()


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, not {epochs}")
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1, not {eval_every}")
    epochs_seen, train_losses, test_losses = [], [], []
    for epoch in range(epochs):
        train_loss = train_step(model, train[0], train[1], loss_fn, optimizer)
        if (epoch + 1) % eval_every == 0:
            epochs_seen.append(epoch + 1)
            train_losses.append(train_loss)
            test_losses.append(test_step(model, test[0], test[1], loss_fn))
    return {"epoch": epochs_seen, "train_loss": train_losses, "test_loss": test_losses}


def plot_loss_curves(history):
    fig, ax = pyplot.subplots(1, 1)
    ax.plot(history["epoch"], history["train_loss"], label="Train loss")
    ax.plot(history["epoch"], history["test_loss"], label="Test loss")
    ax.set(xlabel="Epoch", ylabel="Loss", title="Training")
    ax.legend(loc="upper right")
    return fig
