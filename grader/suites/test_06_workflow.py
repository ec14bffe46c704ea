"""Hidden suite for exercise 06 (the whole workflow, device-agnostic).

The learner's file runs in a process of its own, the learner process; the checks
run here, in the judge. The checks watch what ``run_workflow`` does through
PyTorch's public hooks, never how it is spelled. Hooks see only the process they
are set in, so ``record_workflow`` (``grader.checking.workflow``) runs the call in
the learner process (sent there with ``grader.checking.in_learner_process``), sets
them around it, and sends back a report of what they saw:

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
  (``expect_replayed``, in ``grader.checking.workflow_replay``). The recipe
  check replays the contract's recipe only.

What no output shows (the devices of the tensors, which model the file was
loaded into, the parameters before training) rests on the report alone. So does
the state the test loss was measured in: ``watch_evaluation`` (here) adds a global
forward hook that notes, for each loss-module call, whether it tracked gradients
and the mode of the model whose output it took; the call whose value is the
returned test loss is judged.

The default device is checked on the machine faked once more, with MPS and no
CUDA (``run_on_mps_machine``): a run told nothing about its device must try MPS
(and fail off a Mac), not complete on a device fixed in the code.

``get_device`` is checked by faking availability consistently through every
public way to ask (``torch.cuda.is_available``, ``torch.backends.mps.is_available``,
``torch.accelerator``...), in the learner process, so its order of preference is
checked on any machine. Arguments (the line to learn, epochs, learning rate,
seed) come from each check's ``seed``. Where a check depends on where the code
runs, it runs on the ``device`` fixture; the end-to-end CUDA check needs the
``cuda`` fixture.
"""

import math

import pytest
import torch
import torch.nn.modules.module as module_hooks
from torch import nn

from grader.checking import expect_close, fmt, in_learner_process, matching_value
from grader.checking.workflow import (Report, best_device_here, expect_device, expect_reloaded, fake_machine,
                                      get_device_on, record_workflow, run, steps_taken, work_beside)
from grader.checking.workflow_replay import (MISTAKES, N_POINTS, N_TRAIN, expect_device_named, expect_replayed,
                                             expect_reported_end, expect_saved_parameters, expect_summary, files_under,
                                             gentle_seed, held_out_losses, lands_on, line, line_data,
                                             load_state_dict_file, model_path_of, reference_training, some_line,
                                             telling_seed, workflow_call)


# -- get_device --------------------------------------------------------------------


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
          "Build the optimizer once, before the loop; each epoch: forward pass on X_train, L1 loss against "
          "y_train, `zero_grad()`, `backward()`, `step()`.",
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
    assert recorder.built == 1, (
        f"a new optimizer was built {recorder.built} times in one run, one after the other (one each epoch?): build "
        "the torch.optim.SGD once, before the loop; a new one each epoch starts from nothing (with momentum or Adam "
        "it would forget what it had gathered)")
    start, end = recorder.trained()
    expect_reported_end(end, result)  # so the replay below is compared with what the run gave back
    observed = (end[0].item(), end[1].item())
    # Replayed on the targets the run trained with: wrong data costs the checks on data, not this one.
    training = {**{key: arguments[key] for key in ("weight", "bias", "epochs", "lr")},
                "targets": recorder.training_targets()}
    # Landing where the replay ends proves the recipe only with one step an epoch: a run that reaches the line
    # swings between the same points from then on, so a longer run can end where this one does.
    if optimizer["steps"] == arguments["epochs"]:
        if lands_on(start, end, **training):  # the contract's recipe, replayed here, ends where the run did
            return
        if training["targets"] is not None and lands_on(start, end, **{**training, "targets": None}):
            return  # the same on the line's own data (targets taken from another loss than the training one)
    expected = reference_training(start, **training)
    for mistake, variant in MISTAKES.items():
        guess = reference_training(start, **training, **variant)
        assert not all(abs(o - g) <= 1e-4 for o, g in zip(observed, guess)), (
            f"{workflow_call(arguments)} ended at parameters "
            f"{fmt(observed[0])}, {fmt(observed[1])}, which is what training {mistake} gives; "
            f"L1 and SGD on the training split give {fmt(expected[0])}, {fmt(expected[1])}")
    split = split_mistake(recorder.targets, arguments["weight"], arguments["bias"])
    if split:  # named first: a message is cut after a few lines
        raise AssertionError(f"{workflow_call(arguments)} {split}; it ended at parameters {fmt(observed[0])}, "
                             f"{fmt(observed[1])}, where L1 and SGD on the training split give {fmt(expected[0])}, "
                             f"{fmt(expected[1])}")
    raise AssertionError(f"{workflow_call(arguments)} ended at parameters {fmt(observed[0])}, "
                         f"{fmt(observed[1])}; from the same start, L1 and SGD on the training split give "
                         f"{fmt(expected[0])}, {fmt(expected[1])}"
                         f"{steps_taken(recorder, arguments['epochs'], 'that run')}")


