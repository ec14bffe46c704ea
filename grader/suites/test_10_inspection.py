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
outcome: a ``Marked`` model's captured output, a ``StateMark``'s row in a summary.
Two things have no outcome to show them and rest on what the learner's process
reports: the hooks left on a model there (the copy it ran is thrown away), and
whether a model ran before a ``KeyError`` (a forward pass that returns nothing).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as module_internals

from grader.checking import expect_equal_tensors, expect_tensor, fmt, kind_of, linear_calls

# Every tensor here is tiny, so extra threads only cost time.
torch.set_num_threads(1)

FLATTEN_ADVICE = ("flatten each image on its own and keep the batch dimension: `nn.Flatten()`, `x.flatten(1)` "
                  "or `x.view(x.size(0), -1)`")

# -- helpers ---------------------------------------------------------------------


def sizes(seed: int, low: int, high: int, count: int) -> list[int]:
    """``count`` distinct sizes in ``[low, high)``, so that a layer's shape tells which layer it is."""
    generator = torch.Generator().manual_seed(seed)
    return [low + int(i) for i in torch.randperm(high - low, generator=generator)[:count]]


def explained_run(what: str, advice: str, function, *args):
    """Call learner code; a RuntimeError from torch (a shape mismatch, say) becomes a message with ``advice``."""
    try:
        return function(*args)
    except NotImplementedError:
        raise  # a stub: "not started"
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AssertionError(f"{what} raised RuntimeError ({first_line}): {advice}") from None


def hooks_left(model: nn.Module) -> list[str]:
    """Where hooks are still registered: the model's submodules, and torch's global module hooks."""
    found = []
    for name, module in model.named_modules():
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            if getattr(module, kind, None):
                found.append(f"{name!r}" if name else "the model itself")
                break
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        if getattr(module_internals, kind, None):
            found.append("a global module hook (register_module_forward_hook)")
            break
    return found


def clear_global_hooks() -> None:
    """Remove global module hooks, so that one check's leftovers cannot change the next check's verdict."""
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        hooks = getattr(module_internals, kind, None)
        if hooks:
            hooks.clear()


def expect_no_hooks(model: nn.Module, what: str) -> None:
    left = hooks_left(model)
    clear_global_hooks()
    assert not left, (f"after {what} a hook was still registered on {', '.join(left[:3])}: remove every hook "
                      "you register (keep each handle and call `handle.remove()`, in a `finally:` block)")


def training_flags(model: nn.Module) -> dict[str, bool]:
    return {name or "the model": module.training for name, module in model.named_modules()}


def expect_flags(model: nn.Module, before: dict[str, bool], what: str) -> None:
    after = training_flags(model)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, (
        f"after {what} {changed[0]!r} was in {'training' if after[changed[0]] else 'evaluation'} mode, but it "
        f"came in {'training' if before[changed[0]] else 'evaluation'} mode: give every submodule back its own "
        "`training` flag (remember each one before switching to eval mode)")


def copy_of(output):
    if isinstance(output, (tuple, list)):
        return tuple(copy_of(item) for item in output)
    return output.detach().clone()


def true_outputs(model: nn.Module, X: torch.Tensor, names: list[str]) -> dict[str, object]:
    """What each named submodule really returns (its last output), in evaluation mode: the suite's own hooks."""
    outputs = {}
    handles = [model.get_submodule(name).register_forward_hook(
        lambda module, inputs, output, name=name: outputs.__setitem__(name, copy_of(output))) for name in names]
    flags = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags.items():
            module.training = training
    return outputs


# -- ImageMLP --------------------------------------------------------------------


def image_sizes(seed: int) -> tuple[int, int, int]:
    """A small image size, a number of classes and a hidden size, all different."""
    image_size = sizes(seed, 4, 9, 1)[0]
    n_classes, hidden = sizes(seed + 1, 2, 30, 2)
    return image_size, n_classes, hidden


