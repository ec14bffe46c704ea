"""Hidden suite for exercise 10 (image-shaped inputs, skip connections, looking inside a model).

Every check observes behaviour, never spelling. The models' layers are seen with
forward hooks (so ``nn.Sequential``, a hand-written ``forward``, ``F.relu`` and
``nn.ReLU`` all pass), and their outputs are compared with what their own layers
compute. ``capture_activations`` and ``summarize`` are run on the suite's own
models, built to show each mistake: an in-place ReLU after a captured layer, a
layer that runs twice, one that never runs, a frozen layer, batch norm, a layer
whose forward raises, a model on the ``meta`` device. Sizes and data come from
each check's ``seed``, so nothing can be hard-coded.

The learner's code runs in a process of its own: the models' records of their
forward passes (``seen``) come back from there, and learner code could rewrite
them. So a record only names mistakes; how a forward pass ran must also show in the
outcome: a ``Marked`` model's captured output, a ``StateMark``'s row in a summary (the
suite's models are in ``grader.checking.inspection``).
Two things have no outcome to show them and rest on what the learner's process
reports: the hooks left on a model there (the copy it ran is thrown away), and
whether a model ran before a ``KeyError`` (a forward pass that returns nothing).
"""

import copy

import pytest
import torch
from torch import nn

from grader.checking import exception_from, expect_tensor, linear_calls, seeded_model
from grader.checking.architectures import (FLATTEN_ADVICE, expect_learns_strokes, expect_linears_ran,
                                           expect_mlp_forward, expect_one_of, explained_run, image_sizes,
                                           residual_layers, residual_problem, sizes, strokes_problem,
                                           two_input_layers, two_input_problem, two_input_sizes)
from grader.checking.inspection_checks import (expect_copies_kept, expect_own_leaf, expect_raised_through,
                                               expect_run_order, expect_state_unchanged, expect_stem_output,
                                               nested_problem, summary_on_device)
from grader.checking.inspection import (Counted, Recurrent, Reordered, Structured, capture, clear_global_hooks,
                                        describe_rows, device_cases, expect_captured, expect_counts, expect_flags,
                                        expect_key_error, expect_no_hooks, expect_ran_once_in_eval,
                                        expect_summarized_once_in_eval, head_outputs, inspected, names_and_shapes,
                                        summary, training_flags, true_outputs, watched_model)

# Every tensor here is tiny, so extra threads only cost time.
torch.set_num_threads(1)


# The suite's own exception and the layer that raises it stay here: an exception raised in the learner
# process comes back as the judge's own class only when that class is the suite's (or torch's, Python's...),
# and capture_cleans_up_on_error catches this one.

class Failure(Exception):
    """Raised by the suite's own layer, to see what capture_activations does when the forward pass fails."""


class Fails(nn.Module):
    def forward(self, x):
        raise Failure("this layer always fails")


class Gain(nn.Module):
    """A leaf whose one parameter is called neither weight nor bias."""

    def __init__(self, size: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(size))

    def forward(self, x):
        return x * self.scale


class Cells(nn.Module):
    """A GRU cell (parameters weight_ih, weight_hh, bias_ih, bias_hh), then a ``Gain``: counted by name, both are 0."""

    def __init__(self, a: int, b: int):
        super().__init__()
        self.cell = nn.GRUCell(a, b)
        self.gain = Gain(b)

    def forward(self, x):
        return self.gain(self.cell(x))


# -- ImageMLP --------------------------------------------------------------------


