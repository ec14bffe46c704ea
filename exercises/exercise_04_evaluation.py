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
        # TODO: create the layers as attributes (or as one nn.Sequential):
        #       nn.Linear(in_features, hidden_features), nn.BatchNorm1d(hidden_features),
        #       nn.Dropout(p) and nn.Linear(hidden_features, out_features). The ReLU
        #       has no parameters: nn.ReLU() or torch.relu in forward both work.
        raise NotImplementedError("RegularizedNet.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """Run ``x`` (shape ``[N, in_features]``) through the layers in the order above."""
        # TODO: Linear, then batch norm, then ReLU, then dropout, then the last Linear.
        raise NotImplementedError("RegularizedNet.forward")


def predict(model: nn.Module, X: Tensor) -> Tensor:
    """Return the model's predictions for ``X``, on the CPU, without autograd history.

    Put the model in evaluation mode, move ``X`` to the device the model's
    parameters are on, run the forward pass without gradient tracking and move
    the result back to the CPU. The same input gives the same output every
    call, batch norm's running statistics do not change, and a batch of one
    sample works.
    """
    # TODO: put the model in evaluation mode.
    # TODO: find the device the model's parameters are on and move X there.
    # TODO: inside a block that turns gradient tracking off, run the forward pass.
    # TODO: return the predictions moved back to the CPU.
    raise NotImplementedError("predict")


def evaluate(model: nn.Module, X: Tensor, y: Tensor, loss_fn) -> dict[str, float]:
    """Return ``{"loss": ..., "mae": ...}`` for the model on ``(X, y)``, as Python floats.

    The predictions are made exactly as ``predict`` makes them. ``loss`` is
    ``loss_fn(predictions, y)``; ``mae`` is the mean absolute error, the mean
    of ``|prediction - y|``, whatever ``loss_fn`` is.
    """
    # TODO: make the predictions the way predict does (you may call it).
    # TODO: compute the loss with loss_fn and the mean absolute error, and return
    #       both as Python floats in a dict with the keys "loss" and "mae".
    raise NotImplementedError("evaluate")


if __name__ == "__main__":
    # Once your code works, run this file: it trains a small model on y = 0.7x + 0.3,
    # then evaluates it and predicts for a new input.
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