def split_mistake(targets, weight: float, bias: float) -> str:
    """What was wrong with the targets of the run's first training loss, where they were not the training split's
    (the first 80% of the line's rows, in order); "" where they were, or where no loss was seen."""
    if type(targets) is not torch.Tensor or not targets.is_floating_point():
        return ""
    if targets.numel() != N_TRAIN:
        return (f"trained on {targets.numel()} rows; the training split is the first 80% of the 50, {N_TRAIN} rows "
                "(`n_train = int(0.8 * len(X))`)")
    expected = line_data(weight, bias)[1][:N_TRAIN].reshape(-1)
    if torch.allclose(targets.reshape(-1).float(), expected, atol=1e-5):
        return ""
    return (f"trained on other rows than the first {N_TRAIN} of y = weight * X + bias, in order: make X with "
            "torch.arange(0, 1, 0.02) and split it without shuffling (`X[:n_train]` trains)")


@pytest.mark.check(
    id="workflow_test_loss",
    name="run_workflow reports the trained model's L1 loss on the test split, in evaluation mode without gradients",
    points=1,
    hint=["Evaluate after training, on the test split (the last 20% of the rows), with the model in evaluation "
          "mode and gradient tracking off.",
          "`model.eval()`, then inside `with torch.inference_mode():` (or `torch.no_grad()`) "
          "`loss_fn(model(X_test), y_test).item()`."],
)
def test_workflow_test_loss(learner, seed, tmp_path, monkeypatch):
    weight, bias = some_line(torch.Generator().manual_seed(seed))
    # A run seed whose right test loss is far from every usual wrong one (L1 training from near the line can end
    # where it started, and the loss before training would then pass).
    result, recorder, evaluations = run_watching_evaluation(
        learner, monkeypatch, tmp_path / "out", weight=weight, bias=bias, epochs=40, lr=0.05,
        seed=telling_seed(seed % 10_000, weight, bias, 40, 0.05), device="cpu")
    summary = expect_summary(result, "test_loss")
    start, end = recorder.trained()
    expect_reported_end(end, result)
    expected, mistaken = held_out_losses(start, end, weight, bias)
    mistake = matching_value(summary["test_loss"], mistaken)
    expect_close(summary["test_loss"], expected, "run_workflow()['test_loss']", tolerance=1e-5,
                 advice=f"{f'that is {mistake}; ' if mistake else ''}it should be the L1 loss of the trained model "
                        "on the test split")
    expect_evaluated_without_training(evaluations, summary["test_loss"])


def watch_evaluation(module, out_dir, arguments: dict):
    """``record_workflow`` while also noting each loss-module call; runs in the learner process.

    For each call of a loss module: its value (when it is one number), whether its output tracks gradients, and
    for each input that a module with parameters returned during the run, whether that module was in training
    mode and tracking gradients then. Returns ``(result, report, evaluations)``.
    """
    produced, evaluations = {}, []

    def after_forward(called, args, output):
        if isinstance(called, nn.modules.loss._Loss):
            inputs = [produced.get(id(value)) for value in args[:2] if isinstance(value, torch.Tensor)]
            if isinstance(output, torch.Tensor) and output.numel() == 1:
                evaluations.append({"value": output.item(), "tracks_gradients": bool(output.requires_grad),
                                    "models": [entry[1:] for entry in inputs if entry is not None]})
        elif isinstance(output, torch.Tensor) and any(True for _ in called.parameters()) and output.dim() >= 1 \
                and len(output) == N_TEST:
            # Kept with the tensor itself, so that its id is not reused while the run goes on.
            produced[id(output)] = (output, bool(called.training), bool(torch.is_grad_enabled()))

    handle = module_hooks.register_module_forward_hook(after_forward)
    try:
        result, report = record_workflow(module, out_dir, arguments)
    finally:
        handle.remove()
    return result, report, evaluations


def run_watching_evaluation(learner, monkeypatch, out_dir, **kwargs):
    """``run`` (``grader.checking.workflow``), also watching how the loss modules were called (``watch_evaluation``)."""
    work_beside(out_dir, monkeypatch)
    result, report, evaluations = in_learner_process(learner, watch_evaluation, learner, out_dir, kwargs)
    return result, Report(report), evaluations


N_TEST = N_POINTS - N_TRAIN  # the test split: the last 10 of torch.arange(0, 1, 0.02)'s 50 rows


