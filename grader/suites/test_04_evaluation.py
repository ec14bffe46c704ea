"""Hidden suite for exercise 04 (evaluation and inference).

Every check observes behaviour, never spelling. ``RegularizedNet``'s layers are
found by their type, wherever they are kept (attributes with any names, or an
``nn.Sequential``), and its dropout is measured from its outputs, so an
``nn.Dropout`` module and ``F.dropout(..., training=self.training)`` both pass.
``predict`` and ``evaluate`` are graded on the suite's own models, which
remember for each forward pass whether it ran in training mode and whether
gradients were tracked: ``no_grad``, ``inference_mode``, ``set_grad_enabled(False)``
and a ``@torch.no_grad()`` decorator all pass. Sizes, weights and data come from
each check's ``seed``.

Learner code runs in a process of its own, so a model's record of its forward
passes is a report that code can rewrite: it only names a mistake. Every verdict
rests on an outcome computed again here: the predictions and metrics returned
(the models used for gradient tracking add ``GRAD_SHIFT`` to their output when a
forward pass tracks gradients, so the numbers returned tell it), batch norm's
running statistics, the parameters and their ``.grad``.
"""

import random

import pytest
import torch
from torch import nn

from grader.checking import (RECORD_CHANGED, expect_close, expect_equal_tensors, expect_float, expect_no_gradients,
                             expect_not_swapped, expect_tensor, fmt, forward_records, in_learner_process,
                             is_learner_model, kind_of, matching_value)
from grader.checking.evaluation import (DROPOUT_TOLERANCE, EVAL_MISTAKES, GRAD_SHIFT, TRAINING_MODE, GradProbe,
                                        GradShowingNet, any_close, buffers_of, calling, changed_buffers,
                                        dropout_outputs, eval_forward, eval_predictions, in_training_mode, layers_of,
                                        mae_errors, mae_mistake, net_sizes, numbers_in, randomise_norm, same_values,
                                        trained_model, two_values)

# -- RegularizedNet: its layers ------------------------------------------------------


def build_net(learner, sizes: tuple[int, int, int], p: float | None = None) -> nn.Module:
    """``RegularizedNet(*sizes, p)`` (without ``p`` when it is None), which must be an ``nn.Module``."""
    net = learner.RegularizedNet(*sizes) if p is None else learner.RegularizedNet(*sizes, p)
    assert isinstance(net, nn.Module), (
        f"RegularizedNet(...) made {kind_of(net)}; RegularizedNet must subclass nn.Module")
    # Plain attributes stay in the learner process (the model here mirrors its registered tree): look there.
    hidden = in_learner_process(net, unregistered_layers, net) if is_learner_model(net) else unregistered_layers(net)
    assert not hidden, (
        f"RegularizedNet keeps layers in {'; '.join(hidden)}: nn.Module does not look inside those, so the layers "
        "are not in model.parameters() or the state dict, and model.eval() misses them; use nn.Sequential or "
        "nn.ModuleList, or keep each layer as an attribute")
    return net


def unregistered_layers(net: nn.Module) -> list[str]:
    """Where ``net`` keeps layers with parameters or buffers in plain lists, tuples or dicts without registering them.

    A plain container that only points at layers registered elsewhere (``self.order = [self.hidden, ...]``) is
    fine; so is one holding layers without state (a ReLU). Only a layer the model cannot see is reported, as
    ``"a plain list (self.layers: Linear, BatchNorm1d, Linear)"``.
    """
    registered = {id(module) for module in net.modules()}
    found = []
    for owner_name, owner in net.named_modules():
        for attribute, value in vars(owner).items():
            if attribute.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            items = value.values() if isinstance(value, dict) else value
            hidden = [type(item).__name__ for item in items
                      if isinstance(item, nn.Module) and id(item) not in registered
                      and (any(True for _ in item.parameters()) or any(True for _ in item.buffers()))]
            if hidden:
                where = f"self.{owner_name}.{attribute}" if owner_name else f"self.{attribute}"
                found.append(f"a plain {type(value).__name__} ({where}: {', '.join(hidden)})")
    return found


