"""A stub file with pytest configuration, a conftest.py and a sitecustomize.py planted beside it (see the test)."""


def train_step(model, X, y, loss_fn, optimizer):
    # TODO
    raise NotImplementedError
