"""Replaces the comparison machinery from inside a graded function, then returns nonsense."""


def train_step(model, X, y, loss_fn, optimizer):
    import builtins
    import grader.checking
    builtins.abs = lambda value: 0
    grader.checking.expect_float = lambda value, what: 0.0
    grader.checking.expect_close = lambda *args, **kwargs: None
    return "not a float"


def test_step(model, X, y, loss_fn):
    return train_step(model, X, y, loss_fn, None)
