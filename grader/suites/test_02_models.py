"""Hidden suite for exercise 02 (building models).

Every check observes what the learner's models and functions do, never how
they are spelled: ``nn.Parameter(torch.randn(1))`` and
``nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))``, a
``sum`` over a generator and a ``for`` loop, an ``nn.Sequential`` built from
layers or from an ``OrderedDict`` all pass. Sizes, seeds and parameter values
come from each check's ``seed``, so a result hard-coded for the lesson does not
pass; the contract's own figures (seed 42) are checked as well.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from grader.checking import expect_equal_tensors, expect_tensor, fmt, kind_of

V1, V2 = "LinearRegressionModel", "LinearRegressionModelV2"


# -- helpers -------------------------------------------------------------------------


def describe(value) -> str:
    """``an nn.Linear``, ``a torch.Tensor of shape [1]``, ``None``: what a learner would call it."""
    kind = type(value)
    if kind.__module__.startswith("torch.nn."):
        return f"an nn.{kind.__name__}"
    if kind.__module__ in ("builtins", "torch", "numpy"):
        return kind_of(value)
    return f"an instance of {kind.__name__}"


def member(learner, name: str):
    """The learner's class or function called ``name``, or a failure that says it is missing."""
    value = getattr(learner, name, None)
    assert value is not None, f"the exercise file defines no `{name}` (check the spelling of its name)"
    return value


def new_model(learner, class_name: str) -> nn.Module:
    """A new instance of the learner's model class, which must be an ``nn.Module``."""
    model = member(learner, class_name)()
    expect_module(model, class_name)
    return model


def expect_module(model, class_name: str) -> None:
    """Fail unless ``model`` (made by ``class_name()``) is an ``nn.Module``."""
    assert isinstance(model, nn.Module), (
        f"{class_name}() gave {describe(model)}, which is not an nn.Module: "
        f"the class must start `class {class_name}(nn.Module):`")


def expect_forward(model: nn.Module, class_name: str) -> None:
    """Fail unless the model's class defines its own ``forward``."""
    assert type(model).forward is not nn.Module.forward, (
        f"{class_name} has no method called forward, so the model cannot be called: "
        "define `def forward(self, x):` inside the class (check its spelling and indentation)")


def expect_output(value, what: str) -> torch.Tensor:
    """``value`` if it is exactly a ``torch.Tensor``; a missing ``return`` gets its own advice."""
    assert value is not None, f"{what} gave None: does forward end with `return ...`?"
    return expect_tensor(value, what)


def tensor_attribute(model: nn.Module, name: str) -> torch.Tensor:
    """``model.<name>``: an ``nn.Parameter`` (or, wrongly, a plain tensor), or a failure naming what it is."""
    value = getattr(model, name, None)
    assert type(value) in (nn.Parameter, torch.Tensor), (
        f"{V1}().{name} is {describe(value)}, expected an nn.Parameter holding one number")
    return value


def the_linear_layer(model: nn.Module) -> nn.Linear:
    """``model.linear_layer``, which must be an ``nn.Linear`` with a bias."""
    layer = getattr(model, "linear_layer", None)
    assert isinstance(layer, nn.Linear), f"{V2}().linear_layer is {describe(layer)}, expected an nn.Linear"
    assert layer.bias is not None, (
        f"{V2}().linear_layer has no bias (was it made with bias=False?): the line y = weight * x + bias needs one")
    return layer


def nice_values(generator: torch.Generator, count: int) -> list[float]:
    """``count`` numbers in ±[0.5, 2.5], multiples of 1/16 (exact in float32), never zero.

    Their sizes all differ, so a forward pass that swaps weight and bias can never give the right answer.
    """
    magnitudes = (torch.randperm(33, generator=generator)[:count] + 8).float() / 16
    signs = torch.randint(0, 2, (count,), generator=generator).float() * 2 - 1
    return (magnitudes * signs).tolist()


