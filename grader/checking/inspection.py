"""Exercise 10's capture_activations and summarize: the suite's models to look into, and what they show."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules import module as module_internals

from grader.checking.architectures import explained_run, sizes
from grader.checking.text import kind_of
from grader.checking.values import expect_equal_tensors, expect_tensor


# -- hooks and modes: what a call left behind ------------------------------------------------------


def hooks_left(model: nn.Module) -> list[str]:
    """Where hooks are still registered: the model's submodules, and torch's global module hooks."""
    found = []
    for name, module in model.named_modules():
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            if getattr(module, kind, None):
                found.append(f"{name!r}" if name else "the model itself")
                break
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        if getattr(module_internals, kind, None):
            found.append("a global module hook (register_module_forward_hook)")
            break
    return found


def clear_global_hooks() -> None:
    """Remove global module hooks, so that one check's leftovers cannot change the next check's verdict."""
    for kind in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        hooks = getattr(module_internals, kind, None)
        if hooks:
            hooks.clear()


def expect_no_hooks(model: nn.Module, what: str) -> None:
    left = hooks_left(model)
    clear_global_hooks()
    assert not left, (f"after {what} a hook was still registered on {', '.join(left[:3])}: remove every hook "
                      "you register (keep each handle and call `handle.remove()`, in a `finally:` block)")


def training_flags(model: nn.Module) -> dict[str, bool]:
    return {name or "the model": module.training for name, module in model.named_modules()}


def expect_flags(model: nn.Module, before: dict[str, bool], what: str) -> None:
    after = training_flags(model)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, (
        f"after {what} {changed[0]!r} was in {'training' if after[changed[0]] else 'evaluation'} mode, but it "
        f"came in {'training' if before[changed[0]] else 'evaluation'} mode: give every submodule back its own "
        "`training` flag (remember each one before switching to eval mode)")


def copy_of(output):
    if isinstance(output, (tuple, list)):
        return tuple(copy_of(item) for item in output)
    return output.detach().clone()


def true_outputs(model: nn.Module, X: torch.Tensor, names: list[str]) -> dict[str, object]:
    """What each named submodule really returns (its last output), in evaluation mode: the suite's own hooks."""
    outputs = {}
    handles = [model.get_submodule(name).register_forward_hook(
        lambda module, inputs, output, name=name: outputs.__setitem__(name, copy_of(output))) for name in names]
    flags = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags.items():
            module.training = training
    return outputs


# -- capture_activations: the model it looks into --------------------------------------------------


class Block(nn.Module):
    """A residual block of the suite's own, to give nested names: ``block.fc1``, ``block.fc2``."""

    def __init__(self, size: int):
        super().__init__()
        self.fc1 = nn.Linear(size, size)
        self.fc2 = nn.Linear(size, size)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) + x


class Pair(nn.Module):
    """A layer with a tuple as its output, like an LSTM: the two halves of its input's features."""

    def forward(self, x):
        half = x.shape[1] // 2
        return x[:, :half] * 2, x[:, half:] - 1


GRAD_MARK = 10.0  # what a marked Inspected adds before `pair` when gradients are tracked
RUN_MARK = 100.0  # and for each forward pass it has already made since its record was cleared


class Inspected(nn.Module):
    """The model capture_activations looks into; it remembers each forward pass's mode and gradient tracking.

    flatten (a view of the input) -> stem -> act (an in-place ReLU, which changes stem's output tensor)
    -> block (nested) -> drop (dropout: evaluation mode matters) -> shared -> shared again -> pair -> head,
    with ``fails`` (the suite's layer whose forward raises, when given) after ``shared``.

    The record (``seen``) is written in the learner's process, where learner code can rewrite it: it only names
    a mistake (see ``Marked`` for what shows the state of a forward pass).
    """

    def __init__(self, image_size: int, size: int, n_out: int, fails: nn.Module | None = None):
        super().__init__()
        self.flatten = nn.Flatten()
        self.stem = nn.Linear(image_size * image_size, size)
        self.act = nn.ReLU(inplace=True)
        self.block = Block(size)
        self.drop = nn.Dropout(0.5)
        self.shared = nn.Linear(size, size)
        self.pair = Pair()
        self.head = nn.Linear(size, n_out)
        self.fails = nn.Identity() if fails is None else fails
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        earlier = len(self.seen) if type(self.seen) is list else 0
        self.seen.append((self.training, torch.is_grad_enabled()))
        h = self.act(self.stem(self.flatten(x)))
        h = self.drop(self.block(h))
        h = self.fails(self.shared(self.shared(h)))
        first, second = self.pair(self.mark(h, earlier))
        return self.head(torch.cat([first, second], dim=1))

    def mark(self, h, earlier: int):
        return h


