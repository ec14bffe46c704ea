"""Exercise 06's suite: what run_workflow returned and saved, and its training replayed here to confirm a report."""

from __future__ import annotations

import inspect
import itertools
import math
import os
import pathlib
from typing import TYPE_CHECKING

import torch
from torch import nn

from grader.checking.text import call_text, fmt, kind_of
from grader.checking.values import apart

if TYPE_CHECKING:
    from grader.checking.workflow import Report


SUMMARY_KEYS = ("weight", "bias", "test_loss", "model_path", "device")
N_POINTS, N_TRAIN = 50, 40  # torch.arange(0, 1, 0.02) has 50 points; int(0.8 * 50) = 40 train


# -- what the run returned and saved, against what the learner process reported ----------------------


def returned_parameters(result) -> list[float] | None:
    """The weight and bias ``run_workflow`` returned, as numbers (floats or one-number tensors), or None."""
    if not isinstance(result, dict):
        return None
    values = [result.get("weight"), result.get("bias")]
    if all(type(value) in (int, float) or isinstance(value, torch.Tensor) and value.numel() == 1
           and not value.is_meta for value in values):
        return [float(value) for value in values]
    return None


def saved_parameters(result) -> list[float] | None:
    """The two numbers of the state dict ``run_workflow`` saved, read here, or None (no such file)."""
    try:
        path = model_path_of(result)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - no readable state dict: the checks about saving say so
        return None
    values = list(state.values()) if isinstance(state, dict) else []
    if len(values) == 2 and all(type(value) is torch.Tensor and value.numel() == 1 for value in values):
        return [float(value) for value in values]
    return None


def agree(a: list[float], b: list[float], tolerance: float = 1e-6) -> bool:
    return all(abs(x - y) <= tolerance * max(1.0, abs(y)) for x, y in zip(a, b))


def expect_reported_end(end: list[torch.Tensor], result, saved: bool = True) -> None:
    """Fail where ``run_workflow``'s outputs contradict the trained parameters the learner process reported.

    The outputs are seen here: the weight and bias it returned and, with ``saved``, the
    file it saved. The report stands where one of them agrees with it (in either order:
    a model may declare its bias first); where neither can be read, other checks say so.
    """
    reported = [p.item() for p in end]
    outputs = {"returned": returned_parameters(result), "saved": saved_parameters(result) if saved else None}
    seen = {how: values for how, values in outputs.items() if values is not None}
    if not seen or any(agree(values, reported) or agree(values, reported[::-1]) for values in seen.values()):
        return
    shown = " and ".join(f"{how} {fmt(values[0])}, {fmt(values[1])}" for how, values in seen.items())
    raise AssertionError(f"run_workflow {shown}, but the grader saw its optimizer end at {fmt(reported[0])}, "
                         f"{fmt(reported[1])}: return (and save) the parameters of the model you trained")


def expect_summary(result, *keys: str) -> dict:
    """Fail unless ``result`` is a dict holding ``keys`` (all the contract's, by default) with their types.

    A check that needs only some values asks for those, so that one wrong type
    costs the summary check and the checks that read that value, not every check.
    """
    assert isinstance(result, dict), f"run_workflow returned {kind_of(result)}, not a dict"
    keys = keys or SUMMARY_KEYS
    missing = [key for key in keys if key not in result]
    assert not missing, f"the returned dict has no key {', '.join(map(repr, missing))}"
    for key in ("weight", "bias", "test_loss"):
        if key not in keys:
            continue
        value = result[key]
        if type(value) is not float:
            advice = " (.item() turns a one-element tensor into a float)" if isinstance(value, torch.Tensor) else ""
            raise AssertionError(f"run_workflow()[{key!r}] is {kind_of(value)}, not a Python float{advice}")
        assert not math.isnan(value) and not math.isinf(value), (
            f"run_workflow()[{key!r}] is {value}: the computation went wrong somewhere")
    assert "model_path" not in keys or isinstance(result["model_path"], pathlib.Path), (
        f"run_workflow()['model_path'] is {kind_of(result['model_path'])}, "
        "not a pathlib.Path (wrap it: pathlib.Path(path))")
    assert "device" not in keys or type(result["device"]) is str, (
        f"run_workflow()['device'] is {kind_of(result['device'])}, not a str "
        "(str(device) gives 'cpu', 'cuda' or 'mps')")
    return result


