"""Exercise 09 written in other valid styles than the reference solution.

make_circles from polar coordinates with linspace over m + 1 angles (the last dropped), in
order and without shuffling; a classifier with named layers and F.relu, flattened with
view(-1); F.binary_cross_entropy_with_logits after model.zero_grad(); predict_proba with
torch.no_grad() and an nn.Sigmoid module; metrics counted in a Python loop.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def make_circles(n_samples, noise=0.05, factor=0.8, seed=0):
    if n_samples < 2 or noise < 0 or factor <= 0 or factor >= 1:
        raise ValueError("need n_samples >= 2, noise >= 0 and 0 < factor < 1")
    generator = torch.Generator()
    generator.manual_seed(seed)
    points, labels = [], []
    for label, (count, radius) in enumerate(((n_samples // 2, 1.0), (n_samples - n_samples // 2, factor))):
        angles = torch.linspace(0, 2 * math.pi, count + 1)[:-1]
        points.append(torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1))
        labels.append(torch.full((count,), float(label)))
    X = torch.cat(points)
    X += torch.normal(0.0, 1.0, size=X.shape, generator=generator) * noise
    return X, torch.cat(labels)


class BinaryClassifier(nn.Module):
    def __init__(self, in_features=2, hidden=16):
        super().__init__()
        self.hidden1 = nn.Linear(in_features, hidden)
        self.hidden2 = nn.Linear(hidden, hidden)
        self.output = nn.Linear(hidden, 1)

    def forward(self, x):
        x = F.relu(self.hidden1(x))
        x = F.relu(self.hidden2(x))
        return self.output(x).view(-1)


def binary_train_step(model, X, y, optimizer):
    model.train()
    model.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(X), y)
    loss.backward()
    optimizer.step()
    return float(loss)


def predict_proba(model, X):
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(X.to(device))
        return nn.Sigmoid()(logits).to("cpu")


def binary_metrics(probabilities, targets, threshold=0.5):
    tp = fp = fn = tn = 0
    for probability, target in zip(probabilities.tolist(), targets.tolist()):
        positive, truly = probability >= threshold, bool(target)
        if positive and truly:
            tp += 1
        elif positive:
            fp += 1
        elif truly:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / (tp + fp + fn + tn), "precision": precision, "recall": recall, "f1": f1}