@pytest.mark.check(
    id="image_mlp_batches",
    name="ImageMLP flattens each image on its own: [N, 1, H, W] gives logits [N, n_classes], also for N = 1",
    points=1,
    hint=["The first dimension is the batch: flattening must turn [N, 1, H, W] into [N, H * W], whatever N is, even 1.",
          "Use `nn.Flatten()` (it starts at dim 1) or `x.flatten(1)` / `x.view(x.size(0), -1)`; a bare "
          "`x.flatten()`, `x.view(-1)` or `x.squeeze()` also flattens or drops the batch dimension."],
)
def test_image_mlp_batches(learner, seed):
    image_size, n_classes, hidden = image_sizes(seed)
    model = seeded_model(learner, "ImageMLP", seed, image_size, n_classes, hidden)
    generator = torch.Generator().manual_seed(seed)
    for n in (1, 5):
        images = torch.rand(n, 1, image_size, image_size, generator=generator)
        described = f"a batch of {n} image{'s' if n > 1 else ''} of shape {list(images.shape)}"
        output = explained_run(described, FLATTEN_ADVICE, model, images)
        assert not (type(output) is torch.Tensor and tuple(output.shape) != (n, n_classes)), (
            f"{described} gave an output of shape {list(output.shape)}, expected [{n}, {n_classes}]: {FLATTEN_ADVICE}")
        expect_tensor(output, f"the output for {described}", shape=(n, n_classes), dtype=torch.float32)
    output = explained_run("ImageMLP() with one 28x28 image", FLATTEN_ADVICE,
                           seeded_model(learner, "ImageMLP", seed), torch.rand(1, 1, 28, 28, generator=generator))
    expect_tensor(output, "the output of ImageMLP() (the defaults: 28x28 images, 10 classes) for one image",
                  shape=(1, 10))


@pytest.mark.check(
    id="image_mlp_layers",
    name="ImageMLP runs Linear(image_size * image_size, hidden) then Linear(hidden, n_classes)",
    points=1,
    hint=["Two nn.Linear layers: the first takes all the pixels of an image, the second gives one score per class.",
          "`nn.Linear(image_size * image_size, hidden)` and `nn.Linear(hidden, n_classes)`, each called once; the "
          "defaults are image_size=28, n_classes=10, hidden=128."],
)
def test_image_mlp_layers(learner, seed):
    image_size, n_classes, hidden = image_sizes(seed)
    for arguments, (size, classes, width) in (((image_size, n_classes, hidden), (image_size, n_classes, hidden)),
                                              ((), (28, 10, 128))):
        model = seeded_model(learner, "ImageMLP", seed, *arguments)
        images = torch.rand(2, 1, size, size)
        which = (f"image_size={size}, n_classes={classes}, hidden={width}" if arguments
                 else "the defaults (image_size=28, n_classes=10, hidden=128)")
        _, calls = explained_run(f"with {which}, a batch of 2 images", FLATTEN_ADVICE, linear_calls, model, images)
        expect_linears_ran(calls, [(size * size, width), (width, classes)], which)


@pytest.mark.check(
    id="image_mlp_forward",
    name="ImageMLP's forward pass: flatten, Linear, ReLU, Linear, and the logits as they are",
    points=1,
    hint=["The first Linear layer gets each image's pixels in order, a ReLU sits between the two Linear "
          "layers, and the last layer's output is returned unchanged.",
          "`self.fc2(torch.relu(self.fc1(x.flatten(1))))` (or the same in an nn.Sequential): no other "
          "activation, no softmax at the end."],
)
def test_image_mlp_forward(learner, seed):
    image_size, n_classes, hidden = image_sizes(seed)
    model = seeded_model(learner, "ImageMLP", seed, image_size, n_classes, hidden)
    images = 2 * torch.randn(6, 1, image_size, image_size, generator=torch.Generator().manual_seed(seed))
    output, calls = explained_run("a batch of 6 images", FLATTEN_ADVICE, linear_calls, model, images)
    expect_mlp_forward(images, output, calls, n_classes)


