"""Hidden suite for exercise 03 (training).

Every check observes what the learner's code does to a model, its parameters
and its gradients, never how the code is spelled: ``model.zero_grad()`` and
``optimizer.zero_grad()``, ``loss.item()`` and ``float(loss)``, ``no_grad`` and
``inference_mode`` all pass. Data and models come from each check's ``seed``,
so a result hard-coded for the lesson's data does not pass.
"""

import pytest
import torch
from torch import nn

from grader.checking import (RECORD_CHANGED, call_text, count_steps, describe_labels, expect_close, expect_float,
                             expect_no_gradients, expect_not_swapped, expect_off, expect_training_mode, figure_from,
                             fmt, fmt_list, forward_records, kind_of, largest_difference, legend_texts,
                             matching_outcome, parameters_of, states_of_loss, steps_note, trained)
from grader.checking.fitting import (MODE_FIT_EPOCHS, MODE_FIT_LR, PILED_UP, SWAP_LOSS, LinearRegressionModel,
                                     ModeProbe, Probe, converging_problem, expect_history, fit_problem, gradients,
                                     layer_gradient, mode_fit_problem, mode_fit_test_losses, one_step, piled_up_after,
                                     random_problem, reference_fit, same_run, some_history, state_losses,
                                     swap_problem, why_nothing_moved, why_training_differs)


# -- train_step ----------------------------------------------------------------


@pytest.mark.check(
    id="train_step_returns_loss",
    name="train_step returns this batch's loss, from before the update, as a float",
    points=1,
    hint=["Compute the loss from the forward pass and return it at the end of the function.",
          "`loss.item()` turns a one-element tensor into a Python float; return the loss you computed "
          "before `optimizer.step()`, not a new one computed after it."],
)
def test_train_step_returns_loss(learner, seed):
    model, X, y = random_problem(seed)
    loss_fn = nn.MSELoss()
    before, _ = gradients(model, X, y, loss_fn)
    result = learner.train_step(model, X, y, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    value = expect_float(result, "train_step")
    after, _ = gradients(model, X, y, loss_fn)
    assert not (abs(value - after) < 1e-6 < abs(before - after)), (
        f"train_step returned {fmt(value)}, the loss after the update; "
        f"return the loss of the forward pass before optimizer.step() ({fmt(before)})")
    expect_close(value, before, "the returned loss", advice="return the loss of this batch's forward pass")
    # MSE is symmetric; the Poisson loss shows loss_fn(y, predictions). Its expected value is from before the step.
    loss_fn, targets, swapped = swap_problem(model, X)
    expected, _ = gradients(model, X, targets, loss_fn)
    value = expect_float(learner.train_step(model, X, targets, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1)),
                         "train_step")
    expect_not_swapped(value, expected, swapped, f"with {SWAP_LOSS}, train_step returned")
    expect_close(value, expected, f"with {SWAP_LOSS}, the returned loss",
                 advice="return the loss of this batch's forward pass, loss_fn(predictions, y)")


def expect_given_optimizer(steps: int, start: list, end: list) -> None:
    """Fail, naming the mistake, when the parameters moved although the optimizer given to train_step never stepped."""
    assert not (steps == 0 and largest_difference(start, end) != 0), (
        "the parameters changed, but the optimizer train_step was given never took a step: train_step must use the "
        "optimizer it is given (one made inside train_step ignores the caller's learning rate and settings, and "
        "starts again from nothing every step, losing momentum or Adam's averages)")


@pytest.mark.check(
    id="single_update",
    name="train_step takes exactly one optimizer step with this batch's gradients",
    points=2,
    hint=["The order is: forward pass, loss, zero the gradients, backward(), step(), with the optimizer you are given.",
          "If the parameters do not move, look at what happens between `loss.backward()` and "
          "`optimizer.step()`: zeroing there throws the fresh gradients away."],
)
def test_single_update(learner, seed):
    model, X, y = random_problem(seed)
    loss_fn, lr = nn.MSELoss(), 0.1
    start = parameters_of(model)
    _, grads = gradients(model, X, y, loss_fn)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    learner.train_step(model, X, y, loss_fn, optimizer)
    end = parameters_of(model)
    expect_given_optimizer(steps[0], start, end)
    assert steps[0] == 1, f"optimizer.step() ran {steps[0]} times in one call of train_step; it must run exactly once"
    assert largest_difference(start, end) != 0, why_nothing_moved(model, grads)
    difference = largest_difference(end, one_step(start, lr, grads))
    if difference < 1e-5:
        return
    cause = matching_outcome(end, {
        "twice this batch's gradients: backward() ran twice before the step, so its gradients added up":
            one_step(start, lr, grads, grads),
    })
    assert not cause, f"optimizer.step() ran once, but the update used {cause}"
    raise AssertionError(f"after one SGD step the parameters differ by up to {fmt(difference)} from one step with "
                         "this batch's gradients: check the loss you call backward() on")


