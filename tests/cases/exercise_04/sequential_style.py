"""A correct exercise 04 in other valid styles: one nn.Sequential with nn.ReLU, @torch.inference_mode()
as a decorator (predict returns an inference-mode tensor), the device read from the buffers,
and an evaluate built on predict with torch.mean(torch.abs(...))."""

import torch
from torch import nn


class RegularizedNet(nn.Module):
    def __init__(self, in_features: int, hidden_features: int, out_features: int, p: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden_features),
            nn.BatchNorm1d(hidden_features),
            nn.ReLU(),
            nn.Dropout(p=p),
            nn.Linear(hidden_features, out_features),
        )

    def forward(self, x):
        return self.net(x)


@torch.inference_mode()
def predict(model, X):
    model.eval()
    device = next(iter(model.buffers()), next(model.parameters())).device
    return model(X.to(device)).cpu()


def evaluate(model, X, y, loss_fn):
    predictions = predict(model, X)
    return {"loss": loss_fn(predictions, y).item(),
            "mae": torch.mean(torch.abs(predictions - y)).item()}