def make_image_mlp(learner, seed: int, *args, **kwargs):
    torch.manual_seed(seed)
    model = learner.ImageMLP(*args, **kwargs)
    assert isinstance(model, nn.Module), f"ImageMLP(...) made {kind_of(model)}, not an nn.Module"
    return model


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
    model = make_image_mlp(learner, seed, image_size, n_classes, hidden)
    generator = torch.Generator().manual_seed(seed)
    for n in (1, 5):
        images = torch.rand(n, 1, image_size, image_size, generator=generator)
        described = f"a batch of {n} image{'s' if n > 1 else ''} of shape {list(images.shape)}"
        output = explained_run(described, FLATTEN_ADVICE, model, images)
        assert not (type(output) is torch.Tensor and tuple(output.shape) != (n, n_classes)), (
            f"{described} gave an output of shape {list(output.shape)}, expected [{n}, {n_classes}]: {FLATTEN_ADVICE}")
        expect_tensor(output, f"the output for {described}", shape=(n, n_classes), dtype=torch.float32)
    output = explained_run("ImageMLP() with one 28x28 image", FLATTEN_ADVICE, make_image_mlp(learner, seed),
                           torch.rand(1, 1, 28, 28, generator=generator))
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
        model = make_image_mlp(learner, seed, *arguments)
        images = torch.rand(2, 1, size, size)
        which = (f"image_size={size}, n_classes={classes}, hidden={width}" if arguments
                 else "the defaults (image_size=28, n_classes=10, hidden=128)")
        _, calls = explained_run(f"with {which}, a batch of 2 images", FLATTEN_ADVICE, linear_calls, model, images)
        used = [(layer.in_features, layer.out_features) for layer, _, _ in calls]
        expected = [(size * size, width), (width, classes)]
        seen = ", ".join(f"Linear({a}, {b})" for a, b in used) or "none"
        assert used == expected, (
            f"with {which} the forward pass ran {seen}; expected Linear({size * size}, {width}) then "
            f"Linear({width}, {classes}), each once")


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
    model = make_image_mlp(learner, seed, image_size, n_classes, hidden)
    images = 2 * torch.randn(6, 1, image_size, image_size, generator=torch.Generator().manual_seed(seed))
    output, calls = explained_run("a batch of 6 images", FLATTEN_ADVICE, linear_calls, model, images)
    assert len(calls) == 2, f"the forward pass ran {len(calls)} nn.Linear layers; expected two"
    (_, first_input, first_output), (_, second_input, second_output) = calls
    flat = images.reshape(6, -1)
    assert first_input.shape == flat.shape and torch.allclose(first_input, flat), (
        f"the first Linear layer did not get each image's pixels, flattened in order (shape {list(flat.shape)}): "
        f"{FLATTEN_ADVICE}")
    assert not (bool((first_output < 0).any()) and torch.allclose(second_input, first_output, atol=1e-6)), (
        "the first Linear layer's output goes into the second unchanged: put a ReLU between them")
    assert torch.allclose(second_input, torch.relu(first_output), atol=1e-6), (
        "what goes into the second Linear layer is not the ReLU of the first one's output: use ReLU "
        "(`nn.ReLU()`, `torch.relu` or `F.relu`), not another activation")
    expect_tensor(output, "the model's output", shape=(6, n_classes))
    assert not (torch.allclose(output.sum(dim=1), torch.ones(6), atol=1e-4) and bool((output >= 0).all())), (
        "each row of the output sums to 1: the model returns softmax probabilities; return "
        "the logits, CrossEntropyLoss applies softmax itself")
    assert torch.allclose(output, second_output, atol=1e-6), \
        "the output is not the last Linear layer's output: return the logits as they are"


def stroke_images(generator: torch.Generator, n_per_class: int, size: int):
    """Noisy ``size x size`` images of four kinds of stroke: a row, a column, a diagonal, an anti-diagonal.

    Rows and columns sit anywhere but at the edge, diagonals at most one pixel off the corner-to-corner
    line; Gaussian noise covers every pixel. Returns images
    ``[N, 1, size, size]`` and labels ``[N]`` (0 to 3), shuffled.
    """
    images, labels = [], []
    steps = torch.arange(size)
    for label in range(4):
        for _ in range(n_per_class):
            image = torch.zeros(size, size)
            where = int(torch.randint(2, size - 2, (1,), generator=generator))
            if label == 0:
                image[where, :] = 1.0
            elif label == 1:
                image[:, where] = 1.0
            else:
                shift = int(torch.randint(-1, 2, (1,), generator=generator))  # a diagonal moved at most one pixel
                columns = steps + shift if label == 2 else size - 1 - steps + shift
                inside = (columns >= 0) & (columns < size)
                image[steps[inside], columns[inside]] = 1.0
            images.append(image)
            labels.append(label)
    X = torch.stack(images).unsqueeze(1) + 0.3 * torch.randn(len(images), 1, size, size, generator=generator)
    y = torch.tensor(labels)
    order = torch.randperm(len(y), generator=generator)
    return X[order], y[order]


