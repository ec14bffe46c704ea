"""Exercise 10's ImageMLP, ResidualBlock and TwoInputNet: sizes, stroke images, what their forward passes compute."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from grader.checking.models import seeded_model
from grader.checking.text import fmt, kind_of
from grader.checking.values import expect_equal_tensors, expect_tensor


# -- sizes, and learner code whose errors are explained --------------------------------------------


FLATTEN_ADVICE = ("flatten each image on its own and keep the batch dimension: `nn.Flatten()`, `x.flatten(1)` "
                  "or `x.view(x.size(0), -1)`")


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


# -- ImageMLP --------------------------------------------------------------------------------------


def image_sizes(seed: int) -> tuple[int, int, int]:
    """A small image size, a number of classes and a hidden size, all different."""
    image_size = sizes(seed, 4, 9, 1)[0]
    n_classes, hidden = sizes(seed + 1, 2, 30, 2)
    return image_size, n_classes, hidden


def expect_linears_ran(calls: list, expected: list[tuple[int, int]], which: str) -> None:
    """Fail unless ``calls`` (``linear_calls``) ran Linear layers of the sizes ``expected``, in that order, each once;
    ``which`` names the model's arguments."""
    used = [(layer.in_features, layer.out_features) for layer, _, _ in calls]
    seen = ", ".join(f"Linear({a}, {b})" for a, b in used) or "none"
    assert used == expected, (f"with {which} the forward pass ran {seen}; expected "
                              f"{' then '.join(f'Linear({a}, {b})' for a, b in expected)}, each once")


