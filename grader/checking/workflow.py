"""Exercise 06's suite: run_workflow watched from inside the learner process, and the report the judge reads."""

from __future__ import annotations

import math
import pathlib

import pytest
import torch
import torch.nn.modules.module as module_hooks
import torch.optim.optimizer as optimizer_hooks
from torch import nn

from grader.checking.learner_process import in_learner_process
from grader.checking.text import fmt, kind_of
from grader.checking.training import steps_note
from grader.checking.workflow_replay import N_TRAIN, agree, expect_reported_end, saved_parameters


# -- in the learner process: observing a run ------------------------------------------
# These run where the learner's code runs (sent there by name), so they see what it does. What they send back
# is plain data: numbers, strings, tensors, lists and dicts, and the learner's models (as mirrors).


class Recorder:
    """Records optimizer steps, module calls and ``load_state_dict`` calls made while it is active."""

    def __init__(self):
        self.optimizers: list = []  # each optimizer that stepped, in order of its first step
        self.steps: dict[int, int] = {}  # id(optimizer) -> number of steps
        self.lrs: dict[int, set] = {}  # id(optimizer) -> learning rates seen at its steps
        self.start: dict[int, list] = {}  # id(optimizer) -> parameters before its first step
        self.when: dict[int, list] = {}  # id(optimizer) -> [its first step, its last step], counting all steps
        self.taken = 0  # steps of all optimizers
        self.forwards: dict[tuple, None] = {}  # (module type, has parameters, devices of inputs and parameters)
        self.loaded: list[nn.Module] = []  # modules that had load_state_dict called on them
        self.targets = None  # the targets of the last loss module called before the first optimizer step
        self.handles = []
        self.original_load_state_dict = nn.Module.__dict__["load_state_dict"]

    def __enter__(self):
        self.handles = [optimizer_hooks.register_optimizer_step_pre_hook(self._before_step),
                        module_hooks.register_module_forward_pre_hook(self._before_forward)]
        original, loaded = self.original_load_state_dict, self.loaded

        def load_state_dict(module, *args, **kwargs):
            loaded.append(module)
            return original(module, *args, **kwargs)

        nn.Module.load_state_dict = load_state_dict
        return self

    def __exit__(self, *exc_info):
        nn.Module.load_state_dict = self.original_load_state_dict
        for handle in self.handles:
            handle.remove()
        return False

    def _before_step(self, optimizer, args, kwargs):
        key = id(optimizer)
        if key not in self.steps:
            self.optimizers.append(optimizer)
            self.steps[key], self.lrs[key] = 0, set()
            self.start[key] = cpu_copies(optimizer_parameters(optimizer))
            self.when[key] = [self.taken, self.taken]
        self.when[key][1] = self.taken
        self.steps[key] += 1
        self.taken += 1
        self.lrs[key].update(float(group["lr"]) for group in optimizer.param_groups)

    def _before_forward(self, module, args):
        if not self.steps and isinstance(module, nn.modules.loss._Loss) and len(args) >= 2 \
                and all(isinstance(value, torch.Tensor) for value in args[:2]):
            # The training loss of the first epoch, once it steps. The targets are what carries no gradient:
            # L1 is symmetric, and loss_fn(y_train, predictions) trains the same.
            target = args[0] if args[1].requires_grad and not args[0].requires_grad else args[1]
            self.targets = cpu_copies([target])[0]
        devices = [str(value.device) for value in args if isinstance(value, torch.Tensor)]
        parameters = list(module.parameters())
        devices += [str(parameter.device) for parameter in parameters]
        self.forwards[(type(module).__name__, bool(parameters), tuple(devices))] = None  # each kind of call once

    def used(self, device_type: str) -> bool:
        return any(torch.device(name).type == device_type for _, _, devices in self.forwards for name in devices)

    def report(self) -> dict:
        """What was seen, as plain data (the judge reads it as ``Report``)."""
        trained = {id(parameter) for optimizer in self.optimizers for parameter in optimizer_parameters(optimizer)}
        return {
            "optimizers": [{"type": type(optimizer).__name__, "is_sgd": isinstance(optimizer, torch.optim.SGD),
                            "settings": settings_of(optimizer),
                            "steps": self.steps[id(optimizer)], "lrs": sorted(self.lrs[id(optimizer)]),
                            "when": self.when[id(optimizer)],
                            "parameters": [id(p) for p in optimizer_parameters(optimizer)],
                            "start": self.start[id(optimizer)], "end": cpu_copies(optimizer_parameters(optimizer)),
                            "shapes": [list(p.shape) for p in optimizer_parameters(optimizer)],
                            "devices": [str(p.device) for p in optimizer_parameters(optimizer)]}
                           for optimizer in self.optimizers],
            "forwards": [{"type": name, "has_parameters": has_parameters, "devices": list(devices)}
                         for name, has_parameters, devices in self.forwards],
            "loaded": [{"model": module, "fresh": not any(id(p) in trained for p in module.parameters())}
                       for module in self.loaded],
            "targets": self.targets,
        }