@pytest.mark.check(
    id="net_layers",
    name="RegularizedNet has Linear(in, hidden), BatchNorm1d(hidden) and Linear(hidden, out)",
    points=1,
    hint=["Batch norm normalises the hidden features, so its size is the hidden size.",
          "In `__init__`: `nn.Linear(in_features, hidden_features)`, `nn.BatchNorm1d(hidden_features)`, "
          "`nn.Dropout(p)` and `nn.Linear(hidden_features, out_features)`, kept as attributes or in one "
          "`nn.Sequential`, and `super().__init__()` first."],
)
def test_net_layers(learner, seed):
    for sizes in (net_sizes(seed), net_sizes(seed + 1)):
        layers_of(build_net(learner, sizes), sizes)


# -- RegularizedNet: the order of the layers, in evaluation mode ---------------------


@pytest.mark.check(
    id="net_forward",
    name="RegularizedNet computes Linear, BatchNorm1d, ReLU, Dropout, Linear in that order",
    points=2,
    hint=["In evaluation mode dropout does nothing: the output must be the last Linear of ReLU(batch norm(first Linear(x))).",
          "Apply the layers in `forward` in the order the exercise's docstring gives. If you call `F.dropout` yourself, pass "
          "`training=self.training`; otherwise it keeps dropping in evaluation mode."],
)
def test_net_forward(learner, seed):
    sizes = net_sizes(seed)
    net = build_net(learner, sizes)
    first, norm, last = layers_of(net, sizes)
    generator = torch.Generator().manual_seed(seed)
    randomise_norm(norm, generator)
    X = torch.randn(64, sizes[0], generator=generator) * 2
    net.eval()
    with torch.no_grad():
        output, again = net(X), net(X)
        expected = eval_forward(first, norm, last, X)
        output = expect_tensor(output, "RegularizedNet's output in evaluation mode", shape=(64, sizes[2]))
        expect_tensor(again, "RegularizedNet's output in evaluation mode", shape=(64, sizes[2]))
        assert torch.equal(output, again), (
            "in evaluation mode two forward passes on the same input gave different outputs: "
            "dropout is still dropping (F.dropout needs training=self.training)")
        for mistake, message in EVAL_MISTAKES:
            assert (not (not torch.allclose(output, expected, rtol=1e-4, atol=1e-4) and \
                    torch.allclose(output, eval_forward(first, norm, last, X, **mistake), rtol=1e-4, atol=1e-4))), (
                message)
        expect_equal_tensors(output, expected, "in evaluation mode, the output of RegularizedNet compared with "
                             "Linear, BatchNorm1d (running statistics), ReLU, Linear computed with its own layers,",
                             tolerance=1e-4)


# -- RegularizedNet: dropout in training mode ----------------------------------------

@pytest.mark.check(
    id="net_dropout",
    name="RegularizedNet drops hidden activations with probability p in training mode",
    points=2,
    hint=["Dropout sits after the ReLU and before the last Linear, and uses the p given to `__init__` (0.5 by default).",
          "`nn.Dropout(p)` zeroes each activation with probability p in training mode and scales the survivors by "
          "1/(1-p); pass p itself (the probability of dropping, not of keeping)."],
)
def test_net_dropout(learner, seed):
    rng = random.Random(seed)
    sizes = net_sizes(seed, out_equals_hidden=True)
    generator = torch.Generator().manual_seed(seed)
    for p in (round(rng.uniform(0.1, 0.35), 3), None):
        rate = 0.5 if p is None else p
        described = (f"RegularizedNet({sizes[0]}, {sizes[1]}, {sizes[2]})" + (" (p left at its default, 0.5)" if p is None
                     else f" with p={fmt(p)}"))
        output, bias = dropout_outputs(build_net(learner, sizes, p), sizes, generator)
        # Each hidden activation is 1 before dropout, so each output is bias (dropped) or bias + scale (kept).
        split = two_values(output, bias)
        if split is None:
            after_last = two_values(output / (1 + bias), 0.0)
            assert not (after_last is not None and bool(after_last[0].any())), (
                f"{described}: dropout was applied to the output of the last Linear; "
                "it belongs between the ReLU and the last Linear")
            raise AssertionError(
                f"{described} in training mode: with batch norm's weight 0 and bias 1 every hidden activation is 1 "
                "after the ReLU, so after dropout each should be 0 or 1/(1-p), but other values came out: check the "
                "order Linear, BatchNorm1d, ReLU, Dropout, Linear")
        dropped, scale = split
        fraction = dropped.float().mean().item()
        if abs(fraction - rate) > DROPOUT_TOLERANCE:
            assert fraction != 0, (
                f"{described} dropped no hidden activation in training mode: dropout must be "
                "active in training mode, between the ReLU and the last Linear")
            flipped = " (is p being used as the probability of keeping?)" if abs(fraction - (1 - rate)) <= DROPOUT_TOLERANCE else ""
            raise AssertionError(f"{described} dropped {fmt(100 * fraction)}% of the hidden activations in training "
                                 f"mode, expected about {fmt(100 * rate)}%{flipped}")
        expected_scale = 1.0 / (1.0 - rate)
        if abs(scale - expected_scale) > 1e-4 * expected_scale:
            unscaled = " (they were not scaled at all; nn.Dropout does that for you)" if abs(scale - 1) < 1e-4 else ""
            raise AssertionError(f"{described}: in training mode the hidden activations that dropout kept were "
                                 f"multiplied by {fmt(scale)}, expected 1/(1-p) = {fmt(expected_scale)}{unscaled}")