@pytest.mark.check(
    id="zero_grad_order",
    name="train_step uses only this batch's gradients",
    points=2,
    hint=["Gradients add up in `.grad` until something clears them: clear them before `backward()`.",
          "Call `optimizer.zero_grad()` (or `model.zero_grad()`) at the start of the step or just before "
          "`loss.backward()`; zeroing only after `optimizer.step()` leaves whatever was there to the update."],
)
def test_zero_grad_order(learner, seed):
    model, X, y = random_problem(seed)
    loss_fn, lr = nn.MSELoss(), 0.1
    start = parameters_of(model)
    _, grads = gradients(model, X, y, loss_fn)
    generator = torch.Generator().manual_seed(seed + 1)
    for parameter in model.parameters():  # gradients left over from some earlier computation
        parameter.grad = 10 * torch.randn(parameter.shape, generator=generator)
    stale = [parameter.grad.clone() for parameter in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    learner.train_step(model, X, y, loss_fn, optimizer)
    end = parameters_of(model)
    expect_given_optimizer(steps[0], start, end)
    assert steps[0] == 1, (
        f"optimizer.step() ran {steps[0]} times in one call, so this cannot be judged: "
        "take exactly one step (see the check about one optimizer step)")
    assert largest_difference(start, end) != 0, why_nothing_moved(model, grads)
    difference = largest_difference(end, one_step(start, lr, grads))
    if difference < 1e-5:
        return
    # What the usual mistakes leave behind, from gradients already in .grad (as an earlier batch leaves them).
    cause = matching_outcome(end, {
        "gradients that were already in .grad before train_step was called (as an earlier batch leaves them), "
        "added to this batch's: the gradients were not zeroed before backward()": one_step(start, lr, grads, stale),
        "only the gradients that were already in .grad before train_step was called, not this batch's: "
        "step() ran before backward()": one_step(start, lr, stale),
        "twice this batch's gradients: backward() ran twice before the step, so its gradients added up":
            one_step(start, lr, grads, grads),
    })
    assert not cause, f"the update used {cause}"
    raise AssertionError(f"with old gradients left in .grad, the parameters moved differently from one step with "
                         f"this batch's gradients (by up to {fmt(difference)})")


@pytest.mark.check(
    id="train_mode",
    name="train_step runs the forward pass in training mode",
    points=1,
    hint=["A model may arrive in evaluation mode (after `test_step`, say): switch it back first.",
          "Call `model.train()` at the start of `train_step`, before the forward pass."],
)
def test_train_mode(learner, seed):
    model, X, y = random_problem(seed, probe=ModeProbe)
    model.eval()
    loss_fn = nn.MSELoss()
    losses = state_losses(model, X, y, loss_fn)
    gradient = {training: layer_gradient(model, X, y, loss_fn, training) for training in (True, False)}
    start = {training: parameters_of(layer) for training, layer in ((True, model.train_linear), (False, model.eval_linear))}
    result = learner.train_step(model, X, y, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    # The outcome: which mode's layer the step trained, and which state's loss it returned.
    in_training = trained(model.train_linear, start[True], gradient[True])
    in_eval = trained(model.eval_linear, start[False], gradient[False])
    returned = states_of_loss(result, losses)
    # Evidence first: the layer the step trained, else (when .grad was cleared and nothing moved) the loss returned.
    expect_training_mode(
        model, "train_step", in_training, in_eval, returned, RECORD_CHANGED, first_only=True,
        eval_mode="the model was in evaluation mode during the forward pass of train_step (it arrived in eval mode)",
        no_grad="gradient tracking was off during the forward pass of train_step, so nothing can be learned",
        nothing="nothing train_step left shows a forward pass in training mode with gradients tracked: neither the "
                "loss it returned nor the parameters or their .grad afterwards come from one")


# -- test_step -----------------------------------------------------------------


@pytest.mark.check(
    id="test_step_returns_loss",
    name="test_step returns the loss as a float",
    points=1,
    hint=["Compute the loss of the model's predictions on (X, y) and return it.",
          "`loss.item()` (or `float(loss)`) gives a Python float."],
)
def test_test_step_returns_loss(learner, seed):
    model, X, y = random_problem(seed)
    loss_fn = nn.L1Loss()
    expected, _ = gradients(model, X, y, loss_fn)
    # L1 is symmetric; the Poisson loss shows loss_fn(y, model(X)). Computed first: test_step may leave grad mode off.
    poisson, targets, swapped = swap_problem(model, X)
    right, _ = gradients(model, X, targets, poisson)
    value = expect_float(learner.test_step(model, X, y, loss_fn), "test_step")
    expect_close(value, expected, "the returned loss", advice="return loss_fn(model(X), y) for the data given")
    value = expect_float(learner.test_step(model, X, targets, poisson), "test_step")
    expect_not_swapped(value, right, swapped, f"with {SWAP_LOSS}, test_step returned")
    expect_close(value, right, f"with {SWAP_LOSS}, the returned loss",
                 advice="return loss_fn(model(X), y) for the data given")


def run_test_step(learner, model: ModeProbe, X, y):
    """Call test_step on the mode probe: what it returned, the states whose loss that is, and the probe's record."""
    loss_fn = nn.L1Loss()
    losses = state_losses(model, X, y, loss_fn)
    result = learner.test_step(model, X, y, loss_fn)
    return result, states_of_loss(result, losses), forward_records(model, "test_step")


@pytest.mark.check(
    id="test_step_eval_mode",
    name="test_step runs the forward pass in evaluation mode",
    points=1,
    hint=["Dropout and batch norm behave differently while evaluating: there is a call that switches the model.",
          "Call `model.eval()` (or `model.train(False)`) before the forward pass."],
)
def test_test_step_eval_mode(learner, seed):
    model, X, y = random_problem(seed, probe=ModeProbe)
    model.train()
    result, returned, seen = run_test_step(learner, model, X, y)
    # The returned loss tells the mode of the forward pass that made it; the record names the mistake.
    expect_off("training", returned, seen, "the model was in training mode during the forward pass of test_step",
               f"test_step returned {fmt(result)}, which is not the loss of the model's forward pass on (X, y), so "
               "the mode of that forward pass cannot be told from it: return loss_fn(model(X), y) computed in "
               "evaluation mode (see the check about test_step's loss)", RECORD_CHANGED)


@pytest.mark.check(
    id="test_step_no_grad",
    name="test_step tracks no gradients",
    points=1,
    hint=["Evaluation needs no computation graph: turn gradient tracking off around the forward pass.",
          "Wrap the forward pass and the loss in `with torch.inference_mode():` (or `torch.no_grad()`)."],
)
def test_test_step_no_grad(learner, seed):
    model, X, y = random_problem(seed, probe=ModeProbe)
    result, returned, seen = run_test_step(learner, model, X, y)
    # The returned loss tells whether its forward pass tracked gradients; the record names the mistake.
    expect_off("grad", returned, seen, "gradient tracking was on during the forward pass of test_step",
               f"test_step returned {fmt(result)}, which is not the loss of the model's forward pass on (X, y), so "
               "whether that forward pass tracked gradients cannot be told from it: return loss_fn(model(X), y) "
               "computed without gradient tracking (see the check about test_step's loss)", RECORD_CHANGED)
    assert torch.is_grad_enabled(), (
        "test_step turned gradient tracking off and left it off, so training after it learns nothing: "
        "turn it off only inside a `with` block (or a decorator)")


@pytest.mark.check(
    id="test_step_changes_nothing",
    name="test_step changes no parameter and leaves no gradient",
    points=1,
    hint=["Evaluating must not train: no backward pass, no optimizer step.",
          "Remove any `backward()` from `test_step`; after it every parameter's `.grad` must still be None."],
)
def test_test_step_changes_nothing(learner, seed):
    model, X, y = random_problem(seed)
    start = parameters_of(model)
    learner.test_step(model, X, y, nn.L1Loss())
    expect_no_gradients(model, "test_step")
    assert largest_difference(start, parameters_of(model)) == 0, "test_step changed the model's parameters"


# -- fit -------------------------------------------------------------------------


@pytest.mark.check(
    id="fit_history",
    name="fit records every eval_every-th epoch, counted from 1",
    points=1,
    hint=["With epochs=7 and eval_every=2 the history holds epochs 2, 4 and 6.",
          "Loop with `for epoch in range(1, epochs + 1):` and record when `epoch % eval_every == 0`."],
)
def test_fit_history(learner, seed):
    model, train, test = fit_problem(seed)
    history = learner.fit(model, train, test, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05),
                          epochs=7, eval_every=2)
    expect_history(history)
    epochs = list(history["epoch"])
    assert epochs == [2, 4, 6], f"with epochs=7 and eval_every=2 the history's epochs were {fmt_list(epochs)}, expected [2, 4, 6]"
    history = learner.fit(model, train, test, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05), epochs=3)
    expect_history(history)
    assert list(history["epoch"]) == [1, 2, 3], \
        f"with epochs=3 (eval_every defaults to 1) the history's epochs were {fmt_list(history['epoch'])}, expected [1, 2, 3]"