def line_model(learner, class_name: str, generator: torch.Generator, device: torch.device):
    """A new learner model on ``device`` whose line is set to a seeded ``weight * x + bias``.

    Returns the model, its weight and bias tensors (``weights``/``bias``, or the
    layer's ``weight``/``bias``) and the two values they were set to. Setting
    them here means a forward pass that mixes them up always shows.
    """
    weight, bias = nice_values(generator, 2)
    model = new_model(learner, class_name)
    expect_forward(model, class_name)
    model.to(device)
    if class_name == V1:
        tensors = [tensor_attribute(model, "weights"), tensor_attribute(model, "bias")]
    else:
        layer = the_linear_layer(model)
        tensors = [layer.weight, layer.bias]
    with torch.no_grad():
        for tensor, value in zip(tensors, (weight, bias)):
            tensor.fill_(value)
    return model, tensors, weight, bias


def first_number(model: nn.Module, name: str) -> float:
    """The one number that ``model.<name>`` holds."""
    tensor = tensor_attribute(model, name)
    assert tensor.numel() == 1, f"{V1}().{name} holds {tensor.numel()} numbers, expected one (torch.randn(1))"
    return float(tensor.detach().reshape(-1)[0].item())


# -- LinearRegressionModel -------------------------------------------------------------


@pytest.mark.check(
    id="model_parameters",
    name="LinearRegressionModel has exactly the parameters weights and bias, in that order",
    points=1,
    hint=["A tensor becomes a parameter of the model only when it is wrapped in `nn.Parameter` and assigned "
          "to `self` in `__init__`.",
          "Create `self.weights` first, then `self.bias`: the order of assignment is the order of `named_parameters()`.",
          "Each one is `nn.Parameter(torch.randn(1))`: one float32 number that requires grad."],
)
def test_model_parameters(learner):
    model = new_model(learner, V1)
    named = list(model.named_parameters())
    names = [name for name, _ in named]
    if names != ["weights", "bias"]:
        plain = [name for name in ("weights", "bias") if type(getattr(model, name, None)) is torch.Tensor]
        if plain:
            which = "self." + " and self.".join(plain)
            verb = "is a plain tensor" if len(plain) == 1 else "are plain tensors"
            raise AssertionError(f"{which} {verb}, not nn.Parameter, so the model does not know it has "
                                 f"{'it' if len(plain) == 1 else 'them'}: wrap each tensor in nn.Parameter(...)")
        assert sorted(names) != ["bias", "weights"], (
            "the parameters come in the order bias, weights; create self.weights first, then self.bias")
        shown = ", ".join(names) if names else "none"
        raise AssertionError(f"the model's parameters are named: {shown}; expected exactly weights and bias")
    for name, parameter in named:
        assert type(parameter) is nn.Parameter, f"{name} is {describe(parameter)}, expected an nn.Parameter"
        assert list(parameter.shape) == [1], (
            f"{name} has shape {list(parameter.shape)}, expected [1] (one number: torch.randn(1))")
        assert parameter.dtype == torch.float32, (
            f"{name} has dtype {parameter.dtype}, expected torch.float32 (the default)")
        assert parameter.requires_grad, (
            f"{name} does not require grad, so training could never change it: "
            "leave requires_grad at its default (True)")