def model_path_of(result) -> pathlib.Path:
    """The saved file's path, from a Path or a str (the summary check alone insists on a Path)."""
    assert isinstance(result, dict), f"run_workflow returned {kind_of(result)}, not a dict"
    assert "model_path" in result, "the returned dict has no key 'model_path'"
    value = result["model_path"]
    assert isinstance(value, (str, os.PathLike)), (
        f"run_workflow()['model_path'] is {kind_of(value)}, not a pathlib.Path")
    return pathlib.Path(value)


def expect_device_named(result, device: torch.device) -> None:
    """Fail unless ``result["device"]`` names a device of ``device``'s type (a str, or here also a torch.device)."""
    assert isinstance(result, dict), f"run_workflow returned {kind_of(result)}, not a dict"
    assert "device" in result, "the returned dict has no key 'device'"
    value = result["device"]
    if isinstance(value, torch.device):
        named = value  # the wrong type, but the summary check says so; here only the place matters
    else:
        try:
            named = torch.device(value)
        except (RuntimeError, TypeError, ValueError):
            raise AssertionError(f"run_workflow()['device'] is {value!r}, which is not a device name; "
                                 f"expected {device.type!r}") from None
    assert named.type == device.type, \
        f"run_workflow()['device'] is {str(value)!r}, but the run was asked for {device.type!r}"


def line(weight: float, bias: float) -> str:
    return f"y = {fmt(weight)}x {'-' if bias < 0 else '+'} {fmt(abs(bias))}"


def workflow_call(arguments: dict) -> str:
    """``run_workflow(weight=0.3, epochs=300)``: the call, its numbers rounded."""
    return call_text("run_workflow", show=lambda value: str(value) if isinstance(value, int) else fmt(value), **arguments)


# -- a reference run, computed here -----------------------------------------------


MISTAKES = {  # the usual ways to train otherwise: replayed to name the mistake in a message
    "with MSE loss instead of L1": {"loss_fn": nn.MSELoss()},
    "on all the data, the test split too": {"rows": slice(0, N_POINTS)},
    "on the test split": {"rows": slice(N_TRAIN, N_POINTS)},
    "without zeroing the gradients": {"zero_grad": False},
}


KNOWN_CHOICES = {  # what a replay may choose, to confirm a report: the contract's choice first, then the usual others
    "loss_fn": (nn.L1Loss(), nn.MSELoss()),
    "rows": (slice(0, N_TRAIN), slice(0, N_POINTS), slice(N_TRAIN, N_POINTS)),
    "zero_grad": (True, False),
    "swapped": (False, True),
}