@pytest.mark.check(
    id="fit_losses",
    name="fit records each epoch's training loss and the test loss after it",
    points=2,
    hint=["Record the loss that `train_step` returned in that epoch, and the loss `test_step` gives on the test data.",
          "Train on `train`, evaluate on `test`; append Python floats, and only in the epochs you record."],
)
def test_fit_losses(learner, seed):
    model, train, test = fit_problem(seed)
    loss_fn, lr = nn.MSELoss(), 0.05
    expected, _ = reference_fit(model, train, test, loss_fn, lr, epochs=9, eval_every=3)
    piled_up, _ = reference_fit(model, train, test, loss_fn, lr, epochs=9, eval_every=3, zero_grad=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    history = learner.fit(model, train, test, loss_fn, optimizer, epochs=9, eval_every=3)
    expect_history(history)
    epochs = list(history["epoch"])
    assert epochs == expected["epoch"], (
        f"with epochs=9 and eval_every=3 the history's epochs were {fmt_list(epochs)}, expected "
        f"{fmt_list(expected['epoch'])}: the losses are recorded at the wrong epochs")
    for key, meaning in (("train_loss", "the training loss of that epoch"), ("test_loss", "the test loss after that epoch")):
        values = list(history[key])
        for value in values:
            assert type(value) is float, f"history[{key!r}] holds {kind_of(value)}; record Python floats"
        assert len(values) == len(expected[key]), \
            f"history[{key!r}] has {len(values)} values, expected {len(expected[key])}"
        piles_up = same_run(values, piled_up[key])
        for epoch, value, want in zip(expected["epoch"], values, expected[key]):
            advice = f"it should be {meaning}"
            if abs(value - want) > 1e-4 * max(1.0, abs(want)):  # name the cause when the check can tell it
                if steps[0] != 9:
                    advice += steps_note(steps[0], 9, "fit(epochs=9)") + ", one per epoch"
                elif piles_up:
                    advice = PILED_UP
            expect_close(value, want, f"history[{key!r}] at epoch {epoch}", tolerance=1e-4, advice=advice)


@pytest.mark.check(
    id="fit_modes",
    name="fit trains in training mode and measures the test loss in evaluation mode, every epoch",
    points=1,
    hint=["Measuring the test loss leaves the model in evaluation mode, so the next epoch's training must put it "
          "back in training mode; and the test loss is measured in evaluation mode.",
          "Call `train_step` for each epoch's training and `test_step` for the test loss (they switch the mode), "
          "or, in a loop of your own, `model.train()` before each training step and `model.eval()` before "
          "measuring."],
)
def test_fit_modes(learner, seed):
    model, train, test = mode_fit_problem(seed)  # in evaluation mode, as a model often is after being looked at
    loss_fn = nn.MSELoss()
    losses = mode_fit_test_losses(model, train, test, loss_fn)
    start = parameters_of(model.eval_linear)
    history = learner.fit(model, train, test, loss_fn, torch.optim.SGD(model.parameters(), lr=MODE_FIT_LR),
                          epochs=MODE_FIT_EPOCHS)
    # Only a forward pass in evaluation mode reaches the evaluation-mode layer: in training mode its gradient is 0.
    assert largest_difference(start, parameters_of(model.eval_linear)) == 0, (
        "fit trained the model in evaluation mode (it arrived in evaluation mode, and measuring the test loss "
        "leaves it there): every epoch's training step must run in training mode; call model.train() before it, "
        "as train_step must")
    # The test losses recorded tell the mode of the forward passes that made them.
    expect_history(history)
    for epoch, value in zip(history["epoch"], history["test_loss"]):
        assert not any(training for training, _ in states_of_loss(value, losses)), (
            f"history['test_loss'] at epoch {epoch} is {fmt(value)}, the loss of a forward pass in training mode: "
            "the test loss was measured in the mode the training step left the model in; call model.eval() "
            "before measuring it, as test_step must")


@pytest.mark.check(
    id="fit_rejects_bad_arguments",
    name="fit raises ValueError for epochs < 1 or eval_every < 1",
    points=1,
    hint=["Check the arguments at the start of `fit`, before training.",
          "`if epochs < 1: raise ValueError(...)`, and the same for `eval_every`; nothing else is an error: "
          "epochs=1 runs one epoch, and an eval_every above epochs records nothing."],
)
def test_fit_rejects_bad_arguments(learner, seed):
    model, train, test = fit_problem(seed)
    for arguments in ({"epochs": 0}, {"epochs": -3}, {"epochs": 5, "eval_every": 0}, {"epochs": 5, "eval_every": -1}):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        try:
            learner.fit(model, train, test, nn.MSELoss(), optimizer, **arguments)
        except ValueError:
            continue
        raise AssertionError(f"{call_text('fit', show=str, **arguments)} returned instead of raising ValueError")
    # Only those: one epoch is a valid run, and eval_every above epochs records nothing (empty lists).
    for arguments, argument, valid in (({"epochs": 1}, "epochs", "epochs=1 is valid and runs one epoch"),
                                       ({"epochs": 2, "eval_every": 3}, "eval_every",
                                        "eval_every may exceed epochs, and then nothing is recorded")):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        call = call_text("fit", show=str, **arguments)
        try:
            history = learner.fit(model, train, test, nn.MSELoss(), optimizer, **arguments)
        except ValueError:
            raise AssertionError(f"{call} raised ValueError, but {valid}: raise only when {argument} < 1") from None
        assert isinstance(history, dict), f"{call} returned {kind_of(history)}, not the history dict"
        # A defaultdict that recorded nothing has no keys: read a missing one as an empty list.
        expect_history({key: history.get(key, []) for key in ("epoch", "train_loss", "test_loss")})


@pytest.mark.check(
    id="fit_reference_figures",
    name="fit reproduces the lesson's figures for y = 0.7x + 0.3",
    points=2,
    hint=["Seed 42, L1 loss, SGD with lr=0.01 on the first 80% of the data: compare your numbers with the lesson.",
          "Each epoch is exactly one `train_step` on the whole training set, then (maybe) one `test_step`."],
)
def test_fit_reference_figures(learner):
    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    n_train = int(0.8 * len(X))
    train, test = (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])
    for epochs, expected in ((100, {"weights": 0.5784, "bias": 0.3513}), (200, {"weights": 0.6990, "bias": 0.3093})):
        torch.manual_seed(42)
        model = LinearRegressionModel()
        start = parameters_of(model)
        piled_up = piled_up_after(model, train, test, nn.L1Loss(), 0.01, epochs)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        steps = count_steps(optimizer)
        learner.fit(model, train, test, nn.L1Loss(), optimizer, epochs=epochs)
        for name, want in expected.items():
            observed = getattr(model, name).item()
            # The contract's figures are rounded to 4 places: allow that rounding on top of 1e-4.
            assert abs(observed - want) <= 1e-4 + 5e-5, (
                f"after {epochs} epochs {name} was {observed:.4f}, expected {want:.4f}"
                f"{why_training_differs(steps[0], epochs, start, parameters_of(model), piled_up)}")


