"""A syntax error."""
def train_step(model, X, y, loss_fn, optimizer)
    return 0.0
