"""A correct exercise 10 in a third style: nn.Sequential with x.flatten(1) in forward,
torch.relu modules from functional calls, torch.hstack, get_submodule with its
AttributeError turned into a KeyError, no_grad as a decorator, try/finally with
handle.remove() in a loop, and the device found from buffers when there are no
parameters.
"""

import torch
from torch import nn


class ImageMLP(nn.Module):
    def __init__(self, image_size: int = 28, n_classes: int = 10, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(image_size ** 2, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):
        return self.net(x.flatten(1))


class ResidualBlock(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(size, size), nn.Linear(size, size)

    def forward(self, x):
        return (self.fc2(self.fc1(x).relu()) + x).relu()


class TwoInputNet(nn.Module):
    def __init__(self, in1, in2, hidden, out):
        super().__init__()
        self.branch1, self.branch2 = nn.Linear(in1, hidden), nn.Linear(in2, hidden)
        self.combined = nn.Linear(2 * hidden, out)

    def forward(self, x1, x2):
        return self.combined(torch.hstack([torch.relu(self.branch1(x1)), torch.relu(self.branch2(x2))]))


def find(model, name):
    if not name:
        raise KeyError("the empty name is the model itself")
    try:
        return model.get_submodule(name)
    except AttributeError as exc:
        raise KeyError(name) from exc


@torch.no_grad()
def run_eval(model, x):
    model.eval()
    model(x)


def capture_activations(model, X, layer_names):
    layers = [find(model, name) for name in layer_names]
    out = {}
    flags = [m.training for m in model.modules()]
    handles = []
    try:
        for name, layer in zip(layer_names, layers):
            def hook(module, inputs, output, name=name):
                if isinstance(output, (tuple, list)):
                    out[name] = tuple(o.detach().clone() for o in output)
                else:
                    out[name] = output.detach().clone()
            handles.append(layer.register_forward_hook(hook))
        run_eval(model, X)
    finally:
        for h in handles:
            h.remove()
        for m, flag in zip(model.modules(), flags):
            m.training = flag
    return out


def summarize(model, input_shape):
    device = torch.device("cpu")
    for tensor in model.parameters():
        device = tensor.device
        break
    else:
        for tensor in model.buffers():
            device = tensor.device
            break
    rows, handles = [], []
    flags = [m.training for m in model.modules()]
    try:
        for name, module in model.named_modules():
            if next(module.children(), None) is None:
                count = sum(p.numel() for p in module.parameters())
                handles.append(module.register_forward_hook(
                    lambda m, i, o, name=name, count=count: rows.append(
                        (name, tuple((o[0] if isinstance(o, (tuple, list)) else o).shape), count))))
        run_eval(model, torch.zeros(input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
        for m, flag in zip(model.modules(), flags):
            m.training = flag
    return rows