@pytest.mark.check(
    id="image_mlp_learns",
    name="ImageMLP learns to tell four kinds of stroke apart in a few dozen steps",
    points=2,
    hint=["The model must be trainable: its layers registered as attributes (so `model.parameters()` finds "
          "them), built once in `__init__`, with gradients flowing through the forward pass.",
          "Keep PyTorch's default initialisation (no zeros: every hidden unit would stay the same), and do not "
          "wrap the forward pass in `torch.no_grad()` or `.detach()` its result."],
)
def test_image_mlp_learns(learner, seed):
    X_train, y_train, X_test, y_test = strokes_problem(seed)  # 10x10 images of 4 kinds, 160 to train on, 80 new
    model = seeded_model(learner, "ImageMLP", seed, 10, 4, 32)
    expect_learns_strokes(model, X_train, y_train, X_test, y_test)


# -- ResidualBlock ---------------------------------------------------------------


@pytest.mark.check(
    id="residual_layers",
    name="ResidualBlock has two layers fc1 and fc2, each nn.Linear(size, size), and no other parameters",
    points=1,
    hint=["Inspect it with `model.named_parameters()`: the names should be fc1.weight, fc1.bias, fc2.weight, fc2.bias.",
          "`self.fc1 = nn.Linear(size, size)` and `self.fc2 = nn.Linear(size, size)` in `__init__`, with these "
          "names (a checkpoint's keys and a hook's layer names come from them)."],
)
def test_residual_layers(learner, seed):
    size = sizes(seed, 3, 12, 1)[0]
    block = seeded_model(learner, "ResidualBlock", seed, size)
    names = [name for name, _ in block.named_parameters()]
    expected = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert names == expected, f"ResidualBlock({size}) has the parameters {names}; expected {expected}"
    residual_layers(block, size)


@pytest.mark.check(
    id="residual_forward",
    name="ResidualBlock returns relu(fc2(relu(fc1(x))) + x): the input added after fc2, before the last ReLU",
    points=2,
    hint=["A skip connection adds the block's *input* to the output of its last layer; the ReLU comes after the sum.",
          "Keep the input (`residual = x`), compute `fc2(relu(fc1(x)))`, add `residual`, then apply ReLU; "
          "make the sum a new tensor (`out + x`), so the caller's x is not changed."],
)
def test_residual_forward(learner, seed):
    size = sizes(seed, 3, 12, 1)[0]
    block, x, candidates = residual_problem(learner, size, seed)
    given = x.clone()
    output = explained_run(f"ResidualBlock({size}) on an input of shape {list(x.shape)}",
                           "the block's input and output have the same shape [N, size]", block, given)
    assert torch.equal(given, x), "the forward pass changed its input x in place: make the sum a new tensor (`out + x`)"
    expect_tensor(output, f"the output for an input of shape {list(x.shape)}", shape=tuple(x.shape))
    expect_one_of(output, candidates, "relu(fc2(relu(fc1(x))) + x)", "the output of the block")


# -- TwoInputNet -----------------------------------------------------------------


@pytest.mark.check(
    id="two_input_layers",
    name="TwoInputNet has branch1, branch2 and combined, nn.Linear layers of the right sizes",
    points=1,
    hint=["Each input has its own branch; the last layer sees both branches' outputs side by side.",
          "`branch1 = nn.Linear(in1, hidden)`, `branch2 = nn.Linear(in2, hidden)`, "
          "`combined = nn.Linear(2 * hidden, out)`."],
)
def test_two_input_layers(learner, seed):
    in1, in2, hidden, out = two_input_sizes(seed)
    two_input_layers(seeded_model(learner, "TwoInputNet", seed, in1, in2, hidden, out), in1, in2, hidden, out)


@pytest.mark.check(
    id="two_input_forward",
    name="TwoInputNet joins relu(branch1(x1)) and relu(branch2(x2)) with torch.cat along dim 1, in that order",
    points=2,
    hint=["Each branch's output goes through a ReLU; the two are put side by side for each sample (dim 1, the "
          "features), branch1's first, and `combined` maps them to the output.",
          "`self.combined(torch.cat([torch.relu(self.branch1(x1)), torch.relu(self.branch2(x2))], dim=1))`."],
)
def test_two_input_forward(learner, seed):
    in1, in2, hidden, out = two_input_sizes(seed)
    model, x1, x2, candidates = two_input_problem(learner, in1, in2, hidden, out, seed)
    output = explained_run(
        f"model(x1, x2) with x1 of shape {list(x1.shape)} and x2 of shape {list(x2.shape)}",
        "x1 goes through branch1, x2 through branch2, and the two results are joined along dim=1 (the features "
        "of each sample), not dim=0 (the batch)", model, x1, x2)
    expect_tensor(output, "the output", shape=(6, out))
    expect_one_of(output, candidates, "combined(cat([relu(branch1(x1)), relu(branch2(x2))], dim=1))", "the output")


