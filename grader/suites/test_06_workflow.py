"""Hidden suite for exercise 06 (the whole workflow, device-agnostic).

The learner's file runs in a process of its own, the learner process; the checks
run here, in the judge. The checks watch what ``run_workflow`` does through
PyTorch's public hooks, never how it is spelled. Hooks see only the process they
are set in, so ``record_workflow`` runs the call in the learner process (sent
there with ``grader.checking.in_learner_process``), sets them around it, and
sends back a report of what they saw:

* a global optimizer step hook (``torch.optim.optimizer.register_optimizer_step_pre_hook``)
  sees every ``step()`` of every ``torch.optim`` optimizer: how many, with which
  learning rate, and the parameters before the first one and at the end;
* a global forward pre-hook (``torch.nn.modules.module.register_module_forward_pre_hook``)
  sees every module call (the model and the loss function) with the devices of
  its inputs and parameters;
* ``nn.Module.load_state_dict`` is wrapped to see which model the saved file is
  loaded into.

Files are looked for here, everywhere under the check's temporary folder, which
is also the working directory during the call (both processes share it).

The learner's code runs beside those hooks and could rewrite the report, so a
report decides a check only as far as the judge can check it for itself:

* the trained parameters it reports must be those ``run_workflow`` returned (or,
  where the file is not what the check judges, saved): ``expect_reported_end``;
* where a verdict rests on the report's numbers (the step count, the learning
  rate, the trained parameters of the summary), they must add up: the judge
  replays the run itself, from the reported starting parameters with the
  reported optimizer, steps and learning rate, with the contract's loss and data
  or the usual mistakes, and must land on those trained parameters
  (``expect_replayed``). The recipe check replays the contract's recipe only.

What no output shows (the devices of the tensors, which model the file was
loaded into, the parameters before training) rests on the report alone.

``get_device`` is checked by faking availability consistently through every
public way to ask (``torch.cuda.is_available``, ``torch.backends.mps.is_available``,
``torch.accelerator``...), in the learner process, so its order of preference is
checked on any machine. Arguments (the line to learn, epochs, learning rate,
seed) come from each check's ``seed``. Where a check depends on where the code
runs, it runs on the ``device`` fixture; the end-to-end CUDA check needs the
``cuda`` fixture.
"""

import inspect
import itertools
import math
import os
import pathlib

import pytest
import torch
import torch.nn.modules.module as module_hooks
import torch.optim.optimizer as optimizer_hooks
from torch import nn

from grader.checking import call_text, expect_close, fmt, in_learner_process, kind_of, steps_note

SUMMARY_KEYS = ("weight", "bias", "test_loss", "model_path", "device")
N_POINTS, N_TRAIN = 50, 40  # torch.arange(0, 1, 0.02) has 50 points; int(0.8 * 50) = 40 train


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
        self.forwards: dict[tuple, None] = {}  # (module type, has parameters, devices of inputs and parameters)
        self.loaded: list[nn.Module] = []  # modules that had load_state_dict called on them
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
            self.start[key] = cpu_copies(parameters_of(optimizer))
        self.steps[key] += 1
        self.lrs[key].update(float(group["lr"]) for group in optimizer.param_groups)

    def _before_forward(self, module, args):
        devices = [str(value.device) for value in args if isinstance(value, torch.Tensor)]
        parameters = list(module.parameters())
        devices += [str(parameter.device) for parameter in parameters]
        self.forwards[(type(module).__name__, bool(parameters), tuple(devices))] = None  # each kind of call once

    def used(self, device_type: str) -> bool:
        return any(torch.device(name).type == device_type for _, _, devices in self.forwards for name in devices)

    def report(self) -> dict:
        """What was seen, as plain data (the judge reads it as ``Report``)."""
        trained = {id(parameter) for optimizer in self.optimizers for parameter in parameters_of(optimizer)}
        return {
            "optimizers": [{"type": type(optimizer).__name__, "is_sgd": isinstance(optimizer, torch.optim.SGD),
                            "settings": settings_of(optimizer),
                            "steps": self.steps[id(optimizer)], "lrs": sorted(self.lrs[id(optimizer)]),
                            "start": self.start[id(optimizer)], "end": cpu_copies(parameters_of(optimizer)),
                            "shapes": [list(p.shape) for p in parameters_of(optimizer)],
                            "devices": [str(p.device) for p in parameters_of(optimizer)]}
                           for optimizer in self.optimizers],
            "forwards": [{"type": name, "has_parameters": has_parameters, "devices": list(devices)}
                         for name, has_parameters, devices in self.forwards],
            "loaded": [{"model": module, "fresh": not any(id(p) in trained for p in module.parameters())}
                       for module in self.loaded],
        }