class Marked(Inspected):
    """An Inspected model that shows the state of its forward pass in what reaches ``pair`` and ``head``.

    Dropout changes it in training mode, ``GRAD_MARK`` is added with gradient tracking on and ``RUN_MARK`` for
    each earlier forward pass (as counted by the record, which a check clears before calling learner code). So a
    captured output of ``head`` equal to the suite's own (one forward pass in evaluation mode without gradients)
    is the outcome that shows the learner's forward pass ran that way.
    """

    def mark(self, h, earlier: int):
        return h + GRAD_MARK * torch.is_grad_enabled() + RUN_MARK * earlier


class Listed(nn.Module):
    """A layer whose output is a list."""

    def forward(self, x):
        return [x * 3, x + 1]


class Structured(nn.Module):
    """stem -> listed: a leaf whose output is a list."""

    def __init__(self, size: int):
        super().__init__()
        self.stem = nn.Linear(size, size)
        self.listed = Listed()
        self.seen: list = []  # cleared by ``capture``, like an Inspected model's record

    def forward(self, x):
        first, second = self.listed(self.stem(x))
        return first + second


def inspected(seed: int, fails: nn.Module | None = None, marked: bool = False):
    """A fresh Inspected model in training mode (its block in evaluation mode) and a batch of images for it."""
    image_size, size, n_out = 3, 2 * sizes(seed, 3, 7, 1)[0], sizes(seed + 1, 2, 6, 1)[0]
    torch.manual_seed(seed)
    model = (Marked if marked else Inspected)(image_size, size, n_out, fails)
    model.train()
    model.block.eval()  # mixed modes: the model must get exactly these flags back
    X = torch.randn(5, 1, image_size, image_size, generator=torch.Generator().manual_seed(seed))
    return model, X


def capture(learner, model: nn.Module, X: torch.Tensor, names: list[str]) -> dict:
    """Call capture_activations on a copy of X; check it returns a dict with exactly the names asked for."""
    model.seen.clear()
    result = learner.capture_activations(model, X, list(names))
    assert isinstance(result, dict), f"capture_activations returned {kind_of(result)}, not a dict"
    assert set(result) == set(names), (
        f"capture_activations(model, X, {names}) returned the keys {sorted(map(str, result))}; expected exactly "
        "the names asked for")
    return result


def expect_captured(result: dict, truth: dict, names: list[str], advice: str) -> None:
    for name in names:
        value, expected = result[name], truth[name]
        if isinstance(expected, tuple):
            expect_tuple_of_copies(value, expected, f"the captured output of {name!r}")
            continue
        expect_tensor(value, f"the captured output of {name!r}", shape=tuple(expected.shape))
        assert value.grad_fn is None and not value.requires_grad, (
            f"the captured output of {name!r} still carries autograd history: keep `output.detach().clone()`")
        assert torch.allclose(value, expected, atol=1e-6), (
            f"the captured output of {name!r} is not what that layer returned: {advice}")


def expect_tuple_of_copies(value, expected, what: str) -> None:
    """``value`` is a tuple of copies like ``expected`` (``copy_of`` a tuple or list output)."""
    if not isinstance(expected, tuple):
        expect_tensor(value, what)
        expect_equal_tensors(value, expected, what)
        return
    assert type(value) is tuple and len(value) == len(expected), (
        f"{what} is {kind_of(value)}; expected a tuple of {len(expected)} copies, one for each element of the "
        "layer's output: keep a tuple for a tuple or a list output alike")
    for index, (item, wanted) in enumerate(zip(value, expected)):
        expect_tuple_of_copies(item, wanted, f"element {index} of {what}")


