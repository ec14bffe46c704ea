"""Exercise 06: the whole workflow, device-agnostic. All six steps in one function.

Lesson: lessons/06_workflow.md. Grade it with: python -m grader exercise_06

The earlier exercises built each step on its own. Here they come together in a
script that is written once and runs on whatever hardware is there:

    0. device       pick the best device: a CUDA GPU, else Apple's MPS, else the CPU
    1. data         y = weight * x + bias, split 80/20 in order
    2. model        seed, build a LinearRegressionModel, move it to the device
    3. train        L1 loss and torch.optim.SGD, one full-batch step per epoch
    4. evaluate     the test loss, in evaluation mode without gradient tracking
    5. save         the state dict (the parameters only) under ``out_dir``
    6. load         a fresh model on the same device, which must predict exactly
                    what the trained model predicts

You write ``get_device`` and ``run_workflow``. ``LinearRegressionModel`` is the
model of exercise 02, given ready-made (this file imports no other exercise).
The file imports only the standard library, torch and matplotlib.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn


class LinearRegressionModel(nn.Module):
    """The model of exercise 02: ``weights * x + bias`` with two learnable numbers.

    Given ready-made. After ``torch.manual_seed(42)`` a new model has
    ``weights≈0.3367`` and ``bias≈0.1288``.
    """

    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.weights * x + self.bias


def get_device() -> torch.device:
    """Return the best device this machine has, as a ``torch.device``.

    ``cuda`` when a CUDA GPU is available, else ``mps`` (Apple silicon) when it
    is available, else ``cpu``.
    """
    # Ask in order of preference. torch.cuda.is_available() is True only when
    # PyTorch was built with CUDA *and* a GPU and its driver are present.
    if torch.cuda.is_available():
        return torch.device("cuda")
    # MPS is the GPU of Apple-silicon Macs; elsewhere this is simply False.
    if torch.backends.mps.is_available():
        return torch.device("mps")
    # The CPU is always there.
    return torch.device("cpu")


def run_workflow(out_dir: str | os.PathLike, *, weight: float = 0.7, bias: float = 0.3,
                 epochs: int = 300, lr: float = 0.01, seed: int = 42,
                 device: str | torch.device | None = None) -> dict:
    """Run all six steps of the workflow on ``device`` and return a summary.

    1. Data: ``X = torch.arange(0, 1, 0.02).unsqueeze(1)``, ``y = weight * X + bias``;
       the first 80% (``int(0.8 * len(X))`` rows) for training, the rest for testing.
    2. Model: ``torch.manual_seed(seed)``, then a new ``LinearRegressionModel``.
    3. Training: ``nn.L1Loss()`` and ``torch.optim.SGD`` with learning rate ``lr``,
       ``epochs`` full-batch steps on the training split.
    4. Evaluation: the L1 loss on the test split, in evaluation mode, without
       gradient tracking.
    5. Saving: the state dict only, to a file under ``out_dir`` (created when
       missing); nothing is written anywhere else.
    6. Loading: the file into a fresh model on the same device, whose predictions
       on the test inputs must equal the trained model's.

    Model and data live on ``device`` (default: ``get_device()``); ``device``
    may be a string such as ``"cpu"`` or a ``torch.device``. Returns
    ``{"weight": float, "bias": float, "test_loss": float,
    "model_path": pathlib.Path, "device": str}``.
    """
    # Step 0: one device for everything. torch.device() accepts a string or a
    # device, so "cpu", "cuda" and torch.device("cuda") all work from here on.
    device = get_device() if device is None else torch.device(device)

    # Step 1: data. Tensors are made on the CPU, then moved with .to(device).
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = weight * X + bias
    n_train = int(0.8 * len(X))
    X_train, y_train = X[:n_train].to(device), y[:n_train].to(device)
    X_test, y_test = X[n_train:].to(device), y[n_train:].to(device)

    # Step 2: model. Seeding just before building it makes the starting
    # parameters, and so the whole run, the same for the same seed.
    torch.manual_seed(seed)
    model = LinearRegressionModel().to(device)

    # Step 3: training. Build the optimizer after moving the model, so that it
    # holds the parameters that live on the device.
    loss_fn = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        loss = loss_fn(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # Step 4: evaluation, with no autograd graph and the model in eval mode.
    model.eval()
    with torch.inference_mode():
        test_predictions = model(X_test)
        test_loss = loss_fn(test_predictions, y_test).item()

    # Step 5: save the state dict (a dictionary of tensors), never the pickled
    # module. Path() accepts a string or any path-like object.
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "06_workflow_model.pth"
    torch.save(model.state_dict(), model_path)

    # Step 6: load into a fresh model. map_location puts the tensors straight on
    # the device; weights_only=True refuses anything but tensors and plain data.
    loaded = LinearRegressionModel()
    loaded.load_state_dict(torch.load(model_path, map_location=device, weights_only=True))
    loaded.to(device)
    loaded.eval()
    with torch.inference_mode():
        loaded_predictions = loaded(X_test)
    # The file alone must be enough to get the same model back, bit for bit.
    if not torch.equal(loaded_predictions, test_predictions):
        raise RuntimeError(f"the model loaded from {model_path} predicts differently from the trained model")

    # .item() gives Python floats; str(device) gives "cpu", "cuda" or "mps".
    return {
        "weight": model.weights.item(),
        "bias": model.bias.item(),
        "test_loss": test_loss,
        "model_path": model_path,
        "device": str(device),
    }


if __name__ == "__main__":
    # A demonstration: run the workflow on the best device here and draw the fitted line.
    import tempfile

    import matplotlib.pyplot as plt

    print(f"Using device: {get_device()}")
    with tempfile.TemporaryDirectory() as folder:
        summary = run_workflow(folder)
        print(f"learned y = {summary['weight']:.4f}x + {summary['bias']:.4f} "
              f"(true: 0.7x + 0.3), test loss {summary['test_loss']:.4f}")
        print(f"saved to {summary['model_path']} on {summary['device']}")
    X = torch.arange(0.0, 1.0, 0.02)
    n_train = int(0.8 * len(X))
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.scatter(X[:n_train], 0.7 * X[:n_train] + 0.3, s=12, label="Training data")
    axes.scatter(X[n_train:], 0.7 * X[n_train:] + 0.3, s=12, label="Testing data")
    axes.plot(X, summary["weight"] * X + summary["bias"], color="tab:red", label="Fitted line")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    axes.legend()
    plt.show()
