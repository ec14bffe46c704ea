"""Exercise 09 with binary_train_step and predict_proba wrong, and the probe's records rewritten to hide it.

Exercise 09: binary classification. Two classes, one logit, a threshold.

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

import math

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
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, one point for each circle; got {n_samples}")
    if not noise >= 0:  # written this way round, a NaN is refused too
        raise ValueError(f"noise is a standard deviation and cannot be negative; got {noise}")
    if not 0 < factor < 1:
        raise ValueError(f"factor, the inner circle's radius, must lie strictly between 0 and 1; got {factor}")
    # A private generator: the data depends on `seed` only, and the global generator is left alone.
    generator = torch.Generator().manual_seed(seed)

    def circle(m: int, radius: float) -> Tensor:
        # m evenly spaced angles, 0 included and 2*pi left out (it is the same point as 0).
        # torch.linspace(0, 2 * math.pi, m) would put a point at both ends.
        angles = torch.arange(m, dtype=torch.float64) * (2 * math.pi / m)
        return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()

    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    X = torch.cat([circle(n_outer, 1.0), circle(n_inner, factor)])
    # Binary targets are float32: BCEWithLogitsLoss compares them with float logits.
    y = torch.cat([torch.zeros(n_outer), torch.ones(n_inner)])
    X = X + noise * torch.randn(X.shape, generator=generator)
    # Mix the two circles, as scikit-learn does, so that a plain slice of the rows holds both classes.
    order = torch.randperm(n_samples, generator=generator)
    return X[order], y[order]


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
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),  # without a non-linearity the model could only draw a straight boundary
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),  # one logit per row; nothing after it
        )

    def forward(self, x: Tensor) -> Tensor:
        """The logit of each row of ``x``: shape ``[N]``."""
        # The last layer gives [N, 1]. squeeze(-1) removes that last dimension only; a bare
        # squeeze() would also remove the batch dimension of a batch of one, giving shape [].
        return self.layers(x).squeeze(-1)


def forge(model, training, grad_enabled, logits=None):
    """Rewrite the probe model's record of its forward passes (model.seen, kept in this process): each entry
    says the mode and gradient tracking given, and, where an entry also holds the logits, those given."""
    seen = getattr(model, "seen", None)
    if isinstance(seen, list):
        seen[:] = [(training, grad_enabled, *(entry[2:] if logits is None or len(entry) < 3 else (logits,)))
                   for entry in seen] or [(training, grad_enabled)]


def binary_train_step(model: nn.Module, X: Tensor, y: Tensor, optimizer) -> float:
    """Wrong twice: no model.train() (a model that arrives in evaluation mode trains in it), and the loss summed
    over the batch. The record then says "training mode", and its logits are made up so that their mean loss is
    the sum returned: every row wrong by a margin t, whose loss is log(1 + exp(t)) = the sum."""
    logits = model(X)
    loss = nn.BCEWithLogitsLoss(reduction="sum")(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    value = loss.item()
    margin = math.log(math.expm1(value))
    forge(model, True, True, logits=((1 - 2 * y) * margin).detach())
    return value


def predict_proba(model: nn.Module, X: Tensor) -> Tensor:
    """Wrong twice: no model.eval() and gradients tracked (the result only detached afterwards). The record then
    says "evaluation mode, no gradients"."""
    device = next(model.parameters()).device
    probabilities = torch.sigmoid(model(X.to(device))).detach()
    forge(model, False, False)
    return probabilities.cpu()


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
    predicted = probabilities.detach().cpu() >= threshold  # >=: a probability at the threshold is positive
    actual = targets.detach().cpu() == 1  # the same bool tensor for float, integer and bool targets
    true_positive = (predicted & actual).sum().item()
    predicted_positive = predicted.sum().item()  # true positives + false positives
    actual_positive = actual.sum().item()  # true positives + false negatives
    accuracy = (predicted == actual).sum().item() / len(actual)
    precision = true_positive / predicted_positive if predicted_positive else 0.0
    recall = true_positive / actual_positive if actual_positive else 0.0
    # The harmonic mean is low when either is low: a model cannot buy a good F1 with recall alone.
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"accuracy": float(accuracy), "precision": float(precision), "recall": float(recall), "f1": float(f1)}


if __name__ == "__main__":
    # A demonstration: two circles, a small classifier, 300 full-batch steps, then the metrics.
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
