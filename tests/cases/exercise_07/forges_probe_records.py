"""Exercise 07 with train_epoch wrong, and the probe's records rewritten to hide it.

Exercise 07: classification with DataLoaders. Beyond regression: batches and classes.

Lesson: lessons/07_classification.md. Grade it with: python -m grader exercise_07

Exercises 01 to 06 fitted a line to numbers, on the whole training set at once.
Here the model sorts points into classes, and the data arrives in batches:

    make_blobs             clusters of points, one cluster per class
    BlobDataset            a Dataset: its length and one (x, y) pair at a time
    make_loader            a DataLoader: batches, shuffled reproducibly with a seed
    MultiClassClassifier   in -> hidden -> hidden -> n_classes, returning logits
    train_epoch            one pass over the loader; the mean loss per sample
    classification_metrics accuracy, macro precision and macro recall

The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset


def make_blobs(n_per_class: int, n_classes: int, n_features: int = 2,
               seed: int = 0) -> tuple[Tensor, Tensor]:
    """Make ``n_classes`` clusters ("blobs") of ``n_per_class`` points each.

    Returns ``(X, y)``: ``X`` is ``float32`` of shape ``[N, n_features]`` and ``y``
    is ``int64`` of shape ``[N]`` holding the class of each row, ``0`` to
    ``n_classes - 1``, with ``N = n_per_class * n_classes`` and exactly
    ``n_per_class`` rows of each class. The rows may come in any order.

    The same ``seed`` gives the same data, whatever else has used torch's global
    random generator; another seed gives other data. The classes are well
    separated for every seed: almost every point (at least 95 %) lies closer to
    the mean of its own class than to the mean of any other class.
    """
    if n_per_class < 1 or n_classes < 1 or n_features < 1:
        raise ValueError("n_per_class, n_classes and n_features must all be at least 1")
    # A private generator: the data depends on `seed` only, never on the global state.
    generator = torch.Generator().manual_seed(seed)
    spacing, spread = 5.0, 0.8  # neighbouring centres 5 apart, each cluster's standard deviation 0.8
    centres = torch.zeros(n_classes, n_features)
    if n_features == 1:
        # One feature: the centres sit on a line, `spacing` apart, around 0.
        centres[:, 0] = (torch.arange(n_classes) - (n_classes - 1) / 2) * spacing
    elif n_classes > 1:
        # Two or more: evenly around a circle in the first two features, turned by a random
        # angle. The radius puts neighbouring centres exactly `spacing` apart.
        radius = spacing / (2 * math.sin(math.pi / n_classes))
        angles = torch.rand(1, generator=generator) * 2 * math.pi + torch.arange(n_classes) * 2 * math.pi / n_classes
        centres[:, 0], centres[:, 1] = radius * torch.cos(angles), radius * torch.sin(angles)
        # Any further features get a small random offset: it only moves centres further apart.
        centres[:, 2:] = torch.rand(n_classes, n_features - 2, generator=generator) * 2 - 1
    # Class labels are integers (int64), one per row: class 0's rows first, then class 1's, ...
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    # Each point is its class's centre plus Gaussian noise; torch makes float32 by default.
    X = centres[y] + spread * torch.randn(len(y), n_features, generator=generator)
    return X, y


class BlobDataset(Dataset):
    """A map-style ``Dataset`` over the rows of ``X`` and ``y``.

    ``len(dataset)`` is the number of rows, and ``dataset[i]`` is the pair
    ``(X[i], y[i])``: a feature row of shape ``[n_features]`` and its label.
    """

    def __init__(self, X: Tensor, y: Tensor):
        """Keep the features and labels; they must have the same number of rows."""
        super().__init__()
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.X, self.y = X, y

    def __len__(self) -> int:
        """The number of samples (rows), not the number of features."""
        return len(self.X)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """One sample: its features and its label, as a pair. The DataLoader stacks these into batches."""
        return self.X[index], self.y[index]


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int | None = None) -> DataLoader:
    """Wrap ``dataset`` in a ``DataLoader`` that yields ``(X_batch, y_batch)`` pairs.

    Batches hold ``batch_size`` samples; the last one holds what is left and is
    kept (not dropped). Without ``shuffle`` the samples come in the dataset's
    order. With ``shuffle`` each epoch (each pass over the loader) comes in a new
    order; with a ``seed`` as well, that sequence of orders is the same every time
    a loader is made with that seed.
    """
    # A generator of its own makes the shuffled order depend on `seed` only. DataLoader
    # draws from it each time the loader is iterated, so every epoch gets a new order.
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    # drop_last=False (the default) keeps the smaller last batch.
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


class MultiClassClassifier(nn.Module):
    """A classifier for ``n_classes`` classes with two hidden layers.

    Three ``nn.Linear`` layers, ``in_features -> hidden -> hidden -> n_classes``,
    with a non-linearity (ReLU) after each hidden layer. ``forward`` returns the
    raw scores, the **logits**, of shape ``[N, n_classes]``: no softmax, because
    ``nn.CrossEntropyLoss`` applies it itself.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 16):
        """Build the three linear layers and the non-linearities between them."""
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),  # without a non-linearity, three linear layers collapse into one
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),  # one score per class; nothing after it
        )

    def forward(self, x: Tensor) -> Tensor:
        """The logits of each row of ``x``: shape ``[N, n_classes]``."""
        return self.layers(x)


