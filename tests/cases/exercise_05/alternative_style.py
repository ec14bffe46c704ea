"""A correct exercise 05 written in other valid styles than the reference solution.

os.path and os.makedirs instead of pathlib, file objects instead of paths,
torch.load's own FileNotFoundError, map_location="cpu" followed by a move,
model.train(False) instead of model.eval().
"""

import os
import pathlib

import torch


def _make_parent_folders(path):
    folder = os.path.dirname(os.fspath(path))
    if folder:  # a bare "model.pth" has no folder part to create
        os.makedirs(folder, exist_ok=True)


def save_model(model, path):
    _make_parent_folders(path)
    with open(path, "wb") as file:
        torch.save(model.state_dict(), file)
    return pathlib.Path(os.fspath(path))


def load_model(model, path, device="cpu"):
    with open(path, "rb") as file:  # raises FileNotFoundError naming the path
        state = torch.load(file, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model = model.to(torch.device(device))
    model.train(False)
    return model


def save_checkpoint(path, model, optimizer, epoch, loss):
    _make_parent_folders(path)
    torch.save(dict(epoch=epoch, loss=loss, model_state_dict=model.state_dict(),
                    optimizer_state_dict=optimizer.state_dict()), os.fspath(path))
    return pathlib.Path(path)


def load_checkpoint(path, model, optimizer=None, device="cpu"):
    checkpoint = torch.load(os.fspath(path), map_location=lambda storage, location: storage, weights_only=True)
    model.to(device)
    model.load_state_dict(checkpoint["model_state_dict"])
    if optimizer:
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return checkpoint["epoch"], checkpoint["loss"]