@pytest.mark.check(
    id="model_seeded_init",
    name="LinearRegressionModel starts from torch.randn, reproducibly after torch.manual_seed",
    points=1,
    hint=["After `torch.manual_seed(42)`, `LinearRegressionModel()` must give weights≈0.3367 and bias≈0.1288.",
          "Draw each parameter with `torch.randn(1)`, weights first, and draw nothing else random in `__init__`.",
          "Seeding belongs to whoever creates the model, outside the class: do not call `torch.manual_seed` in `__init__`."],
)
def test_model_seeded_init(learner, seed):
    cls = member(learner, V1)
    seen = {}
    for each in [42] + ([seed] if seed != 42 else []):
        torch.manual_seed(each)
        expected = {"weights": torch.randn(1).item(), "bias": torch.randn(1).item()}
        torch.manual_seed(each)
        model = cls()
        expect_module(model, V1)
        observed = {name: first_number(model, name) for name in ("weights", "bias")}
        seen[each] = observed
        if all(abs(observed[name] - expected[name]) <= 1e-6 for name in observed):
            continue
        digits = 4 if all(f"{observed[name]:.4f}" != f"{expected[name]:.4f}" for name in observed) else 7
        got = f"weights={observed['weights']:.{digits}f}, bias={observed['bias']:.{digits}f}"
        want = f"weights={expected['weights']:.{digits}f}, bias={expected['bias']:.{digits}f}"
        message = f"after torch.manual_seed({each}) a new {V1} has {got}, expected {want}"
        # Told first, whatever the check's seed drew: its numbers can print like seed 42's to four places.
        assert not (each != 42 and seen[42] == observed), (
            f"{message}, the same as after seed 42: the values must come from torch.randn, and "
            "torch.manual_seed belongs outside the class, before the model is created")
        assert not (abs(observed["weights"] - expected["bias"]) <= 1e-6 and abs(observed["bias"] - expected["weights"]) <= 1e-6), (
            f"{message}: weights and bias are swapped, create self.weights first")
        drawn = [name for name in observed if abs(observed[name] - expected[name]) <= 1e-6]
        if len(drawn) == 1:  # one parameter right: the other was made some other way (zeros, ones, rand, a number)
            (other,) = [name for name in observed if name not in drawn]
            made = {0.0: " (torch.zeros gives 0)", 1.0: " (torch.ones gives 1)"}.get(observed[other], "")
            raise AssertionError(f"{message}: {drawn[0]} is right, but {other} is not drawn from torch.randn{made}; "
                                 f"create it as nn.Parameter(torch.randn(1)) too")
        assert digits != 7, f"{message}: close, but not the numbers torch.randn draws; draw them, do not type them in"
        raise AssertionError(f"{message} (the first two numbers torch.randn draws after that seed)")


@pytest.mark.check(
    id="model_forward",
    name="LinearRegressionModel computes weights * x + bias for any batch shape",
    points=2,
    hint=["`forward(self, x)` returns the line's value at every element of `x`: use the two parameters.",
          "`self.weights * x + self.bias` works for any shape of `x` by broadcasting; do not reshape `x` "
          "and do not change it in place.",
          "Calling `model(x)` runs `forward(x)`: the method must be called exactly `forward`."],
)
def test_model_forward(learner, seed, device):
    generator = torch.Generator().manual_seed(seed)
    model, _, weight, bias = line_model(learner, V1, generator, device)
    n = int(torch.randint(5, 12, (1,), generator=generator))
    for shape in ([n, 1], [n], [3, n, 1]):
        x = torch.rand(shape, generator=generator) * 4 - 2
        given = x.clone().to(device)  # a copy: x stays as it was, whatever forward does to its input
        output = expect_output(model(given), f"model(x) for x of shape {shape}")
        assert list(output.shape) == shape, (
            f"for x of shape {shape} the output has shape {list(output.shape)}, expected {shape}: "
            "weights * x + bias keeps the shape of x")
        assert output.dtype == torch.float32, f"the output has dtype {output.dtype}, expected torch.float32"
        assert torch.equal(given.cpu(), x), "forward changed its input x in place; compute a new tensor instead"
        expect_equal_tensors(output, weight * x + bias,
                             f"with weights={fmt(weight)} and bias={fmt(bias)}, model(x) for x of shape {shape}")


