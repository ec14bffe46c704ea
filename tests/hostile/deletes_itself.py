"""Deletes its own file while being imported, and rewrites it while a check runs."""
import os

os.remove(__file__)


def train_step(model, X, y, loss_fn, optimizer):
    with open(__file__, "w") as file:
        file.write("# nothing left\n")
    return 0.0
