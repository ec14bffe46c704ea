"""Exercise 05's suite (saving and loading): its models and training, files read back safely, states compared."""

from __future__ import annotations

import copy
import numbers
import os
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from grader.checking.text import fmt, kind_of


ELSEWHERE = "cuda:99"  # a GPU that no grading machine has: only map_location can load tensors saved "there"
LR = 0.05


# -- models, data and training -----------------------------------------------------------


def make_model(seed: int) -> nn.Sequential:
    """A small network with parameters and buffers (batch norm) whose values come from ``seed``; in training mode."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
    generator = torch.Generator().manual_seed(seed)
    batch_norm = model[1]
    batch_norm.running_mean.copy_(torch.randn(8, generator=generator))
    batch_norm.running_var.copy_(torch.rand(8, generator=generator) + 0.5)
    batch_norm.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))
    return model


def make_net(seed: int) -> nn.Sequential:
    """A small network for training runs: nothing random in its forward pass, so runs can be repeated exactly."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def make_data(seed: int, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 3, generator=generator)
    y = X @ torch.randn(3, 1, generator=generator) + 0.1 * torch.randn(32, 1, generator=generator)
    return X.to(device), y.to(device)


def train_once(model, optimizer, X, y) -> float:
    model.train()
    loss = nn.functional.mse_loss(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def trained(seed: int, device="cpu", steps: int = 2):
    """A network and its Adam optimizer after a few steps (so the optimizer has state), and the last loss."""
    model = make_net(seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    X, y = make_data(seed, device)
    loss = 0.0
    for _ in range(steps):
        loss = train_once(model, optimizer, X, y)
    return model, optimizer, loss


def state_of(module: nn.Module) -> dict:
    return {name: value.detach().cpu().clone() for name, value in module.state_dict().items()}


def optimizer_state_of(state_dict: dict) -> dict:
    """A copy of an optimizer's state dict, with its tensors on the CPU, for comparing later."""
    return copy.deepcopy({"state": {index: {key: value.detach().cpu() if isinstance(value, torch.Tensor) else value
                                            for key, value in entry.items()}
                                    for index, entry in state_dict["state"].items()},
                          "param_groups": state_dict["param_groups"]})


def checkpoint_of(model, optimizer, epoch: int, loss: float) -> dict:
    return {"epoch": epoch, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": loss}


# -- files and states ---------------------------------------------------------------------


class FsPath:
    """An ``os.PathLike`` that is not a ``pathlib.Path``, as some libraries hand around."""

    def __init__(self, path):
        self._path = os.fspath(path)

    def __fspath__(self) -> str:
        return self._path


class Trap:
    """Pickles as a call to ``os.makedirs(marker)``: whoever unpickles it without ``weights_only`` runs that call."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def save_as_if_on_gpu(obj, path: Path) -> None:
    """``torch.save(obj, path)``, with every tensor recorded as living on a GPU this machine does not have."""
    real = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: ELSEWHERE
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = real


def read_back(path: Path, who: str, advice: str):
    """What the learner's function wrote at ``path``, read safely (``weights_only=True``), on the CPU."""
    assert path.is_file(), f"{who} wrote no file at {path.name} (the path it was given)"
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any refusal is the learner's file's fault
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        inside = f" (it holds a pickled {found.group(1)})" if found else ""
        raise AssertionError(f"the file {who} wrote cannot be loaded with torch.load(..., weights_only=True)"
                             f"{inside}: {advice}") from None


def is_path_of(result, expected: Path) -> bool:
    return os.path.realpath(os.fspath(result)) == os.path.realpath(expected)


def expect_returned_path(result, expected: Path, who: str, given: str) -> None:
    assert isinstance(result, Path), (
        f"given {given}, {who} returned {kind_of(result)}, not a pathlib.Path: return Path(path) for the file it wrote")
    assert is_path_of(result, expected), (
        f"given {given}, {who} returned {os.fspath(result)!r}, not the path of the file it wrote ({expected.name})")


def names(keys, limit: int = 4) -> str:
    keys = sorted(map(str, keys))
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def expect_state_dict(saved, expected: dict, what: str) -> None:
    """Fail unless ``saved`` maps exactly the names of ``expected`` to equal tensors."""
    assert isinstance(saved, dict), (
        f"{what} holds {kind_of(saved)}, not a state dict (a dict from names to tensors): save model.state_dict()")
    missing, extra = set(expected) - set(saved), set(saved) - set(expected)
    assert not missing, (
        f"{what} has no entry for {names(missing)}"
        + (f" (it holds {names(map(repr, extra))})" if extra else "")
        + ": model.state_dict() holds every parameter and buffer, by name")
    assert not extra, f"{what} holds {names(extra)}, which the model does not have: save model.state_dict() as it is"
    for name, want in expected.items():
        value = saved[name]
        assert isinstance(value, torch.Tensor), f"in {what}, {name} is {kind_of(value)}, not a tensor"
        assert value.dtype == want.dtype and value.shape == want.shape and torch.equal(value.detach().cpu(), want), (
            f"in {what}, {name} is not the model's {name} (different values)")


def expect_restored(model: nn.Module, expected: dict, who: str) -> None:
    """Fail unless the model's parameters and buffers equal ``expected`` exactly."""
    observed = state_of(model)
    differing = [name for name, want in expected.items()
                 if name not in observed or not torch.equal(observed[name], want)]
    assert not differing, (
        f"after {who}, the model's values are not the saved ones ({names(differing)} differ): "
        "copy the loaded state dict into the model with model.load_state_dict(...)")


def on(tensor: torch.Tensor, device: torch.device) -> bool:
    """Whether ``tensor`` is on ``device`` (``cuda`` means any CUDA device, ``cuda:0`` that one)."""
    return tensor.device.type == device.type and (device.index is None or tensor.device.index == device.index)


def expect_on(model: nn.Module, device: torch.device, who: str) -> None:
    tensors = [*model.named_parameters(), *model.named_buffers()]
    elsewhere = [(name, tensor.device) for name, tensor in tensors if not on(tensor, device)]
    assert not elsewhere, (
        f"after {who}, the model is on {elsewhere[0][1]}, not on {device} "
        f"({names(name for name, _ in elsewhere)}): move it with model.to(device)")


def optimizer_difference(observed: dict, expected: dict) -> str:
    """What differs between two optimizer states (from ``optimizer_state_of``), in words; empty if nothing."""
    if not observed["state"] and expected["state"]:
        return "it holds no state at all (Adam's running averages and step count are lost)"
    if set(observed["state"]) != set(expected["state"]):
        return "it holds state for other parameters than the saved one"
    for index, entry in expected["state"].items():
        for key, want in entry.items():
            value = observed["state"][index].get(key)
            if isinstance(want, torch.Tensor):
                same = (isinstance(value, torch.Tensor) and value.shape == want.shape
                        and torch.equal(value.float(), want.float()))
            else:
                same = not isinstance(value, torch.Tensor) and value == want
            if not same:
                return f"its {key!r} for parameter {index} is not the saved one"
    for group, (seen, want) in enumerate(zip(observed["param_groups"], expected["param_groups"])):
        for key, value in want.items():
            if seen.get(key) != value:
                return f"its {key} (param group {group}) is {seen.get(key)!r}, the saved one is {value!r}"
    return ""


def optimizer_state_elsewhere(optimizer, device: torch.device) -> str:
    """The first piece of optimizer state (other than the step count) that is not on ``device``; empty if none."""
    for entry in optimizer.state.values():
        for key, value in entry.items():
            if key != "step" and isinstance(value, torch.Tensor) and not on(value, device):
                return f"the optimizer's {key!r} is on {value.device}"
    return ""


def refused_by_unpickler(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, ``torch.load`` refusing a file under ``weights_only=True``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, pickle.UnpicklingError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def reraise_unless_stub(exc: BaseException) -> None:
    if isinstance(exc, NotImplementedError):
        raise exc


def number_of(value) -> float | None:
    """``value`` as a float when it is a real number or a one-element tensor; None for anything else."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if type(value) is torch.Tensor and value.numel() == 1:
        return value.detach().cpu().double().item()
    return None


def expect_epoch_and_loss(result, epoch: int, loss: float) -> None:
    assert isinstance(result, tuple) and len(result) == 2, (
        f"load_checkpoint returned {kind_of(result)}"
        + (f" of {len(result)} items" if isinstance(result, tuple) else "")
        + ", not the pair (epoch, loss)")
    # The loss first and the epoch second: say so before the types, which then look wrong too.
    first, second = (number_of(value) for value in result)
    swapped = (first is not None and second is not None and epoch != loss
               and abs(first - loss) <= 1e-6 * max(1.0, abs(loss)) and second == epoch)
    assert not swapped, (
        f"load_checkpoint returned ({fmt(first)}, {fmt(second)}), the loss first: epoch and loss are swapped; "
        f"return (epoch, loss), here ({epoch}, {fmt(loss)})")
    for position, (value, want, kind, name) in enumerate(zip(result, (epoch, loss), (int, float), ("epoch", "loss"))):
        assert type(value) is kind, (
            f"load_checkpoint returned {kind_of(value)} as item {position} (the {name}); "
            f"return the {name} as a Python {kind.__name__}")
        assert value == want, (f"load_checkpoint returned {fmt(value)} as the {name}; the checkpoint holds {fmt(want)}"
                               + (" (are epoch and loss swapped?)" if value in (epoch, loss) else ""))
