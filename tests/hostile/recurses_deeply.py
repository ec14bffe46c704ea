"""Raises from 20,000 frames deep: a traceback of some 40,000 lines, which the report must not pass on whole.

Only ``plot_loss_curves`` does it (two checks call it), so the grading stays quick.
"""
import sys

DEPTH = 20_000


def dive(depth):
    if depth == 0:
        raise ValueError(f"raised {DEPTH} frames deep")
    return dive(depth - 1)


def train_step(model, X, y, loss_fn, optimizer):
    raise NotImplementedError("train_step")


def test_step(model, X, y, loss_fn):
    raise NotImplementedError("test_step")


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    sys.setrecursionlimit(DEPTH + 5_000)
    return dive(DEPTH)
