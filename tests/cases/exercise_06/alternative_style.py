"""A correct exercise 06 in other valid styles than the reference solution: get_device through
torch.accelerator, the device kept as the caller gave it, files through pathlib joined
with `/` on a str out_dir, the state dict loaded without map_location and then moved."""

from pathlib import Path

import torch
from torch import nn


class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x):
        return self.weights * x + self.bias


def get_device():
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    return accelerator if accelerator is not None else torch.device("cpu")


def run_workflow(out_dir, *, weight=0.7, bias=0.3, epochs=300, lr=0.01, seed=42, device=None):
    device = device or get_device()  # a str stays a str: .to() accepts both
    X = torch.arange(0, 1, 0.02).unsqueeze(1)
    y = weight * X + bias
    n_train = int(0.8 * len(X))
    train = [t.to(device) for t in (X[:n_train], y[:n_train])]
    test = [t.to(device) for t in (X[n_train:], y[n_train:])]

    torch.manual_seed(seed)
    model = LinearRegressionModel().to(device)
    loss_fn = nn.L1Loss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        model.train()
        optimizer.zero_grad()
        loss_fn(model(train[0]), train[1]).backward()
        optimizer.step()

    model.eval()
    with torch.inference_mode():
        predictions = model(test[0])
        test_loss = loss_fn(predictions, test[1])

    model_path = Path(out_dir) / "model_state_dict.pth"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj=model.state_dict(), f=model_path)

    loaded = LinearRegressionModel()
    loaded.load_state_dict(torch.load(f=model_path, weights_only=True))
    loaded.to(device).eval()
    with torch.inference_mode():
        assert torch.equal(loaded(test[0]), predictions), "the reloaded model disagrees"

    return dict(weight=model.weights.item(), bias=model.bias.item(), test_loss=test_loss.item(),
                model_path=model_path, device=str(torch.device(device)))