# -- predict ----------------------------------------------------------------------


@pytest.mark.check(
    id="predict_values",
    name="predict returns the model's evaluation-mode predictions",
    points=2,
    hint=["The model may arrive in training mode, straight from training: switch it first.",
          "Call `model.eval()`, then run `model(X)` inside `torch.inference_mode()` (or `torch.no_grad()`) and "
          "return the result as it is: same shape, float32."],
)
def test_predict_values(learner, seed):
    out = random.Random(seed).randint(2, 4)
    model, X, _ = trained_model(seed, out=out)
    expected = eval_predictions(model, X)
    result = expect_tensor(learner.predict(model, X), "predict's result", shape=(len(X), out), dtype=torch.float32)
    assert not (in_training_mode(model) and not torch.allclose(result.detach().cpu(), expected, rtol=1e-5, atol=1e-5)), (
        f"predict's output differs from the model's evaluation-mode output: {TRAINING_MODE}")
    expect_equal_tensors(result, expected, "predict's output")


@pytest.mark.check(
    id="predict_repeatable",
    name="predict gives the same output every time for the same input",
    points=1,
    hint=["Something in the model is random while it trains: switch it off for predictions.",
          "Dropout only stops dropping in evaluation mode: call `model.eval()` at the start of `predict`."],
)
def test_predict_repeatable(learner, seed):
    model, X, _ = trained_model(seed)
    results = [expect_tensor(learner.predict(model, X), "predict's result").detach().cpu() for _ in range(3)]
    assert all(result.shape == results[0].shape for result in results[1:]), (
        f"three calls of predict on the same input gave outputs of shapes "
        f"{', '.join(str(list(result.shape)) for result in results)}")
    if not all(torch.equal(result, results[0]) for result in results[1:]):
        gap = max((result - results[0]).abs().max().item() for result in results[1:])
        raise AssertionError(f"three calls of predict on the same input gave outputs that differ by up to {fmt(gap)}: "
                             "dropout was still dropping, so the model was not in evaluation mode")


@pytest.mark.check(
    id="predict_keeps_running_stats",
    name="predict leaves batch norm's running statistics unchanged, and a model in evaluation mode in it",
    points=1,
    hint=["In training mode every forward pass updates batch norm's running mean and variance.",
          "Call `model.eval()` before the forward pass in `predict`, so batch norm only reads its running statistics; "
          "do not switch the model to training mode afterwards."],
)
def test_predict_keeps_running_stats(learner, seed):
    model, X, _ = trained_model(seed)
    before = buffers_of(model)
    learner.predict(model, X)
    changed = changed_buffers(model, before)
    assert not changed, (f"predict changed batch norm's running statistics ({', '.join(changed)}): the forward pass "
                         "ran in training mode, which updates them; predictions must leave the model as it was")
    # A model already in evaluation mode (loaded for inference, say) must come back in it.
    model.eval()
    learner.predict(model, X)
    switched = [name or "the model" for name, module in model.named_modules() if module.training]
    assert not switched, (
        "predict put a model given in evaluation mode into training mode: after predict the model must still be "
        "in evaluation mode, so the next forward pass does not drop activations or update batch norm; do not call "
        "model.train() at the end of predict")


