"""A correct exercise 07 written in other valid styles than the reference solution.

Random centres kept apart by rejection; a TensorDataset subclass; a loader seeded
through torch.manual_seed; a classifier with named layers, a custom forward and
F.relu; train_epoch dividing by len(loader.dataset) and calling F.cross_entropy;
vectorised metrics from a confusion matrix.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_blobs(n_per_class, n_classes, n_features=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = []
    while len(centres) < n_classes:  # draw centres until every pair is at least 4 apart
        candidate = torch.rand(n_features, generator=g) * 20 - 10
        if all(torch.dist(candidate, c) >= 4 for c in centres):
            centres.append(candidate)
    points, labels = [], []
    for label, centre in enumerate(centres):
        points.append(centre + 0.5 * torch.randn(n_per_class, n_features, generator=g))
        labels.append(torch.full((n_per_class,), label, dtype=torch.long))
    X, y = torch.cat(points), torch.cat(labels)
    order = torch.randperm(len(y), generator=g)  # mixed classes this time
    return X[order], y[order]


class BlobDataset(TensorDataset):
    def __init__(self, X, y):
        super().__init__(X, y)


def make_loader(dataset, batch_size, shuffle, seed=None):
    if seed is not None:
        torch.manual_seed(seed)
    return DataLoader(dataset, batch_size, shuffle=shuffle)


class MultiClassClassifier(nn.Module):
    def __init__(self, in_features, n_classes, hidden=16):
        super().__init__()
        self.input_layer = nn.Linear(in_features, hidden)
        self.hidden_layer = nn.Linear(hidden, hidden)
        self.output_layer = nn.Linear(hidden, n_classes)

    def forward(self, x):
        x = F.relu(self.input_layer(x))
        x = torch.tanh(self.hidden_layer(x))
        return self.output_layer(x)


def train_epoch(model, loader, loss_fn, optimizer):
    device = next(iter(model.parameters())).device
    model.train()
    running = 0.0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        running += float(loss) * inputs.shape[0]
    return running / len(loader.dataset)


def classification_metrics(logits, targets):
    predictions = logits.argmax(1)
    k = int(max(logits.shape[1], targets.max().item() + 1))
    matrix = torch.bincount(targets * k + predictions, minlength=k * k).reshape(k, k).double()
    hits, predicted, actual = matrix.diag(), matrix.sum(0), matrix.sum(1)
    present = (predicted + actual) > 0
    precision = torch.nan_to_num(hits / predicted)[present].mean()
    recall = torch.nan_to_num(hits / actual)[present].mean()
    return {"accuracy": (hits.sum() / matrix.sum()).item(), "precision": precision.item(), "recall": recall.item()}