def accuracy_of(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).double().mean().item()


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
    generator = torch.Generator().manual_seed(seed)
    size = 10
    X_train, y_train = stroke_images(generator, 40, size)
    X_test, y_test = stroke_images(generator, 20, size)
    model = make_image_mlp(learner, seed, size, 4, 32)
    parameters = list(model.parameters())
    assert parameters, "model.parameters() is empty: assign the layers as attributes of the model in __init__"
    optimizer = torch.optim.Adam(parameters, lr=0.01)
    before = accuracy_of(model, X_test, y_test)
    for _ in range(40):
        model.train()
        logits = model(X_train)
        expect_tensor(logits, "the output for 160 training images", shape=(160, 4))
        assert logits.requires_grad, ("the output carries no gradient history, so training cannot change the "
                                      "model: do not use `torch.no_grad()` or `.detach()` in forward")
        loss = F.cross_entropy(logits, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = accuracy_of(model, X_test, y_test)
    # A correct model reached 87.5 % or more for each of 1000 seeds tried; a broken one stays near 25 %.
    assert after >= 0.8, (
        f"after 40 Adam steps (lr=0.01) on 160 images the model classified {fmt(100 * after)} % of 80 new images "
        f"correctly (it started at {fmt(100 * before)} %, and guessing gives 25 %); a correct ImageMLP reaches at "
        "least 80 %")


# -- ResidualBlock ---------------------------------------------------------------


def make_block(learner, seed: int, size: int):
    torch.manual_seed(seed)
    block = learner.ResidualBlock(size)
    assert isinstance(block, nn.Module), f"ResidualBlock(...) made {kind_of(block)}, not an nn.Module"
    return block


def linear_named(model: nn.Module, name: str, in_features: int, out_features: int, owner: str) -> nn.Linear:
    layer = getattr(model, name, None)
    assert isinstance(layer, nn.Linear), (
        f"{owner}.{name} is {kind_of(layer)}; it must be an nn.Linear({in_features}, {out_features}) "
        f"assigned as `self.{name}`")
    assert (layer.in_features, layer.out_features) == (in_features, out_features), (
        f"{owner}.{name} is nn.Linear({layer.in_features}, {layer.out_features}); expected "
        f"nn.Linear({in_features}, {out_features})")
    return layer


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
    block = make_block(learner, seed, size)
    names = [name for name, _ in block.named_parameters()]
    expected = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert names == expected, f"ResidualBlock({size}) has the parameters {names}; expected {expected}"
    for name in ("fc1", "fc2"):
        linear_named(block, name, size, size, f"ResidualBlock({size})")


def block_candidates(block: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The correct block and the usual mistakes, computed with the learner's own layers."""
    with torch.no_grad():
        before_relu = block.fc1(x)
        hidden = torch.relu(before_relu)
        body = block.fc2(hidden)
        return {
            "correct": torch.relu(body + x),
            "the input x was not added: there is no skip connection": torch.relu(body),
            "the input was added after the last ReLU; add it to fc2's output, then apply the ReLU":
                torch.relu(body) + x,
            "there is no ReLU after adding the input": body + x,
            "there is no ReLU between fc1 and fc2": torch.relu(block.fc2(before_relu) + x),
            "what was added is the output of fc1, not the block's input x (keep x before reusing the name)":
                torch.relu(body + hidden),
            "what was added is fc1's output before its ReLU, not the block's input x": torch.relu(body + before_relu),
        }


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
    block = make_block(learner, seed, size)
    for name in ("fc1", "fc2"):
        linear_named(block, name, size, size, f"ResidualBlock({size})")
    x = 2 * torch.randn(7, size, generator=torch.Generator().manual_seed(seed))
    given = x.clone()
    output = explained_run(f"ResidualBlock({size}) on an input of shape {list(x.shape)}",
                           "the block's input and output have the same shape [N, size]", block, given)
    assert torch.equal(given, x), "the forward pass changed its input x in place: make the sum a new tensor (`out + x`)"
    expect_tensor(output, f"the output for an input of shape {list(x.shape)}", shape=tuple(x.shape))
    candidates = block_candidates(block, x)
    if torch.allclose(output.detach(), candidates["correct"], atol=1e-5):
        return
    for mistake, value in candidates.items():
        assert not (mistake != "correct" and torch.allclose(output.detach(), value, atol=1e-5)), (
            f"the output is not relu(fc2(relu(fc1(x))) + x): {mistake}")
    expect_equal_tensors(output, candidates["correct"], "the output of the block")


# -- TwoInputNet -----------------------------------------------------------------


def two_input_sizes(seed: int) -> tuple[int, int, int, int]:
    in1, in2, hidden, out = sizes(seed, 2, 14, 4)
    return in1, in2, hidden, out


def make_two_input(learner, seed: int, in1: int, in2: int, hidden: int, out: int):
    torch.manual_seed(seed)
    model = learner.TwoInputNet(in1, in2, hidden, out)
    assert isinstance(model, nn.Module), f"TwoInputNet(...) made {kind_of(model)}, not an nn.Module"
    return model


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
    model = make_two_input(learner, seed, in1, in2, hidden, out)
    owner = f"TwoInputNet({in1}, {in2}, {hidden}, {out})"
    linear_named(model, "branch1", in1, hidden, owner)
    linear_named(model, "branch2", in2, hidden, owner)
    linear_named(model, "combined", 2 * hidden, out, owner)


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
    model = make_two_input(learner, seed, in1, in2, hidden, out)
    owner = f"TwoInputNet({in1}, {in2}, {hidden}, {out})"
    branch1 = linear_named(model, "branch1", in1, hidden, owner)
    branch2 = linear_named(model, "branch2", in2, hidden, owner)
    combined = linear_named(model, "combined", 2 * hidden, out, owner)
    generator = torch.Generator().manual_seed(seed)
    x1, x2 = 2 * torch.randn(6, in1, generator=generator), 2 * torch.randn(6, in2, generator=generator)
    output = explained_run(
        f"model(x1, x2) with x1 of shape {list(x1.shape)} and x2 of shape {list(x2.shape)}",
        "x1 goes through branch1, x2 through branch2, and the two results are joined along dim=1 (the features "
        "of each sample), not dim=0 (the batch)", model, x1, x2)
    expect_tensor(output, "the output", shape=(6, out))
    with torch.no_grad():
        a, b = branch1(x1), branch2(x2)
        candidates = {
            "correct": combined(torch.cat([a.relu(), b.relu()], dim=1)),
            "branch2's output comes first in the concatenation; branch1's goes first":
                combined(torch.cat([b.relu(), a.relu()], dim=1)),
            "branch1's output is not passed through a ReLU": combined(torch.cat([a, b.relu()], dim=1)),
            "branch2's output is not passed through a ReLU": combined(torch.cat([a.relu(), b], dim=1)),
            "neither branch's output is passed through a ReLU": combined(torch.cat([a, b], dim=1)),
            "there is a ReLU after `combined`; return its output as it is":
                combined(torch.cat([a.relu(), b.relu()], dim=1)).relu(),
        }
    if torch.allclose(output.detach(), candidates["correct"], atol=1e-5):
        return
    for mistake, value in candidates.items():
        assert not (mistake != "correct" and torch.allclose(output.detach(), value, atol=1e-5)), (
            f"the output is not combined(cat([relu(branch1(x1)), relu(branch2(x2))], dim=1)): {mistake}")
    expect_equal_tensors(output, candidates["correct"], "the output")


# -- capture_activations ---------------------------------------------------------


class Block(nn.Module):
    """A residual block of the suite's own, to give nested names: ``block.fc1``, ``block.fc2``."""

    def __init__(self, size: int):
        super().__init__()
        self.fc1 = nn.Linear(size, size)
        self.fc2 = nn.Linear(size, size)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) + x


class Pair(nn.Module):
    """A layer with a tuple as its output, like an LSTM: the two halves of its input's features."""

    def forward(self, x):
        half = x.shape[1] // 2
        return x[:, :half] * 2, x[:, half:] - 1


class Failure(Exception):
    """Raised by the suite's own layer, to see what capture_activations does when the forward pass fails."""


class Fails(nn.Module):
    def forward(self, x):
        raise Failure("this layer always fails")


GRAD_MARK = 10.0  # what a marked Inspected adds before `pair` when gradients are tracked
RUN_MARK = 100.0  # and for each forward pass it has already made since its record was cleared


class Inspected(nn.Module):
    """The model capture_activations looks into; it remembers each forward pass's mode and gradient tracking.

    flatten (a view of the input) -> stem -> act (an in-place ReLU, which changes stem's output tensor)
    -> block (nested) -> drop (dropout: evaluation mode matters) -> shared -> shared again -> pair -> head.

    The record (``seen``) is written in the learner's process, where learner code can rewrite it: it only names
    a mistake (see ``Marked`` for what shows the state of a forward pass).
    """

    def __init__(self, image_size: int, size: int, n_out: int, fail: bool = False):
        super().__init__()
        self.flatten = nn.Flatten()
        self.stem = nn.Linear(image_size * image_size, size)
        self.act = nn.ReLU(inplace=True)
        self.block = Block(size)
        self.drop = nn.Dropout(0.5)
        self.shared = nn.Linear(size, size)
        self.pair = Pair()
        self.head = nn.Linear(size, n_out)
        self.fails = Fails() if fail else nn.Identity()
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        earlier = len(self.seen) if type(self.seen) is list else 0
        self.seen.append((self.training, torch.is_grad_enabled()))
        h = self.act(self.stem(self.flatten(x)))
        h = self.drop(self.block(h))
        h = self.fails(self.shared(self.shared(h)))
        first, second = self.pair(self.mark(h, earlier))
        return self.head(torch.cat([first, second], dim=1))

    def mark(self, h, earlier: int):
        return h


class Marked(Inspected):
    """An Inspected model that shows the state of its forward pass in what reaches ``pair`` and ``head``.

    Dropout changes it in training mode, ``GRAD_MARK`` is added with gradient tracking on and ``RUN_MARK`` for
    each earlier forward pass (as counted by the record, which a check clears before calling learner code). So a
    captured output of ``head`` equal to the suite's own (one forward pass in evaluation mode without gradients)
    is the outcome that shows the learner's forward pass ran that way.
    """

    def mark(self, h, earlier: int):
        return h + GRAD_MARK * torch.is_grad_enabled() + RUN_MARK * earlier


def inspected(seed: int, fail: bool = False, marked: bool = False):
    """A fresh Inspected model in training mode (its block in evaluation mode) and a batch of images for it."""
    image_size, size, n_out = 3, 2 * sizes(seed, 3, 7, 1)[0], sizes(seed + 1, 2, 6, 1)[0]
    torch.manual_seed(seed)
    model = (Marked if marked else Inspected)(image_size, size, n_out, fail)
    model.train()
    model.block.eval()  # mixed modes: the model must get exactly these flags back
    X = torch.randn(5, 1, image_size, image_size, generator=torch.Generator().manual_seed(seed))
    return model, X


def capture(learner, model: nn.Module, X: torch.Tensor, names: list[str]) -> dict:
    """Call capture_activations on a copy of X; check it returns a dict with exactly the names asked for."""
    model.seen.clear()
    result = learner.capture_activations(model, X, list(names))
    assert isinstance(result, dict), f"capture_activations returned {kind_of(result)}, not a dict"
    assert set(result) == set(names), (
        f"capture_activations(model, X, {names}) returned the keys {sorted(map(str, result))}; expected exactly "
        "the names asked for")
    return result


def expect_captured(result: dict, truth: dict, names: list[str], advice: str) -> None:
    for name in names:
        value, expected = result[name], truth[name]
        if isinstance(expected, tuple):
            assert isinstance(value, (tuple, list)) and len(value) == len(expected), (
                f"the output of {name!r} is a tuple of {len(expected)} tensors, but capture_activations gave "
                f"{kind_of(value)}: keep a tuple of copies, one for each element")
            for index, (item, wanted) in enumerate(zip(value, expected)):
                expect_tensor(item, f"element {index} of the captured output of {name!r}")
                expect_equal_tensors(item, wanted, f"element {index} of the captured output of {name!r}")
            continue
        expect_tensor(value, f"the captured output of {name!r}", shape=tuple(expected.shape))
        assert value.grad_fn is None and not value.requires_grad, (
            f"the captured output of {name!r} still carries autograd history: keep `output.detach().clone()`")
        assert torch.allclose(value, expected, atol=1e-6), (
            f"the captured output of {name!r} is not what that layer returned: {advice}")


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
    stem = result["stem"]
    expect_tensor(stem, "the captured output of 'stem'", shape=tuple(truth["stem"].shape))
    assert not (not torch.allclose(stem, truth["stem"], atol=1e-6) and not torch.allclose(stem, truth["stem"].relu())), (
        "the captured output of 'stem' is not what that layer returned: store the `output` the hook receives")


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
    stem = result["stem"]
    expect_tensor(stem, "the captured output of 'stem'", shape=tuple(truth["stem"].shape))
    assert not (torch.allclose(stem, truth["stem"].relu()) and not torch.allclose(stem, truth["stem"])), (
        "the captured output of 'stem' has no negative values: the model's in-place ReLU after 'stem' changed "
        "the tensor you kept. Keep a copy: `output.detach().clone()`")
    flat = result["flatten"]
    expect_tensor(flat, "the captured output of 'flatten'", shape=tuple(truth["flatten"].shape))
    assert not torch.allclose(flat, truth["flatten"] + 100.0), (
        "the captured output of 'flatten' changed when the input X was changed afterwards (a flattened tensor "
        "is a view of its input): keep a copy, `output.detach().clone()`")
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
    name="capture_activations keeps a tuple of copies for a layer whose output is a tuple",
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


def marked_head(model: Marked, X: torch.Tensor, grad_enabled: bool, earlier: int) -> torch.Tensor:
    """The output of ``head`` in a forward pass of ``model`` in evaluation mode, after ``earlier`` others."""
    twin = copy.deepcopy(model).eval()
    twin.seen = [(False, False)] * earlier
    outputs = []
    handle = twin.head.register_forward_hook(lambda module, inputs, output: outputs.append(output.detach().clone()))
    try:
        with torch.set_grad_enabled(grad_enabled):
            twin(X)
    finally:
        handle.remove()
    return outputs[-1]


def same_tensor(value, expected: torch.Tensor) -> bool:
    return (isinstance(value, torch.Tensor) and value.shape == expected.shape
            and torch.allclose(value.detach().float(), expected, atol=1e-5))


RECORD_CHANGED = ("; the model's own record of its forward passes says otherwise, so something changed that record: "
                  "leave the model's attributes alone")


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
    truth = true_outputs(model, X, ["head"])["head"]  # one forward pass in evaluation mode, without gradients
    others = {"the model ran with gradient tracking on: run it inside `torch.no_grad()` (or inference_mode)":
              marked_head(model, X, grad_enabled=True, earlier=0),
              "the model ran more than once: run it once": marked_head(model, X, grad_enabled=False, earlier=1),
              "the model ran more than once, with gradient tracking on: run it once, inside `torch.no_grad()`":
              marked_head(model, X, grad_enabled=True, earlier=1)}
    result = capture(learner, model, X, ["block", "head"])
    seen = model.seen
    assert (type(seen) is list and all(type(entry) is tuple and len(entry) == 2
                                         and all(type(flag) is bool for flag in entry) for entry in seen)), (
        "capture_activations replaced the model's record of its forward passes (model.seen) "
        "with something else: leave the model's attributes alone")
    # The record names the mistake; the captured output of 'head' is the outcome that must agree with it.
    assert seen, "the model never ran"
    assert len(seen) == 1, f"the model ran {len(seen)} times; run it once"
    training, grad = seen[0]
    assert not training, "the model ran in training mode: call `model.eval()` first (dropout was on)"
    assert not grad, "the model ran with gradient tracking on: run it inside `torch.no_grad()` (or inference_mode)"
    head = result["head"]
    if not same_tensor(head, truth):
        shown = next((meaning for meaning, value in others.items() if same_tensor(head, value)), None)
        assert shown is not None, (
            "the captured output of 'head' is not that of one forward pass in evaluation mode without gradient "
            "tracking (training mode, gradient tracking and an earlier forward pass all change it), though the "
            "model's own record of its forward passes says it ran so: either the captured outputs are not what "
            "the layers returned (see the check about captured values) or something changed that record (leave "
            "the model's attributes alone)")
        raise AssertionError(f"{shown} (the captured output of 'head' shows it){RECORD_CHANGED}")
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
    model, X = inspected(seed, fail=True)
    before = training_flags(model)
    try:
        learner.capture_activations(model, X, ["stem", "shared"])
    except Failure:
        pass
    else:
        raise AssertionError("the model's forward pass raised an exception, but capture_activations returned "
                             "normally: let the exception through to the caller")
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
        try:
            learner.capture_activations(model, X, names)
        except KeyError as exc:
            assert wrong in str(exc), f"the KeyError for {wrong!r} does not name it: {exc}"
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 (any other exception is the mistake being reported)
            raise AssertionError(f"capture_activations(model, X, {names}) raised {type(exc).__name__}, not KeyError: "
                                 f"{wrong!r} is not a submodule") from None
        else:
            described = "'', the model itself," if wrong == "" else f"{wrong!r}"
            raise AssertionError(f"capture_activations(model, X, {names}) returned normally, but {described} is "
                                 "not a submodule: raise KeyError naming it")
        assert not model.seen, (f"the model ran before the KeyError for {wrong!r}: check every name before "
                                "running the model")
        expect_no_hooks(model, f"the KeyError for {wrong!r}")
        expect_flags(model, before, f"the KeyError for {wrong!r}")


# -- summarize -------------------------------------------------------------------


def summary(learner, model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, tuple, int]]:
    """Call summarize and check the contract's types: a list of (str, tuple of ints, int)."""
    rows = explained_run(f"summarize(model, {input_shape})",
                         "pass one batch of zeros of shape input_shape, on the model's device", learner.summarize,
                         model, input_shape)
    assert isinstance(rows, list), f"summarize returned {kind_of(rows)}, not a list of rows"
    for row in rows:
        assert isinstance(row, tuple) and len(row) == 3, (
            f"summarize returned a row {row!r}; each row is a tuple (name, output shape, number of parameters)")
        name, shape, count = row
        assert type(name) is str, f"a row's name is {kind_of(name)}, not a str: {row!r}"
        assert isinstance(shape, tuple) and all(type(size) is int for size in shape), (
            f"the output shape in row {row!r} is {kind_of(shape)}, not a tuple of ints (`tuple(output.shape)`)")
        assert type(count) is int, (
            f"the number of parameters in row {row!r} is {kind_of(count)}, not an int (`.numel()` gives an int)")
    return [(name, tuple(shape), count) for name, shape, count in rows]