def forge(model, loss, labels):
    """Rewrite the probe model's record of its forward passes (model.seen, kept in this process): every entry says
    "training mode, gradients tracked", and where an entry holds the logits, they are made up so that each batch's
    loss is ``loss``: the true class at 0, every other class at a, with log(1 + (C - 1) e^a) = loss."""
    seen = getattr(model, "seen", None)
    if not isinstance(seen, list):
        return
    forged = []
    for entry, y_batch in zip(seen, labels):
        if len(entry) < 3:
            forged.append((True, True))
            continue
        logits = entry[2]
        made_up = torch.full_like(logits, math.log(math.expm1(loss) / (logits.shape[1] - 1)))
        made_up[torch.arange(len(logits)), y_batch] = 0.0
        forged.append((True, True, made_up))
    seen[:] = forged


def train_epoch(model: nn.Module, loader, loss_fn, optimizer) -> float:
    """Wrong twice: no model.train() (a model that arrives in evaluation mode trains in it), and the mean of the
    batch means returned. The record then says "training mode", with logits whose losses fit the value returned."""
    device = next(model.parameters()).device
    losses, labels = [], []
    for X_batch, y_batch in loader:
        X_batch, y_batch = X_batch.to(device), y_batch.to(device)
        loss = loss_fn(model(X_batch), y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        labels.append(y_batch)
    value = sum(losses) / len(losses)
    forge(model, value, labels)
    return value


def classification_metrics(logits: Tensor, targets: Tensor) -> dict[str, float]:
    """Accuracy, macro precision and macro recall of the predictions ``argmax(logits)``.

    ``logits`` has shape ``[N, n_classes]`` and ``targets`` holds the true class
    indices, shape ``[N]``. Returns ``{"accuracy": ..., "precision": ...,
    "recall": ...}`` as Python floats, each a fraction between 0 and 1.

    Precision of a class: of the rows predicted as that class, the fraction that
    truly are. Recall: of the rows truly of that class, the fraction predicted
    as it. The macro average is the plain mean over the classes that appear in
    ``targets`` or in the predictions (as scikit-learn does by default), every
    class counting the same however many rows it has; a 0/0 counts as 0.
    """
    # The predicted class is the one with the largest logit (softmax would not change it).
    predictions = logits.detach().argmax(dim=1).cpu()
    targets = targets.detach().cpu()
    accuracy = (predictions == targets).float().mean().item()
    # The classes that occur anywhere: a class never predicted still has a recall,
    # a class predicted but never true still has a precision.
    classes = torch.unique(torch.cat([targets, predictions]))
    precisions, recalls = [], []
    for c in classes:
        true_positive = ((predictions == c) & (targets == c)).sum().item()
        predicted = (predictions == c).sum().item()  # true positives + false positives
        actual = (targets == c).sum().item()  # true positives + false negatives
        precisions.append(true_positive / predicted if predicted else 0.0)
        recalls.append(true_positive / actual if actual else 0.0)
    return {
        "accuracy": float(accuracy),
        "precision": float(sum(precisions) / len(precisions)),
        "recall": float(sum(recalls) / len(recalls)),
    }


if __name__ == "__main__":
    # A demonstration: three blobs, a small classifier, ten epochs, then the metrics.
    X, y = make_blobs(n_per_class=100, n_classes=3, seed=0)
    n_train = int(0.8 * len(X))
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))
    train_rows, test_rows = order[:n_train], order[n_train:]
    loader = make_loader(BlobDataset(X[train_rows], y[train_rows]), batch_size=32, shuffle=True, seed=0)
    torch.manual_seed(0)
    model = MultiClassClassifier(in_features=2, n_classes=3)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 11):
        print(f"epoch {epoch:2d}  mean training loss {train_epoch(model, loader, loss_fn, optimizer):.4f}")
    model.eval()
    with torch.inference_mode():
        print(classification_metrics(model(X[test_rows]), y[test_rows]))
