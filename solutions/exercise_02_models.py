"""Exercise 02: building models. Step 2 of the workflow: a model that can learn.

Lesson: lessons/02_models.md. Grade it with: python -m grader exercise_02

You build the same straight line, y = weights * x + bias, twice:

    LinearRegressionModel     two nn.Parameter objects you create yourself
    LinearRegressionModelV2   one nn.Linear(1, 1) layer that holds them for you

then a function that counts a model's parameters and one that stacks layers
into a small multi-layer perceptron with nn.Sequential. Nothing here trains:
the models start from random numbers, made reproducible with
``torch.manual_seed``. The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LinearRegressionModel(nn.Module):
    """A straight line with two learnable numbers: ``weights * x + bias``.

    Create two parameters with ``nn.Parameter(torch.randn(1))``, named
    ``weights`` and ``bias``, in that order. After ``torch.manual_seed(42)`` a
    new model has ``weights≈0.3367`` and ``bias≈0.1288``. ``forward(x)`` returns
    ``self.weights * x + self.bias`` for an input of any shape.
    """

    def __init__(self):
        """Create the parameters ``weights`` and ``bias``, each one random number."""
        # nn.Module's own __init__ sets up the bookkeeping (the registry of
        # parameters and sub-modules); it must run before any parameter is assigned.
        super().__init__()
        # Wrapping a tensor in nn.Parameter registers it with the module: it shows
        # up in parameters(), named_parameters() and state_dict(), and it requires
        # grad, so an optimizer can train it. The order of assignment is the order
        # of the parameters, and also the order in which torch.randn draws numbers.
        self.weights = nn.Parameter(torch.randn(1))
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, x: Tensor) -> Tensor:
        """Return ``weights * x + bias``; the output has the shape of ``x``."""
        # Broadcasting multiplies every element of x by the one weight, whatever
        # the shape of x ([N, 1], [N], ...). The result keeps its autograd history,
        # so a loss computed from it can send gradients back to both parameters.
        return self.weights * x + self.bias


class LinearRegressionModelV2(nn.Module):
    """The same line, built from PyTorch's ready-made layer ``nn.Linear(1, 1)``.

    One layer, ``self.linear_layer = nn.Linear(in_features=1, out_features=1)``;
    ``forward(x)`` returns ``self.linear_layer(x)``. Its parameters are
    ``linear_layer.weight`` (shape ``[1, 1]``) and ``linear_layer.bias`` (shape ``[1]``).
    """

    def __init__(self):
        """Create the one layer ``linear_layer``."""
        super().__init__()
        # nn.Linear creates (and initialises) its own weight and bias parameters.
        # Assigning the layer to an attribute registers it as a sub-module, so its
        # parameters belong to this model too, named "linear_layer.weight" and
        # "linear_layer.bias".
        self.linear_layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, x: Tensor) -> Tensor:
        """Return ``linear_layer(x)``: for ``x`` of shape ``[N, 1]``, predictions of shape ``[N, 1]``."""
        # Calling the layer (not its forward method) runs any hooks as well.
        return self.linear_layer(x)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Return the number of scalar parameters in ``model`` as a Python ``int``.

    With ``trainable_only=True`` (the default) count only the parameters that
    require grad; with ``False`` count them all. Buffers (such as batch norm's
    running statistics) are not parameters and are not counted.
    """
    # model.parameters() yields every parameter tensor once, sub-modules included
    # (and not the buffers). numel() is the number of numbers in one tensor: 6 for
    # a [2, 3] weight. Summing Python ints gives a Python int (0 for no parameters).
    return sum(parameter.numel() for parameter in model.parameters()
               if parameter.requires_grad or not trainable_only)


def build_mlp(in_features: int, hidden_features: int, out_features: int) -> nn.Sequential:
    """Return ``nn.Sequential(Linear(in, hidden), ReLU(), Linear(hidden, out))``.

    A batch of shape ``[B, in_features]`` comes out as ``[B, out_features]``.
    """
    # nn.Sequential calls its layers one after the other: each layer's output is
    # the next one's input, so the sizes must chain: in -> hidden -> out. The ReLU
    # between the two linear layers is what makes the model more than one line:
    # two linear layers in a row would collapse into a single linear layer.
    return nn.Sequential(
        nn.Linear(in_features, hidden_features),
        nn.ReLU(),
        nn.Linear(hidden_features, out_features),
    )


if __name__ == "__main__":
    # A demonstration: build both models, look inside them, and predict before training.
    torch.manual_seed(42)
    model = LinearRegressionModel()
    print(model.state_dict())  # weights≈0.3367, bias≈0.1288
    for name, parameter in model.named_parameters():
        print(f"{name}: shape {list(parameter.shape)}, requires_grad={parameter.requires_grad}")

    X = torch.arange(0.0, 1.0, 0.02).unsqueeze(1)
    y = 0.7 * X + 0.3
    with torch.inference_mode():
        predictions = model(X)
    print("first predictions:", [round(value, 4) for value in predictions[:3].squeeze(1).tolist()])
    print("first targets:    ", [round(value, 4) for value in y[:3].squeeze(1).tolist()])

    torch.manual_seed(42)
    model_v2 = LinearRegressionModelV2()
    print(model_v2.state_dict())

    mlp = build_mlp(1, 8, 1)
    print(mlp)
    print(f"parameters: V1 {count_parameters(model)}, V2 {count_parameters(model_v2)}, MLP {count_parameters(mlp)}")
