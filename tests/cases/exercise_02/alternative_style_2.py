"""More correct styles: register_parameter, addcmul, old-style super(), named_parameters, add_module."""

import torch
from torch import nn


class LinearRegressionModel(nn.Module):
    def __init__(self):
        super(LinearRegressionModel, self).__init__()
        self.register_parameter("weights", nn.Parameter(torch.randn((1,))))
        self.register_parameter("bias", nn.Parameter(torch.randn([1], dtype=torch.float32)))

    def forward(self, x):
        return torch.addcmul(self.bias, self.weights, x)  # bias + weights * x


class LinearRegressionModelV2(nn.Module):
    def __init__(self) -> None:
        super(LinearRegressionModelV2, self).__init__()
        self.linear_layer = nn.Linear(in_features=1, out_features=1, dtype=torch.float32)

    def forward(self, x):
        output = self.linear_layer(x)
        return output


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    sizes = [p.numel() for _, p in model.named_parameters() if p.requires_grad or not trainable_only]
    return sum(sizes)


def build_mlp(in_features: int, hidden_features: int, out_features: int) -> nn.Sequential:
    model = nn.Sequential()
    model.add_module("fc1", nn.Linear(in_features, hidden_features))
    model.append(nn.ReLU())
    model.append(nn.Linear(hidden_features, out_features))
    return model
