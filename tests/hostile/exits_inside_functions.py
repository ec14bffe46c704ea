"""Each graded function leaves in a different way."""
import os
import sys


def train_step(model, X, y, loss_fn, optimizer):
    sys.exit(0)


def test_step(model, X, y, loss_fn):
    raise SystemExit(0)


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise KeyboardInterrupt


def plot_loss_curves(history):
    os._exit(0)