def marked_head(model: Marked, X: torch.Tensor, grad_enabled: bool, earlier: int) -> torch.Tensor:
    """The output of ``head`` in a forward pass of ``model`` in evaluation mode, after ``earlier`` others."""
    twin = copy.deepcopy(model).eval()
    twin.seen = [(False, False)] * earlier
    outputs = []
    handle = twin.head.register_forward_hook(lambda module, inputs, output: outputs.append(output.detach().clone()))
    try:
        with torch.set_grad_enabled(grad_enabled):
            twin(X)
    finally:
        handle.remove()
    return outputs[-1]


def same_tensor(value, expected: torch.Tensor) -> bool:
    return (isinstance(value, torch.Tensor) and value.shape == expected.shape
            and torch.allclose(value.detach().float(), expected, atol=1e-5))


RECORD_CHANGED = ("; the model's own record of its forward passes says otherwise, so something changed that record: "
                  "leave the model's attributes alone")


def expect_key_error(raised, names: list[str], wrong: str) -> None:
    """Fail unless ``raised``, what ``capture_activations(model, X, names)`` raised, is a KeyError naming ``wrong``."""
    described = "'', the model itself," if wrong == "" else f"{wrong!r}"
    assert raised is not None, (f"capture_activations(model, X, {names}) returned normally, but {described} is "
                                "not a submodule: raise KeyError naming it")
    assert isinstance(raised, KeyError), (f"capture_activations(model, X, {names}) raised "
                                          f"{type(raised).__name__}, not KeyError: {wrong!r} is not a submodule")
    assert wrong in str(raised), f"the KeyError for {wrong!r} does not name it: {raised}"


