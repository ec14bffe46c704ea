"""A correct exercise 00 written in other valid styles than the reference solution."""

import torch
import torch.nn.functional as F


def make_tensor(values, requires_grad=False):
    # Convert first, ask for gradients last: the returned tensor is still the leaf.
    return torch.as_tensor(values).float().requires_grad_(requires_grad)


def gradient(f, x):
    point = torch.tensor([x], requires_grad=True)  # shape [1] rather than a 0-d tensor
    (derivative,) = torch.autograd.grad(f(point), point)  # .grad is never touched
    return float(derivative)


def manual_linear_gradients(w, b, x, y):
    w = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = F.mse_loss(w * x.double() + b, y.double())
    dw, db = torch.autograd.grad(loss, [w, b])
    return dw.item(), db.item()
