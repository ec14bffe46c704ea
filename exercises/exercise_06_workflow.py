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
    # TODO: ask whether CUDA is available, then whether MPS is, and return the
    #       first that is, as a torch.device; fall back to the CPU.
    raise NotImplementedError("get_device")


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
    # TODO: step 0: one torch.device for everything: get_device() when device is
    #       None, else the device given (a string or a torch.device).
    # TODO: step 1: make X and y, split them 80/20 in order, move every part to the device.
    # TODO: step 2: seed with the seed argument, build a LinearRegressionModel, move it to the device.
    # TODO: step 3: train for `epochs` full-batch steps with nn.L1Loss and torch.optim.SGD(lr=lr).
    # TODO: step 4: the test loss, in evaluation mode without gradient tracking.
    # TODO: step 5: create out_dir if it is missing and save the state dict inside it.
    # TODO: step 6: load the file into a fresh model on the device and check that its
    #       predictions equal the trained model's.
    # TODO: return the summary dict: Python floats, a pathlib.Path and str(device).
    raise NotImplementedError("run_workflow")


if __name__ == "__main__":
    # Once your functions work, run this file to see the whole workflow and the fitted line.
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