def head_outputs(model: Marked, X: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The output of ``head`` in one forward pass in evaluation mode without gradients, and in the usual other
    runs (gradients tracked, a second forward pass), each described as the mistake it shows."""
    truth = true_outputs(model, X, ["head"])["head"]  # one forward pass in evaluation mode, without gradients
    others = {"the model ran with gradient tracking on: run it inside `torch.no_grad()` (or inference_mode)":
              marked_head(model, X, grad_enabled=True, earlier=0),
              "the model ran more than once: run it once": marked_head(model, X, grad_enabled=False, earlier=1),
              "the model ran more than once, with gradient tracking on: run it once, inside `torch.no_grad()`":
              marked_head(model, X, grad_enabled=True, earlier=1)}
    return truth, others


def expect_ran_once_in_eval(model: Marked, head, truth: torch.Tensor, others: dict) -> None:
    """Fail unless the model's record shows one forward pass in evaluation mode without gradients, and the
    captured output of 'head' (``head``) agrees: it is ``truth``, not one of ``others`` (``head_outputs``)."""
    seen = model.seen
    assert (type(seen) is list and all(type(entry) is tuple and len(entry) == 2
                                         and all(type(flag) is bool for flag in entry) for entry in seen)), (
        "capture_activations replaced the model's record of its forward passes (model.seen) "
        "with something else: leave the model's attributes alone")
    assert seen, "the model you were given never ran (a copy of it, say, does not count)"
    assert len(seen) == 1, f"the model ran {len(seen)} times; run it once"
    training, grad = seen[0]
    assert not training, "the model ran in training mode: call `model.eval()` first (dropout was on)"
    assert not grad, "the model ran with gradient tracking on: run it inside `torch.no_grad()` (or inference_mode)"
    if not same_tensor(head, truth):
        shown = next((meaning for meaning, value in others.items() if same_tensor(head, value)), None)
        assert shown is not None, (
            "the captured output of 'head' is not that of one forward pass in evaluation mode without gradient "
            "tracking (training mode, gradient tracking and an earlier forward pass all change it), though the "
            "model's own record of its forward passes says it ran so: either the captured outputs are not what "
            "the layers returned (see the check about captured values) or something changed that record (leave "
            "the model's attributes alone)")
        raise AssertionError(f"{shown} (the captured output of 'head' shows it){RECORD_CHANGED}")


# -- summarize: the models it lists ----------------------------------------------------------------


def summary(learner, model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, tuple, int]]:
    """Call summarize and check the contract's types: a list of (str, tuple of ints, int)."""
    rows = explained_run(f"summarize(model, {input_shape})",
                         "pass one batch of zeros of shape input_shape, on the model's device", learner.summarize,
                         model, input_shape)
    assert isinstance(rows, list), f"summarize returned {kind_of(rows)}, not a list of rows"
    for row in rows:
        assert isinstance(row, tuple) and len(row) == 3, (
            f"summarize returned a row {row!r}; each row is a tuple (name, output shape, number of parameters)")
        name, shape, count = row
        assert type(name) is str, f"a row's name is {kind_of(name)}, not a str: {row!r}"
        assert isinstance(shape, tuple) and all(type(size) is int for size in shape), (
            f"the output shape in row {row!r} is {kind_of(shape)}, not a tuple of ints (`tuple(output.shape)`)")
        assert type(count) is int, (
            f"the number of parameters in row {row!r} is {kind_of(count)}, not an int (`.numel()` gives an int)")
    return [(name, tuple(shape), count) for name, shape, count in rows]


def names_and_shapes(rows) -> list[tuple[str, tuple]]:
    return [(name, shape) for name, shape, _ in rows]


def describe_rows(rows) -> str:
    return ", ".join(f"{name or repr('')} {list(shape)}" for name, shape in rows) or "none"


class Reordered(nn.Module):
    """Registered in one order, run in another; ``twice`` runs twice and ``unused`` never runs."""

    def __init__(self, a: int, b: int, c: int):
        super().__init__()
        self.head = nn.Linear(b, c)
        self.unused = nn.Linear(c, c)
        self.twice = nn.Linear(b, b)
        self.body = nn.Linear(a, b)

    def forward(self, x):
        return self.head(self.twice(torch.relu(self.twice(self.body(x)))))


class Counted(nn.Module):
    """Leaves with parameters of every kind: frozen, trainable, none at all, and buffers (batch norm)."""

    def __init__(self, a: int, b: int):
        super().__init__()
        self.frozen = nn.Linear(a, b)
        self.frozen.requires_grad_(False)
        self.norm = nn.BatchNorm1d(b)
        self.act = nn.ReLU()
        self.out = nn.Linear(b, 1, bias=False)

    def forward(self, x):
        return self.out(self.act(self.norm(self.frozen(x))))


def expect_counts(counts: dict, expected: dict, a: int, b: int) -> None:
    """Fail unless each leaf of ``Counted(a, b)`` has its ``expected`` count; name frozen parameters left out and
    buffers counted in."""
    for name, wanted in expected.items():
        got = counts[name]
        if got == wanted:
            continue
        assert name != "frozen" or got != 0, (
            f"'frozen', an nn.Linear({a}, {b}) whose parameters do not train, has "
            f"{got} parameters in the summary; count frozen parameters too: {wanted}")
        assert not (name == "norm" and got > wanted), (
            f"'norm', a BatchNorm1d({b}), has {got} parameters in the summary; its running "
            f"statistics are buffers, not parameters: expected {wanted}")
        raise AssertionError(f"{name!r} has {got} parameters in the summary; expected {wanted} (the number of "
                             "scalar values, `numel()`, of its own parameters)")


class Recurrent(nn.Module):
    """An LSTM over a sequence, then a Linear on its last step: the LSTM's output is a tuple."""

    def __init__(self, features: int, hidden: int, out: int):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, out)

    def forward(self, x):
        outputs, _ = self.lstm(x)
        return self.head(outputs[:, -1])


class Watched(nn.Module):
    """A leaf without parameters that remembers what it saw: mode, gradient tracking and its input.

    The record is written in the learner's process, where learner code can rewrite it: it only names a mistake.
    """

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[bool, bool, torch.Tensor]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled(), x.detach().clone()))
        return x


# What a StateMark's output shape says about the forward pass it ran in, bit by bit.
MARK_BITS = ((1, "the model ran in training mode: call `model.eval()` first"),
             (2, "the model ran with gradient tracking on: run it inside `torch.no_grad()`"),
             (4, "the batch summarize passed to the model is not all zeros"),
             (8, "the batch summarize passed to the model is not float32 (`torch.zeros(input_shape)` is)"))


class StateMark(nn.Module):
    """A leaf whose output's shape shows the state of its forward pass: ``[N, 1, 1 + code]``.

    The code adds up the bits of ``MARK_BITS`` that hold: training mode, gradient tracking, a batch that is not
    all zeros, a batch that is not float32. The rows summarize returns are the outcome: the row of a forward
    pass in evaluation mode without gradients, on zeros, has the shape ``(N, 1, 1)``.
    """

    def forward(self, x):
        code = (int(self.training) + 2 * int(torch.is_grad_enabled()) + 4 * int(bool(x.ne(0).any()))
                + 8 * int(x.dtype != torch.float32))
        return x.new_zeros(len(x), 1, 1 + code)