def names_and_shapes(rows) -> list[tuple[str, tuple]]:
    return [(name, shape) for name, shape, _ in rows]


def describe_rows(rows) -> str:
    return ", ".join(f"{name or repr('')} {list(shape)}" for name, shape in rows) or "none"


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
    image_size, classes, hidden = 4, *sizes(seed, 3, 12, 2)
    batch = 1 + seed % 3
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(image_size * image_size, hidden), nn.ReLU(),
                          nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh()), nn.Linear(hidden, classes))
    rows = names_and_shapes(summary(learner, model, (batch, 1, image_size, image_size)))
    expected = [("0", (batch, image_size * image_size)), ("1", (batch, hidden)), ("2", (batch, hidden)),
                ("3.0", (batch, hidden)), ("3.1", (batch, hidden)), ("4", (batch, classes))]
    assert not any(name in ("", "3") for name, _ in rows), (
        f"summarize listed a container ({describe_rows(rows)}); list only the leaves, the modules with no children")
    assert rows == expected, (f"summarize gave the rows {describe_rows(rows)}; expected {describe_rows(expected)} "
                              "(name and output shape of each leaf)")
    single = nn.Linear(hidden, classes)
    rows = names_and_shapes(summary(learner, single, (batch, hidden)))
    assert rows == [("", (batch, classes))], (
        f"for a model with no children (a single nn.Linear) summarize gave {describe_rows(rows)}; the model is "
        f"then its own leaf, named '': expected {describe_rows([('', (batch, classes))])}")


