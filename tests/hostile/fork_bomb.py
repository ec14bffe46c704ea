"""Starts processes until the system refuses (EAGAIN), then sleeps: a bounded fork bomb.

Each process is a ``sleep`` carrying the test's marker in its environment, so
that one left behind would be found. A hard ceiling of 2,048 keeps it bounded
even where nothing else bounds it (root ignores ``RLIMIT_NPROC``).
"""
import os
import time

PLANTED: dict = {}  # the test fills this in
CEILING = 2048


def train_step(model, X, y, loss_fn, optimizer):
    env = {**os.environ, PLANTED["marker"]: "1"}
    started = 0
    while started < CEILING:
        try:
            os.posix_spawn("/bin/sleep", ["sleep", "600"], env)
        except OSError:
            break  # EAGAIN: the process cap
        started += 1
    time.sleep(600)
    return 0.0


def test_step(model, X, y, loss_fn):
    raise NotImplementedError("test_step")


def fit(model, train, test, loss_fn, optimizer, epochs, eval_every=1):
    raise NotImplementedError("fit")


def plot_loss_curves(history):
    raise NotImplementedError("plot_loss_curves")