# -- capture_activations ---------------------------------------------------------


@pytest.mark.check(
    id="capture_values",
    name="capture_activations returns each named layer's output, as {name: tensor}",
    points=2,
    hint=["Register a forward hook on each named submodule; the hook receives (module, inputs, output) and "
          "stores the output under that layer's name.",
          "`model.get_submodule(name).register_forward_hook(hook)`, with a hook that does "
          "`activations[name] = output.detach().clone()`; run `model(X)` once, then return the dict."],
)
def test_capture_values(learner, seed):
    model, X = inspected(seed)
    names = ["head", "act", "block", "stem"]
    truth = true_outputs(model, X, names)
    result = capture(learner, model, X, names)
    expect_captured(result, truth, ["head", "block", "act"],
                    "store the `output` the hook receives, for the layer whose name it is")
    # What an in-place ReLU after 'stem' does to a kept tensor that is not a copy is capture_copies's business.
    expect_stem_output(result["stem"], truth["stem"])


@pytest.mark.check(
    id="capture_copies",
    name="capture_activations keeps detached copies, which later in-place operations cannot change",
    points=1,
    hint=["`output.detach()` alone shares memory with the layer's output: an in-place ReLU after that layer, "
          "or a change to the input X, changes what you kept.",
          "Keep `output.detach().clone()`: detach drops the autograd history, clone copies the numbers."],
)
def test_capture_copies(learner, seed):
    model, X = inspected(seed)
    names = ["stem", "flatten"]
    truth = true_outputs(model, X, names)
    result = capture(learner, model, X, names)
    X.add_(100.0)  # the caller changes its input afterwards; flatten's output was a view of it
    expect_copies_kept(result, truth)
    expect_captured(result, truth, names, "keep `output.detach().clone()` of the output the hook receives")


@pytest.mark.check(
    id="capture_nested",
    name="capture_activations takes nested names such as 'block.fc1', and keeps a layer's last output",
    points=1,
    hint=["The names are those `model.named_modules()` lists: a layer inside a layer is named with a dot, "
          "'block.fc1'. A layer that runs twice hands its hook two outputs; keep the last.",
          "`model.get_submodule('block.fc1')` finds a nested layer (`getattr` does not). In the hook, store with "
          "`activations[name] = ...`, so a second output replaces the first."],
)
def test_capture_nested(learner, seed):
    model, X = inspected(seed)
    names = ["block.fc2", "shared", "block.fc1"]
    truth = true_outputs(model, X, names)
    result = capture(learner, model, X, names)
    shared = result["shared"]
    expect_tensor(shared, "the captured output of 'shared'", shape=tuple(truth["shared"].shape))
    expect_captured(result, truth, ["block.fc1", "block.fc2"], "look the layer up with `model.get_submodule(name)`")
    assert torch.allclose(shared, truth["shared"], atol=1e-6), (
        "the captured output of 'shared', a layer that runs twice, is not its last output: "
        "let the second output replace the first")


