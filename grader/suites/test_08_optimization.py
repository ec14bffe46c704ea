"""Hidden suite for exercise 08 (optimizers, schedules, validation and early stopping).

Every check observes behaviour, never spelling:

- ``sgd_momentum_step`` is compared with ``torch.optim.SGD`` stepping twin tensors
  on the same gradients, and the tensors themselves are inspected (same objects,
  leaves, no autograd history).
- ``decay_parameter_groups`` is given a model whose modules are registered in an
  order drawn from the seed; the groups are compared by identity with its
  parameters, and AdamW is run on them.
- ``fit_with_validation`` trains probe models that record, in every forward pass,
  the mode, gradient tracking, the input, the output, the parameters and how many
  optimizer and scheduler steps had run. A one-weight "scripted" model makes the
  validation losses follow a plan drawn from the seed, so the epoch that stopping
  and the best weights depend on is known in advance.

The learner's code runs in a process of its own. What a check hands it is sent
there as a copy, and what the call changed comes back: tensors, a model's mode
and plain attributes (a probe's records), an optimizer's state and its steps.
What must be seen while the learner's code runs (the steps already taken at each
forward pass, the lists ``sgd_momentum_step`` leaves) is seen there, by the
suite's own code. Learner code could rewrite such a report, so none decides a
verdict on its own word: each is checked against what the judge sees itself.
"""

import copy

import pytest
import torch
from torch import nn

from grader.checking import call_text, expect_float, fmt, fmt_list, kind_of
from grader.checking.optimizers import (describe, differs, expect_adamw_decay, expect_in_its_group,
                                        expect_like_torch_sgd, groups_of, learner_groups, learner_sgd, mixed_model,
                                        momentum_settings, names_by_id)
from grader.checking.stopping import (MISTAKES, TRAIN_STEPS_PER_EPOCH, Scripted, best_epoch, early_stopping_plan,
                                      expect_bare_checkpoint, expect_best_checkpoint, expect_best_weights,
                                      expect_nan_stopping, expect_plateau_rates, halving, halvings, plateau,
                                      plateau_plan, run_scripted, scripted_loaders, stopping_epoch, tied_plan)
from grader.checking.validation import (expect_ended_as_twin, expect_lr_recorded, expect_per_sample_means,
                                        expect_scheduler_after_steps, expect_steps_recorded,
                                        expect_trained_in_training_mode, expect_validated_as_twin,
                                        expect_validated_in_eval_mode, expect_weights_validated, learner_history,
                                        regression_problem, sort_calls, step_lr, watch_steps)

# Every tensor here is tiny, so extra threads only cost time on a busy machine.
torch.set_num_threads(1)


# -- sgd_momentum_step -------------------------------------------------------------


@pytest.mark.check(
    id="momentum_matches_sgd",
    name="sgd_momentum_step moves parameters and velocities as torch.optim.SGD does",
    points=2,
    hint=["Three lines per parameter: the gradient plus weight decay, the new velocity, the move.",
          "g = p.grad + weight_decay * p; v = momentum * v + g (no (1 - momentum) factor); p = p - lr * v, "
          "using the velocity just updated."],
)
def test_momentum_matches_sgd(learner, seed):
    for weight_decay in (False, True):
        start, gradients, lr, momentum, decay = momentum_settings(seed + int(weight_decay), weight_decay)
        if weight_decay:
            params, velocities, _, _ = learner_sgd(learner, start, gradients, lr, momentum, decay)
            described = f"lr={fmt(lr)}, momentum={fmt(momentum)}, weight_decay={fmt(decay)}"
        else:
            momentum = 0.9
            params, velocities, _, _ = learner_sgd(learner, start, gradients, lr)
            described = f"lr={fmt(lr)} and the default momentum (0.9) and weight_decay (0.0)"
        for value in params:
            assert type(value) is nn.Parameter, (
                f"params holds {kind_of(value)} after the step: change each parameter in place "
                "(p.sub_(...) inside torch.no_grad()) rather than putting a new tensor in the list")
        expect_like_torch_sgd(params, velocities, start, gradients, lr, momentum, decay,
                              f"after 4 steps with {described}")


