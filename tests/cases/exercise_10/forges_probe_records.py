"""Exercise 10 with capture_activations and summarize tracking gradients, and the records of forward passes
rewritten to hide it.

Exercise 10: looking inside a model. Image-shaped inputs, skip connections, hooks.

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
        super().__init__()
        self.layers = nn.Sequential(
            # Flatten's default start_dim=1 keeps dimension 0, the batch: [N, 1, H, W] -> [N, H * W].
            nn.Flatten(),
            nn.Linear(image_size * image_size, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),  # logits: no softmax, CrossEntropyLoss applies it
        )

    def forward(self, x: Tensor) -> Tensor:
        """The logits of each image of ``x``: shape ``[N, n_classes]``."""
        return self.layers(x)


class ResidualBlock(nn.Module):
    """Two linear layers with a skip connection around them.

    ``fc1`` and ``fc2`` are both ``nn.Linear(size, size)``; ``forward(x)``
    returns ``relu(fc2(relu(fc1(x))) + x)``: the input is added to the output
    of ``fc2``, before the last ReLU.
    """

    def __init__(self, size: int):
        """Build ``fc1`` and ``fc2``; input and output have the same size, so they can be added."""
        super().__init__()
        self.fc1 = nn.Linear(size, size)
        self.fc2 = nn.Linear(size, size)

    def forward(self, x: Tensor) -> Tensor:
        """``relu(fc2(relu(fc1(x))) + x)``, the same shape as ``x``."""
        out = torch.relu(self.fc1(x))
        out = self.fc2(out)
        # The skip connection: the block only has to learn what to add to x. The sum is a new
        # tensor, so the caller's x is never changed.
        return torch.relu(out + x)


class TwoInputNet(nn.Module):
    """A model with two inputs, each through its own branch, joined before the last layer.

    ``branch1 = nn.Linear(in1, hidden)``, ``branch2 = nn.Linear(in2, hidden)``,
    ``combined = nn.Linear(2 * hidden, out)``. ``forward(x1, x2)`` returns
    ``combined(cat([relu(branch1(x1)), relu(branch2(x2))], dim=1))``.
    """

    def __init__(self, in1: int, in2: int, hidden: int, out: int):
        """Build the two branches and the layer that combines them."""
        super().__init__()
        self.branch1 = nn.Linear(in1, hidden)
        self.branch2 = nn.Linear(in2, hidden)
        self.combined = nn.Linear(2 * hidden, out)  # it sees both branches side by side: 2 * hidden features

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """The output for the inputs ``x1`` (``[N, in1]``) and ``x2`` (``[N, in2]``): shape ``[N, out]``."""
        out1 = torch.relu(self.branch1(x1))
        out2 = torch.relu(self.branch2(x2))
        # dim=1 joins the features of each sample; dim=0 would stack the two batches on top of each other.
        return self.combined(torch.cat([out1, out2], dim=1))


def _copy_output(output):
    """A detached copy of a layer's output: a tensor, or a tuple of copies for a tuple or list (an LSTM's)."""
    if isinstance(output, (tuple, list)):
        return tuple(_copy_output(item) for item in output)
    # detach: no autograd history. clone: new memory, so a later in-place operation
    # (an nn.ReLU(inplace=True) after this layer, say) cannot change what we kept.
    return output.detach().clone()


def _submodule(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)``, but a ``KeyError`` naming ``name`` when there is no such submodule."""
    if name == "":
        raise KeyError("'' names the model itself, not one of its submodules")
    try:
        return model.get_submodule(name)
    except AttributeError:  # what get_submodule raises for a missing name, or one that is not a module
        raise KeyError(f"{name!r} is not a submodule of the model (see model.named_modules())") from None


def _training_flags(model: nn.Module) -> dict[nn.Module, bool]:
    """Every submodule's ``training`` flag, the model's own included."""
    return {module: module.training for module in model.modules()}


def _restore_training_flags(flags: dict[nn.Module, bool]) -> None:
    # Module by module: model.train(was_training) would reset a submodule that was
    # deliberately left in another mode (a frozen batch norm layer, say).
    for module, training in flags.items():
        module.training = training


def forge(model: nn.Module) -> None:
    """Rewrite every record of forward passes the model's modules keep (``seen``, in this process): each entry
    says "evaluation mode, no gradient tracking", and keeps whatever else it holds."""
    for module in model.modules():
        seen = getattr(module, "seen", None)
        if isinstance(seen, list):
            seen[:] = [(False, False, *entry[2:]) for entry in seen]


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
    # Look every name up first: a typo must fail before the model runs or anything changes.
    submodules = {name: _submodule(model, name) for name in layer_names}

    activations: dict[str, Tensor] = {}

    def recorder(name: str):
        def hook(module, inputs, output):
            activations[name] = _copy_output(output)  # a later run of the same module overwrites: its last output
        return hook

    flags = _training_flags(model)
    handles = []
    try:
        for name in layer_names:
            handles.append(submodules[name].register_forward_hook(recorder(name)))
        model.eval()
        model(X)  # wrong: gradient tracking on
        forge(model)
    finally:
        # Whatever happened above, the model goes back exactly as it came.
        for handle in handles:
            handle.remove()
        _restore_training_flags(flags)
    return {name: activations[name] for name in layer_names if name in activations}


def _device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter, else of its first buffer, else the CPU."""
    for tensor in [*model.parameters(), *model.buffers()]:
        return tensor.device
    return torch.device("cpu")


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
    leaves = [(name, module) for name, module in model.named_modules() if not list(module.children())]
    rows: list[tuple[str, tuple[int, ...], int]] = []

    def recorder(name: str, module: nn.Module):
        n_parameters = sum(parameter.numel() for parameter in module.parameters(recurse=False))

        def hook(module, inputs, output):
            first = output
            while isinstance(first, (tuple, list)):  # an LSTM returns (output, (h, c)): take the output
                first = first[0]
            rows.append((name, tuple(first.shape), n_parameters))  # a hook runs each time: a leaf used twice, twice
        return hook

    flags = _training_flags(model)
    handles = []
    try:
        for name, module in leaves:
            handles.append(module.register_forward_hook(recorder(name, module)))
        # Evaluation mode: batch norm uses its running statistics and does not update them.
        model.eval()
        model(torch.zeros(input_shape, device=_device_of(model)))  # wrong: gradient tracking on
        forge(model)
    finally:
        for handle in handles:
            handle.remove()
        _restore_training_flags(flags)
    return rows


if __name__ == "__main__":
    # A demonstration: the summary of an image model, and what its hidden layer does with an image.
    model = ImageMLP(image_size=28, n_classes=10)
    for name, shape, n_parameters in summarize(model, (1, 1, 28, 28)):
        print(f"{name:10s} {str(list(shape)):12s} {n_parameters:>8,d}")
    images = torch.rand(4, 1, 28, 28)
    hidden = capture_activations(model, images, ["layers.2"])["layers.2"]
    print("hidden activations", list(hidden.shape), f"{(hidden > 0).float().mean().item():.0%} of them positive")