def parameters_of(optimizer) -> list[torch.Tensor]:
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


class Report:
    """What ``Recorder`` saw during one run, as the learner process reported it: believe it only where checked."""

    def __init__(self, report: dict):
        self.failed_on_meta = report.get("failed_on_meta") is True
        self.optimizers: list[dict] = report.get("optimizers", [])
        self.forwards: list[dict] = report.get("forwards", [])
        self.loaded: list[dict] = report.get("loaded", [])

    def optimizer(self) -> dict:
        """The one optimizer that trained the model; fail with a message if there was none or several."""
        assert self.optimizers, (
            "no optimizer step was seen: train with torch.optim.SGD and call optimizer.step() once per epoch")
        assert len(self.optimizers) <= 1, (
            f"{len(self.optimizers)} different optimizers took steps; "
            "build one torch.optim.SGD for the model and train with it")
        return self.optimizers[0]

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

    The working directory is an empty folder in the check's temporary folder (the
    nearest existing parent of ``out_dir``), so that a file saved in the wrong
    place lands there, never in the learner's own folder.
    """
    base = next(parent for parent in pathlib.Path(out_dir).parents if parent.is_dir())
    working = base / "working_directory"
    working.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(working)  # the learner process takes on the judge's working directory at each call
    result, report = in_learner_process(learner, record_workflow, learner, out_dir, kwargs, fake_get_device)
    return result, Report(report)


def steps_taken(recorder: Report, epochs: int, what: str) -> str:
    """``"; the optimizer took 299 steps in ..., expected 300"`` when one optimizer trained and its count differs."""
    if len(recorder.optimizers) != 1:
        return ""  # none or several: the checks about the recipe say so
    return steps_note(recorder.optimizers[0]["steps"], epochs, what)


# -- in the judge: checking a report against what the judge sees ----------------------


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


def reference_training(start: list[torch.Tensor], weight: float, bias: float, epochs: int, lr: float,
                       loss_fn=None, rows: slice = slice(0, N_TRAIN), zero_grad: bool = True,
                       optimizer=torch.optim.SGD, swapped: bool = False):
    """The contract's training from the parameters ``start`` (weight, bias): returns ``(weight, bias)``.

    The keywords replay other trainings: another loss, other rows, no ``zero_grad()``,
    another optimizer (a ``torch.optim`` class, or a function of the parameters and ``lr``),
    or the data made with the line's weight and bias swapped.
    """
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = bias * X + weight if swapped else weight * X + bias
    X_train, y_train = X[rows], y[rows]
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
    raise AssertionError(f"the grader could not confirm what it saw: {steps} steps of {reported['type']} with "
                         f"learning rate {fmt(lrs[0])} from where the optimizer started ({fmt(start[0].item())}, "
                         f"{fmt(start[1].item())}), replayed here with L1 or MSE loss, do not end where "
                         f"run_workflow's training did ({fmt(end[0].item())}, {fmt(end[1].item())}); "
                         "train as the exercise says: L1 loss, SGD, one step per epoch")


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


def held_out(weight: float, bias: float):
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    return X[N_TRAIN:], weight * X[N_TRAIN:] + bias


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


# -- get_device --------------------------------------------------------------------


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


@pytest.mark.check(
    id="get_device_returns_device",
    name="get_device returns a torch.device for the best device of this machine",
    points=1,
    hint=["Return a `torch.device`, not a string: `torch.device(\"cpu\")`.",
          "Ask `torch.cuda.is_available()` (and then MPS) at call time; on a machine without a GPU "
          "the answer is the CPU."],
)
def test_get_device_returns_device(learner):
    expected = best_device_here()
    expect_device(learner.get_device(), expected.type, f"on this machine (best device: {expected.type})")


@pytest.mark.check(
    id="get_device_preference",
    name="get_device prefers CUDA, then MPS, then the CPU",
    points=2,
    hint=["Ask in order of preference: CUDA first, then MPS, and fall back to the CPU.",
          "`torch.cuda.is_available()`, then `torch.backends.mps.is_available()`, else "
          "`torch.device(\"cpu\")` (or `torch.accelerator.current_accelerator(check_available=True)`, which "
          "covers both, and None when there is neither)."],
)
def test_get_device_preference(learner):
    for cuda, mps, expected in ((True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"),
                                (False, False, "cpu")):
        # The machine is faked where get_device runs: in the learner process, for the length of the call.
        answer = in_learner_process(learner, get_device_on, learner.get_device, cuda, mps)
        has = " and ".join(name for name, present in (("CUDA", cuda), ("MPS", mps)) if present) or "no accelerator"
        expect_device(answer, expected, f"on a machine with {has}")


# -- run_workflow: what it returns and learns ----------------------------------------


@pytest.mark.check(
    id="workflow_summary",
    name="run_workflow returns the summary dict: floats, a Path and a device name",
    points=1,
    hint=["Return `{\"weight\": ..., \"bias\": ..., \"test_loss\": ..., \"model_path\": ..., \"device\": ...}`.",
          "`.item()` turns the parameters and the loss into Python floats; `pathlib.Path(...)` for the "
          "path; `str(device)` for the device."],
)
def test_workflow_summary(learner, seed, tmp_path, monkeypatch):
    result, recorder = run(learner, monkeypatch, str(tmp_path / "out"), epochs=30, seed=seed % 10_000,
                           device="cpu")
    summary = expect_summary(result)
    expect_device_named(summary, torch.device("cpu"))
    _, (weight, bias) = recorder.trained()
    expect_close(summary["weight"], weight.item(), "run_workflow()['weight']", tolerance=1e-6,
                 advice="return the trained model's weight")
    expect_close(summary["bias"], bias.item(), "run_workflow()['bias']", tolerance=1e-6,
                 advice="return the trained model's bias")
    # Those trained parameters came from the report: a replay here must confirm them.
    expect_replayed(recorder, result, weight=0.7, bias=0.3)


@pytest.mark.check(
    id="workflow_default_line",
    name="with its default arguments run_workflow learns y = 0.7x + 0.3",
    points=1,
    hint=["Keep the defaults of the signature: weight=0.7, bias=0.3, epochs=300, lr=0.01, seed=42.",
          "The lesson's run ends at weights=0.6990 and bias=0.3093; compare your numbers with it."],
)
def test_workflow_default_line(learner, tmp_path, monkeypatch):
    result, recorder = run(learner, monkeypatch, tmp_path / "out")
    summary = expect_summary(result, "weight", "bias")
    weight, bias = summary["weight"], summary["bias"]
    assert abs(weight - 0.7) <= 0.02 and abs(bias - 0.3) <= 0.02, (
        f"with the default arguments the model learned {line(weight, bias)}; expected about y = 0.7x + 0.3 "
        f"(the lesson's run gives 0.6990x + 0.3093){steps_taken(recorder, 300, 'a run with the default epochs=300')}")


@pytest.mark.check(
    id="workflow_learns_other_lines",
    name="run_workflow learns the line it is given, not only y = 0.7x + 0.3",
    points=2,
    hint=["Make the data from the `weight` and `bias` arguments, not from 0.7 and 0.3.",
          "`y = weight * X + bias`; pass `lr` to the optimizer and loop `epochs` times."],
)
def test_workflow_learns_other_lines(learner, seed, tmp_path, monkeypatch):
    weight, bias = some_line(torch.Generator().manual_seed(seed))
    arguments = {"weight": weight, "bias": bias, "epochs": 300, "lr": 0.1, "seed": gentle_seed(seed % 100_000)}
    result, recorder = run(learner, monkeypatch, tmp_path / "out", device="cpu", **arguments)
    summary = expect_summary(result, "weight", "bias")
    # L1 with a constant learning rate hops around the answer by about lr (bias) and 1.6 lr (weight).
    assert abs(summary["weight"] - weight) <= 0.25 and abs(summary["bias"] - bias) <= 0.15, (
        f"{workflow_call(arguments)} learned {line(summary['weight'], summary['bias'])}; "
        f"expected about {line(weight, bias)}{steps_taken(recorder, 300, 'that run')}")


# -- run_workflow: training as asked ---------------------------------------------------


@pytest.mark.check(
    id="workflow_honours_epochs",
    name="run_workflow trains for exactly `epochs` full-batch steps",
    points=1,
    hint=["One epoch is one optimizer step on the whole training split.",
          "Loop `for epoch in range(epochs):` with exactly one `optimizer.step()` inside."],
)
def test_workflow_honours_epochs(learner, seed, tmp_path, monkeypatch):
    epochs = 20 + seed % 41
    result, recorder = run(learner, monkeypatch, tmp_path / "out", epochs=epochs, device="cpu")
    steps = recorder.optimizer()["steps"]
    assert steps == epochs, f"with epochs={epochs} the optimizer took {steps} steps, expected {epochs}"
    expect_replayed(recorder, result, weight=0.7, bias=0.3)  # the count as reported, confirmed here


@pytest.mark.check(
    id="workflow_honours_lr",
    name="run_workflow trains with the learning rate it is given",
    points=1,
    hint=["Pass the `lr` argument to the optimizer instead of a fixed number.",
          "`torch.optim.SGD(model.parameters(), lr=lr)`."],
)
def test_workflow_honours_lr(learner, seed, tmp_path, monkeypatch):
    lr = round(0.02 + (seed % 31) / 1000, 3)
    result, recorder = run(learner, monkeypatch, tmp_path / "out", epochs=20, lr=lr, device="cpu")
    seen = recorder.optimizer()["lrs"]
    assert seen and all(math.isclose(value, lr, rel_tol=1e-9) for value in seen), \
        f"with lr={fmt(lr)} the optimizer stepped with learning rate {', '.join(map(fmt, seen))}"
    expect_replayed(recorder, result, weight=0.7, bias=0.3)  # the learning rate as reported, confirmed here


@pytest.mark.check(
    id="workflow_honours_seed",
    name="run_workflow gives the same result for the same seed, and another for another seed",
    points=1,
    hint=["Seed torch's random generator with the `seed` argument just before building the model.",
          "`torch.manual_seed(seed)` then `model = LinearRegressionModel()`: not a fixed seed, and not nowhere."],
)
def test_workflow_honours_seed(learner, seed, tmp_path, monkeypatch):
    first_seed, other_seed = seed % 10_000, seed % 10_000 + 1 + seed % 7
    outcomes = []
    for index, run_seed in enumerate((first_seed, first_seed, other_seed)):
        torch.manual_seed(seed + 1000 * index)  # whatever the global generator holds must not matter
        result, _ = run(learner, monkeypatch, tmp_path / f"out{index}", epochs=25, seed=run_seed, device="cpu")
        summary = expect_summary(result, "weight", "bias")
        outcomes.append((summary["weight"], summary["bias"]))
    assert outcomes[0] == outcomes[1], (
        f"two runs with seed={first_seed} learned different lines: {line(*outcomes[0])} and {line(*outcomes[1])}")
    assert outcomes[0] != outcomes[2], (
        f"runs with seed={first_seed} and seed={other_seed} learned the same line {line(*outcomes[0])}: "
        "the seed argument is not used")


@pytest.mark.check(
    id="workflow_training_recipe",
    name="run_workflow trains with L1 loss and SGD on the first 80% of the data",
    points=2,
    hint=["Train on the training split only (the first 80% of the rows, in order), with `nn.L1Loss()` "
          "and `torch.optim.SGD`.",
          "Each epoch: forward pass on X_train, L1 loss against y_train, `zero_grad()`, `backward()`, `step()`.",
          "`n_train = int(0.8 * len(X))`; `X[:n_train]` trains, `X[n_train:]` tests."],
)
def test_workflow_training_recipe(learner, seed, tmp_path, monkeypatch):
    generator = torch.Generator().manual_seed(seed)
    weight, bias = some_line(generator)
    # Short enough to end before the line is reached: the usual mistakes (MSE, the wrong rows, no
    # zero_grad) then move the parameters by 1e-3 or more, while any correct code matches within 1e-5.
    arguments = {"weight": weight, "bias": bias, "epochs": 40 + seed % 21,
                 "lr": round(0.02 + torch.rand(1, generator=generator).item() * 0.02, 3), "seed": seed % 10_000}
    result, recorder = run(learner, monkeypatch, tmp_path / "out", device="cpu", **arguments)
    optimizer = recorder.optimizer()
    assert optimizer["is_sgd"], f"the model was trained with {optimizer['type']}; use torch.optim.SGD"
    start, end = recorder.trained()
    expect_reported_end(end, result)  # so the replay below is compared with what the run gave back
    observed = (end[0].item(), end[1].item())
    training = {key: arguments[key] for key in ("weight", "bias", "epochs", "lr")}
    if lands_on(start, end, **training):  # the contract's recipe, replayed here, ends where the run did
        return
    expected = reference_training(start, **training)
    for mistake, variant in MISTAKES.items():
        guess = reference_training(start, **training, **variant)
        assert not all(abs(o - g) <= 1e-4 for o, g in zip(observed, guess)), (
            f"{workflow_call(arguments)} ended at parameters "
            f"{fmt(observed[0])}, {fmt(observed[1])}, which is what training {mistake} gives; "
            f"L1 and SGD on the training split give {fmt(expected[0])}, {fmt(expected[1])}")
    raise AssertionError(f"{workflow_call(arguments)} ended at parameters {fmt(observed[0])}, "
                         f"{fmt(observed[1])}; from the same start, L1 and SGD on the training split give "
                         f"{fmt(expected[0])}, {fmt(expected[1])}"
                         f"{steps_taken(recorder, arguments['epochs'], 'that run')}")


@pytest.mark.check(
    id="workflow_test_loss",
    name="run_workflow reports the trained model's L1 loss on the test split",
    points=1,
    hint=["Evaluate after training, on the test split (the last 20% of the rows).",
          "In evaluation mode and inside `torch.inference_mode()`: `loss_fn(model(X_test), y_test).item()`."],
)
def test_workflow_test_loss(learner, seed, tmp_path, monkeypatch):
    weight, bias = some_line(torch.Generator().manual_seed(seed))
    result, recorder = run(learner, monkeypatch, tmp_path / "out", weight=weight, bias=bias, epochs=40,
                           lr=0.05, seed=seed % 10_000, device="cpu")
    summary = expect_summary(result, "test_loss")
    _, (w, b) = recorder.trained()
    expect_reported_end([w, b], result)
    X_test, y_test = held_out(weight, bias)
    expected = nn.functional.l1_loss(w * X_test + b, y_test).item()
    expect_close(summary["test_loss"], expected, "run_workflow()['test_loss']", tolerance=1e-5,
                 advice="it should be the L1 loss of the trained model on the test split")


# -- run_workflow: devices ---------------------------------------------------------------


@pytest.mark.check(
    id="workflow_device",
    name="run_workflow keeps model and data on the device it is given (str, torch.device or the default)",
    points=2,
    hint=["Turn the argument into one device first: `get_device()` when it is None, else `torch.device(device)`.",
          "Move the model and every tensor with `.to(device)`; report `str(device)` in the summary."],
)
def test_workflow_device(learner, device, tmp_path, monkeypatch):
    for index, (given, expected) in enumerate(((device, device), (str(device), device),
                                               (None, best_device_here()))):
        result, recorder = run(learner, monkeypatch, tmp_path / f"out{index}", epochs=15, device=given)
        what = f"with device={given!r}" if given is not None else "with the default device"
        recorder.expect_on(expected, what)
        expect_device_named(result, expected)


@pytest.mark.check(
    id="workflow_uses_given_device",
    name="run_workflow uses the device it is given rather than asking get_device()",
    points=1,
    hint=["`get_device()` is only the default, for when no device is given.",
          "`device = get_device() if device is None else torch.device(device)`."],
)
def test_workflow_uses_given_device(learner, tmp_path, monkeypatch):
    # get_device() answers 'meta' during this run (record_workflow fakes it in the learner process).
    result, recorder = run(learner, monkeypatch, tmp_path / "out", fake_get_device=True, epochs=15, device="cpu")
    assert not recorder.failed_on_meta, (
        "with device='cpu' given, run_workflow used the answer of get_device() instead "
        "(faked here as 'meta', a device that holds no data, so the run failed)")
    recorder.expect_on(torch.device("cpu"), "with device='cpu' (and get_device() faked to answer 'meta')")
    expect_device_named(result, torch.device("cpu"))


@pytest.mark.check(
    id="workflow_runs_on_cuda",
    name="run_workflow(device=\"cuda\") runs every step on the GPU",
    points=2,
    hint=["Every tensor the model sees, and the model itself, must be on the GPU: move each with `.to(device)`.",
          "Load the saved file with `map_location=device` into a fresh model, and move that model too."],
)
def test_workflow_runs_on_cuda(cuda, learner, tmp_path, monkeypatch):
    # `cuda` comes first: pytest sets fixtures up in this order, so on a machine without CUDA the check
    # is skipped before the learner's file is even looked at. Every file then has the same maximum
    # score here, stubs and files that cannot be imported included.
    result, recorder = run(learner, monkeypatch, tmp_path / "out", device="cuda")
    recorder.expect_on(cuda, "with device='cuda'")
    expect_device_named(result, cuda)
    summary = expect_summary(result, "weight", "bias")
    assert abs(summary["weight"] - 0.7) <= 0.02 and abs(summary["bias"] - 0.3) <= 0.02, (
        f"on the GPU the model learned {line(summary['weight'], summary['bias'])}; expected about y = 0.7x + 0.3")
    start, end = recorder.trained()
    expect_reported_end(end, result, saved=False)  # the file is judged next
    saved = load_state_dict_file(model_path_of(result))
    expect_saved_parameters(saved, start, end)
    expect_reloaded(recorder, result, cuda)


# -- run_workflow: saving and loading ------------------------------------------------------


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


def files_under(folder: pathlib.Path) -> list[pathlib.Path]:
    return [pathlib.Path(root) / name for root, _, names in os.walk(folder) for name in names]


@pytest.mark.check(
    id="workflow_saves_state_dict",
    name="run_workflow saves the state dict under out_dir (creating it), and nothing anywhere else",
    points=2,
    hint=["Create the folder first (`mkdir(parents=True, exist_ok=True)`) and save inside it, not in the "
          "current directory.",
          "`torch.save(model.state_dict(), path)` with `path` inside `out_dir`; return that path as a `pathlib.Path`."],
)
def test_workflow_saves_state_dict(learner, tmp_path, monkeypatch):
    out_dir = tmp_path / "results" / "run 1"  # two levels that do not exist yet, given as a str
    result, _ = run(learner, monkeypatch, str(out_dir), epochs=15, device="cpu")
    path = model_path_of(result)
    assert out_dir.is_dir(), f"run_workflow did not create the folder out_dir ({out_dir.relative_to(tmp_path)})"
    elsewhere = [path.relative_to(tmp_path) for path in files_under(tmp_path)
                 if out_dir not in path.parents]
    assert not elsewhere, f"run_workflow wrote {', '.join(map(str, elsewhere))} outside out_dir"
    assert out_dir.resolve() in path.resolve().parents, \
        f"model_path is {path}, which is not inside out_dir ({out_dir})"
    load_state_dict_file(path)


@pytest.mark.check(
    id="workflow_saved_model_matches",
    name="the saved file holds the trained parameters",
    points=1,
    hint=["Save after training, so the file holds the learned numbers.",
          "`torch.save(model.state_dict(), model_path)` after the training loop and the evaluation."],
)
def test_workflow_saved_model_matches(learner, seed, tmp_path, monkeypatch):
    result, recorder = run(learner, monkeypatch, tmp_path / "out", epochs=15, seed=seed % 10_000, device="cpu")
    start, end = recorder.trained()
    expect_reported_end(end, result, saved=False)  # confirmed by what it returned: the file is what is judged here
    expect_saved_parameters(load_state_dict_file(model_path_of(result)), start, end)


@pytest.mark.check(
    id="workflow_reloads",
    name="run_workflow loads the file into a fresh model that predicts exactly like the trained one",
    points=1,
    hint=["Step 6: build a new model, load the saved state dict into it, and compare its predictions.",
          "`loaded = LinearRegressionModel()`, then `loaded.load_state_dict(torch.load(model_path, "
          "map_location=device, weights_only=True))` and `loaded.to(device)`."],
)
def test_workflow_reloads(learner, seed, tmp_path, monkeypatch, device):
    result, recorder = run(learner, monkeypatch, tmp_path / "out", epochs=15, seed=seed % 10_000, device=device)
    expect_reloaded(recorder, result, device)
