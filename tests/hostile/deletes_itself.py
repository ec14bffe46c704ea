"""Deletes its own file while being imported (outside the sandbox the grader puts it back afterwards)."""
import os

os.remove(__file__)


def train_step(model, X, y, loss_fn, optimizer):
    return 0.0