def optimizer_parameters(optimizer) -> list[torch.Tensor]:
    return [parameter for group in optimizer.param_groups for parameter in group["params"]]


def settings_of(optimizer) -> dict:
    """The optimizer's numeric settings (momentum, betas, weight_decay...) as its first parameter group holds them."""
    group = optimizer.param_groups[0]
    return {key: list(value) if isinstance(value, tuple) else value for key, value in group.items()
            if key not in ("params", "lr") and (type(value) in (bool, int, float) or isinstance(value, tuple)
                                                and all(type(item) in (int, float) for item in value))}


def cpu_copies(tensors) -> list:
    """Copies on the CPU; None for a meta tensor, which has no numbers to copy (only a wrong run gets there)."""
    return [None if t.is_meta else t.detach().to("cpu", copy=True) for t in tensors]


def record_workflow(module, out_dir, arguments: dict, fake_get_device: bool = False):
    """``run_workflow(out_dir, **arguments)`` while a Recorder records; returns ``(result, report)``.

    Runs in the learner process (``module`` is the learner's module there). With ``fake_get_device``, the
    module's ``get_device`` answers "meta" during the call, a device with no data at all: using it fails or
    shows. A run that then fails after asking for it and using it returns ``(None, {"failed_on_meta": True})``.
    """
    asked = []

    def get_device():
        asked.append(True)
        return torch.device("meta")

    original = module.get_device if fake_get_device else None
    if fake_get_device:
        module.get_device = get_device
    recorder = Recorder()
    try:
        with recorder:
            result = module.run_workflow(out_dir, **arguments)
    except Exception:
        if not (asked and recorder.used("meta")):
            raise  # the learner's own error, reported as it is
        return None, {"failed_on_meta": True}
    finally:
        if fake_get_device:
            module.get_device = original
    return result, recorder.report()


def get_device_on(get_device, cuda: bool, mps: bool):
    """``get_device()`` on a machine faked to have ``cuda`` and/or ``mps``; runs in the learner process."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_machine(monkeypatch, cuda, mps)
        return get_device()


def fake_machine(monkeypatch, cuda: bool, mps: bool) -> None:
    """Make every public way of asking for an accelerator agree that this machine has ``cuda`` and/or ``mps``."""
    accelerator = torch.device("cuda") if cuda else torch.device("mps") if mps else None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: int(cuda))
    if cuda and not torch.cuda.is_initialized():  # which GPU, and its name, as a learner may ask or print
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a GPU the grader pretends is here")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: mps)
    if hasattr(torch, "mps"):
        for name, value in (("is_available", lambda: mps), ("device_count", lambda: int(mps))):
            if hasattr(torch.mps, name):
                monkeypatch.setattr(torch.mps, name, value)
    if hasattr(torch, "accelerator"):
        monkeypatch.setattr(torch.accelerator, "is_available", lambda: accelerator is not None)
        monkeypatch.setattr(torch.accelerator, "current_accelerator",
                            lambda check_available=False: accelerator)
        monkeypatch.setattr(torch.accelerator, "device_count", lambda: int(accelerator is not None))


# -- in the judge: what the learner process reported ---------------------------------


def chained(optimizers: list) -> list:
    """``optimizers`` as one where they are one after the other (each stepped only after the one before had taken
    its last step), of the same kind and settings, holding the same parameters: a new optimizer built every epoch.
    For plain SGD that trains the same; it costs the check on the recipe (``Report.built``), not every check that
    reads the optimizer's steps."""
    if type(optimizers) is not list or len(optimizers) < 2 or not all(type(each) is dict for each in optimizers):
        return optimizers
    first = optimizers[0]
    keys = ("type", "settings", "shapes", "devices", "parameters")
    try:
        alike = all(each[key] == first[key] for each in optimizers for key in keys)
        in_turn = all(int(before["when"][1]) < int(after["when"][0]) for before, after in zip(optimizers, optimizers[1:]))
        steps = sum(int(each["steps"]) for each in optimizers)
        lrs = sorted({float(lr) for each in optimizers for lr in each["lrs"]})
    except (KeyError, IndexError, TypeError, ValueError):
        return optimizers
    if not (alike and in_turn):
        return optimizers
    return [{**first, "steps": steps, "lrs": lrs, "end": optimizers[-1].get("end")}]


