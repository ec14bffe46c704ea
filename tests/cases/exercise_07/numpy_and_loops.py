"""A correct exercise 07 in a third style: NumPy for the data and the metrics, plain loops.

Centres on a grid made with NumPy; a Dataset whose items are lists with an int
label; a loader with an explicit RandomSampler and its own generator; an
nn.Sequential with in-place ReLU and GELU; train_epoch counting samples and
zeroing with set_to_none; metrics in Python loops over NumPy arrays.
"""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler


def make_blobs(n_per_class, n_classes, n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_classes)))
    centres = np.zeros((n_classes, n_features))
    for label in range(n_classes):  # a grid of centres, 6 apart
        centres[label, 0], centres[label, 1 % n_features] = 6 * (label % side), 6 * (label // side)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = centres[y] + rng.normal(0.0, 0.7, size=(len(y), n_features))
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y).long()


class BlobDataset(Dataset):
    def __init__(self, X, y):
        self.features = X
        self.labels = y

    def __len__(self):
        return self.features.shape[0]

    def __getitem__(self, i):
        return [self.features[i], int(self.labels[i])]


def make_loader(dataset, batch_size, shuffle, seed=None):
    if shuffle:
        generator = None
        if seed is not None:
            generator = torch.Generator()
            generator.manual_seed(seed)
        sampler = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=False)


class MultiClassClassifier(nn.Module):
    def __init__(self, in_features, n_classes, hidden=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def train_epoch(model, loader, loss_fn, optimizer):
    model.train(True)
    device = next(model.parameters()).device
    losses, counts = [], []
    for batch in loader:
        X, y = (part.to(device) for part in batch)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        counts.append(len(X))
    return float(np.average(losses, weights=counts))


def classification_metrics(logits, targets):
    predicted = logits.detach().cpu().numpy().argmax(axis=1)
    actual = targets.cpu().numpy()
    classes = sorted(set(actual.tolist()) | set(predicted.tolist()))
    precisions, recalls = [], []
    for c in classes:
        tp = int(np.sum((predicted == c) & (actual == c)))
        fp = int(np.sum((predicted == c) & (actual != c)))
        fn = int(np.sum((predicted != c) & (actual == c)))
        precisions.append(tp / (tp + fp) if tp + fp > 0 else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn > 0 else 0.0)
    return {
        "accuracy": float(np.mean(predicted == actual)),
        "precision": float(np.mean(precisions)),
        "recall": float(np.mean(recalls)),
    }