@pytest.mark.check(
    id="fit_converges",
    name="fit learns other lines too, on the grading device",
    points=1,
    hint=["Nothing in `fit` should depend on the lesson's numbers: use the model, data and optimizer you are given.",
          "Train on the training data every epoch; the test data is only for measuring."],
)
def test_fit_converges(learner, seed, device):
    torch.manual_seed(seed)
    model = Probe()
    # A line on which never zeroing the gradients cannot end near it by chance: that mistake fails here every time.
    weight, bias, X, y = converging_problem(seed, (model.linear.weight.item(), model.linear.bias.item()), 0.1, 300)
    model = model.to(device)
    train, test = (X[:48].to(device), y[:48].to(device)), (X[48:].to(device), y[48:].to(device))
    start = parameters_of(model)
    piled_up = piled_up_after(model, train, test, nn.MSELoss(), 0.1, 300)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = count_steps(optimizer)
    learner.fit(model, train, test, nn.MSELoss(), optimizer, epochs=300, eval_every=50)
    learned_weight, learned_bias = model.linear.weight.item(), model.linear.bias.item()
    assert abs(learned_weight - weight) < 0.01 and abs(learned_bias - bias) < 0.01, (
        f"after 300 epochs on y = {fmt(weight)}x + {fmt(bias)} the model learned "
        f"y = {fmt(learned_weight)}x + {fmt(learned_bias)}"
        f"{why_training_differs(steps[0], 300, start, parameters_of(model), piled_up)}")