class Reordered(nn.Module):
    """Registered in one order, run in another; ``twice`` runs twice and ``unused`` never runs."""

    def __init__(self, a: int, b: int, c: int):
        super().__init__()
        self.head = nn.Linear(b, c)
        self.unused = nn.Linear(c, c)
        self.twice = nn.Linear(b, b)
        self.body = nn.Linear(a, b)

    def forward(self, x):
        return self.head(self.twice(torch.relu(self.twice(self.body(x)))))


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
    expected = [("body", (3, b)), ("twice", (3, b)), ("twice", (3, b)), ("head", (3, c))]
    names = [name for name, _ in rows]
    assert "unused" not in names, (
        f"summarize listed 'unused', a layer that never ran ({describe_rows(rows)}): list a "
        "leaf when its hook fires, not every module the model holds")
    assert names.count("twice") != 1, (
        f"summarize listed 'twice' once ({describe_rows(rows)}), but it ran twice: add a row each time a hook fires")
    assert rows == expected, (f"summarize gave {describe_rows(rows)}; the layers ran in the order "
                              f"{describe_rows(expected)}")


class Counted(nn.Module):
    """Leaves with parameters of every kind: frozen, trainable, none at all, and buffers (batch norm)."""

    def __init__(self, a: int, b: int):
        super().__init__()
        self.frozen = nn.Linear(a, b)
        self.frozen.requires_grad_(False)
        self.norm = nn.BatchNorm1d(b)
        self.act = nn.ReLU()
        self.out = nn.Linear(b, 1, bias=False)

    def forward(self, x):
        return self.out(self.act(self.norm(self.frozen(x))))


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
    for name, wanted in expected.items():
        got = counts[name]
        if got == wanted:
            continue
        assert name != "frozen" or got != 0, (
            f"'frozen', an nn.Linear({a}, {b}) whose parameters do not train, has "
            f"{got} parameters in the summary; count frozen parameters too: {wanted}")
        assert not (name == "norm" and got > wanted), (
            f"'norm', a BatchNorm1d({b}), has {got} parameters in the summary; its running "
            f"statistics are buffers, not parameters: expected {wanted}")
        raise AssertionError(f"{name!r} has {got} parameters in the summary; expected {wanted} (the number of "
                             "scalar values, `numel()`, of its own parameters)")