def expect_mlp_forward(images: torch.Tensor, output, calls: list, n_classes: int) -> None:
    """Fail unless ``calls`` (``linear_calls``) show the images flattened in order into the first Linear layer, a
    ReLU between the two, and the second one's output returned as it is."""
    assert len(calls) == 2, f"the forward pass ran {len(calls)} nn.Linear layers; expected two"
    (_, first_input, first_output), (_, second_input, second_output) = calls
    flat = images.reshape(len(images), -1)
    assert first_input.shape == flat.shape and torch.allclose(first_input, flat), (
        f"the first Linear layer did not get each image's pixels, flattened in order (shape {list(flat.shape)}): "
        f"{FLATTEN_ADVICE}")
    assert not (bool((first_output < 0).any()) and torch.allclose(second_input, first_output, atol=1e-6)), (
        "the first Linear layer's output goes into the second unchanged: put a ReLU between them")
    assert torch.allclose(second_input, torch.relu(first_output), atol=1e-6), (
        "what goes into the second Linear layer is not the ReLU of the first one's output: use ReLU "
        "(`nn.ReLU()`, `torch.relu` or `F.relu`), not another activation")
    expect_tensor(output, "the model's output", shape=(len(images), n_classes))
    assert not (torch.allclose(output.sum(dim=1), torch.ones(len(images)), atol=1e-4) and bool((output >= 0).all())), (
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


def strokes_problem(seed: int):
    """Noisy 10x10 stroke images of four kinds (``stroke_images``): 40 a kind to train on, 20 a kind to test."""
    generator = torch.Generator().manual_seed(seed)
    X_train, y_train = stroke_images(generator, 40, 10)
    X_test, y_test = stroke_images(generator, 20, 10)
    return X_train, y_train, X_test, y_test


def train_on_strokes(model: nn.Module, optimizer, X: torch.Tensor, y: torch.Tensor, steps: int) -> None:
    """Train the learner's model with cross-entropy, a full batch a step; fail where its output cannot be trained."""
    for _ in range(steps):
        model.train()
        logits = model(X)
        expect_tensor(logits, f"the output for {len(X)} training images", shape=(len(X), 4))
        assert logits.requires_grad, ("the output carries no gradient history, so training cannot change the "
                                      "model: do not use `torch.no_grad()` or `.detach()` in forward")
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def accuracy_of(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).double().mean().item()


# -- ResidualBlock and TwoInputNet: their layers, and the usual mistakes of their forward passes ---


def linear_named(model: nn.Module, name: str, in_features: int, out_features: int, owner: str) -> nn.Linear:
    layer = getattr(model, name, None)
    assert isinstance(layer, nn.Linear), (
        f"{owner}.{name} is {kind_of(layer)}; it must be an nn.Linear({in_features}, {out_features}) "
        f"assigned as `self.{name}`")
    assert (layer.in_features, layer.out_features) == (in_features, out_features), (
        f"{owner}.{name} is nn.Linear({layer.in_features}, {layer.out_features}); expected "
        f"nn.Linear({in_features}, {out_features})")
    return layer


# How far apart (somewhere) the right output and each mistake's must be: a hundred times expect_one_of's tolerance.
CANDIDATES_GAP = 1e-3
# Draws of a model and its input before settling on the last: about one in 80 needs a second. Each makes a model in
# the learner process: where a learner's layers make every draw fail (an fc2 of zeros), the five took about 12 ms.
DRAWS = 5


def candidates_apart(candidates: dict[str, torch.Tensor], gap: float = CANDIDATES_GAP) -> bool:
    """Whether every two of ``candidates`` (outputs of the same shape) differ by more than ``gap`` somewhere, so that
    ``expect_one_of`` can neither take a mistake for the right output nor name the wrong mistake (``apart`` for
    tensors). NaN is apart from nothing."""
    outputs = list(candidates.values())
    return all(bool(((a - b).abs() > gap).any()) for i, a in enumerate(outputs) for b in outputs[i + 1:])


def draw_seeds(seed: int, generator: torch.Generator):
    """The seeds of a check's models, ``DRAWS`` of them: ``seed`` itself, then seeds drawn from ``generator``."""
    yield seed
    for _ in range(DRAWS - 1):
        yield int(torch.randint(0, 2**31 - 1, (1,), generator=generator))


def linear_here(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """What ``layer`` gives for ``x``, worked out here from its weights: a learner's layer would run in the learner
    process, and a call there under ``no_grad`` before the forward pass checked changes how that forward pass
    receives its input (an in-place add to it then fails)."""
    return F.linear(x, layer.weight, layer.bias)


def block_candidates(block: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The correct block and the usual mistakes, computed with the weights of the learner's own layers."""
    with torch.no_grad():
        before_relu = linear_here(block.fc1, x)
        hidden = torch.relu(before_relu)
        body = linear_here(block.fc2, hidden)
        return {
            "correct": torch.relu(body + x),
            "the input x was not added: there is no skip connection": torch.relu(body),
            "the input was added after the last ReLU; add it to fc2's output, then apply the ReLU":
                torch.relu(body) + x,
            "there is no ReLU after adding the input": body + x,
            "there is no ReLU between fc1 and fc2": torch.relu(linear_here(block.fc2, before_relu) + x),
            "what was added is the output of fc1, not the block's input x (keep x before reusing the name)":
                torch.relu(body + hidden),
            "what was added is fc1's output before its ReLU, not the block's input x": torch.relu(body + before_relu),
        }


def residual_problem(learner, size: int, seed: int) -> tuple[nn.Module, torch.Tensor, dict[str, torch.Tensor]]:
    """The learner's ``ResidualBlock(size)`` (its layers checked: ``residual_layers``), an input ``[7, size]``,
    and the outputs of ``block_candidates`` on it, all apart (``candidates_apart``).

    Drawn again, model and input, while two coincide: adding fc1's output before or after its ReLU gives the
    same where the ReLU clips nothing that reaches the sum (about one draw in a hundred; for some weights on
    every input), a last ReLU changes nothing where every sum is at least 0. A learner's layers can make two
    coincide whatever the draw (an fc2 of zeros): the last draw then stands, and ``expect_one_of`` names the
    first mistake that fits.
    """
    generator = torch.Generator().manual_seed(seed)
    for model_seed in draw_seeds(seed, generator):
        block = seeded_model(learner, "ResidualBlock", model_seed, size)
        residual_layers(block, size)
        x = 2 * torch.randn(7, size, generator=generator)
        candidates = block_candidates(block, x)
        if candidates_apart(candidates):
            break
    return block, x, candidates


def two_input_sizes(seed: int) -> tuple[int, int, int, int]:
    in1, in2, hidden, out = sizes(seed, 2, 14, 4)
    return in1, in2, hidden, out


def two_input_candidates(branch1: nn.Linear, branch2: nn.Linear, combined: nn.Linear, x1, x2) -> dict:
    """The correct TwoInputNet and the usual mistakes, computed with the weights of the learner's own layers."""
    with torch.no_grad():
        a, b = linear_here(branch1, x1), linear_here(branch2, x2)
        right = linear_here(combined, torch.cat([a.relu(), b.relu()], dim=1))
        return {
            "correct": right,
            "branch2's output comes first in the concatenation; branch1's goes first":
                linear_here(combined, torch.cat([b.relu(), a.relu()], dim=1)),
            "branch1's output is not passed through a ReLU": linear_here(combined, torch.cat([a, b.relu()], dim=1)),
            "branch2's output is not passed through a ReLU": linear_here(combined, torch.cat([a.relu(), b], dim=1)),
            "neither branch's output is passed through a ReLU": linear_here(combined, torch.cat([a, b], dim=1)),
            "there is a ReLU after `combined`; return its output as it is": right.relu(),
        }


def two_input_problem(learner, in1: int, in2: int, hidden: int, out: int, seed: int):
    """The learner's ``TwoInputNet(in1, in2, hidden, out)`` (its layers checked: ``two_input_layers``), inputs
    ``x1`` ``[6, in1]`` and ``x2`` ``[6, in2]``, and the outputs of ``two_input_candidates`` on them, all apart.

    Drawn again, model and inputs, while two coincide (as ``residual_problem``): a ReLU after ``combined``
    changes nothing where every output is at least 0 (about one draw in 700, all with out=2).
    """
    generator = torch.Generator().manual_seed(seed)
    for model_seed in draw_seeds(seed, generator):
        model = seeded_model(learner, "TwoInputNet", model_seed, in1, in2, hidden, out)
        layers = two_input_layers(model, in1, in2, hidden, out)
        x1, x2 = 2 * torch.randn(6, in1, generator=generator), 2 * torch.randn(6, in2, generator=generator)
        candidates = two_input_candidates(*layers, x1, x2)
        if candidates_apart(candidates):
            break
    return model, x1, x2, candidates


def expect_one_of(output: torch.Tensor, candidates: dict, formula: str, what: str) -> None:
    """Fail unless ``output`` is ``candidates["correct"]``; name the mistake of another candidate it equals."""
    if torch.allclose(output.detach(), candidates["correct"], atol=1e-5):
        return
    for mistake, value in candidates.items():
        assert not (mistake != "correct" and torch.allclose(output.detach(), value, atol=1e-5)), (
            f"the output is not {formula}: {mistake}")
    expect_equal_tensors(output, candidates["correct"], what)


def expect_learns_strokes(model: nn.Module, X_train, y_train, X_test, y_test) -> None:
    """40 Adam steps on the strokes make the model classify at least 80 % of new images correctly."""
    parameters = list(model.parameters())
    assert parameters, "model.parameters() is empty: assign the layers as attributes of the model in __init__"
    optimizer = torch.optim.Adam(parameters, lr=0.01)
    before = accuracy_of(model, X_test, y_test)
    train_on_strokes(model, optimizer, X_train, y_train, steps=40)
    after = accuracy_of(model, X_test, y_test)
    # A correct model reached 87.5 % or more for each of 1000 seeds tried; a broken one stays near 25 %.
    assert after >= 0.8, (
        f"after 40 Adam steps (lr=0.01) on 160 images the model classified {fmt(100 * after)} % of 80 new images "
        f"correctly (it started at {fmt(100 * before)} %, and guessing gives 25 %); a correct ImageMLP reaches at "
        "least 80 %")


def residual_layers(block: nn.Module, size: int) -> list[nn.Linear]:
    """A ResidualBlock's fc1 and fc2, each nn.Linear(size, size)."""
    return [linear_named(block, name, size, size, f"ResidualBlock({size})") for name in ("fc1", "fc2")]


def two_input_layers(model: nn.Module, in1: int, in2: int, hidden: int, out: int) -> list[nn.Linear]:
    """A TwoInputNet's branch1, branch2 and combined, each an nn.Linear of the right sizes."""
    owner = f"TwoInputNet({in1}, {in2}, {hidden}, {out})"
    return [linear_named(model, "branch1", in1, hidden, owner), linear_named(model, "branch2", in2, hidden, owner),
            linear_named(model, "combined", 2 * hidden, out, owner)]
