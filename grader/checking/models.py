"""Models a learner builds: making one from their class, and which layers a forward pass really ran through."""

from __future__ import annotations

from grader.checking.learner_process import in_learner_process, is_learner_model
from grader.checking.text import kind_of


def seeded_model(learner, class_name: str, seed: int, *args, **kwargs):
    """``class_name(*args, **kwargs)`` of the learner's file, made right after ``torch.manual_seed(seed)``.

    Fails unless it is an ``nn.Module``. The seed fixes the initial weights, so that a check can
    compare the model's output with what its own layers compute.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = getattr(learner, class_name)(*args, **kwargs)
    assert isinstance(model, nn.Module), f"{class_name}(...) made {kind_of(model)}, not an nn.Module"
    return model


def linear_calls(model, *inputs):
    """Run ``model(*inputs)`` in evaluation mode without gradients; return its output and every ``nn.Linear`` call.

    The calls come in the order they ran, each as ``(layer, input, output)``, the tensors
    detached copies. Forward hooks see the layers a model really runs, however its
    ``forward`` is written (``nn.Sequential`` or a hand-written one, ``F.relu`` or ``nn.ReLU``).

    A learner's model runs in the learner process, so the hooks are set there; each call they
    report is kept only if the layer's own weights, here, turn its input into its output.
    """
    from torch import nn
    from torch.nn import functional

    if not is_learner_model(model):
        output, calls = record_linear_calls(model, *inputs)
        layers = dict(model.named_modules())
        return output, [(layers[path], layer_input, layer_output) for path, layer_input, layer_output in calls]
    output, calls = in_learner_process(model, record_linear_calls, model, *inputs)
    checked = []
    for path, layer_input, layer_output in calls:
        try:
            layer = model.get_submodule(path)
            if isinstance(layer, nn.Linear) and close(functional.linear(layer_input, layer.weight, layer.bias),
                                                      layer_output):
                checked.append((layer, layer_input, layer_output))
        except (AttributeError, RuntimeError, TypeError):
            pass  # a call the learner process reported that did not happen that way: not counted
    return output, checked


def record_linear_calls(model, *inputs):
    """``linear_calls`` where the model lives: its output, and each ``nn.Linear`` call as (path, input, output)."""
    from torch import nn, no_grad

    calls = []
    paths = {id(module): path for path, module in model.named_modules()}

    def record(module, layer_inputs, output):
        # Copies: an in-place ReLU after a layer would otherwise change what was recorded.
        calls.append((paths.get(id(module), ""), layer_inputs[0].detach().clone(), output.detach().clone()))

    handles = [module.register_forward_hook(record) for module in model.modules() if isinstance(module, nn.Linear)]
    try:
        model.eval()
        with no_grad():
            output = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return output, calls


def close(a, b) -> bool:
    import torch

    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and bool(
        torch.allclose(a.detach().float(), b.detach().float(), rtol=1e-4, atol=1e-5))
