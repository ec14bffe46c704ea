"""Exercise 07: classification with DataLoaders. Beyond regression: batches and classes.

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
    # TODO: make a torch.Generator seeded with `seed` and pass it to every random call,
    #       so that the data depends on the seed alone.
    # TODO: choose one centre per class, far apart compared with the noise (for example
    #       evenly round a circle in the first two features, neighbours about 5 apart).
    # TODO: make the labels y (int64, n_per_class of each class 0 .. n_classes - 1) and
    #       X = the centre of each row's class + a little Gaussian noise (float32).
    raise NotImplementedError("make_blobs")


class BlobDataset(Dataset):
    """A map-style ``Dataset`` over the rows of ``X`` and ``y``.

    ``len(dataset)`` is the number of rows, and ``dataset[i]`` is the pair
    ``(X[i], y[i])``: a feature row of shape ``[n_features]`` and its label.
    """

    def __init__(self, X: Tensor, y: Tensor):
        """Keep the features and labels; they must have the same number of rows."""
        # TODO: call super().__init__() and keep X and y (check they have the same number of rows).
        raise NotImplementedError("BlobDataset.__init__")

    def __len__(self) -> int:
        """The number of samples (rows), not the number of features."""
        # TODO: return the number of samples.
        raise NotImplementedError("BlobDataset.__len__")

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """One sample: its features and its label, as a pair. The DataLoader stacks these into batches."""
        # TODO: return the features and the label of sample `index`, as a pair.
        raise NotImplementedError("BlobDataset.__getitem__")


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int | None = None) -> DataLoader:
    """Wrap ``dataset`` in a ``DataLoader`` that yields ``(X_batch, y_batch)`` pairs.

    Batches hold ``batch_size`` samples; the last one holds what is left and is
    kept (not dropped). Without ``shuffle`` the samples come in the dataset's
    order. With ``shuffle`` each epoch (each pass over the loader) comes in a new
    order; with a ``seed`` as well, that sequence of orders is the same every time
    a loader is made with that seed.
    """
    # TODO: when a seed is given, make a torch.Generator seeded with it (else use None).
    # TODO: return a DataLoader over `dataset` with this batch size, shuffle flag and generator;
    #       keep the smaller last batch.
    raise NotImplementedError("make_loader")


class MultiClassClassifier(nn.Module):
    """A classifier for ``n_classes`` classes with two hidden layers.

    Three ``nn.Linear`` layers, ``in_features -> hidden -> hidden -> n_classes``,
    with a non-linearity (ReLU) after each hidden layer. ``forward`` returns the
    raw scores, the **logits**, of shape ``[N, n_classes]``: no softmax, because
    ``nn.CrossEntropyLoss`` applies it itself.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 16):
        """Build the three linear layers and the non-linearities between them."""
        # TODO: call super().__init__(), then build three nn.Linear layers,
        #       in_features -> hidden -> hidden -> n_classes, with a non-linearity
        #       (such as nn.ReLU()) after each of the first two. nn.Sequential is one way.
        raise NotImplementedError("MultiClassClassifier.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """The logits of each row of ``x``: shape ``[N, n_classes]``."""
        # TODO: run x through the layers and return the logits (no softmax at the end).
        raise NotImplementedError("MultiClassClassifier.forward")


def train_epoch(model: nn.Module, loader, loss_fn, optimizer) -> float:
    """Train ``model`` for one epoch, one optimizer step per batch of ``loader``.

    Puts the model in training mode, moves each batch to the model's device, and
    for each batch runs the forward pass, the loss, zeroes the gradients,
    backpropagates and takes one optimizer step. Returns the mean loss per
    sample over the epoch, as a Python ``float``: each batch's loss (computed
    before its update) weighted by the number of samples in the batch, so a
    smaller last batch counts for less.
    """
    # TODO: find the model's device (the device of one of its parameters) and put the
    #       model in training mode.
    # TODO: for each (X_batch, y_batch) of the loader: move both to that device, then the
    #       five steps of exercise 03 (forward, loss of logits and labels, zero the
    #       gradients, backward, step).
    # TODO: add up each batch's loss times its number of samples, and return the total
    #       divided by the number of samples, as a Python float.
    raise NotImplementedError("train_epoch")


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
    # TODO: the predictions are the argmax of the logits along the class dimension.
    # TODO: accuracy: the fraction of predictions equal to the targets.
    # TODO: for each class that appears in the targets or the predictions, count the true
    #       positives, the rows predicted as it and the rows truly of it; precision and
    #       recall of that class (a 0/0 counts as 0); then the plain mean of each.
    # TODO: return {"accuracy": ..., "precision": ..., "recall": ...} as Python floats.
    raise NotImplementedError("classification_metrics")


if __name__ == "__main__":
    # Once your functions work, run this file: three blobs, a small classifier, ten epochs, then the metrics.
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
