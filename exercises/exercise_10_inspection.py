"""Exercise 10: looking inside a model. Image-shaped inputs, skip connections, hooks.

Lesson: lessons/10_inspection.md. Grade it with: python -m grader exercise_10

Three models whose inputs or wiring are not a plain chain of layers, and two
tools that show what happens inside any model:

    ImageMLP             grayscale images [N, 1, H, W] -> flatten each one -> logits [N, n_classes]
    ResidualBlock        relu(fc2(relu(fc1(x))) + x): a skip connection around two layers
    TwoInputNet          two inputs, one branch each, joined with torch.cat before the last layer
    capture_activations  the outputs of named layers, recorded with forward hooks
    summarize            every leaf layer in the order it ran: name, output shape, parameters

The file imports only torch, so it can be graded on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ImageMLP(nn.Module):
    """A multilayer perceptron for small grayscale images.

    ``Flatten -> Linear(image_size * image_size, hidden) -> ReLU -> Linear(hidden, n_classes)``.
    Takes images of shape ``[N, 1, image_size, image_size]`` and returns the
    logits, shape ``[N, n_classes]``, for any ``N >= 1``. Each image is
    flattened on its own: the batch dimension stays.
    """

    def __init__(self, image_size: int = 28, n_classes: int = 10, hidden: int = 128):
        """Build the flattening layer and the two linear layers."""
        # TODO: call super().__init__(), then build the layers in this order: a flattening layer
        #       (nn.Flatten(), which keeps dim 0, the batch), nn.Linear(image_size * image_size, hidden),
        #       nn.ReLU(), nn.Linear(hidden, n_classes). nn.Sequential is one way.
        raise NotImplementedError("ImageMLP.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """The logits of each image of ``x``: shape ``[N, n_classes]``."""
        # TODO: flatten each image on its own ([N, 1, H, W] -> [N, H * W], even when N is 1), then run the
        #       layers and return the logits (no softmax at the end).
        raise NotImplementedError("ImageMLP.forward")


class ResidualBlock(nn.Module):
    """Two linear layers with a skip connection around them.

    ``fc1`` and ``fc2`` are both ``nn.Linear(size, size)``; ``forward(x)``
    returns ``relu(fc2(relu(fc1(x))) + x)``: the input is added to the output
    of ``fc2``, before the last ReLU.
    """

    def __init__(self, size: int):
        """Build ``fc1`` and ``fc2``; input and output have the same size, so they can be added."""
        # TODO: call super().__init__(), then self.fc1 and self.fc2, each nn.Linear(size, size).
        raise NotImplementedError("ResidualBlock.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """``relu(fc2(relu(fc1(x))) + x)``, the same shape as ``x``."""
        # TODO: keep the input, run fc1, a ReLU and fc2, add the input you kept (as a new tensor: out + x,
        #       not x += ...), and return the ReLU of the sum.
        raise NotImplementedError("ResidualBlock.forward")


class TwoInputNet(nn.Module):
    """A model with two inputs, each through its own branch, joined before the last layer.

    ``branch1 = nn.Linear(in1, hidden)``, ``branch2 = nn.Linear(in2, hidden)``,
    ``combined = nn.Linear(2 * hidden, out)``. ``forward(x1, x2)`` returns
    ``combined(cat([relu(branch1(x1)), relu(branch2(x2))], dim=1))``.
    """

    def __init__(self, in1: int, in2: int, hidden: int, out: int):
        """Build the two branches and the layer that combines them."""
        # TODO: call super().__init__(), then self.branch1, self.branch2 and self.combined as the
        #       docstring of the class says (combined sees both branches: 2 * hidden inputs).
        raise NotImplementedError("TwoInputNet.__init__")

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """The output for the inputs ``x1`` (``[N, in1]``) and ``x2`` (``[N, in2]``): shape ``[N, out]``."""
        # TODO: run x1 through branch1 and x2 through branch2, a ReLU after each; join the two with
        #       torch.cat along dim=1 (the features of each sample), branch1's first; return combined(...).
        raise NotImplementedError("TwoInputNet.forward")


def capture_activations(model: nn.Module, X: Tensor, layer_names: list[str]) -> dict[str, Tensor]:
    """Run ``model(X)`` once and return the outputs of the named submodules.

    Names are those ``model.get_submodule`` accepts (nested ones such as
    ``"block.fc1"`` included; ``""``, the model itself, is not a submodule).
    Returns ``{name: output}``, each a detached copy
    (``output.detach().clone()``, on the device it was produced on, so a later
    in-place operation cannot change it); for a tuple or list output, a tuple
    of such copies; for a submodule that runs more than once, its last output.

    The forward pass runs in evaluation mode, without gradient tracking. The
    outputs are recorded with forward hooks on those submodules, and every hook
    is removed before returning, also when the forward pass raises (the
    exception then propagates). A name that is not a submodule raises
    ``KeyError`` naming it, before any hook, forward pass or change of mode.
    Afterwards every submodule's ``training`` flag is as it was.
    """
    # TODO: look up every name first (model.get_submodule raises AttributeError for a bad name, and
    #       accepts "", which is the model itself): raise KeyError(name) before changing anything.
    # TODO: remember every submodule's training flag ({module: module.training for module in model.modules()}).
    # TODO: register a forward hook on each named submodule; the hook gets (module, inputs, output) and
    #       stores output.detach().clone() under the name (a tuple of copies for a tuple output).
    # TODO: in a try block: model.eval(), then model(X) once inside torch.no_grad(). In the finally block:
    #       remove every hook (handle.remove()) and give each module its training flag back.
    # TODO: return the dict {name: output}.
    raise NotImplementedError("capture_activations")


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...], int]]:
    """A summary of ``model``: one row per leaf layer, in the order the leaves ran.

    Passes one batch of zeros of shape ``input_shape`` (float32, on the model's
    device: that of its first parameter, else of its first buffer, else the
    CPU) through the model in evaluation mode without gradient tracking. A
    leaf is a submodule with no children (a model with no children is its own
    leaf, named ``""``). Returns ``[(name, output_shape, n_parameters), ...]``:
    the output shape as a tuple of ints (for a tuple or list output, such as an
    ``nn.LSTM``'s, the shape of its first element), and the number of scalar
    values in the leaf's own parameters, frozen ones included (buffers are not
    parameters). A leaf that runs twice appears twice; one that never ran is
    not listed.

    Leaves no hook behind, changes no parameter or buffer (batch norm's running
    statistics included) and gives back every submodule's ``training`` flag.
    """
    # TODO: find the leaves: the (name, module) pairs of model.named_modules() whose module has no children.
    # TODO: register a forward hook on each leaf that appends (name, tuple(output.shape), number of
    #       parameters) to a list each time it runs (for a tuple output, the first element's shape; the
    #       number is the sum of numel() over module.parameters(recurse=False)).
    # TODO: remember the training flags; in a try block, model.eval() and run torch.zeros(input_shape) on the
    #       model's device (first parameter's, else first buffer's, else the CPU) inside torch.no_grad();
    #       in the finally block remove the hooks and give the flags back.
    # TODO: return the list of rows.
    raise NotImplementedError("summarize")


if __name__ == "__main__":
    # Once your code works, run this file: the summary of an image model, and what its hidden layer does.
    model = ImageMLP(image_size=28, n_classes=10)
    for name, shape, n_parameters in summarize(model, (1, 1, 28, 28)):
        print(f"{name:10s} {str(list(shape)):12s} {n_parameters:>8,d}")
    images = torch.rand(4, 1, 28, 28)
    hidden = capture_activations(model, images, ["layers.2"])["layers.2"]
    print("hidden activations", list(hidden.shape), f"{(hidden > 0).float().mean().item():.0%} of them positive")
