"""Make the picture of lesson 06 (the whole workflow): python lessons/pictures/06_workflow.py OUT_DIR

Writes one PNG into OUT_DIR:

- 06_fitted_line.png  the data, the true line and the line learned by the lesson's
                      script (seed 42, 300 epochs, L1, SGD lr=0.01), with the
                      reloaded model's predictions on the test inputs

Self-contained on purpose: it defines the small model, data and loop it needs
instead of importing an exercise or a solution, so it draws the same picture
whatever state a learner's files are in. It runs on the CPU, so the picture is
the same on every machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no window: write files only

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import torch  # noqa: E402
from torch import nn  # noqa: E402


class LinearRegressionModel(nn.Module):
    """The course's model from exercise 02: y = weights * x + bias."""

    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights * x + self.bias


def workflow(device: torch.device, epochs: int = 300):
    """The lesson's six steps; return the data splits (on the CPU), the trained and the reloaded model's numbers."""
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    n_train = int(0.8 * len(X))
    X_train, y_train = X[:n_train].to(device), y[:n_train].to(device)
    X_test, y_test = X[n_train:].to(device), y[n_train:].to(device)

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
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: python {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    fitted_line(out_dir / "06_fitted_line.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
