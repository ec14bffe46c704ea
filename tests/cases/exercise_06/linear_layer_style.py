"""A correct exercise 06 in other valid styles: an nn.Linear model, data made on the device,
os.path for the files, torch.no_grad, model.train(False), a while loop, and
get_device written with device counts and `is_built`."""

import os
import pathlib

import torch
from torch import nn


class LinearRegressionModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, x):
        return self.linear_layer(x)


def get_device():
    if torch.cuda.device_count() > 0 and torch.cuda.is_available():
        name = "cuda"
    elif torch.backends.mps.is_built() and torch.backends.mps.is_available():
        name = "mps"
    else:
        name = "cpu"
    return torch.device(name)


def run_workflow(out_dir, *, weight=0.7, bias=0.3, epochs=300, lr=0.01, seed=42, device=None):
    if device is None:
        device = get_device()
    X = torch.arange(0, 1, 0.02, device=device).unsqueeze(dim=1)
    y = weight * X + bias
    split = int(len(X) * 0.8)
    torch.manual_seed(seed)
    model = LinearRegressionModelV2()
    optimizer = torch.optim.SGD(params=model.parameters(), lr=lr)  # built before the move: still the same parameters
    model.to(device)
    loss_fn = nn.L1Loss()
    epoch = 0
    while epoch < epochs:
        epoch += 1
        model.train()
        optimizer.zero_grad()
        loss = loss_fn(model(X[:split]), y[:split])
        loss.backward()
        optimizer.step()
    model.train(False)
    with torch.no_grad():
        test_loss = float(loss_fn(model(X[split:]), y[split:]))
    folder = os.path.join(os.fspath(out_dir), "models")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "line.pt")
    torch.save(model.state_dict(), path)
    fresh = LinearRegressionModelV2()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    fresh = fresh.to(device)
    fresh.train(False)
    with torch.no_grad():
        assert torch.allclose(fresh(X[split:]), model(X[split:]))
    return {"weight": model.linear_layer.weight.item(), "bias": model.linear_layer.bias.item(),
            "test_loss": test_loss, "model_path": pathlib.Path(path), "device": torch.device(device).type}