class Summarized(nn.Module):
    """A network, and beside it a StateMark that sees the same batch (its output goes nowhere)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.mark = StateMark()

    def forward(self, x):
        self.mark(x)
        return self.net(x)


def watched_model(seed: int):
    a, b = sizes(seed, 2, 12, 2)
    torch.manual_seed(seed)
    net = nn.Sequential(Watched(), nn.Linear(a, b), nn.BatchNorm1d(b), nn.Sequential(nn.Dropout(0.3), Watched()))
    with torch.no_grad():  # running statistics that zeros would change, were batch norm in training mode
        net[2].running_mean.uniform_(-1, 1)
        net[2].running_var.uniform_(0.5, 2)
    model = Summarized(net)
    model.train()
    net[3].eval()  # mixed modes: each must come back as it was
    return model, a


def expect_summarized_once_in_eval(model: Summarized, rows: list, a: int) -> None:
    """Fail unless the record of ``watched_model``'s first layer shows one batch of float32 zeros of shape [3, a],
    run in evaluation mode without gradients, and the row of its leaf 'mark' in ``rows`` agrees."""
    seen = model.net[0].seen
    assert type(seen) is list and all(type(entry) is tuple and len(entry) == 3 for entry in seen), (
        "summarize replaced a layer's record of its forward passes (seen) with something else: "
        "leave the model's attributes alone")
    assert seen, ("the model you were given never ran (a copy of it, say, does not count): run one batch of zeros "
                  "through it, with the hooks on its own submodules")
    assert len(seen) == 1, f"the model ran {len(seen)} times; run one batch through it once"
    training, grad, given = seen[0]
    expect_tensor(given, "the batch summarize passed to the model", shape=(3, a), dtype=torch.float32)
    assert not bool(given.any()), "the batch summarize passed to the model is not all zeros"
    assert not training, "the model ran in training mode: call `model.eval()` first"
    assert not grad, "the model ran with gradient tracking on: run it inside `torch.no_grad()`"
    marks = [shape for _, shape, _ in rows if len(shape) == 3]  # the StateMark's rows: no other leaf gives 3-D
    assert marks, (
        "summarize gave no row for the model's leaf 'mark' (whose output has shape [N, 1, 1 + code]), so how the "
        "model ran cannot be told from the rows: list every leaf each time it runs (see the check about the rows)")
    if marks != [(3, 1, 1)]:
        wrong = next(shape for shape in marks if shape != (3, 1, 1)) if len(marks) == 1 or (3, 1, 1) not in marks \
            else None
        if wrong is not None and wrong[2] > 1:
            shown = "; ".join(meaning for bit, meaning in MARK_BITS if (wrong[2] - 1) & bit) or \
                f"the model's leaf 'mark' gave an output of shape {list(wrong)}"
        elif wrong is not None:
            shown = f"the model's leaf 'mark' gave an output of shape {list(wrong)} for a batch of 3"
        else:
            shown = f"the model ran {len(marks)} times; run one batch through it once"
        raise AssertionError(f"{shown} (the shape of the row of the model's leaf 'mark' shows it){RECORD_CHANGED}")


def device_cases(seed: int) -> tuple:
    """Models whose zeros must go to their device: on 'meta' with parameters, on 'meta' with buffers only, and
    with neither; each as (what it is, the model, the input shape, the rows of a summary)."""
    a, b = sizes(seed, 2, 12, 2)
    torch.manual_seed(seed)
    return (
        ("a model on the meta device", nn.Sequential(nn.Linear(a, b), nn.ReLU()).to("meta"), (3, a),
         [("0", (3, b)), ("1", (3, b))]),
        ("a model with buffers but no parameters, on the meta device",
         nn.Sequential(nn.BatchNorm1d(a, affine=False)).to("meta"), (3, a), [("0", (3, a))]),
        ("a model with no parameters and no buffers", nn.Sequential(nn.Flatten(), nn.ReLU()), (3, 1, a),
         [("0", (3, a)), ("1", (3, a))]),
    )