@pytest.mark.check(
    id="momentum_in_place",
    name="sgd_momentum_step updates each velocity in place: the same tensor object",
    points=1,
    hint=["The caller keeps the list of velocities from one step to the next, so each tensor in it must "
          "change, not be replaced.",
          "`v = momentum * v + g` only rebinds the name v; write into the tensor instead: "
          "`v.mul_(momentum).add_(g)` or `v.copy_(momentum * v + g)`."],
)
def test_momentum_in_place(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    params, velocities, originals, _ = learner_sgd(learner, start, gradients[:1], lr, momentum, decay)
    assert type(velocities) is list and len(velocities) == len(originals), \
        f"the list of velocities now holds {len(velocities)} items; leave the list as it is and change its tensors"
    for index, (velocity, original) in enumerate(zip(velocities, originals)):
        assert velocity is original, (
            f"velocities[{index}] was replaced by a new tensor; update the tensor that is "
            "there in place (v.mul_(momentum).add_(g), or v.copy_(...))")
        # How it changes is momentum_matches_sgd's business; here only that the tensor itself changed.
        assert bool(original.any()), (
            f"after one step velocities[{index}] still holds zeros: assigning to the loop "
            "variable (v = momentum * v + g) makes a new tensor and leaves the list unchanged; update v in place")


@pytest.mark.check(
    id="momentum_skips_missing_grad",
    name="sgd_momentum_step leaves a parameter whose .grad is None, and its velocity, alone",
    points=1,
    hint=["A parameter that took no part in the last backward pass has `.grad` None; torch's SGD skips it.",
          "At the top of the loop body: `if p.grad is None: continue`, before touching the velocity."],
)
def test_momentum_skips_missing_grad(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    gradients[0][1] = None              # parameter 1 has no gradient in the first step
    for step in gradients[2:]:          # parameter 2 has one in the first two steps only
        step[2] = None
    snapshots: list = []
    learner_sgd(learner, start, gradients, lr, momentum, decay, snapshots=snapshots)
    # Judged against the learner's own earlier values, so that only skipping counts here.
    (first_params, first_velocities), (second_params, second_velocities) = snapshots[0], snapshots[1]
    assert not differs(first_params[1], start[1]), (
        "parameter 1 moved in a step where its gradient was None; torch's SGD leaves such a parameter exactly as it is")
    assert not bool(first_velocities[1].any()), (
        "the velocity of parameter 1 changed in a step where its gradient was None; leave it alone")
    for params, velocities in snapshots[2:]:
        assert not differs(params[2], second_params[2]), (
            "parameter 2 kept moving after its gradient became None: torch's SGD leaves such a "
            "parameter (and its velocity) exactly as it is; do not treat a missing gradient as zero")
        assert not differs(velocities[2], second_velocities[2]), (
            "the velocity of parameter 2 changed in steps where its gradient was None; leave it alone")


@pytest.mark.check(
    id="momentum_no_graph",
    name="sgd_momentum_step builds no graph: parameters stay leaves, velocities hold no history",
    points=1,
    hint=["The update is bookkeeping that autograd must not record.",
          "Do the whole update, the weight-decay term included, inside `with torch.no_grad():`."],
)
def test_momentum_no_graph(learner, seed):
    start, gradients, lr, momentum, decay = momentum_settings(seed, weight_decay=True)
    params, velocities, _, histories = learner_sgd(learner, start, gradients[:2], lr, momentum, decay)
    # Judged on the tensors as they came back; the learner's process only names the history (grad_fn) for the message.
    params_history, velocities_history = histories[:len(params)], histories[len(params):]
    for index, parameter in enumerate(params):
        assert parameter.is_leaf and parameter.grad_fn is None, (
            f"params[{index}] has autograd history ({params_history[index]}) after the step: do the "
            "update inside torch.no_grad()")
        assert parameter.requires_grad, f"params[{index}] no longer requires grad after the step; leave that flag alone"
    for index, velocity in enumerate(velocities):
        assert velocity.grad_fn is None and not velocity.requires_grad, (
            f"velocities[{index}] holds autograd history ({velocities_history[index]}): the gradient plus "
            "weight_decay * p was computed with gradient tracking on; compute it inside torch.no_grad() too")


# -- decay_parameter_groups --------------------------------------------------------


@pytest.mark.check(
    id="groups_by_dimension",
    name="decay_parameter_groups decays every trainable parameter with 2+ dimensions, and no other",
    points=2,
    hint=["Tell weights from the rest by their number of dimensions, not by their names: a batch-norm or "
          "layer-norm weight is called \"weight\" but is a vector.",
          "`p.ndim >= 2` goes in the first group, every other trainable parameter in the second; each one "
          "exactly once, and the model's own Parameter objects, not copies."],
)
def test_groups_by_dimension(learner, seed):
    model = mixed_model(seed)
    # A single number is a parameter with 0 dimensions (a learned temperature or scale): fewer than two, so
    # never decayed. `p.ndim == 1` as the test for "not decayed" sends it to the decayed group.
    model.register_parameter("temperature", nn.Parameter(torch.tensor(1.0)))
    where = groups_of(model, learner_groups(learner, model, 0.1))  # each parameter's groups, by its id
    for name, parameter in model.named_parameters():
        if parameter.requires_grad and parameter.ndim > 0:
            expect_in_its_group(name, parameter, where.get(id(parameter), []))
    found = where.get(id(model.temperature), [])
    assert found != [0], (
        "temperature (shape [], a single number with 0 dimensions) is in the decayed group; only parameters with "
        "2 or more dimensions are decayed, and 0 is fewer: test `p.ndim >= 2` (or `p.ndim < 2`), not `p.ndim == 1`")
    expect_in_its_group("temperature", model.temperature, found)


@pytest.mark.check(
    id="groups_skip_frozen",
    name="decay_parameter_groups leaves frozen parameters (requires_grad=False) out",
    points=1,
    hint=["A frozen layer is not meant to be trained, so it belongs in no optimizer group.",
          "Skip every parameter whose `requires_grad` is False."],
)
def test_groups_skip_frozen(learner, seed):
    model = mixed_model(seed)
    groups = learner_groups(learner, model, 0.1)
    names = names_by_id(model)
    for index, group in enumerate(groups):
        for parameter in group["params"]:
            assert id(parameter) not in names or parameter.requires_grad, (
                f"{describe(names[id(parameter)], parameter)} is frozen (requires_grad=False) "
                f"but is in group {index}; leave frozen parameters out of both groups")


@pytest.mark.check(
    id="groups_keep_order",
    name="decay_parameter_groups keeps the order of model.parameters() in each group",
    points=1,
    hint=["Go through the parameters once, in the order `model.parameters()` gives them, adding each to its group.",
          "Do not sort by name or collect by kind of layer: the model's own order is what checkpoints and other "
          "tools expect."],
)
def test_groups_keep_order(learner, seed):
    model = mixed_model(seed)
    groups = learner_groups(learner, model, 0.1)
    names = names_by_id(model)
    position = {id(parameter): index for index, parameter in enumerate(model.parameters())}
    for index, group in enumerate(groups):
        members = [parameter for parameter in group["params"] if id(parameter) in position and parameter.requires_grad]
        order = ", ".join(names[id(parameter)] for parameter in members)
        for before, after in zip(members, members[1:]):
            assert position[id(before)] <= position[id(after)], (
                f"group {index} lists {names[id(before)]} before {names[id(after)]}, but "
                f"model.parameters() gives them the other way round (group order: {order})")


@pytest.mark.check(
    id="groups_work_with_adamw",
    name="with decay_parameter_groups, AdamW decays the weights by lr * weight_decay and leaves the rest",
    points=1,
    hint=["Each group is a dict with \"params\" and \"weight_decay\"; AdamW uses its own default (0.01) for "
          "a group that gives none.",
          "Return `[{\"params\": decayed, \"weight_decay\": weight_decay}, {\"params\": others, "
          "\"weight_decay\": 0.0}]`."],
)
def test_groups_work_with_adamw(learner, seed):
    model = mixed_model(seed)
    weight_decay = 0.1 + 0.4 * torch.rand(1, generator=torch.Generator().manual_seed(seed)).item()
    lr = 0.1
    groups = learner_groups(learner, model, weight_decay)
    try:
        optimizer = torch.optim.AdamW(groups, lr=lr)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"torch.optim.AdamW refused the groups: {error}") from None
    # One step with zero gradients: only weight decay moves anything. Judged against the learner's own grouping:
    # which parameter goes where is groups_by_dimension's business.
    expect_adamw_decay(model, groups, optimizer, lr, weight_decay)


# -- fit_with_validation -----------------------------------------------------------


@pytest.mark.check(
    id="fit_history",
    name="fit_with_validation returns one entry per epoch: epoch numbers from 1, losses and lr as Python numbers",
    points=1,
    hint=["Append to each of the four lists once per epoch, after that epoch's validation.",
          "Epochs count from 1; losses are Python floats (`loss.item()`), and the learning rate is "
          "`float(optimizer.param_groups[0][\"lr\"])`."],
)
def test_fit_history(learner, seed):
    model, train, val = regression_problem(seed)
    epochs = 3
    history = learner_history(learner, model, train, val, nn.MSELoss(),
                              torch.optim.SGD(model.parameters(), lr=0.05), epochs)
    assert len(history["epoch"]) == epochs, (
        f"the history holds {len(history['epoch'])} epochs after fit_with_validation(..., epochs={epochs}) without "
        f"patience; expected {epochs}")
    assert history["epoch"] == list(range(1, epochs + 1)) and all(type(e) is int for e in history["epoch"]), (
        f"history[\"epoch\"] is {history['epoch']!r}; expected the ints {list(range(1, epochs + 1))} "
        "(epochs are counted from 1)")
    for key in ("train_loss", "val_loss", "lr"):
        for index, value in enumerate(history[key]):
            expect_float(value, f"history[{key!r}][{index}]")
    _, passes = sort_calls(model, train, val)
    assert len(passes) == epochs, f"the validation set was run through {len(passes)} times in {epochs} epochs; once an epoch"


@pytest.mark.check(
    id="fit_loss_means",
    name="fit_with_validation records training and validation losses as means per sample",
    points=2,
    hint=["loss_fn gives each batch's mean; a last batch of 1 sample must count for 1 sample, not as much as a "
          "full batch.",
          "For both losses add up `loss.item() * len(y_batch)` over the batches and divide by the number of "
          "samples; the training loss comes from the losses of the training steps themselves."],
)
def test_fit_loss_means(learner, seed, device):
    model, train, val = regression_problem(seed)
    model.to(device)
    history = learner_history(learner, model, train, val, nn.MSELoss(),
                              torch.optim.SGD(model.parameters(), lr=0.05), 2)
    training, validation = sort_calls(model, train, val)
    assert len(training) >= 2 and len(validation) >= 2, (
        f"in 2 epochs the model saw {len(training)} passes over the training batches and {len(validation)} over the "
        "validation batches; expected 2 of each")
    expect_per_sample_means(history, training, validation)
    expect_weights_validated(model, validation)


@pytest.mark.check(
    id="fit_validation_mode",
    name="fit_with_validation trains in training mode and validates in evaluation mode, without gradients or updates",
    points=2,
    hint=["Validation only measures: evaluation mode, no gradient tracking, no optimizer step. Training needs "
          "training mode back every epoch.",
          "`model.train()` before each epoch's training batches; `model.eval()` and `with torch.no_grad():` (or "
          "`torch.inference_mode()`) around the validation loop, which computes losses and nothing else."],
)
def test_fit_validation_mode(learner, seed):
    model, train, val = regression_problem(seed)
    model.eval()  # as a model often is, after being looked at
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    taken = watch_steps(optimizer, model)
    learner_history(learner, model, train, val, nn.MSELoss(), optimizer, 3)
    training, validation = sort_calls(model, train, val)
    assert training and validation, "fit_with_validation never ran the model on the training or validation batches"
    expect_trained_in_training_mode(training)
    expect_validated_in_eval_mode(validation, training)
    # The optimizer steps and weights the records show, against those the judge sees.
    expect_steps_recorded(model, taken)
    expect_weights_validated(model, validation)


@pytest.mark.check(
    id="fit_steps",
    name="fit_with_validation takes one optimizer step per training batch, with that batch's gradients",
    points=1,
    hint=["Each epoch's training is exercise 07's `train_epoch`: the five steps for every batch.",
          "Inside the loop over train_loader: forward, loss, `optimizer.zero_grad()`, `loss.backward()`, "
          "`optimizer.step()`; validation takes no step."],
)
def test_fit_steps(learner, seed):
    model, train, val = regression_problem(seed)
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    taken = watch_steps(optimizer, model)
    epochs, n_batches = 2, len(train)
    learner_history(learner, model, train, val, nn.MSELoss(), optimizer, epochs)
    assert taken[0] == epochs * n_batches, (
        f"optimizer.step() ran {taken[0]} times in {epochs} epochs of {n_batches} training batches; take one step "
        "per training batch")
    # The parameters each validation saw, against the same training done right on a twin.
    _, validation = sort_calls(model, train, val)
    twin_optimizer, twin_weights = expect_validated_as_twin(twin, train, validation, epochs)
    # What the records show, against what the judge sees: the steps, the momentum the optimizer ended with
    # (which every step of the training shaped) and the weights the model ended with (an epoch's).
    expect_steps_recorded(model, taken)
    expect_ended_as_twin(model, optimizer, twin, twin_optimizer, twin_weights)


@pytest.mark.check(
    id="fit_scheduler",
    name="fit_with_validation steps the scheduler once per epoch, after its optimizer steps, and records the lr used",
    points=2,
    hint=["A schedule such as StepLR counts epochs, so it is stepped once per epoch: after the loop over the "
          "training batches, never inside it or before it, and also in the epoch after which training stops early.",
          "Read `optimizer.param_groups[0][\"lr\"]` for the history at the start of the epoch, before its "
          "training; call `scheduler.step()` after the epoch's validation, before checking whether to stop."],
)
def test_fit_scheduler(learner, seed):
    model, train, val = regression_problem(seed)
    lr, epochs, n_batches = 0.05 + 0.05 * (seed % 3), 5, len(train)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = step_lr(optimizer)
    taken = watch_steps(optimizer, model, scheduler)
    history = learner_history(learner, model, train, val, nn.MSELoss(), optimizer, epochs, scheduler=scheduler)
    expected = [lr * 0.5 ** (epoch // 2) for epoch in range(epochs)]  # StepLR(step_size=2, gamma=0.5)
    # StepLR.step() counts its steps in last_epoch, an int; step(value) takes the value for the epoch number.
    assert type(scheduler.last_epoch) is int, (
        f"after training, the StepLR's epoch count (scheduler.last_epoch) is {fmt(scheduler.last_epoch)}, not a "
        "whole number: scheduler.step() was given an argument (the validation loss?), which a StepLR takes for "
        "the epoch number. Only ReduceLROnPlateau takes the validation loss, scheduler.step(val_loss); call "
        "scheduler.step() with no argument for every other scheduler")
    expect_scheduler_after_steps(model, optimizer, scheduler, taken, lr, epochs, n_batches, expected)
    expect_lr_recorded(history, expected)
    # The epoch after which training stops early gets its scheduler step too. Each step of ExponentialLR(gamma=0.5)
    # halves the rate, so the rate the optimizer ends with tells the judge how many steps there were.
    plan, patience = early_stopping_plan(seed)
    stop = stopping_epoch(plan, patience)
    run = run_scripted(learner, plan, len(plan), patience=patience, lr_scheduler=halving)
    ran, stepped = len(run.history["epoch"]), halvings(run.optimizer)
    assert stepped is not None, (f"the learning rate ended at {fmt(run.optimizer.param_groups[0]['lr'])}, which "
                                 "ExponentialLR(gamma=0.5) from 1 cannot give: leave the rate to the scheduler")
    assert not (ran == stop and stepped == stop - 1), (
        f"training stopped early after epoch {stop} but the scheduler was stepped only "
        f"{stop - 1} times: step it in every epoch that ran, the last one too, before stopping")
    assert stepped == ran, f"the scheduler was stepped {stepped} times in {ran} epochs; once per epoch"


@pytest.mark.check(
    id="fit_plateau",
    name="fit_with_validation steps ReduceLROnPlateau with the epoch's validation loss",
    points=1,
    hint=["ReduceLROnPlateau decides from a number you give it, so its step takes an argument; other schedulers "
          "take none.",
          "`if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau): scheduler.step(val_loss)`, "
          "else `scheduler.step()`."],
)
def test_fit_plateau(learner, seed):
    # Validation losses fall, stay flat for four epochs (ReduceLROnPlateau(patience=1) halves the rate once), then
    # fall again; training losses stay flat while they fall, then fall: each usual mistake records rates of its own.
    plan, training = plateau_plan(seed)
    run = run_scripted(learner, plan, len(plan), lr_scheduler=plateau, train_plan=training)
    # The rate the optimizer ended with (the judge's own sight) confirms the mistake the recorded rates suggest.
    expect_plateau_rates([float(value) for value in run.history["lr"]], run.optimizer.param_groups[0]["lr"], plan,
                         training)


@pytest.mark.check(
    id="fit_early_stopping",
    name="fit_with_validation stops after exactly `patience` epochs without a strictly lower validation loss",
    points=2,
    hint=["Keep the best validation loss so far and a count of epochs since it last improved; an equal loss is "
          "not an improvement.",
          "After each validation: if it is epoch 1 or `val_loss < best_loss`, remember it and set the count to 0, "
          "else add 1 (a NaN loss is never lower); stop when the count reaches patience. Without patience, run "
          "every epoch."],
)
def test_fit_early_stopping(learner, seed):
    plan, patience = early_stopping_plan(seed)
    stop = stopping_epoch(plan, patience)
    history = run_scripted(learner, plan, len(plan), patience=patience).history
    ran = len(history["epoch"])
    if ran != stop:
        told = f"with patience={patience} and validation losses {fmt_list(plan[:stop + patience], 12)}"
        for rule, meaning in MISTAKES.items():
            assert ran != stopping_epoch(plan, patience, rule), (
                f"training ran {ran} epochs {told}: {meaning}; it should stop after epoch {stop}")
        raise AssertionError(f"training ran {ran} epochs {told}; it should stop after epoch {stop} "
                             f"(best epoch {best_epoch(plan[:stop])}, then {patience} without a strictly lower loss)")
    observed = [float(value) for value in history["val_loss"]]
    assert not any(abs(a - b) > 1e-6 for a, b in zip(observed, plan)), (
        f"history[\"val_loss\"] is {fmt_list(observed, 12)}; the validation losses were {fmt_list(plan[:stop], 12)}")
    # Without patience nothing stops early, however long the loss has not improved.
    history = run_scripted(learner, plan, len(plan)).history
    assert len(history["epoch"]) == len(plan), (
        f"without patience training stopped after {len(history['epoch'])} of {len(plan)} epochs; with patience=None "
        "run every epoch")
    # A NaN loss is no improvement, and nothing improves on a NaN in epoch 1, which is still the first best.
    expect_nan_stopping(learner, seed)


@pytest.mark.check(
    id="fit_best_weights",
    name="fit_with_validation ends with the best epoch's weights (the earliest on a tie), stopped early or not",
    points=2,
    hint=["The weights at the end of training are not the best ones: keep a copy of the best epoch's and load it "
          "back before returning.",
          "`model.state_dict()` holds the live tensors, which the next step changes: keep "
          "`copy.deepcopy(model.state_dict())` at each new best, and `model.load_state_dict(...)` it at the end."],
)
def test_fit_best_weights(learner, seed):
    plan, patience = early_stopping_plan(seed)
    full, _ = tied_plan(seed + 1)  # the best epoch early, tied later
    for label, run_plan, options in (("stopped early", plan, {"patience": patience}), ("ran every epoch", full, {})):
        run = run_scripted(learner, run_plan, len(run_plan), **options)
        # Judged on the epochs that really ran (two optimizer steps each), so a stopping mistake
        # (fit_early_stopping's) does not count here.
        expect_best_weights(run, run_plan[:run.steps // TRAIN_STEPS_PER_EPOCH], label)


@pytest.mark.check(
    id="fit_checkpoint",
    name="fit_with_validation keeps the best epoch in the checkpoint file, creating its folders, and writes nothing without one",
    points=2,
    hint=["Save right after a validation that is a new best, so the file always holds the best epoch.",
          "`Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)`, then `torch.save({\"epoch\": epoch, "
          "\"model_state_dict\": model.state_dict(), \"optimizer_state_dict\": optimizer.state_dict(), "
          "\"val_loss\": val_loss}, checkpoint_path)`."],
)
def test_fit_checkpoint(learner, seed, tmp_path, monkeypatch):
    plan, best = tied_plan(seed)  # a later tie is no new best
    path = tmp_path / "runs" / f"run{seed % 100}" / "best.pt"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    optimizer = run_scripted(learner, plan, len(plan), checkpoint_path=str(path)).optimizer
    assert path.is_file(), "no checkpoint file was written at checkpoint_path (its folders did not exist yet)"
    expect_best_checkpoint(path, plan, best, optimizer)
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert not written, f"files appeared in the working folder: {written}; write only to checkpoint_path"
    # Without a checkpoint_path, no file at all.
    run_scripted(learner, plan, len(plan))
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert not written, f"without checkpoint_path, fit_with_validation wrote {written}; write no file then"
    # A file name alone names a file in the working folder, which exists: there is no folder to create.
    name = f"best{seed % 100}.pt"
    optimizer = expect_bare_checkpoint(learner, plan, name)
    assert (work / name).is_file(), (
        f"with checkpoint_path={name!r} no checkpoint file was written in the working folder")
    expect_best_checkpoint(work / name, plan, best, optimizer)
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert written == [name], (
        f"with checkpoint_path={name!r} the working folder holds {written}; write only to checkpoint_path")
    # The optimizer's state in the file is the best epoch's too, saved with its weights right after its validation:
    # with momentum, the optimizer's momentum buffer tells the epoch it comes from.
    expect_checkpoint_optimizer_of_best(learner, plan, best, tmp_path / "momentum" / "best.pt")


CHECKPOINT_MOMENTUM = 0.5


def momentum_epochs(epochs: int) -> list[tuple[float, float]]:
    """The weight and momentum buffer after each epoch of a scripted run with SGD(lr=1, momentum=0.5).

    Every training step of ``Scripted`` has the gradient -1 (``TRAIN_STEPS_PER_EPOCH`` steps an epoch), so a
    twin parameter stepped by torch's own SGD on that gradient goes exactly as the scripted model does.
    """
    weight = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0, momentum=CHECKPOINT_MOMENTUM)
    after = []
    for _ in range(epochs):
        for _ in range(TRAIN_STEPS_PER_EPOCH):
            weight.grad = torch.full_like(weight, -1.0)
            optimizer.step()
        after.append((weight.item(), optimizer.state[weight]["momentum_buffer"].item()))
    return after


def expect_checkpoint_optimizer_of_best(learner, plan: list[float], best: int, path) -> None:
    """Fail unless a scripted run with momentum leaves in ``path`` the optimizer's state of the ``best`` epoch."""
    model = Scripted(plan)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=CHECKPOINT_MOMENTUM)
    train, val = scripted_loaders()
    learner_history(learner, model, train, val, nn.L1Loss(), optimizer, len(plan), checkpoint_path=str(path))
    described = f"with SGD(momentum={CHECKPOINT_MOMENTUM}) and validation losses {fmt_list(plan, 8)}"
    assert path.is_file(), f"{described} no checkpoint file was written at checkpoint_path"
    checkpoint = torch.load(path, weights_only=True)
    try:
        buffer = float(checkpoint["optimizer_state_dict"]["state"][0]["momentum_buffer"])
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError):
        raise AssertionError(f"{described} checkpoint[\"optimizer_state_dict\"] holds no momentum buffer for the "
                             "model's weight: save optimizer.state_dict() at each new best") from None
    epochs = momentum_epochs(len(plan))
    state = checkpoint.get("model_state_dict")
    weight = state.get("w") if isinstance(state, dict) else None
    assert isinstance(weight, torch.Tensor) and abs(weight.item() - epochs[best - 1][0]) <= 1e-5, (
        f"{described} the checkpoint's model_state_dict does not hold the weights of the best epoch, {best}; save "
        "model.state_dict() right after the validation of each new best")
    held = [epoch for epoch, (_, wanted) in enumerate(epochs, start=1) if abs(buffer - wanted) <= 1e-6]
    if held != [best]:
        when = (f"the state after epoch {held[0]}" + (", the last one" if held[0] == len(plan) else "")
                if held else "a state from no epoch's end")
        raise AssertionError(
            f"{described} the checkpoint holds the weights of the best epoch, {best}, but its optimizer_state_dict "
            f"is {when}: save optimizer.state_dict() together with model.state_dict(), right after the validation "
            "of each new best (not at the end of training), so that training resumed from the file goes on from "
            "that epoch")


@pytest.mark.check(
    id="fit_bad_arguments",
    name="fit_with_validation raises ValueError for epochs < 1 or a patience below 1",
    points=1,
    hint=["Check the arguments before training: zero epochs or a patience of 0 make no sense.",
          "`if epochs < 1: raise ValueError(...)`, and the same for `patience` when it is not None."],
)
def test_fit_bad_arguments(learner, seed):
    for epochs, options in ((0, {}), (-2, {}), (3, {"patience": 0}), (3, {"patience": -1})):
        model = Scripted([5.0, 4.0, 3.0])
        train, val = scripted_loaders()
        shown = call_text("fit_with_validation", "...", show=str, epochs=epochs, **options)
        try:
            learner.fit_with_validation(model, train, val, nn.L1Loss(), torch.optim.SGD(model.parameters(), lr=1.0),
                                        epochs, **options)
        except ValueError:
            continue
        raise AssertionError(f"{shown} raised no ValueError")