@pytest.mark.check(
    id="capture_tuple_output",
    name="capture_activations keeps a tuple of copies for a layer whose output is a tuple or a list",
    points=1,
    hint=["Some layers return a tuple (an nn.LSTM returns its output and its state); `.detach()` works on "
          "tensors only.",
          "In the hook, when the output is a tuple or a list, keep `tuple(item.detach().clone() for item in output)`."],
)
def test_capture_tuple_output(learner, seed):
    model, X = inspected(seed)
    truth = true_outputs(model, X, ["pair"])
    result = capture(learner, model, X, ["pair"])
    expect_captured(result, truth, ["pair"], "keep a copy of each element of the tuple")
    # A list output is kept as a tuple of copies too.
    size = sizes(seed, 2, 6, 1)[0]
    torch.manual_seed(seed)
    model, X = Structured(size), torch.randn(3, size, generator=torch.Generator().manual_seed(seed))
    truth = true_outputs(model, X, ["listed"])
    result = capture(learner, model, X, ["listed"])
    expect_captured(result, truth, ["listed"], "keep a copy of each element")


@pytest.mark.check(
    id="capture_eval_no_grad",
    name="capture_activations runs the model once, in evaluation mode without gradients, and restores each mode",
    points=1,
    hint=["Dropout and batch norm behave differently in training mode, and activations need no gradients. "
          "Afterwards the model must be as it came: every submodule in its own mode.",
          "Remember `{module: module.training for module in model.modules()}`, call `model.eval()`, run "
          "`model(X)` once inside `torch.no_grad()`, and afterwards set each module's `training` back."],
)
def test_capture_eval_no_grad(learner, seed):
    model, X = inspected(seed, marked=True)
    before = training_flags(model)
    # The output of 'head' in one forward pass in evaluation mode without gradients, and in the usual other runs.
    truth, others = head_outputs(model, X)
    result = capture(learner, model, X, ["block", "head"])
    # The record names the mistake; the captured output of 'head' is the outcome that must agree with it.
    expect_ran_once_in_eval(model, result["head"], truth, others)
    expect_flags(model, before, "capture_activations")
    model.eval()
    capture(learner, model, X, ["head"])
    expect_flags(model, {name: False for name in before}, "capture_activations on a model in evaluation mode")


@pytest.mark.check(
    id="capture_removes_hooks",
    name="capture_activations leaves no hook behind",
    points=1,
    hint=["A hook left on a layer keeps running, and keeps a reference to your dict, every time the model runs "
          "afterwards.",
          "Keep every handle that `register_forward_hook` returns and call `.remove()` on each one before "
          "returning (all of them, not only the last)."],
)
def test_capture_removes_hooks(learner, seed):
    clear_global_hooks()
    model, X = inspected(seed)
    capture(learner, model, X, ["stem", "block.fc1", "head"])
    expect_no_hooks(model, "capture_activations returned")


@pytest.mark.check(
    id="capture_cleans_up_on_error",
    name="capture_activations removes its hooks and restores the modes when the forward pass raises, and lets the "
         "exception through",
    points=1,
    hint=["If the model raises, the exception should reach the caller, but the hooks and the eval mode must not "
          "stay behind.",
          "Put the forward pass in `try:` and the clean-up (removing the hooks, giving back the modes) in "
          "`finally:`; do not catch the exception."],
)
def test_capture_cleans_up_on_error(learner, seed):
    clear_global_hooks()
    model, X = inspected(seed, fails=Fails())
    before = training_flags(model)
    expect_raised_through(Failure, learner.capture_activations, model, X, ["stem", "shared"])
    expect_no_hooks(model, "the forward pass raised")
    expect_flags(model, before, "the forward pass raised")


@pytest.mark.check(
    id="capture_unknown_name",
    name="capture_activations raises KeyError for a name that is not a submodule, before running anything",
    points=1,
    hint=["Check every name before you register a hook, switch modes or run the model: a typo should fail "
          "at once, leaving the model as it was.",
          "`dict(model.named_modules())` holds every submodule by name (the model itself under ''); raise "
          "`KeyError(name)` for a name that is not among the submodules."],
)
def test_capture_unknown_name(learner, seed):
    clear_global_hooks()
    for wrong in ("stemm", "block.fc3", "block.fc1.weight", ""):
        model, X = inspected(seed)
        before = training_flags(model)
        names = ["stem", wrong]  # a valid name first: nothing may happen for it either
        expect_key_error(exception_from(learner.capture_activations, model, X, names), names, wrong)
        assert not model.seen, (f"the model ran before the KeyError for {wrong!r}: check every name before "
                                "running the model")
        expect_no_hooks(model, f"the KeyError for {wrong!r}")
        expect_flags(model, before, f"the KeyError for {wrong!r}")


