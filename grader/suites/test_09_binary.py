"""Hidden suite for exercise 09 (binary classification).

Every check observes behaviour, never spelling: the points ``make_circles``
returns (radii, angles, the size of the noise, what the seed does), which layers
a forward pass runs through (seen with forward hooks, so ``nn.Sequential`` and a
hand-written ``forward``, ``nn.ReLU`` and ``F.relu`` all pass), what
``binary_train_step`` does to a model and returns, what ``predict_proba`` gives
and how it runs the model, and the numbers the metrics give.

The checks of one function never depend on another learner function. The models
the suite hands to the learner's functions are its own and, like the contract's
``BinaryClassifier``, return logits of shape ``[N]``: a correct function takes them
as they are, with no reshaping. Data comes from each check's ``seed``.

The learner's code runs in a process of its own: a probe's record of its forward
passes (``seen``) comes back from there, and learner code could rewrite it. So a
record only names mistakes; the checks of mode and gradient tracking use
``StateProbe`` (``grader.checking.binary``), whose output differs in each state, so
that the outcome (the loss returned, the head a step trained, the order of the
probabilities) shows the state.
"""

import pytest
import torch

from grader.checking import (PROBE_RECORD_CHANGED, count_steps, expect_close, expect_float, expect_no_gradients,
                             expect_off, expect_tensor, expect_training_mode, fmt, leave_stale_gradients,
                             linear_calls, matching_value, parameters_of, seeded_model, states_of_loss, touched,
                             trained)
from grader.checking.binary import (circles, classifier_sizes, eval_probabilities, expect_batch_loss,
                                    expect_bce_of_logits, expect_linear_chain, expect_logit_per_row, expect_logits,
                                    expect_noise, expect_one_step, expect_probabilities, expect_probabilities_on_cpu,
                                    expect_relus_between, expect_two_circles, fresh_gradients, loss_after,
                                    predict_proba_explained, problem, run_predict_proba, state_problem)
from grader.checking.binary_checks import (REJECTED_CIRCLES, as_item, enlarge_last_layer, expect_circle_labels,
                                           expect_default_seed, expect_global_generator_untouched, expect_no_history,
                                           expect_not_loss_after, expect_one_step_taken, expect_same_data,
                                           expect_value_error, one_row_step, probe_logits, state_step_expectations)
from grader.checking.binary_metrics import (counts, expect_decided_at, expect_no_percentage, expect_not_plain_average,
                                            expect_same_as_floats, expect_zero_division_as_zero, learner_metrics,
                                            metrics_problem, positive_class_mistakes, threshold_cases,
                                            zero_division_problem)

# Every tensor here is tiny, so extra threads only cost (as in the suite of exercise 07).
torch.set_num_threads(1)


# -- make_circles ------------------------------------------------------------------