def expect_evaluated_without_training(evaluations, test_loss: float) -> None:
    """Fail when the loss call that gave the returned test loss ran with gradient tracking on, or on the output of
    the model in training mode. Loss calls are told apart by their value; a test loss computed without a loss
    module (or from a tensor the record cannot trace) gives no evidence, and passes."""
    if type(evaluations) is not list:
        return
    calls = [entry for entry in evaluations if isinstance(entry, dict) and type(entry.get("value")) is float
             and entry["value"] == test_loss]
    if not calls or any(not entry.get("tracks_gradients") and all(
            type(model) in (list, tuple) and len(model) == 2 and not model[0] and not model[1]
            for model in entry.get("models", [])) for entry in calls):
        return
    call = calls[-1]
    models = [model for model in call.get("models", []) if type(model) in (list, tuple) and len(model) == 2]
    problems = []
    if any(model[0] for model in models):
        problems.append("the model was in training mode (call `model.eval()` first)")
    if call.get("tracks_gradients") or any(model[1] for model in models):
        problems.append("gradient tracking was on (evaluate inside `with torch.inference_mode():` or "
                        "`torch.no_grad()`)")
    if problems:
        raise AssertionError("the test loss run_workflow returned was computed while " + " and ".join(problems)
                             + ": step 4 evaluates in evaluation mode, without gradient tracking")


# -- run_workflow: devices ---------------------------------------------------------------


@pytest.mark.check(
    id="workflow_device",
    name="run_workflow keeps model and data on the device it is given (str, torch.device or the default)",
    points=2,
    hint=["Turn the argument into one device first: `get_device()` when it is None, else `torch.device(device)`; "
          "never a fixed device such as \"cpu\".",
          "Move the model and every tensor with `.to(device)`; report `str(device)` in the summary."],
)
def test_workflow_device(learner, device, tmp_path, monkeypatch):
    for index, (given, expected) in enumerate(((device, device), (str(device), device),
                                               (None, best_device_here()))):
        result, recorder = run(learner, monkeypatch, tmp_path / f"out{index}", epochs=15, device=given)
        what = f"with device={given!r}" if given is not None else "with the default device"
        recorder.expect_on(expected, what)
        expect_device_named(result, expected)
    expect_default_follows_machine(learner, tmp_path / "out_mps", monkeypatch)


def run_on_mps_machine(module, out_dir, arguments: dict):
    """``record_workflow`` on a machine faked to have MPS and no CUDA; runs in the learner process.

    Returns ``(devices, report)``: the names of the devices the run may rightly use there besides MPS, and the
    run's report, or None when the run raised (off a Mac, a run that moves anything to MPS fails, which is what
    the check expects of a run told nothing about its device). Those devices are what the learner's
    ``get_device()`` answers there (a wrong answer costs get_device's own checks), and the devices the file's
    module holds (``device = get_device()`` at the top of the file, as the lesson suggests, was asked at import,
    on the real machine).
    """
    devices = []
    for value in list(vars(module).values()):
        if isinstance(value, (str, torch.device)):
            try:
                devices.append(str(torch.device(value)))
            except (RuntimeError, TypeError, ValueError):
                pass
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_machine(monkeypatch, cuda=False, mps=True)
        try:
            answer = module.get_device()
            if isinstance(answer, (str, torch.device)):
                devices.append(str(torch.device(answer)))
        except Exception:  # noqa: BLE001 - get_device has checks of its own
            pass
        try:
            return devices, record_workflow(module, out_dir, arguments)[1]
        except Exception:  # noqa: BLE001 - judged by the outcome: only a run that completed elsewhere fails
            return devices, None


def expect_default_follows_machine(learner, out_dir, monkeypatch) -> None:
    """Fail when ``run_workflow`` with no device, on a machine faked to have MPS (and no CUDA), completes with the
    model on another device: the default must be the best device of the machine, not a fixed one.

    Off a Mac the right run tries MPS and fails, and so does any code that asks the machine in order; one that
    never asks (a hard-coded "cpu") completes on the CPU. On a Mac the right run completes on MPS. A run that
    completes where the learner's own get_device() points there is not failed here (that get_device has checks
    of its own), nor one on a device the file's module holds (asked once at import, before the machine was faked).
    """
    work_beside(out_dir, monkeypatch)
    excused, report = in_learner_process(learner, run_on_mps_machine, learner, out_dir, {"epochs": 15})
    if not isinstance(report, dict):
        return
    recorder = Report(report)
    devices = sorted({name for call in recorder.forwards if call["has_parameters"] for name in call["devices"]})
    allowed = {"mps"}
    for name in excused if type(excused) is list else []:
        try:
            allowed.add(torch.device(name).type)
        except (RuntimeError, TypeError, ValueError):
            pass
    if devices and all(torch.device(name).type in allowed for name in devices):
        return
    shown = ", ".join(devices) or "no device the grader saw"
    raise AssertionError(
        "with no device given, on a machine with MPS and no CUDA (faked for this run), run_workflow still ran the "
        f"model on {shown}: when device is None, use get_device()'s answer, not a fixed device")


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
    # out_dir is created only when missing: a second run into the same folder must work too.
    try:
        again, _ = run(learner, monkeypatch, str(out_dir), epochs=15, device="cpu")
    except FileExistsError:
        raise AssertionError(
            "a second run_workflow into the same out_dir failed with FileExistsError: the folder already existed. "
            "Create it only when missing: `Path(out_dir).mkdir(parents=True, exist_ok=True)` or "
            "`os.makedirs(out_dir, exist_ok=True)`") from None
    load_state_dict_file(model_path_of(again))


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
