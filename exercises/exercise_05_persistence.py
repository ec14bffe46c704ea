"""Exercise 05: saving and loading. Steps 5 and 6 of the workflow: keep what the model learned, bring it back.

Lesson: lessons/05_persistence.md. Grade it with: python -m grader exercise_05

A trained model is only numbers in memory until you save them. You write four
functions:

    save_model        write model.state_dict() (the learned tensors) to a file
    load_model        read such a file back into a fresh model, ready for inference
    save_checkpoint   write everything needed to resume training: epoch, loss,
                      the model's and the optimizer's state
    load_checkpoint   restore all of that, so training continues exactly where it stopped

Every file is read with ``torch.load(..., weights_only=True)``: it then holds
tensors and plain containers only, and loading it cannot run hidden code. The
file imports only the standard library and torch, so it can be graded on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


def save_model(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save ``model.state_dict()`` (never the pickled module) to ``path``; return the path.

    ``path`` may be a ``str`` or any ``os.PathLike``. Missing parent folders are
    created. Returns the path as a ``pathlib.Path``.
    """
    # TODO: turn `path` into a pathlib.Path and create its missing parent folders
    #       (a second save into the same folder must work too).
    # TODO: save the model's state dict (not the model itself) with torch.save,
    #       then return the path.
    raise NotImplementedError("save_model")


def load_model(model: nn.Module, path: str | os.PathLike,
               device: str | torch.device = "cpu") -> nn.Module:
    """Load the state dict saved at ``path`` into ``model``; return it on ``device``, in evaluation mode.

    Read the file with ``torch.load(path, map_location=device, weights_only=True)``:
    ``map_location`` lets a file saved on a GPU load on a machine without one,
    and ``weights_only=True`` refuses anything but tensors and plain containers.
    Then copy the tensors into ``model``, move it to ``device`` and switch it to
    evaluation mode. A missing file raises ``FileNotFoundError`` naming the path.
    """
    # TODO: if there is no file at `path`, raise FileNotFoundError with a message
    #       that names the path (or let torch.load raise it for you).
    # TODO: load the state dict with torch.load, passing map_location=device and
    #       weights_only=True, and copy it into the model.
    # TODO: move the model to `device`, switch it to evaluation mode, return it.
    raise NotImplementedError("load_model")


def save_checkpoint(path, model: nn.Module, optimizer, epoch: int, loss: float) -> Path:
    """Save a training checkpoint to ``path``; return the path as a ``pathlib.Path``.

    One file holding ``{"epoch": int, "model_state_dict": ..., "optimizer_state_dict": ...,
    "loss": float}``. Missing parent folders are created.
    """
    # TODO: create the missing parent folders of `path`, as in save_model.
    # TODO: save one dict with the keys "epoch" (an int), "model_state_dict",
    #       "optimizer_state_dict" and "loss" (a float); return the path as a Path.
    raise NotImplementedError("save_checkpoint")


def load_checkpoint(path, model: nn.Module, optimizer=None,
                    device: str | torch.device = "cpu") -> tuple[int, float]:
    """Restore a checkpoint saved by ``save_checkpoint``; return ``(epoch, loss)``.

    The model gets the saved state and is moved to ``device``; the optimizer,
    when one is given, gets its saved state too. Training resumed after this
    continues exactly as if it had never stopped. The model's mode is left as
    it is: the training loop sets it.
    """
    # TODO: load the checkpoint dict with torch.load (map_location=device,
    #       weights_only=True) and restore the model's state from it.
    # TODO: move the model to `device`, then, only when an optimizer is given,
    #       restore the optimizer's state (after the move: see the lesson).
    # TODO: return (epoch, loss) as an int and a float.
    raise NotImplementedError("load_checkpoint")


if __name__ == "__main__":
    # Once your functions work, run this file: it trains y = 0.7x + 0.3 for a while,
    # checkpoints, resumes, then saves and loads the model.
    import tempfile

    class LinearRegressionModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(1))
            self.bias = nn.Parameter(torch.randn(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.weights * x + self.bias

    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    loss_fn = nn.L1Loss()

    def train(model, optimizer, epochs):
        for _ in range(epochs):
            model.train()
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    folder = Path(tempfile.mkdtemp())
    torch.manual_seed(42)
    model = LinearRegressionModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = train(model, optimizer, 100)
    save_checkpoint(folder / "checkpoints" / "epoch_100.pt", model, optimizer, 100, loss)

    resumed = LinearRegressionModel()
    resumed_optimizer = torch.optim.Adam(resumed.parameters(), lr=0.01)
    epoch, loss = load_checkpoint(folder / "checkpoints" / "epoch_100.pt", resumed, resumed_optimizer)
    print(f"resumed at epoch {epoch} (loss {loss:.4f})")
    train(resumed, resumed_optimizer, 100)

    path = save_model(resumed, folder / "models" / "linear.pth")
    loaded = load_model(LinearRegressionModel(), path)
    print(f"saved to {path}; loaded weights={loaded.weights.item():.4f} bias={loaded.bias.item():.4f}")