class Recurrent(nn.Module):
    """An LSTM over a sequence, then a Linear on its last step: the LSTM's output is a tuple."""

    def __init__(self, features: int, hidden: int, out: int):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, out)

    def forward(self, x):
        outputs, _ = self.lstm(x)
        return self.head(outputs[:, -1])


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


class Watched(nn.Module):
    """A leaf without parameters that remembers what it saw: mode, gradient tracking and its input.

    The record is written in the learner's process, where learner code can rewrite it: it only names a mistake.
    """

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[bool, bool, torch.Tensor]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled(), x.detach().clone()))
        return x


# What a StateMark's output shape says about the forward pass it ran in, bit by bit.
MARK_BITS = ((1, "the model ran in training mode: call `model.eval()` first"),
             (2, "the model ran with gradient tracking on: run it inside `torch.no_grad()`"),
             (4, "the batch summarize passed to the model is not all zeros"),
             (8, "the batch summarize passed to the model is not float32 (`torch.zeros(input_shape)` is)"))


class StateMark(nn.Module):
    """A leaf whose output's shape shows the state of its forward pass: ``[N, 1, 1 + code]``.

    The code adds up the bits of ``MARK_BITS`` that hold: training mode, gradient tracking, a batch that is not
    all zeros, a batch that is not float32. The rows summarize returns are the outcome: the row of a forward
    pass in evaluation mode without gradients, on zeros, has the shape ``(N, 1, 1)``.
    """

    def forward(self, x):
        code = (int(self.training) + 2 * int(torch.is_grad_enabled()) + 4 * int(bool(x.ne(0).any()))
                + 8 * int(x.dtype != torch.float32))
        return x.new_zeros(len(x), 1, 1 + code)


