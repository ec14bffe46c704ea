"""Exercise 09: binary classification. Two classes, one logit, a threshold.

Lesson: lessons/09_binary.md. Grade it with: python -m grader exercise_09

Exercise 07 gave every class a score of its own. With two classes one score is
enough: a large logit says "class 1", a very negative one "class 0". Five pieces:

    make_circles       two noisy concentric circles, the outer one labelled 0, the inner one 1
    BinaryClassifier   in -> hidden -> hidden -> 1, returning one logit per row, shape [N]
    binary_train_step  one step of the training loop, with BCEWithLogitsLoss on the raw logits
    predict_proba      the probability of class 1 for each row, in evaluation mode
    binary_metrics     accuracy, precision, recall and F1 of class 1 at a threshold

The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def make_circles(n_samples: int, noise: float = 0.05, factor: float = 0.8,
                 seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two concentric circles in the plane, as scikit-learn's ``make_circles`` makes them.

    Returns ``(X, y)``: ``X`` is ``float32`` of shape ``[n_samples, 2]`` and ``y`` is
    ``float32`` of shape ``[n_samples]``. ``n_samples // 2`` points lie on the outer
    circle, of radius 1, with label ``0.0``; the rest lie on the inner circle, of
    radius ``factor``, with label ``1.0``. A circle of ``m`` points has them at the
    angles ``2 * pi * k / m`` for ``k = 0 ... m - 1`` (no point repeated at 2 pi).
    Then Gaussian noise of standard deviation ``noise`` is added to every
    coordinate. The rows may come in any order.

    All randomness comes from a ``torch.Generator`` seeded with ``seed``; torch's
    global generator is left untouched. The same seed gives the same data, another
    seed other data (when ``noise > 0``). ``n_samples < 2``, ``noise < 0`` or a
    ``factor`` outside ``(0, 1)`` raise ``ValueError``.
    """
    # TODO: raise ValueError for n_samples < 2, noise < 0, or factor not strictly between 0 and 1.
    # TODO: make a torch.Generator seeded with `seed` and pass it to every random call, so that
    #       the data depends on the seed alone and torch's global generator is left untouched.
    # TODO: put n_samples // 2 points on the circle of radius 1 (label 0.0) and the rest on the
    #       circle of radius `factor` (label 1.0); a circle of m points has them at the angles
    #       2 * pi * k / m for k = 0 ... m - 1 (torch.arange, not torch.linspace, which repeats 2 pi).
    # TODO: add Gaussian noise of standard deviation `noise` to every coordinate; return X float32
    #       [n_samples, 2] and y float32 [n_samples] (shuffling the rows with the generator is a good idea).
    raise NotImplementedError("make_circles")


class BinaryClassifier(nn.Module):
    """A classifier for two classes with two hidden layers.

    ``Linear(in_features, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU ->
    Linear(hidden, 1)``, registered in that order. ``forward`` returns one raw score,
    the **logit**, per row: shape ``[N]`` for any ``N >= 1``, so a batch of one sample
    gives shape ``[1]``. No sigmoid at the end: ``nn.BCEWithLogitsLoss`` applies it
    itself, in a numerically safe way.
    """

    def __init__(self, in_features: int = 2, hidden: int = 16):
        """Build the three linear layers and the ReLUs between them."""
        # TODO: call super().__init__(), then build Linear(in_features, hidden), ReLU,
        #       Linear(hidden, hidden), ReLU, Linear(hidden, 1), in this order. nn.Sequential is one way.
        raise NotImplementedError("BinaryClassifier.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """The logit of each row of ``x``: shape ``[N]``."""
        # TODO: run x through the layers and return the logits with the last dimension of size 1
        #       removed: shape [N], also for N = 1 (squeeze(-1), not a bare squeeze()). No sigmoid.
        raise NotImplementedError("BinaryClassifier.forward")


def binary_train_step(model: nn.Module, X: Tensor, y: Tensor, optimizer) -> float:
    """One step of the five-step training loop, with ``nn.BCEWithLogitsLoss``.

    Puts the model in training mode, runs the forward pass, computes
    ``nn.BCEWithLogitsLoss()`` of the raw logits (no sigmoid before it) and the
    ``float32`` targets ``y`` of shape ``[N]``, zeroes the gradients, backpropagates
    and takes exactly one optimizer step, so the update uses this batch's gradients
    only. Returns this batch's loss, computed before the update, as a Python ``float``.
    """
    # TODO: put the model in training mode; forward pass: the logits, shape [N].
    # TODO: the loss: nn.BCEWithLogitsLoss() of the logits as they are (no sigmoid) and y.
    # TODO: zero the gradients, backward, one optimizer step; return the loss as a Python float.
    raise NotImplementedError("binary_train_step")


def predict_proba(model: nn.Module, X: Tensor) -> Tensor:
    """The probability of class 1 for each row of ``X``: ``float32``, shape ``[N]``.

    Like exercise 04's ``predict``: puts the model in evaluation mode (and leaves it
    there), moves ``X`` to the model's device, runs the model without gradient
    tracking, and returns the sigmoid of the logits on the CPU, with no autograd
    history.
    """
    # TODO: put the model in evaluation mode and find its device (the device of one of its parameters).
    # TODO: without gradient tracking, run the model on X moved to that device and take the sigmoid
    #       of the logits.
    # TODO: return the probabilities on the CPU.
    raise NotImplementedError("predict_proba")


def binary_metrics(probabilities: Tensor, targets: Tensor,
                   threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (label 1) at ``threshold``.

    ``probabilities`` holds the probability of class 1 for each row and ``targets``
    the true labels, 0 or 1 (float, integer or bool), both of shape ``[N]``. A row is
    predicted positive when its probability is ``>= threshold``. Returns
    ``{"accuracy": ..., "precision": ..., "recall": ..., "f1": ...}`` as Python floats,
    each a fraction between 0 and 1.

    Precision: of the rows predicted positive, the fraction that truly are. Recall:
    of the rows truly positive, the fraction predicted positive. F1: the harmonic
    mean of the two. A 0/0 counts as 0.
    """
    # TODO: the predictions: True where the probability is >= threshold.
    # TODO: count the true positives, the rows predicted positive and the rows truly positive
    #       (targets may be float, integer or bool: compare them with 1).
    # TODO: accuracy, precision, recall, and F1 = 2 * precision * recall / (precision + recall),
    #       a 0/0 counting as 0; return the four as Python floats in a dict.
    raise NotImplementedError("binary_metrics")


if __name__ == "__main__":
    # Once your functions work, run this file: two circles, a small classifier, 300 full-batch
    # steps, then the metrics.
    X, y = make_circles(1000, noise=0.05, seed=0)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))  # a shuffled 80/20 split
    train_rows, test_rows = order[:800], order[800:]
    torch.manual_seed(0)
    model = BinaryClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(1, 301):
        loss = binary_train_step(model, X[train_rows], y[train_rows], optimizer)
        if step % 50 == 0:
            print(f"step {step:3d}  training loss {loss:.4f}")
    print(binary_metrics(predict_proba(model, X[test_rows]), y[test_rows]))
