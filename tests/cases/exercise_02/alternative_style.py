"""A correct exercise 02 written in other valid styles than the reference solution."""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LinearRegressionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))
        self.bias = nn.Parameter(torch.randn(1, dtype=torch.float32), requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights + self.bias  # the other order of the product


class LinearRegressionModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_layer = nn.Linear(1, 1, bias=True)

    def forward(self, x):
        return F.linear(x, self.linear_layer.weight, self.linear_layer.bias)


def count_parameters(model, trainable_only=True):
    total = 0
    for parameter in model.parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        total += int(np.prod(parameter.shape))
    return total


def build_mlp(in_features, hidden_features, out_features):
    return nn.Sequential(OrderedDict([
        ("hidden", nn.Linear(in_features=in_features, out_features=hidden_features)),
        ("activation", nn.ReLU(inplace=True)),
        ("output", nn.Linear(in_features=hidden_features, out_features=out_features)),
    ]))
