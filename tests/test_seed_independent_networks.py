"""Seed independence of exercise 10's residual_forward and two_input_forward and of exercise 07's
train_epoch_mean_loss.

- two_input_forward: with 6 rows every output of `combined` was sometimes at least 0, so a file with a ReLU after
  `combined` passed (run seeds 1803, 1807, 2201, 2703: 6 of 4000).
- residual_forward: adding fc1's output before its ReLU gave what adding it after gives (45 of 4000, run seed 138;
  for some weights, as with run seed 818, on every input), and "no ReLU after adding" what "added after the last
  ReLU" gives (run seed 1286), so the first-listed mistake was named.
- train_epoch_mean_loss: a file that trains right but returns the loss of softmax probabilities passed with run
  seed 1258 (right 0.828874, softmax 0.828888: within the check's 1e-4).
"""

from __future__ import annotations

import runpy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from grader.checking.architectures import (block_candidates, residual_problem, sizes, two_input_candidates,
                                           two_input_problem, two_input_sizes)
from grader.checking.classification import (EPOCH_LR, epoch_problem, hard_last_batch, mean_loss_mistake,
                                            mean_loss_values, replay_epoch)
from grader.checking.models import seeded_model
from grader.plugin import check_seed
from tests.helpers import KIT


pytestmark = pytest.mark.usefixtures("torch_one_thread")

SOLUTION = SimpleNamespace(**runpy.run_path(str(KIT / "solutions" / "exercise_10_inspection.py")))  # the reference
RELU_AFTER_COMBINED = "there is a ReLU after `combined`; return its output as it is"
FC1_AFTER_RELU = "what was added is the output of fc1, not the block's input x (keep x before reusing the name)"
FC1_BEFORE_RELU = "what was added is fc1's output before its ReLU, not the block's input x"
AFTER_LAST_RELU = "the input was added after the last ReLU; add it to fc2's output, then apply the ReLU"
NO_LAST_RELU = "there is no ReLU after adding the input"


def expect_outputs_apart(candidates: dict, where: str) -> None:
    """Every two outputs differ somewhere by far more than expect_one_of's tolerance (allclose, atol 1e-5)."""
    names = list(candidates)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            gap = (candidates[a] - candidates[b]).abs().max().item()
            assert gap > 1e-4, f"{where}: {a!r} and {b!r} are only {gap:.2g} apart"


def test_two_input_forward_draws_inputs_on_which_a_relu_after_combined_shows():
    for run_seed in (1803, 1807, 2201, 2703):  # the first draw: every output of `combined` at least 0
        seed = check_seed(run_seed, "two_input_forward")
        in1, in2, hidden, out = two_input_sizes(seed)
        model = seeded_model(SOLUTION, "TwoInputNet", seed, in1, in2, hidden, out)
        generator = torch.Generator().manual_seed(seed)
        x1, x2 = 2 * torch.randn(6, in1, generator=generator), 2 * torch.randn(6, in2, generator=generator)
        first = two_input_candidates(model.branch1, model.branch2, model.combined, x1, x2)
        assert torch.allclose(first["correct"], first[RELU_AFTER_COMBINED], atol=1e-5), \
            f"run seed {run_seed} no longer shows the hazard on the first draw"
    for run_seed in (1803, 1807, 2201, 2703, *range(300)):
        seed = check_seed(run_seed, "two_input_forward")
        in1, in2, hidden, out = two_input_sizes(seed)
        model, x1, x2, candidates = two_input_problem(SOLUTION, in1, in2, hidden, out, seed)
        assert bool((candidates["correct"] < -1e-3).any()), f"run seed {run_seed}: no output below 0"
        expect_outputs_apart(candidates, f"two_input_forward, run seed {run_seed}")
        assert torch.equal(candidates["correct"], model(x1, x2).detach())


def test_residual_forward_draws_a_block_and_input_on_which_every_mistake_gives_its_own_output():
    hazards = {138: (FC1_AFTER_RELU, FC1_BEFORE_RELU), 818: (FC1_AFTER_RELU, FC1_BEFORE_RELU),
               1286: (AFTER_LAST_RELU, NO_LAST_RELU)}
    for run_seed, (a, b) in hazards.items():  # the first draw: two mistakes give the same output
        seed = check_seed(run_seed, "residual_forward")
        size = sizes(seed, 3, 12, 1)[0]
        block = seeded_model(SOLUTION, "ResidualBlock", seed, size)
        first = block_candidates(block, 2 * torch.randn(7, size, generator=torch.Generator().manual_seed(seed)))
        assert torch.allclose(first[a], first[b], atol=1e-5), \
            f"run seed {run_seed} no longer shows the hazard on the first draw"
    for run_seed in (*hazards, *range(300)):
        seed = check_seed(run_seed, "residual_forward")
        size = sizes(seed, 3, 12, 1)[0]
        block, x, candidates = residual_problem(SOLUTION, size, seed)
        expect_outputs_apart(candidates, f"residual_forward, run seed {run_seed}")
        assert torch.equal(candidates["correct"], block(x).detach())


def softmax_loss_returned(outputs: list, batches: list) -> float:
    """What a train_epoch that trains right but returns CrossEntropyLoss(softmax(logits)) returns."""
    return sum(F.cross_entropy(logits.softmax(dim=1), y).item() * len(y)
               for logits, (_, y) in zip(outputs, batches)) / sum(len(y) for _, y in batches)


def test_train_epoch_mean_loss_tells_the_loss_of_softmax_probabilities_whatever_the_seed():
    seed = check_seed(1258, "train_epoch_mean_loss")
    model, X, labels = hard_last_batch(torch.Generator().manual_seed(seed), seed, 50, 16)  # the first draw
    batches = list(zip(X.split(16), labels.split(16)))
    _, outputs = replay_epoch(model, batches, EPOCH_LR)
    assert mean_loss_mistake(softmax_loss_returned(outputs, batches), outputs, batches) is None, \
        "run seed 1258 no longer shows the hazard on the first draw"
    for run_seed in (1258, *range(60)):
        model, loader, _, _ = epoch_problem(check_seed(run_seed, "train_epoch_mean_loss"))
        batches = list(loader)
        _, trained = replay_epoch(model, loader, EPOCH_LR)
        with torch.no_grad():
            still = [model.layers(X_batch) for X_batch, _ in batches]
        for outputs in (trained, still):
            told = mean_loss_mistake(softmax_loss_returned(outputs, batches), outputs, batches)
            assert told and "softmax probabilities" in told, f"run seed {run_seed}: {told}"
            values = sorted(mean_loss_values(outputs, batches).values())
            assert all(b - a > 1e-3 * max(1.0, b) for a, b in zip(values, values[1:])), \
                f"run seed {run_seed}: {values}"