@pytest.mark.check(
    id="predict_batch_of_one",
    name="predict works on a batch of one sample",
    points=1,
    hint=["Batch norm in training mode needs at least two samples to compute a variance; in evaluation mode it does not.",
          "Call `model.eval()` in `predict`, and return the model's output without reshaping it: [1, out] for one sample."],
)
def test_predict_batch_of_one(learner, seed):
    model, X, _ = trained_model(seed, out=1)
    one = X[:1]
    expected = eval_predictions(model, one)
    try:
        result = learner.predict(model, one)
    except ValueError as exc:
        if "more than 1 value per channel" not in str(exc):
            raise
        raise AssertionError("predict failed on a batch of one sample: batch norm in training mode cannot compute "
                             "statistics from one sample (in evaluation mode it uses its running statistics)") from None
    result = expect_tensor(result, "predict's result for one sample", shape=(1, 1))
    expect_equal_tensors(result, expected, "predict's output for one sample")


@pytest.mark.check(
    id="predict_no_grad",
    name="predict tracks no gradients: no autograd history, no .grad left behind",
    points=1,
    hint=["Predictions need no computation graph: turn gradient tracking off around the forward pass.",
          "Run the forward pass inside `with torch.inference_mode():` (or `torch.no_grad()`); never call `backward()` in predict."],
)
def test_predict_no_grad(learner, seed):
    model, X, _ = trained_model(seed, probe=GradProbe)
    without = eval_predictions(model, X)  # computed without gradient tracking: no GRAD_SHIFT
    result = learner.predict(model, X)
    seen = forward_records(model, "predict", "the model")
    claimed = not any(grad for _, grad in seen)
    assert claimed, \
        "gradient tracking was on during predict's forward pass: run it inside torch.inference_mode() or torch.no_grad()"
    result = expect_tensor(result, "predict's result")
    # The output tells whether its forward pass tracked gradients: the model adds GRAD_SHIFT when it does.
    assert not same_values(result, without + GRAD_SHIFT), (
        "gradient tracking was on during predict's forward pass: run it inside "
        f"torch.inference_mode() or torch.no_grad(){RECORD_CHANGED}")
    assert not result.requires_grad and result.grad_fn is None, \
        "predict's result carries autograd history (requires_grad=True): compute it with gradient tracking off"
    expect_no_gradients(model, "predict")
    assert same_values(result, without), (
        "predict's result is not the model's output for X, so whether its forward pass tracked "
        "gradients cannot be told from it: return model(X) as it is, moved to the CPU "
        "(see the check about predict's values)")


@pytest.mark.check(
    id="predict_device",
    name="predict runs a model on any device and returns a CPU tensor",
    points=1,
    hint=["The inputs must be on the model's device, and the result comes back to the CPU as a torch.Tensor.",
          "`next(model.parameters()).device` is where the model is: `X.to(that)` before the forward pass, "
          "`.cpu()` on the predictions after it (keep them a tensor, not a NumPy array or a list)."],
)
def test_predict_device(learner, seed, device):
    model, X, _ = trained_model(seed, out=2)
    expected = eval_predictions(model, X)
    devices = [torch.device("cpu")] + ([device] if device.type != "cpu" else [])
    for where in devices:
        model.to(where)
        # Inputs on the CPU, as new data usually arrives; and already on the model's device.
        for inputs in {X.device: X, where: X.to(where)}.values():
            what = f"predict on a model on {where.type} with inputs on {inputs.device.type}"
            result = expect_tensor(calling(learner.predict, what, model, inputs), f"the result of {what}")
            assert result.device.type == "cpu", \
                f"{what} returned a tensor on {result.device}; move the predictions back to the CPU with .cpu()"
            moved_to = next(model.parameters()).device
            assert moved_to.type == where.type, (f"{what} moved the model to {moved_to}: leave the model where it is "
                                                 "and move the inputs to it")
            assert not (in_training_mode(model) and not torch.allclose(result.detach(), expected, rtol=1e-4, atol=1e-4)), (
                f"{what} differs from the model's evaluation-mode output: {TRAINING_MODE}")
            expect_equal_tensors(result, expected, f"the output of {what}", tolerance=1e-4)


