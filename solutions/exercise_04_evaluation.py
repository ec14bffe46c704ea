"""Exercise 04: evaluation and inference. Step 4 of the workflow: use the trained model.

Lesson: lessons/04_evaluation.md. Grade it with: python -m grader exercise_04

A model behaves differently while it learns and while it is used. You write:

* ``RegularizedNet``: a small network with batch norm and dropout, the two
  layers whose behaviour changes between training and evaluation mode;
* ``predict``: the safe way to ask any model for predictions (evaluation
  mode, the right device, no gradient tracking, results back on the CPU);
* ``evaluate``: the loss and the mean absolute error on held-out data,
  computed the same way.

Two switches are involved, and they do different jobs:

    model.eval()              changes what some layers compute (dropout stops
                              dropping, batch norm uses its running statistics)
    torch.inference_mode()    stops autograd from recording the computation
    (or torch.no_grad())      (less memory, faster, no history on the results)

The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RegularizedNet(nn.Module):
    """``Linear -> BatchNorm1d -> ReLU -> Dropout(p) -> Linear``.

    ``Linear(in_features, hidden_features)``, then ``BatchNorm1d(hidden_features)``,
    a ReLU, dropout with probability ``p`` (active in training mode only), and
    ``Linear(hidden_features, out_features)``. Input ``[N, in_features]``,
    output ``[N, out_features]``.
    """

    def __init__(self, in_features: int, hidden_features: int, out_features: int, p: float = 0.5):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        # Batch norm normalises each hidden feature. In training mode it uses the
        # batch's mean and variance (and updates its running estimates); in
        # evaluation mode it uses the running estimates, so one sample works too.
        self.norm = nn.BatchNorm1d(hidden_features)
        # A module (rather than F.dropout) follows model.train() / model.eval() by itself.
        self.dropout = nn.Dropout(p)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        """Run ``x`` (shape ``[N, in_features]``) through the layers in the order above."""
        x = self.hidden(x)
        x = self.norm(x)
        x = torch.relu(x)
        # Training mode: each activation is zeroed with probability p and the
        # survivors are scaled by 1 / (1 - p), so the expected value is unchanged.
        # Evaluation mode: nothing happens.
        x = self.dropout(x)
        return self.output(x)


def predict(model: nn.Module, X: Tensor) -> Tensor:
    """Return the model's predictions for ``X``, on the CPU, without autograd history.

    Put the model in evaluation mode, move ``X`` to the device the model's
    parameters are on, run the forward pass without gradient tracking and move
    the result back to the CPU. The same input gives the same output every
    call, batch norm's running statistics do not change, and a batch of one
    sample works.
    """
    # Evaluation mode: dropout off, batch norm uses its running statistics
    # (which it then leaves alone), so the output is repeatable and one sample works.
    model.eval()
    # The model's device is where its parameters live; inputs must be there too.
    device = next(model.parameters()).device
    # No graph is recorded inside inference mode: nothing to backpropagate,
    # no .grad left behind, and the result carries no autograd history.
    with torch.inference_mode():
        predictions = model(X.to(device))
    # Back to the CPU, where NumPy, matplotlib and the rest of your program live
    # (.cpu() is free when the tensor is already there).
    return predictions.cpu()


def evaluate(model: nn.Module, X: Tensor, y: Tensor, loss_fn) -> dict[str, float]:
    """Return ``{"loss": ..., "mae": ...}`` for the model on ``(X, y)``, as Python floats.

    The predictions are made exactly as ``predict`` makes them. ``loss`` is
    ``loss_fn(predictions, y)``; ``mae`` is the mean absolute error, the mean
    of ``|prediction - y|``, whatever ``loss_fn`` is.
    """
    # Reuse predict: evaluation mode, right device, no gradients, results on the CPU.
    predictions = predict(model, X)
    y = y.cpu()
    with torch.inference_mode():
        loss = loss_fn(predictions, y)
        mae = (predictions - y).abs().mean()
    # .item() turns one-element tensors into Python floats.
    return {"loss": loss.item(), "mae": mae.item()}


if __name__ == "__main__":
    # A demonstration: train a small model on y = 0.7x + 0.3, then evaluate and predict.
    torch.manual_seed(42)
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    n_train = int(0.8 * len(X))
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

    model = RegularizedNet(1, 16, 1, p=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    for epoch in range(300):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print("test metrics:", evaluate(model, X_test, y_test, loss_fn))
    new_x = torch.tensor([[0.25]])
    print(f"prediction for x=0.25: {predict(model, new_x).item():.3f} (true value {0.7 * 0.25 + 0.3:.3f})")
