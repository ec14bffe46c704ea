"""Make the picture of lesson 06 (the whole workflow): python lessons/pictures/06_workflow.py OUT_DIR

Writes one PNG into OUT_DIR:

- 06_fitted_line.png  the data, the true line and the line learned by the lesson's
                      script (seed 42, 300 epochs, L1, SGD lr=0.01), with the
                      reloaded model's predictions on the test inputs

It runs the lesson's six steps itself instead of importing an exercise or a
solution, so it draws the same picture whatever state a learner's files are
in. It runs on the CPU, so the picture is the same on every machine. The
course's model, data, saving and the command line come from common.py, shared
by all the picture scripts.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import LinearRegressionModel, line_splits, run, save  # first: it sets matplotlib up to write files only

import matplotlib.pyplot as plt
import torch
from torch import nn


def workflow(device: torch.device, epochs: int = 300):
    """The lesson's six steps; return the data splits (on the CPU), the trained and the reloaded model's numbers."""
    X_train, y_train, X_test, y_test = (tensor.to(device) for tensor in line_splits())

    torch.manual_seed(42)
    model = LinearRegressionModel().to(device)
    loss_fn = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(epochs):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.eval()
    with torch.inference_mode():
        test_loss = loss_fn(model(X_test), y_test).item()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "06_workflow_model.pth"
        torch.save(model.state_dict(), path)
        loaded = LinearRegressionModel()
        loaded.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    loaded.to(device).eval()
    with torch.inference_mode():
        predictions = loaded(X_test)

    splits = [t.cpu() for t in (X_train, y_train, X_test, y_test)]
    return splits, (model.weights.item(), model.bias.item(), test_loss), predictions.cpu()


def fitted_line(path: Path) -> None:
    """Training and test data, the true line, the learned line and the reloaded model's test predictions."""
    (X_train, y_train, X_test, y_test), (weight, bias, test_loss), predictions = workflow(torch.device("cpu"))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(X_train.squeeze(1), y_train.squeeze(1), s=14, color="tab:blue", label="Training data")
    axes.scatter(X_test.squeeze(1), y_test.squeeze(1), s=14, color="tab:green", label="Testing data")
    x = torch.tensor([0.0, 1.0])
    axes.plot(x, 0.7 * x + 0.3, color="black", linewidth=1, linestyle="--", label="True line: 0.7x + 0.3")
    axes.plot(x, weight * x + bias, color="tab:red", linewidth=1.8,
              label=f"Learned line: {weight:.4f}x + {bias:.4f}")
    axes.scatter(X_test.squeeze(1), predictions.squeeze(1), s=40, marker="x", color="tab:red",
                 label="Reloaded model's predictions")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.set_title(f"After 300 epochs (seed 42, L1, SGD lr=0.01): test loss {test_loss:.4f}")
    axes.legend(fontsize=8, loc="upper left")
    save(figure, path)


if __name__ == "__main__":
    sys.exit(run(sys.argv, {"06_fitted_line.png": fitted_line}))