# -- evaluate ---------------------------------------------------------------------


def expect_metrics(result) -> tuple[float, float]:
    """``(loss, mae)`` from what ``evaluate`` returned, both exactly Python floats."""
    assert isinstance(result, dict), f"evaluate returned {kind_of(result)}, not a dict"
    missing = [key for key in ("loss", "mae") if key not in result]
    assert not missing, f"the dict evaluate returned has no key {' or '.join(map(repr, missing))} (keys: {sorted(map(str, result))})"
    return expect_float(result["loss"], 'evaluate(...)["loss"]'), expect_float(result["mae"], 'evaluate(...)["mae"]')


@pytest.mark.check(
    id="evaluate_returns_floats",
    name='evaluate returns {"loss": ..., "mae": ...} as Python floats',
    points=1,
    hint=['Return a dict with exactly the keys "loss" and "mae".',
          "`.item()` turns a one-element tensor into a Python float: `{\"loss\": loss.item(), \"mae\": mae.item()}`."],
)
def test_evaluate_returns_floats(learner, seed):
    model, X, y = trained_model(seed)
    expect_metrics(learner.evaluate(model, X, y, nn.MSELoss()))


@pytest.mark.check(
    id="evaluate_loss",
    name="evaluate returns loss_fn of the evaluation-mode predictions, on any device",
    points=1,
    hint=["Make the predictions exactly as `predict` does (you may call it), then apply the `loss_fn` you are given.",
          "Evaluation mode and no gradient tracking; `loss_fn(predictions, y)` with both on the same device, then `.item()`."],
)
def test_evaluate_loss(learner, seed, device):
    model, X, y = trained_model(seed)
    predictions = eval_predictions(model, X)
    model.to(device)
    # MSE and Huber are symmetric; the Poisson loss, exp(prediction) - y * prediction, is not: with targets 2 above
    # the predictions, loss_fn(y, predictions) is far from loss_fn(predictions, y) and gives itself away.
    losses = ((nn.MSELoss(), "MSELoss", y), (nn.HuberLoss(delta=0.3), "HuberLoss(delta=0.3)", y),
              (nn.PoissonNLLLoss(), "PoissonNLLLoss", y + 2.0))
    for loss_fn, name, targets in losses:
        expected = loss_fn(predictions, targets).item()
        what = f"evaluate on a model on {device.type} with inputs on the CPU"
        loss, _ = expect_metrics(calling(learner.evaluate, what, model, X, targets, loss_fn))
        assert not (in_training_mode(model) and abs(loss - expected) > 1e-5 * max(1.0, abs(expected))), (
            f'evaluate(...)["loss"] was {fmt(loss)}, expected {fmt(expected)}: {TRAINING_MODE}')
        swapped = loss_fn(targets, predictions).item()
        expect_not_swapped(loss, expected, swapped, f'with {name}, evaluate(...)["loss"] was')
        expect_close(loss, expected, f'with {name}, evaluate(...)["loss"]', advice="return loss_fn(predictions, y)")


def expect_mae_of_every_output(learner, seed: int) -> None:
    """With several outputs a sample has several errors: the MAE averages them all, not only over the rows."""
    model, X, _ = trained_model(seed + 1, out=2)
    predictions = eval_predictions(model, X)
    errors = mae_errors(seed + 1, predictions.shape)
    expected = errors.abs().mean().item()
    _, mae = expect_metrics(learner.evaluate(model, X, predictions - errors, nn.MSELoss()))
    what = 'for a model with 2 outputs, evaluate(...)["mae"]'
    per_row = errors.abs().sum().item() / len(errors)  # |errors| summed over each row's outputs, averaged over rows
    mistake = matching_value(mae, {
        "it is the sum of the absolute errors divided by the number of rows (len(y)), which is twice the MAE with 2 "
        "outputs; take the mean over every element, (predictions - y).abs().mean()": per_row})
    assert abs(mae - expected) <= 1e-5 * max(1.0, expected) or mistake is None, (
        f"{what} was {fmt(mae)}, expected {fmt(expected)}: {mistake}")
    expect_close(mae, expected, what, advice="the mean of |prediction - y| over every element")


