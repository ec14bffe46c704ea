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
    # Path() accepts a str, a Path or any os.PathLike, and gives us .parent.
    path = Path(path)
    # parents=True creates every missing folder on the way; exist_ok=True makes a
    # second save into the same folder fine. (For a bare "model.pth" the parent
    # is ".", which exists.)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The state dict maps each parameter and buffer name to its tensor. Saving the
    # module itself would pickle its class by name, tying the file to your code.
    torch.save(model.state_dict(), path)
    # Hand back where the file went.
    return path


def load_model(model: nn.Module, path: str | os.PathLike,
               device: str | torch.device = "cpu") -> nn.Module:
    """Load the state dict saved at ``path`` into ``model``; return it on ``device``, in evaluation mode.

    Read the file with ``torch.load(path, map_location=device, weights_only=True)``:
    ``map_location`` lets a file saved on a GPU load on a machine without one,
    and ``weights_only=True`` refuses anything but tensors and plain containers.
    Then copy the tensors into ``model``, move it to ``device`` and switch it to
    evaluation mode. A missing file raises ``FileNotFoundError`` naming the path.
    """
    path = Path(path)
    # torch.load would raise FileNotFoundError itself; checking first gives a
    # message that says what was being looked for.
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    # map_location puts every tensor straight onto `device`, wherever it was saved;
    # weights_only=True loads tensors and containers only, never arbitrary objects.
    state_dict = torch.load(path, map_location=device, weights_only=True)
    # Copy the saved values into the model's own parameters and buffers (strict by
    # default: every name must match).
    model.load_state_dict(state_dict)
    # Parameters copied from tensors on `device` stay wherever the model was: move it too.
    model.to(device)
    # Loaded for inference: dropout off, batch norm uses its running statistics.
    model.eval()
    return model


def save_checkpoint(path, model: nn.Module, optimizer, epoch: int, loss: float) -> Path:
    """Save a training checkpoint to ``path``; return the path as a ``pathlib.Path``.

    One file holding ``{"epoch": int, "model_state_dict": ..., "optimizer_state_dict": ...,
    "loss": float}``. Missing parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        # Plain Python numbers: the file stays loadable with weights_only=True.
        "epoch": int(epoch),
        "model_state_dict": model.state_dict(),
        # The optimizer's state is part of training: Adam's running averages and
        # step count, SGD's momentum buffers, and each group's learning rate.
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": float(loss),
    }
    torch.save(checkpoint, path)
    # Hand back where the checkpoint went.
    return path


def load_checkpoint(path, model: nn.Module, optimizer=None,
                    device: str | torch.device = "cpu") -> tuple[int, float]:
    """Restore a checkpoint saved by ``save_checkpoint``; return ``(epoch, loss)``.

    The model gets the saved state and is moved to ``device``; the optimizer,
    when one is given, gets its saved state too. Training resumed after this
    continues exactly as if it had never stopped. The model's mode is left as
    it is: the training loop sets it.
    """
    # Same rules as load_model: tensors straight onto `device`, tensors only.
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    # Move the model BEFORE restoring the optimizer: optimizer.load_state_dict puts
    # each piece of state on the device of the parameter it belongs to.
    model.to(device)
    # The optimizer is optional (loading a checkpoint just to evaluate needs none).
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return int(checkpoint["epoch"]), float(checkpoint["loss"])


if __name__ == "__main__":
    # A demonstration: train y = 0.7x + 0.3 for a while, checkpoint, resume, save, load.
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