class Report:
    """What ``Recorder`` saw during one run, as the learner process reported it: believe it only where checked."""

    def __init__(self, report: dict):
        self.failed_on_meta = report.get("failed_on_meta") is True
        seen = report.get("optimizers", [])
        self.built = len(seen) if isinstance(seen, list) else 0  # how many optimizers took steps
        self.optimizers: list[dict] = chained(seen)
        self.forwards: list[dict] = report.get("forwards", [])
        self.loaded: list[dict] = report.get("loaded", [])
        self.targets = report.get("targets")

    def optimizer(self) -> dict:
        """The one optimizer that trained the model; fail with a message if there was none or several."""
        assert self.optimizers, (
            "no optimizer step was seen: train with torch.optim.SGD and call optimizer.step() once per epoch")
        assert len(self.optimizers) <= 1, (
            f"{len(self.optimizers)} different optimizers took steps; "
            "build one torch.optim.SGD for the model and train with it")
        return self.optimizers[0]

    def training_targets(self) -> torch.Tensor | None:
        """The targets the run's training loss was first computed against, if they were one number for each of
        the first 80% of the rows (``N_TRAIN``); None otherwise, or where no loss module was seen.

        A replay with these checks the recipe whatever data the run made: the data has checks of its own. With
        the line's own targets, wrong data ended where the right data did or elsewhere depending on the line
        drawn, since L1's steps depend only on which side of each target the predictions are.
        """
        targets = self.targets
        if type(targets) is not torch.Tensor or targets.numel() != N_TRAIN or not targets.is_floating_point():
            return None
        return targets.float()

    def trained(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(start, end)``: the trained parameters before the first step and at the end, flattened, on the CPU."""
        optimizer = self.optimizer()
        if len(optimizer["shapes"]) != 2 or any(math.prod(shape) != 1 for shape in optimizer["shapes"]):
            shapes = ", ".join(str(shape) for shape in optimizer["shapes"])
            raise AssertionError(f"the optimizer held parameters of shapes {shapes}; expected the model's two "
                                 "one-number parameters (the weight, then the bias)")
        start, end = optimizer["start"], optimizer["end"]
        assert not any(type(p) is not torch.Tensor for p in [*start, *end]), (
            f"the trained parameters were on {', '.join(optimizer['devices'])}, with no numbers "
            "in them: keep the model on the device the run is given")
        return [p.reshape(1) for p in start], [p.reshape(1) for p in end]

    def expect_on(self, device: torch.device, what: str) -> None:
        """Fail unless every model call had its inputs and parameters on ``device``, and the trained parameters too."""
        assert self.forwards, f"{what}: no model was ever called"
        for call in self.forwards:
            if not call["has_parameters"]:
                continue  # a loss function: where it runs is the learner's choice, as long as it runs
            wrong = sorted({name for name in call["devices"] if torch.device(name).type != device.type})
            assert not wrong, (
                f"{what}: {call['type']} was called with tensors on "
                f"{', '.join(wrong)}, expected everything on {device.type}")
        for name in self.optimizer()["devices"]:
            assert torch.device(name).type == device.type, (
                f"{what}: the trained parameters were on {name}, expected {device.type}")


def run(learner, monkeypatch, out_dir, fake_get_device: bool = False, **kwargs) -> tuple[object, Report]:
    """Call ``run_workflow(out_dir, **kwargs)`` in the learner process while recording; return ``(result, report)``.

    The run happens in ``work_beside`` ``out_dir``.
    """
    work_beside(out_dir, monkeypatch)
    result, report = in_learner_process(learner, record_workflow, learner, out_dir, kwargs, fake_get_device)
    return result, Report(report)


def work_beside(out_dir, monkeypatch) -> None:
    """Make the working directory an empty folder in the check's temporary folder (the nearest existing parent of
    ``out_dir``), so that a file a run saves in the wrong place lands there, never in the learner's own folder.
    The learner process takes on the judge's working directory at each call."""
    base = next(parent for parent in pathlib.Path(out_dir).parents if parent.is_dir())
    working = base / "working_directory"
    working.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(working)