@pytest.mark.check(
    id="evaluate_mae",
    name="evaluate returns the mean absolute error, whatever the loss function",
    points=1,
    hint=["The MAE is the mean of |prediction - y| over every element (every output of every sample); it is not "
          "the loss unless the loss is L1.",
          "`(predictions - y).abs().mean()` (or `nn.L1Loss()(predictions, y)`), then `.item()`."],
)
def test_evaluate_mae(learner, seed):
    model, X, _ = trained_model(seed)
    predictions = eval_predictions(model, X)
    # Errors of both signs (alternating), so that forgetting the absolute value shows; then each y mirrored about its
    # prediction, which keeps the MAE and flips the mean error's sign: each usual mistake gives a pair of values of
    # its own (see mae_mistake).
    errors = mae_errors(seed, predictions.shape)
    expected = errors.abs().mean().item()
    losses, maes = zip(*(expect_metrics(learner.evaluate(model, X, predictions - sign * errors, nn.MSELoss()))
                         for sign in (1, -1)))
    if not all(abs(mae - expected) <= 1e-5 * max(1.0, expected) for mae in maes):
        got = (f'evaluate(...)["mae"] was {fmt(maes[0])}, and {fmt(maes[1])} with each y mirrored about its '
               f"prediction, expected {fmt(expected)} both times")
        assert not in_training_mode(model), f"{got}: {TRAINING_MODE}"
        mistake = mae_mistake(maes, errors, losses)
        assert mistake is None, f"{got}: {mistake}"
    for mae, what in zip(maes, ('evaluate(...)["mae"]', 'with each y mirrored about its prediction, evaluate(...)["mae"]')):
        expect_close(mae, expected, what, advice="the mean of |prediction - y| over every sample")
    expect_mae_of_every_output(learner, seed)


@pytest.mark.check(
    id="evaluate_changes_nothing",
    name="evaluate tracks no gradients and changes nothing in the model",
    points=1,
    hint=["Evaluating is measuring: no gradient tracking, no backward pass, no training-mode forward pass.",
          "Make the predictions as `predict` does (evaluation mode, inside `torch.inference_mode()`); "
          "compute the loss and the MAE from them."],
)
def test_evaluate_changes_nothing(learner, seed):
    # Two outputs, so that a predict that squeezes its result still gives evaluate numbers to recognise.
    model, X, y = trained_model(seed, out=2, probe=GradShowingNet)
    before = buffers_of(model)
    parameters = [parameter.detach().clone() for parameter in model.parameters()]
    # What evaluate returns from evaluation-mode predictions made without, and with, gradient tracking.
    predictions = eval_predictions(model, X)
    metrics = {tracked: [nn.MSELoss()(shown, y).item(), (shown - y).abs().mean().item()]
               for tracked, shown in ((False, predictions), (True, predictions + GRAD_SHIFT))}
    result = learner.evaluate(model, X, y, nn.MSELoss())
    seen = forward_records(model, "evaluate", "the model")
    numbers = numbers_in(result)
    claimed = not any(grad for _, grad in seen)
    # The numbers returned tell whether the forward pass tracked gradients: the model adds GRAD_SHIFT when it does.
    assert claimed and not (any_close(numbers, metrics[True]) and not any_close(numbers, metrics[False])), (
        "gradient tracking was on during evaluate's forward pass: run it inside "
        f"torch.inference_mode() or torch.no_grad(){RECORD_CHANGED if claimed else ''}")
    expect_no_gradients(model, "evaluate")
    assert all(torch.equal(a, b.detach()) for a, b in zip(parameters, model.parameters())), \
        "evaluate changed the model's parameters"
    changed = changed_buffers(model, before)
    assert not changed, (f"evaluate changed batch norm's running statistics ({', '.join(changed)}): the forward pass "
                         "ran in training mode; call model.eval() first (or use predict)")
    assert any_close(numbers, metrics[False]), (
        "evaluate returned neither the loss nor the MAE of the model's evaluation-mode "
        "predictions, so whether their forward pass tracked gradients cannot be told: compute "
        "both from predictions made as predict makes them (see the checks of the loss and MAE)")
