"""Helpers of exercise 10's suite (inspecting models) that name one mistake each, beside ``inspection``."""

from __future__ import annotations

import torch
from torch import nn

from grader.checking.architectures import sizes
from grader.checking.inspection import describe_rows, names_and_shapes, summary
from grader.checking.values import expect_tensor


def expect_stem_output(stem, truth: torch.Tensor) -> None:
    """The captured output of 'stem' is what that layer returned (or that after the in-place ReLU)."""
    expect_tensor(stem, "the captured output of 'stem'", shape=tuple(truth.shape))
    assert not (not torch.allclose(stem, truth, atol=1e-6) and not torch.allclose(stem, truth.relu())), (
        "the captured output of 'stem' is not what that layer returned: store the `output` the hook receives")


def expect_copies_kept(result: dict, truth: dict) -> None:
    """Neither the in-place ReLU after 'stem' nor a change to X afterwards changed what was captured."""
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


def expect_raised_through(error: type, function, *args) -> None:
    """``function(*args)`` lets the ``error`` the model's forward pass raises through to the caller."""
    try:
        function(*args)
    except error:
        pass
    else:
        raise AssertionError("the model's forward pass raised an exception, but capture_activations returned "
                             "normally: let the exception through to the caller")


def nested_problem(seed: int):
    """A model with a nested container, the input shape, its expected rows, and (batch, hidden, classes)."""
    image_size, classes, hidden = 4, *sizes(seed, 3, 12, 2)
    batch = 1 + seed % 3
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(image_size * image_size, hidden), nn.ReLU(),
                          nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh()), nn.Linear(hidden, classes))
    expected = [("0", (batch, image_size * image_size)), ("1", (batch, hidden)), ("2", (batch, hidden)),
                ("3.0", (batch, hidden)), ("3.1", (batch, hidden)), ("4", (batch, classes))]
    return model, (batch, 1, image_size, image_size), expected, (batch, hidden, classes)


def expect_own_leaf(rows: list, batch: int, classes: int) -> None:
    """A model with no children is its own leaf, named ''."""
    assert rows == [("", (batch, classes))], (
        f"for a model with no children (a single nn.Linear) summarize gave {describe_rows(rows)}; the model is "
        f"then its own leaf, named '': expected {describe_rows([('', (batch, classes))])}")


def expect_run_order(rows: list, expected: list) -> None:
    """The rows of Reordered: in the order the layers ran, 'twice' twice, 'unused' not at all."""
    names = [name for name, _ in rows]
    assert "unused" not in names, (
        f"summarize listed 'unused', a layer that never ran ({describe_rows(rows)}): list a "
        "leaf when its hook fires, not every module the model holds")
    assert names.count("twice") != 1, (
        f"summarize listed 'twice' once ({describe_rows(rows)}), but it ran twice: add a row each time a hook fires")
    assert rows == expected, (f"summarize gave {describe_rows(rows)}; the layers ran in the order "
                              f"{describe_rows(expected)}")


def expect_state_unchanged(model: nn.Module, state: dict) -> None:
    """No parameter or buffer of the model differs from ``state``."""
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), (
            f"summarize changed {key}: batch norm in training mode updates its running statistics; run the "
            "model in evaluation mode")


def summary_on_device(learner, model: nn.Module, input_shape, described: str) -> list:
    """The names and shapes summarize gives, a StopIteration named as the mistake it is."""
    try:
        return names_and_shapes(summary(learner, model, input_shape))
    except StopIteration:
        raise AssertionError(f"for {described} summarize raised StopIteration (`next(model.parameters())` "
                             "when there is none): fall back on the first buffer, then on the CPU") from None