class Summarized(nn.Module):
    """A network, and beside it a StateMark that sees the same batch (its output goes nowhere)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.mark = StateMark()

    def forward(self, x):
        self.mark(x)
        return self.net(x)


def watched_model(seed: int):
    a, b = sizes(seed, 2, 12, 2)
    torch.manual_seed(seed)
    net = nn.Sequential(Watched(), nn.Linear(a, b), nn.BatchNorm1d(b), nn.Sequential(nn.Dropout(0.3), Watched()))
    with torch.no_grad():  # running statistics that zeros would change, were batch norm in training mode
        net[2].running_mean.uniform_(-1, 1)
        net[2].running_var.uniform_(0.5, 2)
    model = Summarized(net)
    model.train()
    net[3].eval()  # mixed modes: each must come back as it was
    return model, a


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
    seen = model.net[0].seen
    assert type(seen) is list and all(type(entry) is tuple and len(entry) == 3 for entry in seen), (
        "summarize replaced a layer's record of its forward passes (seen) with something else: "
        "leave the model's attributes alone")
    assert len(seen) == 1, f"the model ran {len(seen)} times; run one batch through it once"
    training, grad, given = seen[0]
    expect_tensor(given, "the batch summarize passed to the model", shape=(3, a), dtype=torch.float32)
    assert not bool(given.any()), "the batch summarize passed to the model is not all zeros"
    assert not training, "the model ran in training mode: call `model.eval()` first"
    assert not grad, "the model ran with gradient tracking on: run it inside `torch.no_grad()`"
    marks = [shape for _, shape, _ in rows if len(shape) == 3]  # the StateMark's rows: no other leaf gives 3-D
    assert marks, (
        "summarize gave no row for the model's leaf 'mark' (whose output has shape [N, 1, 1 + code]), so how the "
        "model ran cannot be told from the rows: list every leaf each time it runs (see the check about the rows)")
    if marks != [(3, 1, 1)]:
        wrong = next(shape for shape in marks if shape != (3, 1, 1)) if len(marks) == 1 or (3, 1, 1) not in marks \
            else None
        if wrong is not None and wrong[2] > 1:
            shown = "; ".join(meaning for bit, meaning in MARK_BITS if (wrong[2] - 1) & bit) or \
                f"the model's leaf 'mark' gave an output of shape {list(wrong)}"
        elif wrong is not None:
            shown = f"the model's leaf 'mark' gave an output of shape {list(wrong)} for a batch of 3"
        else:
            shown = f"the model ran {len(marks)} times; run one batch through it once"
        raise AssertionError(f"{shown} (the shape of the row of the model's leaf 'mark' shows it){RECORD_CHANGED}")
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), (
            f"summarize changed {key}: batch norm in training mode updates its running statistics; run the "
            "model in evaluation mode")
    expect_flags(model, before, "summarize")


@pytest.mark.check(
    id="summary_removes_hooks",
    name="summarize leaves no hook behind",
    points=1,
    hint=["A summary's hooks would go on running, and appending rows, every time the model runs afterwards.",
          "Keep every handle `register_forward_hook` returns and call `.remove()` on each, in a `finally:` block."],
)
def test_summary_removes_hooks(learner, seed):
    clear_global_hooks()
    model, a = watched_model(seed)
    summary(learner, model, (2, a))
    expect_no_hooks(model, "summarize returned")


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
    a, b = sizes(seed, 2, 12, 2)
    torch.manual_seed(seed)
    cases = (
        ("a model on the meta device", nn.Sequential(nn.Linear(a, b), nn.ReLU()).to("meta"), (3, a),
         [("0", (3, b)), ("1", (3, b))]),
        ("a model with buffers but no parameters, on the meta device",
         nn.Sequential(nn.BatchNorm1d(a, affine=False)).to("meta"), (3, a), [("0", (3, a))]),
        ("a model with no parameters and no buffers", nn.Sequential(nn.Flatten(), nn.ReLU()), (3, 1, a),
         [("0", (3, a)), ("1", (3, a))]),
    )
    for described, model, input_shape, expected in cases:
        try:
            rows = names_and_shapes(summary(learner, model, input_shape))
        except StopIteration:
            raise AssertionError(f"for {described} summarize raised StopIteration (`next(model.parameters())` "
                                 "when there is none): fall back on the first buffer, then on the CPU") from None
        assert rows == expected, f"for {described} summarize gave {describe_rows(rows)}"