@pytest.mark.check(
    id="model_gradients",
    name="Gradients flow from LinearRegressionModel's output back to weights and bias",
    points=1,
    hint=["Training needs the output to remember how it was computed from the parameters.",
          "Use the parameters themselves in forward: not `.data`, `.detach()`, `.item()` or a copy, "
          "and no `torch.no_grad()` around the computation."],
)
def test_model_gradients(learner, seed):
    generator = torch.Generator().manual_seed(seed)
    model, (weights, bias), _, _ = line_model(learner, V1, generator, torch.device("cpu"))
    x = torch.rand(12, 1, generator=generator) * 4 - 2
    upstream = torch.randn(12, 1, generator=generator)
    output = expect_output(model(x.clone()), "model(x)")
    assert output.requires_grad, (
        "the output of forward does not track gradients, so no loss computed from it can train "
        "the model (was it computed with .data, .detach(), .item() or under torch.no_grad()?)")
    assert list(output.shape) == [12, 1], (
        f"for x of shape [12, 1] the output has shape {list(output.shape)}, expected [12, 1]")
    (output * upstream).sum().backward()
    for name, tensor, expected in (("weights", weights, (upstream * x).sum()), ("bias", bias, upstream.sum())):
        assert tensor.grad is not None, (
            f"no gradient reached {name}: forward must use self.{name} itself "
            "(not its .data, a copy or a number taken from it)")
        expect_equal_tensors(tensor.grad.reshape(-1), expected.reshape(1), f"the gradient of {name}", tolerance=1e-4)


# -- LinearRegressionModelV2 -----------------------------------------------------------


@pytest.mark.check(
    id="v2_linear_layer",
    name="LinearRegressionModelV2 wraps one nn.Linear(1, 1) called linear_layer",
    points=1,
    hint=["In `__init__`, assign the layer to `self.linear_layer`: the name is part of the model's state_dict.",
          "`nn.Linear(in_features=1, out_features=1)` creates its own weight and bias; the model needs no other parameter.",
          "Keep the layer's default initialisation: after `torch.manual_seed(42)` its weight is ≈0.7645 and its bias ≈0.8300."],
)
def test_v2_linear_layer(learner, seed):
    torch.manual_seed(seed)
    model = new_model(learner, V2)
    layer = the_linear_layer(model)
    assert (layer.in_features, layer.out_features) == (1, 1), (
        f"linear_layer maps {layer.in_features} input feature(s) to {layer.out_features}, "
        "expected nn.Linear(in_features=1, out_features=1)")
    names = [name for name, _ in model.named_parameters()]
    assert names == ["linear_layer.weight", "linear_layer.bias"], (
        f"the model's parameters are named: {', '.join(names)}; expected only "
        "linear_layer.weight and linear_layer.bias (the layer holds them; create nothing else)")
    torch.manual_seed(seed)
    reference = nn.Linear(1, 1)
    observed = (layer.weight.detach().item(), layer.bias.detach().item())
    expected = (reference.weight.detach().item(), reference.bias.detach().item())
    assert not any(abs(a - b) > 1e-6 for a, b in zip(observed, expected)), (
        f"after torch.manual_seed({seed}) linear_layer starts at weight={fmt(observed[0])}, "
        f"bias={fmt(observed[1])}, expected weight={fmt(expected[0])}, bias={fmt(expected[1])} "
        "(the values of a new nn.Linear(1, 1)): keep its default initialisation, "
        "draw nothing random before it and do not seed inside __init__")


@pytest.mark.check(
    id="v2_forward",
    name="LinearRegressionModelV2 predicts with linear_layer, and gradients reach it",
    points=1,
    hint=["`forward(self, x)` runs `x` through the layer and returns the result.",
          "`return self.linear_layer(x)`: the layer adds its bias itself; there is nothing to reshape.",
          "Create the layer once, in `__init__`; a layer created in `forward` is a new, random one on every call, "
          "and training could never change it."],
)
def test_v2_forward(learner, seed, device):
    generator = torch.Generator().manual_seed(seed)
    model, (weight_tensor, bias_tensor), weight, bias = line_model(learner, V2, generator, device)
    n = int(torch.randint(5, 12, (1,), generator=generator))
    x = torch.rand(n, 1, generator=generator) * 4 - 2
    first, again = (expect_output(model(x.clone().to(device)), f"model(x) for x of shape {[n, 1]}") for _ in range(2))
    assert not (first.shape == again.shape and not torch.equal(first, again)), (
        "model(x) gave different outputs for the same x in two calls in a row: does forward create a new layer "
        "(nn.Linear(1, 1)) on every call? Create self.linear_layer once, in __init__, and only call it in forward")
    for shape in ([n, 1], [2, n, 1]):
        x = torch.rand(shape, generator=generator) * 4 - 2
        output = expect_output(model(x.clone().to(device)), f"model(x) for x of shape {shape}")
        assert list(output.shape) == shape, (
            f"for x of shape {shape} the output has shape {list(output.shape)}, expected {shape}")
        expect_equal_tensors(output, weight * x + bias,
                             f"with linear_layer's weight={fmt(weight)} and bias={fmt(bias)}, model(x) for x of shape {shape}")
    x = torch.rand(n, 1, generator=generator) * 4 - 2
    upstream = torch.randn(n, 1, generator=generator)
    output = expect_output(model(x.clone().to(device)), "model(x)")
    assert output.requires_grad, (
        "the output of forward does not track gradients, so the model could never be trained "
        "(was it computed under torch.no_grad() or detached?)")
    (output * upstream.to(device)).sum().backward()
    for name, tensor, expected in (("weight", weight_tensor, (upstream * x).sum()), ("bias", bias_tensor, upstream.sum())):
        assert tensor.grad is not None, f"no gradient reached linear_layer.{name}: forward must run the layer itself"
        expect_equal_tensors(tensor.grad.reshape(-1), expected.reshape(1), f"the gradient of linear_layer.{name}",
                             tolerance=1e-4)


