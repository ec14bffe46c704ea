"""A correct exercise 00 with other tools: NumPy, nn.Parameter, torch.func, nn.MSELoss and its own helpers."""

import numpy as np
import torch
from torch import nn


def make_tensor(values, requires_grad=False):
    if requires_grad:
        return nn.Parameter(torch.from_numpy(np.array(values, dtype=np.float32)))
    return torch.FloatTensor(values)


def gradient(f, x):
    # torch.func.grad builds the derivative function; autograd underneath.
    return torch.func.grad(f)(torch.tensor(float(x))).item()


def manual_linear_gradients(w, b, x, y):
    parameters = make_tensor([w, b], requires_grad=True)
    loss = nn.MSELoss()(parameters[0] * x + parameters[1], y)
    loss.backward()
    dw, db = parameters.grad.tolist()
    return (dw, db)
