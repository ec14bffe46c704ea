"""A correct exercise 04 in other valid styles: F.dropout with training=self.training, layers under
odd attribute names, dropout before the ReLU (the two commute), torch.set_grad_enabled(False),
.to("cpu"), and an evaluate that does its own forward pass on the model's device."""

import torch
import torch.nn.functional as F
from torch import nn


class RegularizedNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features, p=0.5):
        super().__init__()
        self.p = p
        self.out_layer = nn.Linear(hidden_features, out_features)  # registered first on purpose
        self.a = nn.Linear(in_features, hidden_features)
        self.bn = nn.BatchNorm1d(hidden_features)

    def forward(self, x):
        x = self.bn(self.a(x))
        x = F.dropout(x, p=self.p, training=self.training)
        return self.out_layer(F.relu(x))


def predict(model, X):
    model.train(False)
    device = next(model.parameters()).device
    with torch.set_grad_enabled(False):
        out = model(X.to(device))
    return out.to("cpu")


def evaluate(model, X, y, loss_fn):
    model.eval()
    device = next(model.parameters()).device
    X, y = X.to(device), y.to(device)
    with torch.no_grad():
        predictions = model(X)
        loss = loss_fn(predictions, y)
        mae = F.l1_loss(predictions, y)
    return {"mae": float(mae), "loss": float(loss)}