def steps_taken(recorder: Report, epochs: int, what: str) -> str:
    """``"; the optimizer took 299 steps in ..., expected 300"`` when one optimizer trained and its count differs."""
    if len(recorder.optimizers) != 1:
        return ""  # none or several: the checks about the recipe say so
    return steps_note(recorder.optimizers[0]["steps"], epochs, what)


# -- in the judge: what get_device answered, and the model the saved file was loaded into -----------


def best_device_here() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def expect_device(value, expected: str, situation: str) -> None:
    if type(value) is not torch.device:
        advice = f" (wrap it: torch.device({value!r}))" if isinstance(value, str) else ""
        raise AssertionError(f"{situation}, get_device returned {kind_of(value)}, not a torch.device{advice}")
    assert value.type == expected and value.index in (None, 0), (
        f"{situation}, get_device returned {value}, expected {expected}")


def expect_reloaded(recorder: Report, result, device: torch.device) -> None:
    """Fail unless a fresh model had the file loaded into it and now predicts what the trained model predicts.

    The reloaded model comes back from the learner process as a mirror: its parameters are
    copies, its forward pass runs there. Which model the file was loaded into rests on the
    report; the numbers it holds are compared here with the file itself.
    """
    recorder.optimizer()
    fresh = [entry["model"] for entry in recorder.loaded if entry["fresh"]]
    if not fresh:
        assert not recorder.loaded, (
            "the state dict was loaded back into the trained model itself; load it into a "
            "fresh model, to prove the file alone is enough")
        raise AssertionError("no model had load_state_dict() called on it: load the saved file into a fresh model")
    model = fresh[-1]
    parameters = list(model.parameters())
    wrong = sorted({str(p.device) for p in parameters if p.device.type != device.type})
    assert not wrong, f"the reloaded model is on {', '.join(wrong)}, expected {device.type}"
    _, (w, b) = recorder.trained()
    expect_reported_end([w, b], result, saved=False)  # the file is part of what is judged here
    X_test = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)[N_TRAIN:]
    with torch.no_grad():
        predictions = model(X_test.to(parameters[0].device if parameters else device))
    expected = w * X_test + b
    assert type(predictions) is torch.Tensor and predictions.shape == expected.shape, (
        f"the reloaded model returned {kind_of(predictions)} for 10 test inputs, expected a tensor of shape [10, 1]")
    difference = (predictions.detach().cpu().float() - expected).abs().max().item()
    assert difference <= 1e-6, (
        f"the reloaded model's predictions differ from the trained model's by up to {fmt(difference)}")
    held = [p.detach().cpu().reshape(-1) for p in parameters]
    saved = saved_parameters(result)
    if saved is not None and len(held) == 2 and all(p.numel() == 1 for p in held):
        assert agree([p.item() for p in held], saved), (
            f"the reloaded model holds {fmt(held[0].item())}, {fmt(held[1].item())}, but the saved file holds "
            f"{fmt(saved[0])}, {fmt(saved[1])}: load the file you saved")