# -- count_parameters ------------------------------------------------------------------


class Assorted(nn.Module):
    """A model with 2-D and 1-D parameters, a frozen layer weight, a frozen free parameter and buffers."""

    def __init__(self, a: int, b: int, c: int, d: int, e: int):
        super().__init__()
        self.encoder = nn.Linear(a, b)
        self.norm = nn.BatchNorm1d(b)  # two parameters of b numbers each, and three buffers
        self.head = nn.Linear(b, c, bias=False)
        self.scale = nn.Parameter(torch.ones(d, e))
        self.register_buffer("offset", torch.zeros(7))
        self.encoder.weight.requires_grad_(False)
        self.scale.requires_grad_(False)
        self.sizes = (a, b, c, d, e)

    def words(self) -> str:
        """The model, described for a message."""
        a, b, c, d, e = self.sizes
        return (f"Linear({a}, {b}) (weight frozen), BatchNorm1d({b}), Linear({b}, {c}, bias=False) "
                f"and a frozen [{d}, {e}] Parameter")

    def counts(self) -> dict[str, int]:
        """The right answers, and the wrong ones that common mistakes give."""
        a, b, c, d, e = self.sizes
        return {"all": a * b + b + 2 * b + b * c + d * e, "trainable": b + 2 * b + b * c,
                "tensors": len(list(self.parameters())),
                "trainable_tensors": len([p for p in self.parameters() if p.requires_grad]),
                "state_dict": sum(value.numel() for value in self.state_dict().values())}


def assorted(seed: int) -> Assorted:
    """An ``Assorted`` model of seeded sizes."""
    generator = torch.Generator().manual_seed(seed)
    a, b, c, d, e = (torch.randint(2, 9, (5,), generator=generator) + torch.tensor([0, 9, 0, 0, 0])).tolist()
    return Assorted(a, b, c, d, e)


def counted(learner, model: nn.Module, call: str, **kwargs) -> int:
    """``count_parameters(model, **kwargs)``, which must be exactly a Python ``int``."""
    result = member(learner, "count_parameters")(model, **kwargs)
    convertible = isinstance(result, (float, torch.Tensor)) or "numpy" in type(result).__module__
    assert type(result) is int, (f"{call} returned {kind_of(result)}, not a Python int"
                                 + (" (wrap the total in int(...))" if convertible else ""))
    return result


def why_wrong(result: int, counts: dict[str, int], wanted: str) -> str:
    """A guess at the mistake behind a wrong count, or an empty string."""
    if result == counts["tensors" if wanted == "all" else "trainable_tensors"]:
        return ": that is the number of parameter tensors, not of the numbers in them (a tensor's numel() counts those)"
    if result == counts["state_dict"]:
        return ": that includes buffers (batch norm's running statistics); count model.parameters(), not the state_dict"
    if wanted == "all" and result == counts["trainable"]:
        return ": that leaves out the frozen parameters; with trainable_only=False count every parameter"
    if wanted == "trainable" and result == counts["all"]:
        return ": that includes the frozen parameters (requires_grad=False); with trainable_only=True skip them"
    return ""