def line_data(weight: float, bias: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The contract's data on the line: ``X = torch.arange(0, 1, 0.02)`` as a column, and ``weight * X + bias``."""
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    return X, weight * X + bias


def reference_training(start: list[torch.Tensor], weight: float, bias: float, epochs: int, lr: float,
                       loss_fn=None, rows: slice = slice(0, N_TRAIN), zero_grad: bool = True,
                       optimizer=torch.optim.SGD, swapped: bool = False, targets: torch.Tensor | None = None,
                       data: tuple[torch.Tensor, torch.Tensor] | None = None):
    """The contract's training from the parameters ``start`` (weight, bias): returns ``(weight, bias)``.

    The keywords replay other trainings: another loss, other rows, no ``zero_grad()``,
    another optimizer (a ``torch.optim`` class, or a function of the parameters and ``lr``),
    or the data made with the line's weight and bias swapped. ``targets``: the training rows' targets as
    the learner's run made them (``Report.training_targets``), used instead of the line's on the training rows.
    ``data``: ``(X_train, y_train)`` themselves, whatever rows they are (``run_data``).
    """
    X, y = line_data(bias, weight) if swapped else line_data(weight, bias)
    X_train, y_train = X[rows], y[rows]
    if targets is not None and rows == slice(0, N_TRAIN):
        y_train = targets.reshape(y_train.shape)
    if data is not None:
        X_train, y_train = data
    w, b = (nn.Parameter(p.clone().float().reshape(1)) for p in start)
    loss_fn = loss_fn or nn.L1Loss()
    optimizer = optimizer([w, b], lr=lr)
    with torch.enable_grad():
        for _ in range(epochs):
            loss = loss_fn(w * X_train + b, y_train)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return w.item(), b.item()


def lands_on(start: list[torch.Tensor], end: list[torch.Tensor], **training) -> bool:
    """Whether ``reference_training(start, **training)`` ends at ``end`` (within 1e-4), the parameters in either order."""
    observed = [p.item() for p in end]
    for first, order in ((start, 1), (start[::-1], -1)):  # a model may declare its bias before its weight
        expected = reference_training(first, **training)[::order]
        if all(abs(o - e) <= 1e-4 for o, e in zip(observed, expected)):
            return True
    return False


def expect_replayed(recorder: Report, result, weight: float, bias: float) -> None:
    """Fail unless a replay here of the run as reported ends where ``run_workflow``'s training ended.

    From the reported starting parameters, with the reported optimizer (a ``torch.optim``
    class and its settings), number of steps and learning rate, one of the loss and data
    choices this suite knows (the contract's, the usual mistakes and their mixes) must
    end at the trained parameters, which the outputs confirm (``expect_reported_end``).
    A count, a learning rate or trained parameters written into the report by the
    learner's code then cannot pass for the real ones. The starting parameters cannot
    be checked here (a run may rightly start anywhere its seed puts it).
    """
    reported = recorder.optimizer()
    start, end = recorder.trained()
    expect_reported_end(end, result)
    steps, lrs = reported["steps"], reported["lrs"]
    assert len(lrs) == 1, (
        f"the learning rate changed during training ({', '.join(map(fmt, lrs))}): the grader "
        "can confirm only a run with one learning rate; pass `lr` to the optimizer and keep it")
    optimizer = optimizer_named(reported)
    if optimizer is not None:
        training = {"weight": weight, "bias": bias, "epochs": steps, "lr": lrs[0], "optimizer": optimizer}
        for choices in itertools.product(*KNOWN_CHOICES.values()):
            if lands_on(start, end, **training, **dict(zip(KNOWN_CHOICES, choices))):
                return
        # Rows split another way (shuffled, 70%) are the check on the recipe's to name: replayed on the rows the run
        # trained on, the steps, learning rate and parameters reported are confirmed all the same.
        data = run_data(recorder, weight, bias)
        for loss_fn, zero_grad in itertools.product(KNOWN_CHOICES["loss_fn"], KNOWN_CHOICES["zero_grad"]):
            if data is not None and lands_on(start, end, **training, loss_fn=loss_fn, zero_grad=zero_grad, data=data):
                return
    raise AssertionError(f"the grader could not confirm what it saw: {steps} steps of {reported['type']} with "
                         f"learning rate {fmt(lrs[0])} from where the optimizer started ({fmt(start[0].item())}, "
                         f"{fmt(start[1].item())}), replayed here with L1 or MSE loss, do not end where "
                         f"run_workflow's training did ({fmt(end[0].item())}, {fmt(end[1].item())}); "
                         "train as the exercise says: L1 loss, SGD, one step per epoch")


def run_data(recorder: Report, weight: float, bias: float) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The training rows of the run, as its first training loss's targets tell them: ``(X, y)``, with each X found
    from its y on the line (the data lies on it), in the run's order and number; None where no targets were seen."""
    targets = recorder.targets
    if type(targets) is not torch.Tensor or not targets.is_floating_point() or targets.numel() < 2 or weight == 0:
        return None
    y = targets.detach().reshape(-1, 1).float()
    return (y - bias) / weight, y


def optimizer_named(reported: dict):
    """A function ``(parameters, lr) -> optimizer`` that builds the reported optimizer, or None.

    Only a ``torch.optim`` class is built, with the reported settings it accepts (numbers
    and flags); anything else the report names cannot be replayed here.
    """
    kind = getattr(torch.optim, str(reported["type"]), None)
    if not (isinstance(kind, type) and issubclass(kind, torch.optim.Optimizer)):
        return None
    accepted = inspect.signature(kind).parameters
    settings = {key: tuple(value) if isinstance(value, list) else value
                for key, value in reported["settings"].items() if key in accepted and key not in ("params", "lr")}

    def build(parameters, lr):
        return kind(parameters, lr=lr, **settings)

    try:
        build([nn.Parameter(torch.zeros(1))], 0.01)  # settings it refuses: nothing to replay
    except (TypeError, ValueError, RuntimeError):
        return None
    return build


def some_line(generator: torch.Generator) -> tuple[float, float]:
    """A line far from y = 0.7x + 0.3, from its own weight and bias swapped, and from y = weight * x."""
    while True:
        weight = round((torch.rand(1, generator=generator).item() * 3 - 1.5), 3)
        bias = round((torch.rand(1, generator=generator).item() * 2 - 1), 3)
        if abs(weight - 0.7) >= 0.6 and abs(bias - 0.3) >= 0.4 and abs(weight - bias) >= 0.6 \
                and abs(bias) >= 0.4 and abs(weight) >= 0.4:
            return weight, bias


def gentle_seed(seed: int) -> int:
    """A seed at or after ``seed`` whose LinearRegressionModel starts within 2 of zero (so L1 reaches any line in time)."""
    candidate = seed
    while True:
        torch.manual_seed(candidate)
        if max(abs(torch.randn(1).item()), abs(torch.randn(1).item())) < 2:
            return candidate
        candidate += 1


def held_out_losses(start: list[torch.Tensor], end: list[torch.Tensor], weight: float,
                    bias: float) -> tuple[float, dict[str, float]]:
    """The test loss of a run from ``start`` to ``end`` (weight, bias) on the line: the L1 loss of the trained model
    on the test split, and what each usual mistake reports instead."""
    X, y = line_data(weight, bias)

    def loss(parameters, rows: slice, loss_fn=nn.functional.l1_loss) -> float:
        return loss_fn(parameters[0] * X[rows] + parameters[1], y[rows]).item()

    test = slice(N_TRAIN, N_POINTS)
    return loss(end, test), {"the L1 loss of the model before training": loss(start, test),
                             "the MSE loss on the test split": loss(end, test, nn.functional.mse_loss),
                             "the L1 loss on the training split": loss(end, slice(0, N_TRAIN)),
                             "the L1 loss on all the data": loss(end, slice(0, N_POINTS))}


def telling_seed(seed: int, weight: float, bias: float, epochs: int, lr: float, gap: float = 1e-3) -> int:
    """A seed at or after ``seed`` whose run on the line (``LinearRegressionModel`` after ``torch.manual_seed``, then
    ``epochs`` steps of L1 and SGD) reports a test loss more than ``gap`` from each usual wrong one, and they from each
    other (``held_out_losses``). From a start near the line, L1 training can swing back to exactly where it began:
    the loss before training is then the loss after it, and a file that reports it would pass."""
    candidate = seed
    while True:
        generator = torch.Generator().manual_seed(candidate)  # what torch.manual_seed(candidate) gives the model
        start = [torch.randn(1, generator=generator), torch.randn(1, generator=generator)]
        end = [torch.tensor([value]) for value in reference_training(start, weight, bias, epochs, lr)]
        right, mistaken = held_out_losses(start, end, weight, bias)
        if apart([right, *mistaken.values()], gap):
            return candidate
        candidate += 1


# -- the saved file ----------------------------------------------------------------


def load_state_dict_file(path) -> dict:
    """The saved file's contents, loaded safely on the CPU; fail if it is not a state dict."""
    path = pathlib.Path(path)
    assert path.is_file(), f"run_workflow()['model_path'] is {path}, which is not a file"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any refusal means the file is not a plain state dict
        raise AssertionError(f"torch.load(weights_only=True) cannot read the saved file ({type(exc).__name__}): "
                             "save model.state_dict(), not the model itself") from None
    assert isinstance(state, dict) and all(isinstance(value, torch.Tensor) for value in state.values()), (
        f"the saved file holds {kind_of(state)}, not a state dict of tensors: save model.state_dict()")
    return state


def expect_saved_parameters(state: dict, start: list[torch.Tensor], end: list[torch.Tensor]) -> None:
    """Fail unless the state dict holds exactly the trained parameters ``end`` (``start``: before training)."""
    values = [value.reshape(-1) for value in state.values()]
    assert len(values) == 2 and all(value.numel() == 1 for value in values), \
        f"the saved state dict holds {len(values)} tensors ({', '.join(state)}), expected the weight and the bias"
    if not all(torch.equal(v.float(), e.float()) for v, e in zip(values, end)):
        assert not all(torch.equal(v.float(), s.float()) for v, s in zip(values, start)), (
            f"the saved parameters ({fmt(values[0].item())}, {fmt(values[1].item())}) are the "
            "model's parameters from before training: save the state dict after training")
        raise AssertionError(f"the saved parameters are {fmt(values[0].item())}, {fmt(values[1].item())}, "
                             f"but the trained model ended at {fmt(end[0].item())}, {fmt(end[1].item())}: "
                             "save the state dict after training")


def files_under(folder: pathlib.Path) -> list[pathlib.Path]:
    return [pathlib.Path(root) / name for root, _, names in os.walk(folder) for name in names]