# -- summarize -------------------------------------------------------------------


@pytest.mark.check(
    id="summary_rows",
    name="summarize lists every leaf layer with its output shape",
    points=2,
    hint=["A leaf is a submodule with no children (a Linear, a ReLU); containers such as nn.Sequential are not "
          "listed. A model with no children is its own leaf, named ''.",
          "Register a forward hook on each module whose `list(module.children())` is empty; in the hook append "
          "`(name, tuple(output.shape), ...)`; run one batch of zeros through the model."],
)
def test_summary_rows(learner, seed):
    model, input_shape, expected, (batch, hidden, classes) = nested_problem(seed)
    rows = names_and_shapes(summary(learner, model, input_shape))
    assert not any(name in ("", "3") for name, _ in rows), (
        f"summarize listed a container ({describe_rows(rows)}); list only the leaves, the modules with no children")
    assert rows == expected, (f"summarize gave the rows {describe_rows(rows)}; expected {describe_rows(expected)} "
                              "(name and output shape of each leaf)")
    expect_own_leaf(names_and_shapes(summary(learner, nn.Linear(hidden, classes), (batch, hidden))), batch, classes)


@pytest.mark.check(
    id="summary_order",
    name="summarize lists the leaves in the order they ran: twice if run twice, not at all if never run",
    points=1,
    hint=["The order of `named_modules()` is the order the layers were assigned in `__init__`, not the order "
          "they run in; a layer can also run twice, or never.",
          "Append a row in the hook itself, each time it is called: the hooks fire in the order the layers run."],
)
def test_summary_order(learner, seed):
    a, b, c = sizes(seed, 2, 12, 3)
    torch.manual_seed(seed)
    rows = names_and_shapes(summary(learner, Reordered(a, b, c), (3, a)))
    expect_run_order(rows, [("body", (3, b)), ("twice", (3, b)), ("twice", (3, b)), ("head", (3, c))])


@pytest.mark.check(
    id="summary_counts",
    name="summarize counts each leaf's own parameters, frozen ones included, buffers not",
    points=1,
    hint=["The count is the number of numbers: `parameter.numel()` summed over the leaf's parameters, whether "
          "they train or not. Batch norm's running mean and variance are buffers, not parameters.",
          "`sum(p.numel() for p in module.parameters())` for each leaf (not `len(...)`, not only those with "
          "`requires_grad`, not the state_dict)."],
)
def test_summary_counts(learner, seed):
    a, b = sizes(seed, 2, 12, 2)
    torch.manual_seed(seed)
    rows = summary(learner, Counted(a, b), (4, a))
    counts = {name: count for name, _, count in rows}
    expected = {"frozen": a * b + b, "norm": 2 * b, "act": 0, "out": b}
    assert set(counts) == set(expected), f"summarize listed the leaves {sorted(counts)}; expected {sorted(expected)}"
    expect_counts(counts, expected, a, b)
    # Leaves whose parameters are not called weight and bias: a GRU cell's, and a parameter of the suite's own.
    rows = summary(learner, Cells(a, b), (4, a))
    counts = {name: count for name, _, count in rows}
    expected = {"cell": 3 * b * (a + b) + 6 * b, "gain": b}
    assert set(counts) == set(expected), f"summarize listed the leaves {sorted(counts)}; expected {sorted(expected)}"
    for name, described in (("cell", f"an nn.GRUCell({a}, {b}), whose parameters are weight_ih, weight_hh, bias_ih "
                                     "and bias_hh"), ("gain", "a layer whose one parameter is called scale")):
        assert counts[name] == expected[name], (
            f"{name!r}, {described}, has {counts[name]} parameters in the summary; expected {expected[name]}: count "
            "every parameter the leaf owns, whatever its name: `sum(p.numel() for p in module.parameters())`")