@pytest.mark.check(
    id="count_all_parameters",
    name="count_parameters(model, trainable_only=False) counts every scalar parameter",
    points=1,
    hint=["Count numbers, not tensors: a [3, 4] weight holds 12 parameters.",
          "With trainable_only=False, add up `p.numel()` for every `p` in `model.parameters()`, frozen ones included; "
          "buffers such as batch norm's running statistics are not parameters."],
)
def test_count_all_parameters(learner, seed):
    model = assorted(seed)
    counts = model.counts()
    call = "count_parameters(model, trainable_only=False)"
    result = counted(learner, model, call, trainable_only=False)
    assert result == counts["all"], (
        f"{call} returned {result} for {model.words()}; expected {counts['all']}"
        + why_wrong(result, counts, "all"))
    frozen = nn.Linear(3, 5).requires_grad_(False)
    result = counted(learner, frozen, call, trainable_only=False)
    assert result == 20, f"{call} returned {result} for a frozen nn.Linear(3, 5); expected 20 (15 weights and 5 biases)"
    call = "count_parameters(nn.ReLU(), trainable_only=False)"
    result = counted(learner, nn.ReLU(), call, trainable_only=False)
    assert result == 0, f"{call} returned {result}; a ReLU has no parameters, expected 0"


@pytest.mark.check(
    id="count_trainable_parameters",
    name="count_parameters counts only trainable parameters by default",
    points=1,
    hint=["A frozen parameter has `requires_grad` set to False: an optimizer would never change it.",
          "trainable_only defaults to True: then add up `p.numel()` only for the parameters with `p.requires_grad`."],
)
def test_count_trainable_parameters(learner, seed):
    model = assorted(seed)
    counts = model.counts()
    for call, kwargs in (("count_parameters(model)", {}),
                         ("count_parameters(model, trainable_only=True)", {"trainable_only": True})):
        result = counted(learner, model, call, **kwargs)
        assert result == counts["trainable"], (
            f"{call} returned {result} for {model.words()}; expected {counts['trainable']}"
            + why_wrong(result, counts, "trainable"))
    frozen = nn.Linear(3, 5).requires_grad_(False)
    result = counted(learner, frozen, "count_parameters(model)")
    assert result == 0, f"count_parameters(model) returned {result} for a frozen nn.Linear(3, 5); expected 0 (nothing is trainable)"


# -- build_mlp -------------------------------------------------------------------------


def mlp_sizes(seed: int) -> tuple[int, int, int]:
    """Three different sizes (in 2..6, hidden 10..16, out 7..9), so that swapping any two of them shows."""
    generator = torch.Generator().manual_seed(seed)
    in_features = int(torch.randint(2, 7, (1,), generator=generator))
    hidden_features = int(torch.randint(10, 17, (1,), generator=generator))
    out_features = int(torch.randint(7, 10, (1,), generator=generator))
    return in_features, hidden_features, out_features


def layer_name(layer) -> str:
    """``Linear``, ``ReLU``: a layer's class name as the lesson writes it."""
    kind = type(layer)
    return kind.__name__ if kind.__module__.startswith("torch.nn.") else describe(layer)


def expect_fresh_weights(build_mlp, sizes: tuple[int, int, int]) -> None:
    """Fail when two MLPs built in a row start with the same weights (a seed set inside build_mlp, or constants)."""
    call = f"build_mlp({', '.join(map(str, sizes))})"
    first, second = build_mlp(*sizes), build_mlp(*sizes)
    tensors = [(a.detach(), b.detach()) for a, b in zip(first.parameters(), second.parameters())]
    if not all(torch.equal(a, b) for a, b in tensors):
        return
    assert any(a.numel() > 1 and bool((a != a.reshape(-1)[0]).any()) for a, _ in tensors), (
        f"the model of {call} starts with constant parameters (each tensor holds one value, repeated): keep "
        "nn.Linear's default random initialisation, do not fill the weights yourself")
    raise AssertionError(
        f"two models made by {call} one after the other start with the same weights, so every model you build is "
        "the same one: is torch.manual_seed called inside build_mlp? Seeding belongs to the caller, who calls "
        "torch.manual_seed once, before building; build_mlp only creates the layers")