@pytest.mark.check(
    id="circles_shapes",
    name="make_circles returns X float32 [n_samples, 2] and y float32 [n_samples]",
    points=1,
    hint=["One row of two coordinates per point, and one label per point.",
          "X is float32 of shape [n_samples, 2]; the labels are float32 too (BCEWithLogitsLoss compares them with "
          "float logits), one per row, so y has shape [n_samples], not [n_samples, 1]."],
)
def test_circles_shapes(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = 2 * int(torch.randint(10, 30, (1,), generator=generator)) + 1
    circles(learner, n_samples, dtypes=True, seed=seed)
    circles(learner, n_samples + 1, dtypes=True, noise=0.1, factor=0.5, seed=seed)


@pytest.mark.check(
    id="circles_labels",
    name="make_circles labels n_samples // 2 points 0.0 and the rest 1.0",
    points=1,
    hint=["The labels are the numbers 0.0 and 1.0 only: the outer circle is class 0, the inner one class 1.",
          "With an odd n_samples the outer circle gets n_samples // 2 points and the inner one the rest (one more)."],
)
def test_circles_labels(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = 2 * int(torch.randint(10, 40, (1,), generator=generator)) + 1
    _, y, call = circles(learner, n_samples, seed=seed)
    expect_circle_labels(y, call, n_samples)


@pytest.mark.check(
    id="circles_geometry",
    name="without noise, make_circles puts its points evenly round radius 1 (label 0) and radius factor (label 1)",
    points=2,
    hint=["With noise=0 every point of label 0 lies on the circle of radius 1 and every point of label 1 on the "
          "circle of radius factor (0.8 by default), both centred on (0, 0).",
          "A circle of m points has them at the angles 2πk/m for k = 0 … m−1: "
          "`torch.arange(m) * 2 * math.pi / m`, then (radius·cos, radius·sin). "
          "`torch.linspace(0, 2 * math.pi, m)` puts a point at both 0 and 2π, the same place."],
)
def test_circles_geometry(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    n_samples = int(torch.randint(12, 40, (1,), generator=generator))
    factor = round(0.2 + 0.6 * float(torch.rand(1, generator=generator)), 2)
    for arguments, inner in (({"noise": 0.0, "factor": factor}, factor), ({"noise": 0.0}, 0.8)):
        X, y, call = circles(learner, n_samples, seed=seed, **arguments)
        expect_two_circles(X, y, call, inner, default="" if "factor" in arguments else ", the default")
    # Two circles of 61 points each: torch.arange(0, 2π, 2π / 61) (NumPy's arange too) rounds its way to 62 angles,
    # where the sizes above give the right count.
    try:
        X, y, call = circles(learner, 122, seed=seed, noise=0.0)
        expect_two_circles(X, y, call, 0.8, default=", the default")
    except AssertionError as error:
        raise AssertionError(
            f"{error}. With 61 points a circle, torch.arange(0, 2 * math.pi, 2 * math.pi / 61) gives 62 angles: "
            "with a step that is not a whole number, rounding can add one value at the end. Count the points with "
            "whole numbers instead: torch.arange(m) * (2 * math.pi / m)") from None


@pytest.mark.check(
    id="circles_noise",
    name="make_circles adds Gaussian noise of standard deviation noise to every coordinate",
    points=1,
    hint=["`noise` is a standard deviation: with noise=0.1 the points lie typically about 0.1 from their circle.",
          "Add `noise * torch.randn(n_samples, 2, generator=...)` to the points: randn is Gaussian with standard "
          "deviation 1 (rand is uniform), and both coordinates get noise."],
)
def test_circles_noise(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    noise = round(0.03 + 0.06 * float(torch.rand(1, generator=generator)), 3)
    X, _, call = circles(learner, 2000, noise=noise, factor=0.4, seed=seed)
    expect_noise(X, noise, call)


@pytest.mark.check(
    id="circles_seeded",
    name="make_circles gives the same data for the same seed, other data for another, and leaves torch's "
         "global generator alone",
    points=1,
    hint=["The data must depend on `seed` alone, whatever else used torch's random numbers, and calling "
          "make_circles must not change the random numbers the rest of a program gets.",
          "Make a `torch.Generator().manual_seed(seed)` and pass `generator=` to every random call "
          "(`torch.randn`, `torch.randperm`, ...); `torch.manual_seed` would reset the global generator instead."],
)
def test_circles_seeded(learner, seed):
    first = circles(learner, 40, noise=0.1, seed=seed)
    torch.rand(100)  # other code uses the global generator in between
    again = circles(learner, 40, noise=0.1, seed=seed)
    expect_same_data(first, again, seed)
    expect_global_generator_untouched(learner, seed)
    expect_default_seed(learner)
    other = circles(learner, 40, noise=0.1, seed=seed + 1)[0]
    assert not torch.equal(first[0], other), \
        f"seed={seed} and seed={seed + 1} gave exactly the same X: the seed must choose the noise"


@pytest.mark.check(
    id="circles_rejects",
    name="make_circles raises ValueError for n_samples < 2, noise < 0 or factor outside (0, 1)",
    points=1,
    hint=["Check the arguments first, and raise ValueError with a message that says what is allowed.",
          "Two circles need at least one point each (n_samples >= 2); a standard deviation cannot be negative; "
          "the inner circle must be strictly inside the outer one and not a point (0 < factor < 1)."],
)
def test_circles_rejects(learner, seed):
    for arguments in REJECTED_CIRCLES:
        expect_value_error(learner, arguments)
    for arguments in ({"n_samples": 2}, {"n_samples": 20, "noise": 0.0, "factor": 0.99}):
        circles(learner, **arguments)  # the smallest allowed values work


# -- BinaryClassifier ----------------------------------------------------------------


@pytest.mark.check(
    id="classifier_output_shape",
    name="BinaryClassifier returns one logit per row: shape [N], also for a batch of one",
    points=1,
    hint=["The last Linear layer gives shape [N, 1]; the targets have shape [N], so remove that last dimension.",
          "`.squeeze(-1)` (or `.view(-1)`) removes only the last dimension; a bare `.squeeze()` also removes the "
          "batch dimension when N is 1, giving shape []."],
)
def test_classifier_output_shape(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    generator = torch.Generator().manual_seed(seed)
    for model, features, described in (
            (seeded_model(learner, "BinaryClassifier", seed, in_features, hidden), in_features,
             f"BinaryClassifier({in_features}, {hidden})"),
            (seeded_model(learner, "BinaryClassifier", seed), 2, "BinaryClassifier()")):
        for n in (7, 1):
            output = model(torch.randn(n, features, generator=generator))
            expect_logit_per_row(output, f"the output of {described} for {n} row{'s' if n > 1 else ''}", n)


@pytest.mark.check(
    id="classifier_layers",
    name="BinaryClassifier registers and runs three nn.Linear layers: in -> hidden -> hidden -> 1",
    points=2,
    hint=["Two hidden layers means three nn.Linear layers: in_features to hidden, hidden to hidden, hidden to 1.",
          "Build them in `__init__` in that order (`nn.Linear(in_features, hidden)`, `nn.Linear(hidden, hidden)`, "
          "`nn.Linear(hidden, 1)`) and call each once, in the same order, in the forward pass; the defaults are "
          "in_features=2 and hidden=16."],
)
def test_classifier_layers(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    for arguments, (features, size) in (((in_features, hidden), (in_features, hidden)), ((), (2, 16))):
        model = seeded_model(learner, "BinaryClassifier", seed, *arguments)
        x = torch.randn(5, features, generator=torch.Generator().manual_seed(seed))
        expect_linear_chain(model, x, f"BinaryClassifier({', '.join(map(str, arguments))})", (features, size, size, 1))


@pytest.mark.check(
    id="classifier_relu",
    name="BinaryClassifier applies a ReLU after each hidden layer",
    points=1,
    hint=["Linear layers with nothing in between are one linear layer: the model could only draw a straight "
          "boundary, and two circles cannot be split by a straight line.",
          "Put `nn.ReLU()` (or `torch.relu` / `F.relu` in `forward`) after the first and after the second "
          "Linear layer, and nothing after the last one."],
)
def test_classifier_relu(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    model = seeded_model(learner, "BinaryClassifier", seed, in_features, hidden)
    x = 3 * torch.randn(64, in_features, generator=torch.Generator().manual_seed(seed))
    _, calls = linear_calls(model, x)
    assert len(calls) == 3, f"the forward pass ran {len(calls)} nn.Linear layers; expected three"
    expect_relus_between(calls)


@pytest.mark.check(
    id="classifier_returns_logits",
    name="BinaryClassifier returns raw logits, not probabilities squashed into (0, 1)",
    points=1,
    hint=["nn.BCEWithLogitsLoss applies the sigmoid itself, so the model must return the raw scores.",
          "Return the last Linear layer's output as it is (only its last dimension removed): no sigmoid at the end."],
)
def test_classifier_returns_logits(learner, seed):
    in_features, hidden = classifier_sizes(seed)
    model = seeded_model(learner, "BinaryClassifier", seed, in_features, hidden)
    enlarge_last_layer(model)  # large weights in the last layer: logits well outside (0, 1)
    x = 3 * torch.randn(32, in_features, generator=torch.Generator().manual_seed(seed))
    output, calls = linear_calls(model, x)
    expect_tensor(output, "the model's output")
    assert calls, "the forward pass ran no nn.Linear layer"
    expect_logits(output, calls[-1][2])


# -- binary_train_step -------------------------------------------------------------------


@pytest.mark.check(
    id="train_step_returns_loss",
    name="binary_train_step returns this batch's loss, from before the update, as a float, also for a batch of one",
    points=1,
    hint=["Compute the loss from the forward pass and return it at the end of the function.",
          "`loss.item()` turns the one-element loss tensor into a Python float; return the loss you computed "
          "before `optimizer.step()`, not a new one computed after it. Keep the logits' shape [N] (never a bare "
          "`squeeze()`), so that a batch of one row works too."],
)
def test_train_step_returns_loss(learner, seed):
    model, X, y = problem(seed)
    before = loss_after(model, X, y)
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.5))
    value = expect_float(result, "binary_train_step")
    expect_not_loss_after(value, before, loss_after(model, X, y))
    expect_batch_loss(value, before, model, y)
    # A batch of one row: a bare squeeze() turns its logits into shape [], which the loss refuses beside y's [1].
    model, X, y = problem(seed + 1, n=1)
    before = loss_after(model, X, y)
    result = one_row_step(learner, model, X, y, torch.optim.SGD(model.parameters(), lr=0.5))
    expect_batch_loss(expect_float(result, "binary_train_step"), before, model, y)


@pytest.mark.check(
    id="train_step_logits",
    name="binary_train_step uses BCEWithLogitsLoss on the raw logits, also for very confident ones",
    points=2,
    hint=["The model returns logits; the loss must take them as they are. Look for a sigmoid before the loss, or "
          "nn.BCELoss.",
          "Use `nn.BCEWithLogitsLoss()(logits, y)`. sigmoid followed by `nn.BCELoss` rounds a logit of 40 to a "
          "probability of exactly 1.0, and then a confident mistake costs a clamped 100 instead of 40."],
)
def test_train_step_logits(learner, seed):
    model, X, y = problem(seed, confident=True)
    logits = probe_logits(model, X)  # the logits of this batch, worked out here (the probe has no dropout: any mode)
    # lr=0: the loss is the same before and after the step, so this check is about the loss alone.
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.0))
    value = expect_float(as_item(result), "binary_train_step")  # a tensor is train_step_returns_loss's business
    assert model.seen, "binary_train_step never called the model (no forward pass)"
    expect_bce_of_logits(value, logits, y)


@pytest.mark.check(
    id="train_step_updates",
    name="binary_train_step takes exactly one optimizer step, with this batch's gradients only",
    points=2,
    hint=["The order is: forward pass, loss, zero the gradients, backward(), step(). Gradients add up in `.grad` "
          "until something clears them.",
          "Call `optimizer.zero_grad()` before `loss.backward()` (not after `step()`, not between `backward()` "
          "and `step()`), and `optimizer.step()` once."],
)
def test_train_step_updates(learner, seed):
    model, X, y = problem(seed)
    lr = 0.5
    stale = leave_stale_gradients(model, seed + 1)
    start = parameters_of(model)
    grads = fresh_gradients(model, X, y)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps = count_steps(optimizer)
    learner.binary_train_step(model, X, y, optimizer)
    expect_one_step_taken(steps[0], start, parameters_of(model))
    expect_one_step(parameters_of(model), start, lr, grads, stale)


@pytest.mark.check(
    id="train_step_train_mode",
    name="binary_train_step runs the forward pass in training mode, with gradients",
    points=1,
    hint=["A model may arrive in evaluation mode (after predict_proba, say): switch it back first.",
          "Call `model.train()` at the start of `binary_train_step`, before the forward pass."],
)
def test_train_step_train_mode(learner, seed):
    model, X, y = state_problem(seed)
    model.eval()
    losses, gradient, start = state_step_expectations(model, X, y)
    result = learner.binary_train_step(model, X, y, torch.optim.SGD(model.parameters(), lr=0.1))
    # The outcome: which mode's head the step trained, and which state's loss it returned.
    in_training = trained(model.train_head, start[True], gradient)
    in_eval = touched(model.eval_head, start[False])
    returned = states_of_loss(result, losses)
    # Evidence first: the head the step trained, else (when .grad was cleared and nothing moved) the loss returned.
    expect_training_mode(
        model, "binary_train_step", in_training, in_eval, returned, PROBE_RECORD_CHANGED,
        eval_mode="the model was in evaluation mode during binary_train_step's forward pass (it arrived in "
                  "evaluation mode)",
        no_grad="gradient tracking was off during binary_train_step's forward pass, so nothing can be learned",
        nothing="nothing binary_train_step left shows a forward pass in training mode: neither the loss it returned "
                "nor the parameters (or their .grad) afterwards come from this batch's forward pass with gradient "
                "tracking on")


# -- predict_proba ------------------------------------------------------------------------


@pytest.mark.check(
    id="predict_proba_values",
    name="predict_proba returns the sigmoid of the logits: float32 [N], also for a batch of one",
    points=2,
    hint=["The model gives logits, any real numbers; a probability is the sigmoid of a logit.",
          "Return `torch.sigmoid(model(X))` as it is: shape [N] like the logits (do not squeeze it: one row must "
          "give shape [1]), and probabilities, not labels rounded to 0 or 1."],
)
def test_predict_proba_values(learner, seed):
    model, X, _ = problem(seed, n=13)
    for rows in (X, X[:1]):
        n = len(rows)
        expected = eval_probabilities(model, rows)
        result = learner.predict_proba(model, rows)
        expect_probabilities(result, expected, f"predict_proba's result for {n} row{'s' if n > 1 else ''}")


@pytest.mark.check(
    id="predict_proba_eval_mode",
    name="predict_proba runs the model in evaluation mode, and leaves it there",
    points=1,
    hint=["The model may arrive in training mode, straight from training, where dropout drops at random.",
          "Call `model.eval()` before the forward pass in `predict_proba`, and do not switch it back afterwards: "
          "the model stays in evaluation mode."],
)
def test_predict_proba_eval_mode(learner, seed):
    model, X, _ = state_problem(seed)
    model.train()
    # The order of the rows in the result tells the state of the forward pass it came from; the record names it.
    _, shown, seen = run_predict_proba(learner, model, X)
    expect_off("training", shown, seen,
               "the model was in training mode during predict_proba's forward pass (where dropout drops at random): "
               "call model.eval() first",
               "predict_proba's result does not rise with the model's logits for X, so the mode of the forward pass "
               "it came from cannot be told from it: return torch.sigmoid(model(X)) computed in evaluation mode, one "
               "probability per row (see the check about predict_proba's values)", PROBE_RECORD_CHANGED)
    # As exercise 04's predict: the model is put in evaluation mode, and left there.
    switched = [name or "the model" for name, module in model.named_modules() if module.training]
    assert not switched, (
        f"after predict_proba, {', '.join(switched)} {'was' if len(switched) == 1 else 'were'} in training mode "
        "again (the model arrived in training mode): predict_proba puts the model in evaluation mode and leaves it "
        "there, so do not switch it back with model.train() at the end")


@pytest.mark.check(
    id="predict_proba_no_grad",
    name="predict_proba tracks no gradients: no autograd history, no .grad left behind",
    points=1,
    hint=["Predictions need no computation graph: turn gradient tracking off around the forward pass.",
          "Run the forward pass inside `with torch.inference_mode():` (or `torch.no_grad()`)."],
)
def test_predict_proba_no_grad(learner, seed):
    model, X, _ = state_problem(seed)
    # The order of the rows in the result tells the state of the forward pass it came from; the record names it.
    result, shown, seen = run_predict_proba(learner, model, X)
    expect_off("grad", shown, seen,
               "gradient tracking was on during predict_proba's forward pass: run it inside "
               "torch.inference_mode() or torch.no_grad()",
               "predict_proba's result does not rise with the model's logits for X, so whether the forward pass it "
               "came from tracked gradients cannot be told from it: return torch.sigmoid(model(X)) computed without "
               "gradient tracking, one probability per row (see the check about predict_proba's values)",
               PROBE_RECORD_CHANGED)
    expect_no_history(result)
    expect_no_gradients(model, "predict_proba")


@pytest.mark.check(
    id="predict_proba_on_cpu",
    name="predict_proba runs a model on the GPU and returns the probabilities on the CPU",
    points=1,
    hint=["The inputs must go to the model's device, and the result comes back to the CPU.",
          "`next(model.parameters()).device` is where the model is: `X.to(that)` before the forward pass, "
          "`.cpu()` on the probabilities after it."],
)
def test_predict_proba_on_cpu(learner, seed, cuda):
    model, X, _ = problem(seed)
    expected = eval_probabilities(model, X)
    model.to(cuda)
    for inputs in (X, X.to(cuda)):  # new data usually arrives on the CPU; it may already be on the GPU
        what = f"predict_proba on a model on the GPU with inputs on {inputs.device.type}"
        result = predict_proba_explained(learner, model, inputs, what)
        expect_probabilities_on_cpu(result, expected, model, what)


# -- binary_metrics -----------------------------------------------------------------------


@pytest.mark.check(
    id="metrics_accuracy",
    name="binary_metrics gives the accuracy as a fraction",
    points=1,
    hint=["A row is predicted positive when its probability is at least the threshold; accuracy is the fraction "
          "of rows whose prediction equals the target, between 0 and 1.",
          "Compare `probabilities >= threshold` with the targets, count the matches and divide by the number of rows; "
          "return Python floats (`.item()`)."],
)
def test_metrics_accuracy(learner, seed):
    probabilities, targets, expected, _ = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    expect_no_percentage(result["accuracy"], expected["accuracy"], "the accuracy")
    expect_close(result["accuracy"], expected["accuracy"], "the accuracy",
                 advice="the fraction of rows whose prediction (probability >= threshold) equals the target")


@pytest.mark.check(
    id="metrics_precision_recall",
    name="binary_metrics gives the precision and recall of the positive class",
    points=2,
    hint=["Precision: of the rows predicted positive, the fraction that truly are. Recall: of the rows truly "
          "positive, the fraction predicted positive. Both are about class 1.",
          "true positives = predicted positive and truly positive; precision = true positives / predicted "
          "positives; recall = true positives / actual positives."],
)
def test_metrics_precision_recall(learner, seed):
    probabilities, targets, expected, negative = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    for key in ("precision", "recall"):
        value, wanted = result[key], expected[key]
        if abs(value - wanted) <= 1e-6:
            continue
        expect_no_percentage(value, wanted, f"the {key}")
        mistake = matching_value(value, positive_class_mistakes(key, expected, negative), tolerance=1e-6)
        assert not mistake, f"the {key} was {fmt(value)}, {mistake}"
        expect_close(value, wanted, f"the {key}", advice="for the positive class, label 1")


@pytest.mark.check(
    id="metrics_f1",
    name="binary_metrics gives F1, the harmonic mean of precision and recall",
    points=1,
    hint=["F1 is the harmonic mean of precision and recall, not their plain average: it is low when either is low.",
          "f1 = 2 * precision * recall / (precision + recall)."],
)
def test_metrics_f1(learner, seed):
    probabilities, targets, expected, _ = metrics_problem(seed)
    result = learner_metrics(learner, probabilities, targets)
    value, wanted = result["f1"], expected["f1"]
    if abs(value - wanted) <= 1e-6:
        return
    expect_not_plain_average(value, wanted, expected)
    expect_no_percentage(value, wanted, "f1")
    expect_close(value, wanted, "f1", advice="2 * precision * recall / (precision + recall)")


@pytest.mark.check(
    id="metrics_threshold",
    name="binary_metrics predicts positive when the probability is >= threshold",
    points=1,
    hint=["Use the threshold you are given, and count a probability exactly at the threshold as positive.",
          "`predicted = probabilities >= threshold` (not `>`, and not a fixed 0.5)."],
)
def test_metrics_threshold(learner, seed):
    # Compared with the learner's own metrics of the same decisions made clear-cut (0.9 or 0.1), so that this
    # check is about the threshold alone, whatever the formulas of the metrics.
    for threshold, probabilities, targets in threshold_cases(seed):  # some rows exactly at each threshold
        arguments = (threshold,) if threshold != 0.5 else ()
        called = f"threshold={threshold}" if arguments else "the default threshold (0.5)"
        result = learner_metrics(learner, probabilities, targets, *arguments)
        expect_decided_at(learner, threshold, result, probabilities, targets, called)


@pytest.mark.check(
    id="metrics_zero_division",
    name="binary_metrics counts a 0/0 as 0",
    points=1,
    hint=["When nothing is predicted positive, precision is 0/0; when nothing is truly positive, recall is 0/0; "
          "when both are 0, F1 is 0/0. Each counts as 0, never nan or an error.",
          "Divide only when the denominator is not zero, and give 0.0 otherwise."],
)
def test_metrics_zero_division(learner, seed):
    situations = zero_division_problem(seed)
    # Rows predicted positive and rows truly positive, but none both: precision and recall are 0 (not 0/0), and F1
    # is 0/0. A guard on the counts alone (`if predicted_positive and actual_positive`) divides by zero here.
    _, low, some = situations[0]
    high = 1 - low  # above the threshold wherever low is below it
    situations.append(("no row predicted positive is truly positive (precision and recall are both 0, so F1 is 0/0)",
                       torch.where(some, low, high), some))
    for situation, probabilities, actual in situations:
        expect_zero_division_as_zero(learner_metrics(learner, probabilities, actual.float()),
                                     counts(probabilities >= 0.5, actual), situation)


@pytest.mark.check(
    id="metrics_target_types",
    name="binary_metrics takes targets as float, integer or bool tensors",
    points=1,
    hint=["Targets may come as 0.0/1.0 floats, 0/1 integers or False/True: the metrics must be the same.",
          "Turn the targets into one form first, for example `targets == 1` (a bool tensor); `1 - targets` fails "
          "for bool tensors."],
)
def test_metrics_target_types(learner, seed):
    # Compared with the learner's own metrics for float targets: this check is about the types alone.
    probabilities, targets, _, _ = metrics_problem(seed)
    with_floats = learner_metrics(learner, probabilities, targets)
    for dtype in (torch.bool, torch.int64):
        expect_same_as_floats(learner_metrics(learner, probabilities, targets.to(dtype)), with_floats, dtype)