# -- plot_loss_curves ------------------------------------------------------------


@pytest.mark.check(
    id="plot_figure",
    name="plot_loss_curves returns a Figure with one Axes, without showing it",
    points=1,
    hint=["`figure, axes = plt.subplots()` gives a Figure with one Axes; return the figure.",
          "Remove `plt.show()` from the function: the caller shows or saves the figure."],
)
def test_plot_figure(learner, seed, monkeypatch):
    figure = figure_from(learner, "plot_loss_curves", some_history(seed), monkeypatch=monkeypatch)
    axes = figure.get_axes()
    assert len(axes) == 1, f"the Figure has {len(axes)} Axes, expected one"


@pytest.mark.check(
    id="plot_lines",
    name="plot_loss_curves draws both losses against the epoch, with axis labels and a legend",
    points=1,
    hint=["Plot `history[\"train_loss\"]` and `history[\"test_loss\"]` against `history[\"epoch\"]`, "
          "and name both axes.",
          "Give each line a `label=` (\"Train loss\", \"Test loss\") when you plot it, call `legend()`, and "
          "name the axes with `set_xlabel(...)` and `set_ylabel(...)`."],
)
def test_plot_lines(learner, seed, monkeypatch):
    import numpy as np

    history = some_history(seed)
    figure_from(learner, "plot_loss_curves", some_history(seed + 1), monkeypatch=monkeypatch)  # an earlier plot must not leak into the next
    figure = figure_from(learner, "plot_loss_curves", history, monkeypatch=monkeypatch)
    axes = figure.get_axes()
    assert axes, "the Figure has no Axes"
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert labels.count("Train loss") <= 1, (
        f"after two calls the Figure has {labels.count('Train loss')} lines labelled 'Train loss': "
        "make a new Figure in each call (plt.subplots()) instead of drawing on the current one")
    lines = {line.get_label(): line for line in axes[0].get_lines()}
    for label, key in (("Train loss", "train_loss"), ("Test loss", "test_loss")):
        assert label in lines, f"no line is labelled {label!r} ({describe_labels(labels, ('line', 'lines'))})"
        x = np.asarray(lines[label].get_xdata(), dtype=float)
        y = np.asarray(lines[label].get_ydata(), dtype=float)
        assert x.shape == (len(history["epoch"]),) and np.allclose(x, history["epoch"]), \
            f"the {label!r} line's x values are not history['epoch']"
        assert y.shape == (len(history[key]),) and np.allclose(y, history[key]), \
            f"the {label!r} line's y values are not history[{key!r}]"
    texts = legend_texts(figure, axes[0])  # the Axes' legend or the Figure's (fig.legend())
    assert texts is not None, "the Figure has no legend: call legend() after plotting the labelled lines"
    assert {"Train loss", "Test loss"} <= set(texts), (
        f"the legend does not show 'Train loss' and 'Test loss' "
        f"({describe_labels(texts, ('legend entry', 'legend entries'))})")
    assert axes[0].get_xlabel().strip() and axes[0].get_ylabel().strip(), \
        "label both axes (the epoch along x, the loss along y)"