@pytest.mark.check(
    id="mlp_layers",
    name="build_mlp returns nn.Sequential(Linear(in, hidden), ReLU(), Linear(hidden, out))",
    points=2,
    hint=["nn.Sequential takes the layers in the order the data flows through them.",
          "Three layers: a linear layer from in_features to hidden_features, a ReLU, a linear layer from "
          "hidden_features to out_features.",
          "Use the function's arguments for the sizes, never fixed numbers, and keep the layers' default "
          "initialisation: seeding belongs to the caller, so no `torch.manual_seed` inside build_mlp."],
)
def test_mlp_layers(learner, seed):
    build_mlp = member(learner, "build_mlp")
    for sizes in (mlp_sizes(seed), (1, 8, 1)):
        call = f"build_mlp({', '.join(map(str, sizes))})"
        model = build_mlp(*sizes)
        assert isinstance(model, nn.Sequential), f"{call} returned {describe(model)}, expected an nn.Sequential"
        layers = list(model)
        kinds = (nn.Linear, nn.ReLU, nn.Linear)
        shown = " -> ".join(layer_name(layer) for layer in layers) or "no layers"
        assert len(layers) == 3 and all(isinstance(layer, kind) for layer, kind in zip(layers, kinds)), (
            f"{call} has the layers {shown}; expected Linear -> ReLU -> Linear")
        in_features, hidden_features, out_features = sizes
        for position, layer, (n_in, n_out) in (("first", layers[0], (in_features, hidden_features)),
                                               ("last", layers[2], (hidden_features, out_features))):
            assert (layer.in_features, layer.out_features) == (n_in, n_out), (
                f"in {call} the {position} Linear maps {layer.in_features} -> "
                f"{layer.out_features} features; expected {n_in} -> {n_out}")
            assert layer.bias is not None, (
                f"in {call} the {position} Linear has no bias; leave bias at its default (True)")
    expect_fresh_weights(build_mlp, mlp_sizes(seed))


@pytest.mark.check(
    id="mlp_runs",
    name="build_mlp's model turns a batch [B, in] into predictions [B, out]",
    points=1,
    hint=["Each layer's output size must be the next layer's input size: in -> hidden -> out.",
          "Try it yourself: `build_mlp(3, 16, 2)(torch.rand(5, 3)).shape` should be `torch.Size([5, 2])`."],
)
def test_mlp_runs(learner, seed, device):
    in_features, hidden_features, out_features = mlp_sizes(seed)
    call = f"build_mlp({in_features}, {hidden_features}, {out_features})"
    model = member(learner, "build_mlp")(in_features, hidden_features, out_features)
    assert isinstance(model, nn.Module), f"{call} returned {describe(model)}, not an nn.Module"
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    for batch in (int(torch.randint(2, 33, (1,), generator=generator)), 1):
        x = torch.rand(batch, in_features, generator=generator).to(device)
        try:
            output = model(x)
        except NotImplementedError:
            raise  # a stub: "not started", not a failure
        except RuntimeError as exc:  # mismatched sizes: say so in the learner's terms
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise AssertionError(f"running the model of {call} on a batch of shape [{batch}, {in_features}] "
                                 f"failed: {first_line}") from None
        output = expect_output(output, f"the model of {call}, on a batch of shape [{batch}, {in_features}],")
        assert list(output.shape) == [batch, out_features], (
            f"the model of {call} turned a batch of shape [{batch}, {in_features}] into shape "
            f"{list(output.shape)}; expected [{batch}, {out_features}]")
        assert output.dtype == torch.float32, f"the output has dtype {output.dtype}, expected torch.float32"
