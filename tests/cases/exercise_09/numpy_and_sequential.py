"""Exercise 09 in a third valid style: NumPy data, a Sequential that flattens, in-place ReLUs.

make_circles with NumPy's own seeded generator (torch's global one is never touched) and
np.linspace(..., endpoint=False), rows shuffled; a Sequential ending in nn.Flatten(0) with
nn.ReLU(inplace=True); zero_grad(set_to_none=True) first and the loss module built once;
predict_proba in inference_mode with .detach().cpu(); metrics from a confusion count with
bool targets and F1 written as 2tp / (2tp + fp + fn).
"""

import numpy as np
import torch
from torch import nn


def make_circles(n_samples: int, noise: float = 0.05, factor: float = 0.8, seed: int = 0):
    if n_samples < 2:
        raise ValueError("n_samples must be at least 2")
    if noise < 0:
        raise ValueError("noise must not be negative")
    if not (0.0 < factor < 1.0):
        raise ValueError("factor must be between 0 and 1")
    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    inner = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.column_stack([np.cos(outer), np.sin(outer)]),
                   factor * np.column_stack([np.cos(inner), np.sin(inner)])])
    y = np.hstack([np.zeros(n_out), np.ones(n_in)])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n_samples)
    return torch.from_numpy(X[order]).float(), torch.from_numpy(y[order]).float()


class BinaryClassifier(nn.Module):
    def __init__(self, in_features: int = 2, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 1), nn.Flatten(0),
        )

    def forward(self, x):
        return self.net(x)


LOSS = nn.BCEWithLogitsLoss()


def binary_train_step(model, X, y, optimizer):
    optimizer.zero_grad(set_to_none=True)
    model.train()
    loss = LOSS(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.detach().item()


def predict_proba(model, X):
    model.eval()
    with torch.inference_mode():
        out = torch.sigmoid(model(X.to(next(model.parameters()).device)))
    return out.detach().cpu()


def binary_metrics(probabilities, targets, threshold=0.5):
    predicted = (probabilities >= threshold).cpu()
    actual = targets.cpu().bool()
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    tn = int((~predicted & ~actual).sum())
    precision = tp / (tp + fp) if (tp + fp) > 0 else 0.0
    recall = tp / (tp + fn) if (tp + fn) > 0 else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
    return {"accuracy": (tp + tn) / len(actual), "precision": precision, "recall": recall, "f1": f1}