@pytest.mark.check(
    id="summary_tuple_output",
    name="summarize gives the shape of the first element for a layer whose output is a tuple (an LSTM)",
    points=1,
    hint=["An nn.LSTM returns `(output, (h, c))`, and a tuple has no `.shape`.",
          "In the hook, when the output is a tuple or a list, take its first element's shape."],
)
def test_summary_tuple_output(learner, seed):
    features, hidden, out = sizes(seed, 2, 10, 3)
    steps = 3 + seed % 4
    torch.manual_seed(seed)
    rows = names_and_shapes(summary(learner, Recurrent(features, hidden, out), (2, steps, features)))
    expected = [("lstm", (2, steps, hidden)), ("head", (2, out))]
    assert rows == expected, f"summarize gave {describe_rows(rows)}; expected {describe_rows(expected)}"


@pytest.mark.check(
    id="summary_eval_no_grad",
    name="summarize runs zeros of input_shape in evaluation mode without gradients, changing no parameter or buffer",
    points=1,
    hint=["In training mode batch norm updates its running statistics with every batch, even one of zeros: "
          "summarizing a model must not change it. Afterwards every submodule is in its own mode again.",
          "Remember each module's `training` flag, call `model.eval()`, run `torch.zeros(input_shape)` inside "
          "`torch.no_grad()`, then set the flags back in a `finally:` block."],
)
def test_summary_eval_no_grad(learner, seed):
    model, a = watched_model(seed)
    before = training_flags(model)
    state = copy.deepcopy(model.state_dict())
    rows = summary(learner, model, (3, a))
    # The record names the mistake; the shape of the StateMark's row is the outcome that must agree with it.
    expect_summarized_once_in_eval(model, rows, a)
    expect_state_unchanged(model, state)
    expect_flags(model, before, "summarize")


@pytest.mark.check(
    id="summary_removes_hooks",
    name="summarize leaves no hook behind, and gives back the modes also when the forward pass raises",
    points=1,
    hint=["A summary's hooks would go on running, and appending rows, every time the model runs afterwards. A "
          "model whose forward pass raises must come back as it came too.",
          "Keep every handle `register_forward_hook` returns; put the forward pass in `try:` and the clean-up "
          "(`.remove()` on each handle, giving back the `training` flags) in `finally:`."],
)
def test_summary_removes_hooks(learner, seed):
    clear_global_hooks()
    model, a = watched_model(seed)
    before = training_flags(model)
    summary(learner, model, (2, a))
    expect_no_hooks(model, "summarize returned")
    restores = training_flags(model) == before  # when it does not, summary_eval_no_grad says so
    # A model whose forward pass raises: summarize may let the exception through, but must clean up first.
    model, X = inspected(seed, fails=Fails())
    before = training_flags(model)
    exception_from(learner.summarize, model, tuple(X.shape))
    expect_no_hooks(model, "summarize on a model whose forward pass raised")
    if restores:
        expect_flags(model, before, "summarize on a model whose forward pass raised")


@pytest.mark.check(
    id="summary_device",
    name="summarize puts the zeros on the model's device (its first parameter's, else buffer's, else the CPU)",
    points=1,
    hint=["A model on a GPU cannot take a batch made on the CPU. Here the model is on PyTorch's 'meta' device, "
          "which has shapes but no numbers: the same mistake shows there.",
          "Take the device of `next(model.parameters())`, or of the first buffer when there are no parameters, "
          "or the CPU when there is neither, and make `torch.zeros(input_shape, device=device)`."],
)
def test_summary_device(learner, seed):
    for described, model, input_shape, expected in device_cases(seed):
        rows = summary_on_device(learner, model, input_shape, described)
        assert rows == expected, f"for {described} summarize gave {describe_rows(rows)}"
